"""The config file: its schema (declared once, with help text), loading and validation.

The models below are the single source of truth for every key: validation, the error
messages and the README's config reference all follow from them. Validation happens
before any data is read, and every error names the dotted key, what was expected and what
was found, as one line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reportgen.config.expressions import parse
from reportgen.errors import ConfigError, ExpressionError
from reportgen.text import did_you_mean

LEVELS = ("very low", "low", "average", "high", "very high")
LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg")
COMPARISON_RE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """Relative paths mean "next to the config file", wherever the command runs from."""
    if value is None:
        return None
    base = (info.context or {}).get("base_dir")
    path = Path(value).expanduser()
    return path if path.is_absolute() or base is None else (Path(base) / path).resolve()


IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def _looks_like_an_image(path: Path) -> bool:
    """By content, not name: a renamed /etc/passwd must not be embedded in a report."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if head.startswith(IMAGE_SIGNATURES):
        return True
    return path.suffix.lower() == ".svg" and b"<svg" in head.lower()


class ReportSection(Section):
    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Folder name of this report's outputs: lower-case letters, digits, dashes.",
    )
    title: str = Field(min_length=1, description="Title on the report's cover and pages.")
    company: str | None = Field(None, description="Company name shown in the title block.")
    footer: str | None = Field(
        None, description="Text at the foot of every PDF page, e.g. Confidential; default: "
        "the company, else the title.")
    logo: Path | None = Field(None, description="A local PNG, JPEG or SVG logo, embedded.")
    accent_color: str | None = Field(
        None, pattern=r"^#[0-9a-fA-F]{6}$", description="Accent colour as #rrggbb."
    )
    templates: Path | None = Field(
        None, description="A folder of templates searched before the built-in ones."
    )

    _resolve = field_validator("logo", "templates")(_resolve_path)

    @field_validator("logo")
    @classmethod
    def _logo_is_an_image_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"logo file not found: {value}")
        if value is not None and value.suffix.lower() not in LOGO_SUFFIXES:
            raise ValueError(f"the logo must be a {', '.join(LOGO_SUFFIXES)} file")
        if value is not None and not _looks_like_an_image(value):
            raise ValueError(f"{value} is not a PNG, JPEG, GIF or SVG image (its content is "
                             "not); the report embeds the logo, so it must be one")
        return value

    @field_validator("templates")
    @classmethod
    def _templates_folder_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"templates folder not found: {value}")
        return value


class ReadOptions(Section):
    sep: str | None = Field(
        None, min_length=1, description="Column separator; detected from the file when absent."
    )
    encoding: str = Field("utf-8", description="Text encoding of the file, e.g. latin-1 "
                          "(a UTF-8 byte-order mark and UTF-16 are detected by themselves).")
    dayfirst: bool = Field(False, description="Dates are written day first (31/12/2024).")
    sheet: str | int | None = Field(None, description="Excel sheet name or 0-based index.")
    decimal: str = Field(".", min_length=1, max_length=1, description="Decimal mark.")
    thousands: str | None = Field(None, max_length=1, description="Thousands separator.")


SQL_PLACEHOLDERS = ("period_start", "period_end", "as_of")
URL_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$")
FILE_DATABASES = ("sqlite", "duckdb")


class SqlSource(Section):
    url: str = Field(
        description="Database URL: postgresql://user@host:5432/db, sqlite:///file.db or "
        "duckdb:///file.duckdb (relative files next to the config); no password in it.")
    query: str = Field(
        min_length=1, description="The SELECT that returns one row a customer (or a sales "
        "line with `transactions:`); {period_start}, {period_end} and {as_of} are bound as "
        "date parameters.")
    password_env: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable holding the database password.")
    chunk_rows: int = Field(50_000, ge=1000, description="Rows fetched at a time.")
    connect_timeout: int = Field(10, ge=1, le=300,
                                 description="Seconds to wait for the server to answer.")

    @field_validator("url")
    @classmethod
    def _url_is_usable(cls, value: str, info: ValidationInfo) -> str:
        match = URL_RE.match(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a database URL such as "
                             "postgresql://user@host:5432/db or sqlite:///file.db")
        scheme, rest = match["scheme"].lower(), match["rest"]
        if scheme.split("+")[0] in FILE_DATABASES:
            return _database_file_url(scheme, rest, info)
        credentials = rest.split("/", 1)[0].rpartition("@")[0]
        if ":" in credentials:
            raise ValueError("the url holds a password; remove it and name an environment "
                             "variable that holds it in data.sql.password_env")
        return value.strip()

    @field_validator("query")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        _check_placeholders(value, SQL_PLACEHOLDERS)
        return value


def _database_file_url(scheme: str, rest: str, info: ValidationInfo) -> str:
    """sqlite:///shop.db means shop.db next to the config; the file must exist (SQLite
    would otherwise create an empty database and the query would fail obscurely)."""
    if not rest.startswith("/") or rest in ("/", "/:memory:"):
        raise ValueError(f"use {scheme}:///path/to/file (three slashes, then the file)")
    path = _resolve_path(Path(rest[1:]), info)
    assert path is not None
    if not path.is_file():
        raise ValueError(f"database file not found: {path}")
    return f"{scheme}:///{path}"


class DataSection(Section):
    path: Path | None = Field(
        None, description="The data file: .csv .tsv .txt (optionally .gz .bz2 .xz .zip), "
        ".parquet, .xlsx; or `sql:`.")
    sql: SqlSource | None = Field(None, description="Read the data with a SQL query instead.")
    id: str | None = Field(None, description="Customer id column, read as text exactly as "
                           "written; row numbers when absent.")
    as_of: dt.date | None = Field(
        None, description="Reference date for days_since() in derive (default: the "
        "transactions' as_of, else today).")
    read: ReadOptions = Field(default_factory=dict, validate_default=True,
                              description="Reading options.")

    _resolve = field_validator("path")(_resolve_path)

    @model_validator(mode="after")
    def _one_source(self) -> DataSection:
        if (self.path is None) == (self.sql is None):
            raise ValueError("set either path (a data file) or sql (a database query), "
                             + ("not both" if self.path else "one of them"))
        return self

    @property
    def source_name(self) -> str:
        """How the report names where the data came from (never with a password)."""
        if self.sql is not None:
            return f"SQL query on {self.sql.url}"
        assert self.path is not None
        return self.path.name


class FeaturesSection(Section):
    numeric: list[str] = Field(default_factory=list, description="Numeric clustering columns.")
    categorical: list[str] = Field(
        default_factory=list,
        description="Categorical clustering columns: one-hot, weighted like one numeric column.",
    )
    profile: list[str] = Field(
        default_factory=list, description="Columns described per segment but not clustered on."
    )
    log: list[str] | None = Field(
        None, description="Numeric columns to log1p before scaling (skewed money); the rfm "
        "preset logs frequency, monetary and avg_order_value unless this is set.",
    )
    scale: Literal["standard", "robust", "minmax"] = Field(
        "standard", description="How numeric columns are scaled."
    )
    missing: Literal["median", "drop"] = Field(
        "median",
        description="Missing values: impute (median / most frequent) or drop the row.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Readable names for columns in the report."
    )

    @model_validator(mode="after")
    def _lists_are_consistent(self) -> FeaturesSection:
        if not self.numeric and not self.categorical:
            raise ValueError("list at least one column under numeric or categorical")
        clustered = self.numeric + self.categorical
        for name, values in (("numeric", self.numeric), ("categorical", self.categorical),
                             ("profile", self.profile)):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"{name} lists {repeated[0]!r} twice")
        both = sorted(set(self.numeric) & set(self.categorical))
        if both:
            raise ValueError(f"{both[0]!r} is both numeric and categorical; keep one")
        again = sorted(set(self.profile) & set(clustered))
        if again:
            raise ValueError(
                f"profile lists {again[0]!r}, which is already a clustering feature "
                "(clustering features are always profiled); remove it from profile"
            )
        stray = [c for c in self.log or [] if c not in self.numeric]
        if stray:
            raise ValueError(f"log lists {stray[0]!r}, which is not in numeric")
        return self


def _check_expression(value: str) -> str:
    try:
        parse(value)
    except ExpressionError as exc:
        raise ValueError(f"{exc} in {value!r}") from exc
    return value


Expression = Annotated[str, BeforeValidator(lambda v: _check_expression(str(v)))]


class TransactionsSection(Section):
    customer: str = Field(description="Customer id column of the sales lines.")
    invoice: str = Field(description="Invoice (order) number column; distinct invoices count "
                         "as purchases.")
    date: str = Field(description="Date (and time) column of the sales lines.")
    amount: Expression | None = Field(
        None, description="Line revenue: a column or an expression such as "
        "`Quantity * UnitPrice`; default quantity * price.")
    quantity: str | None = Field(
        None, description="Quantity column; negative quantities are returns.")
    price: str | None = Field(
        None, description="Unit price column; lines priced zero or below are dropped.")
    as_of: dt.date | Literal["auto"] = Field(
        "auto", description="Reference date for recency and tenure, or `auto`: the day after "
        "the last transaction.")
    cancel_prefix: str | None = Field(
        "C", description="Invoice numbers starting with this mark cancellations.")

    @model_validator(mode="after")
    def _amount_is_defined(self) -> TransactionsSection:
        if self.amount is None and not (self.quantity and self.price):
            raise ValueError("set amount (a column or expression such as Quantity * "
                             "UnitPrice), or both quantity and price")
        return self

    def amount_expression(self) -> str:
        if self.amount is not None:
            return self.amount
        return f"`{self.quantity}` * `{self.price}`"


EMAIL_PLACEHOLDERS = ("title", "period", "period_label", "report", "company")
ADDRESS_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


OneOrMany = BeforeValidator(_one_or_many, json_schema_input_type=str | list[str])


def _address(value: str) -> str:
    if not ADDRESS_RE.match(value.strip()):
        raise ValueError(f"{value!r} is not an email address (name@example.com)")
    return value.strip()


def _check_placeholders(template: str, known: Sequence[str]) -> None:
    import string

    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"{template!r}: {exc}; write {{{{ and }}}} for literal braces") from exc
    for name in names:
        if name not in known:
            raise ValueError(f"unknown placeholder {{{name}}} in {template!r}; use "
                             + ", ".join(f"{{{k}}}" for k in known))


def _k_range(value: Any) -> tuple[int, int]:
    """`k: 5` or `k: [2, 10]`, both inclusive, normalised to (low, high)."""
    if isinstance(value, bool):
        raise ValueError("expected an integer or a range [min, max]")
    if isinstance(value, int):
        low = high = value
    elif isinstance(value, list | tuple) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        low, high = value
    else:
        raise ValueError("expected an integer or a range [min, max] of integers")
    if low < 2:
        raise ValueError("k must be at least 2 (a single segment is no segmentation)")
    if high < low:
        raise ValueError(f"the range [{low}, {high}] is reversed; write [{high}, {low}]")
    if high > 50:
        raise ValueError("k above 50 makes more segments than anyone can act on")
    return low, high


class SegmentationSection(Section):
    k: Annotated[tuple[int, int], BeforeValidator(
        _k_range, json_schema_input_type=int | tuple[int, int])] = Field(
        (2, 10), description="Number of segments: an integer, or an inclusive range [min, max]."
    )
    select: Literal["silhouette", "elbow", "calinski_harabasz"] = Field(
        "silhouette", description="How k is chosen from the range."
    )
    random_state: int = Field(
        42, description="Seed: the same config and data give the same labels.")
    n_init: int = Field(
        10, ge=4, description="K-Means initialisations per k (at least 4; one picks wrong k)."
    )
    silhouette_sample: int = Field(
        10_000, ge=1_000, description="Silhouette is computed on at most this many rows."
    )
    sweep_sample: int = Field(
        50_000, ge=1_000, description="The k sweep is fitted on at most this many rows (a "
        "seeded random sample); the chosen k is then fitted on all rows.")
    refit: bool = Field(
        True, description="Fit a new model each period and match its segments to the last "
        "period's (ids, names, colours kept); false: score new data with the saved model.")
    match_distance: float = Field(
        0.5, gt=0, le=1, description="A new segment keeps an old id when its centre lies "
        "within this fraction of the distance from the old centre to the nearest other one.")


Condition = str | int | float | list[str]


def _check_conditions(when: dict[str, Condition]) -> dict[str, Condition]:
    """Catch condition typos at load time; column names are checked once data is read."""
    for column, test in when.items():
        if isinstance(test, bool):
            raise ValueError(f"condition on {column!r} must be a level or comparison, not {test}")
        if isinstance(test, int | float):
            raise ValueError(
                f"condition on {column!r} is the bare number {test}; write a comparison such "
                f"as '>= {test}' or a level ({', '.join(LEVELS)})"
            )
        if column in ("share", "size") and not (isinstance(test, str) and all(
                COMPARISON_RE.match(part) for part in test.split(" and "))):
            raise ValueError(
                f"condition on {column!r} must be a comparison like '< 0.1', got {test!r}")
    return when


class ConditionalRule(Section):
    """A rule that applies to the segments whose profile meets all its conditions."""

    when: dict[str, Condition] = Field(
        default_factory=dict,
        description="Conditions on the segment profile: a level, a comparison, or a category.",
    )

    _conditions = field_validator("when")(_check_conditions)


class PersonaRule(ConditionalRule):
    name: str = Field(min_length=1, description="Persona name given to a matching segment.")
    description: str = Field("", description="One sentence shown under the persona name.")


class PersonasSection(Section):
    preset: Literal["retail", "rfm"] | None = Field(
        None, description="Built-in persona rules added after your own: `retail` or `rfm`.")
    rules: list[PersonaRule] = Field(
        default_factory=list, description="Checked in order before the preset's rules."
    )
    roles: dict[str, str] = Field(
        default_factory=dict,
        description="Which column plays a preset role (retail: income, spending, frequency, "
        "age, tenure).",
    )


class RecommendationRule(ConditionalRule):
    action: str = Field(min_length=1, description="What marketing should do for the segment.")
    priority: Literal["high", "medium", "low"] = Field("medium", description="Sort order.")


class RecommendationsSection(Section):
    preset: Literal["retail", "rfm"] | None = Field(
        None, description="Built-in recommendation rules added to your own: `retail` or `rfm`.")
    rules: list[RecommendationRule] = Field(
        default_factory=list, description="Every matching rule adds its action."
    )


class OutputSection(Section):
    dir: Path = Field(Path("reports"), validate_default=True,
                      description="Where report folders are written.")
    formats: list[Literal["html", "pdf"]] = Field(
        default_factory=lambda: list[Literal["html", "pdf"]](["html", "pdf"]),
        description="Rendered formats; segments.csv and summary.json are always written.",
    )

    _resolve = field_validator("dir")(_resolve_path)


class SmtpSection(Section):
    host: str = Field("localhost", description="SMTP server.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL).")
    security: Literal["starttls", "ssl", "none"] | None = Field(
        None, description="starttls, ssl or none (a local relay); by default ssl on port 465, "
        "otherwise starttls (or as `starttls:` says).")
    starttls: bool | None = Field(
        None, description="Shorthand: true is security starttls, false is none.")
    user_env: str | None = Field(
        None, description="Environment variable holding the SMTP user name.")
    password_env: str | None = Field(
        None, description="Environment variable holding the SMTP password (never the "
        "password itself).")
    timeout: float = Field(30, gt=0, description="Seconds to wait for the server.")
    ca_file: Path | None = Field(
        None, description="A CA certificate (PEM) to trust, for a server with an internal "
        "certificate.")

    @field_validator("ca_file")
    @classmethod
    def _ca_exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        path = _resolve_path(value, info)
        if path is not None and not path.is_file():
            raise ValueError(f"CA file not found: {path}")
        return path

    @property
    def mode(self) -> str:
        if self.security:
            return self.security
        if self.starttls is not None:
            return "starttls" if self.starttls else "none"
        return "ssl" if self.port == 465 else "starttls"


class EmailSection(Section):
    to: Annotated[list[str], OneOrMany] = Field(
        description="Recipients (one address or a list).")
    cc: Annotated[list[str], OneOrMany] = Field(
        default_factory=list, description="Copy recipients.")
    bcc: Annotated[list[str], OneOrMany] = Field(
        default_factory=list, description="Blind-copy recipients (not in the headers).")
    sender: str = Field("reportgen@localhost", description="The From address.")
    subject: str = Field("{title} - {period_label}",
                         description="Subject template: {title}, {period}, {period_label}.")
    report_url: str | None = Field(
        None, description="Link to the hosted HTML, a template: "
        "https://reports.example.com/{report}/{period}/report.html")
    send_after_run: bool = Field(
        False, description="Email the PDF at the end of every successful `reportgen run`.")
    max_attachment_mb: float = Field(
        10, gt=0, description="Refuse to send a PDF larger than this (most servers cap 10-25 MB).")
    smtp: SmtpSection = Field(default_factory=dict, validate_default=True,
                              description="The mail server.")

    _addresses = field_validator("to", "cc", "bcc")(lambda v: [_address(a) for a in v])
    _sender = field_validator("sender")(lambda v: _address(v))

    @field_validator("subject", "report_url")
    @classmethod
    def _known_placeholders(cls, value: str | None) -> str | None:
        if value is not None:
            _check_placeholders(value, EMAIL_PLACEHOLDERS)
        return value


class Config(Section):
    report: ReportSection = Field(description="What the report is called and how it looks.")
    data: DataSection = Field(description="Where the customer table comes from.")
    transactions: TransactionsSection | None = Field(
        None, description="Rows are sales lines: aggregate them to one row a customer "
        "(recency_days, frequency, monetary, tenure_days, avg_order_value, RFM scores).")
    derive: dict[str, Expression] = Field(
        default_factory=dict, description="New columns from safe expressions, in order: "
        "`age: 2026 - Year_Birth`.")
    features: FeaturesSection = Field(description="Which columns cluster and which describe.")
    segmentation: SegmentationSection = Field(
        default_factory=dict, validate_default=True, description="How k is swept and chosen.")
    personas: PersonasSection = Field(
        default_factory=dict, validate_default=True, description="How segments are named.")
    recommendations: RecommendationsSection = Field(
        default_factory=dict, validate_default=True, description="Marketing actions per segment.")
    output: OutputSection = Field(
        default_factory=dict, validate_default=True, description="Where and what to write.")
    email: EmailSection | None = Field(
        None, description="Email the PDF: `reportgen send`, or after every run.")

    @model_validator(mode="after")
    def _transactions_identify_customers(self) -> Config:
        if self.transactions is not None and self.data.id is not None:
            raise ValueError("data.id is not used with transactions: customers are identified "
                             "by transactions.customer; remove data.id")
        return self


class LoadedConfig(BaseModel):
    """A validated config plus where it came from, which the report's appendix shows."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    config: Config
    source: Path
    raw: dict[str, Any]
    sha256: str


def load_config(
    path: str | Path, overrides: Sequence[str] | Mapping[str, Any] = ()
) -> LoadedConfig:
    """Read, override and validate a config file; raise ConfigError with one clear line."""
    source = Path(path).expanduser().resolve()
    raw = read_yaml_mapping(source)
    apply_overrides(raw, overrides)
    try:
        config = Config.model_validate(raw, context={"base_dir": source.parent})
    except ValidationError as exc:
        raise ConfigError(f"{first_error_line(exc, raw)} (in {source.name})") from exc
    digest = hashlib.sha256(yaml.safe_dump(raw, sort_keys=True).encode()).hexdigest()
    return LoadedConfig(config=config, source=source, raw=raw, sha256=digest)


def read_yaml_mapping(source: Path) -> dict[str, Any]:
    """The YAML file as a dict, or an error pointing at the line and column."""
    if not source.is_file():
        raise ConfigError(f"config file not found: {source}")
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{source.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{source.name} {where}: YAML syntax error: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source.name}: YAML syntax error: {exc}") from exc
    if not isinstance(data, dict):
        found = "an empty file" if data is None else f"{_yaml_type(data)} {data!r:.40}"
        raise ConfigError(
            f"{source.name}: the top level must be a mapping of sections "
            f"(report:, data:, features:, ...), found {found}"
        )
    return data


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str] | Mapping[str, Any]) -> None:
    """`--set a.b=value` (value parsed as YAML) or API keyword overrides, in place."""
    items = overrides.items() if isinstance(overrides, Mapping) else map(split_setting, overrides)
    for key, value in items:
        node: Any = raw
        parts = str(key).split(".")
        for i, part in enumerate(parts[:-1]):
            node = _child(node, part, ".".join(parts[: i + 1]))
        _assign(node, parts[-1], value, str(key))


def split_setting(setting: str) -> tuple[str, Any]:
    key, sep, text = setting.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {setting!r}: expected key.path=value, e.g. segmentation.k=5")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        value = text
    return key.strip(), value


def _child(node: Any, part: str, dotted: str) -> Any:
    if isinstance(node, list):
        return node[_list_index(node, part, dotted)]
    if not isinstance(node, dict):
        raise ConfigError(f"--set {dotted}: {dotted.rsplit('.', 1)[0]} is not a section")
    child = node.setdefault(part, {})
    if child is None:
        child = node[part] = {}
    return child


def _assign(node: Any, part: str, value: Any, dotted: str) -> None:
    if isinstance(node, list):
        node[_list_index(node, part, dotted)] = value
    elif isinstance(node, dict):
        node[part] = value
    else:
        raise ConfigError(f"--set {dotted}: the parent of '{part}' is not a section")


def _list_index(node: list[Any], part: str, dotted: str) -> int:
    if not part.isdigit() or int(part) >= len(node):
        raise ConfigError(f"--set {dotted}: '{part}' is not an index of a {len(node)}-item list")
    return int(part)


def first_error_line(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """The first validation error as one line; a count of the others if any."""
    errors = exc.errors(include_url=False)
    line = describe_error(errors[0], raw)
    return line if len(errors) == 1 else f"{line} (and {len(errors) - 1} more problems)"


def describe_error(error: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    key = dotted_key(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}'{did_you_mean(str(loc[-1]), known_keys(loc[:-1]))}"
    if kind == "missing":
        return f"missing key '{key}': {_field_help(loc)}"
    expected = _expected(error)
    if not loc:
        return f"config: {expected}"
    value = error.get("input")
    if kind == "value_error" and (isinstance(value, dict) or str(value) in expected):
        return f"config key '{key}': {expected}"
    return f"config key '{key}': {expected}, found {_describe_input(value)}"


def dotted_key(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def known_keys(loc: Sequence[Any]) -> list[str]:
    """Field names of the section at `loc`, for suggesting the key a typo meant."""
    model = _model_at(loc)
    return list(model.model_fields) if model else []


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model else None
        if field is None:
            return None
        model = _section_type(field.annotation)
    return model


def _section_type(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _section_type(arg)
        if found:
            return found
    return None


def _field_help(loc: Sequence[Any]) -> str:
    parent = _model_at(loc[:-1])
    field = parent.model_fields.get(str(loc[-1])) if parent else None
    return (field.description or "required") if field else "required"


_EXPECTED = {
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list, e.g. [a, b]",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "path_type": "expected a file path",
}


def _expected(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx.get('pattern')}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"expected a number of at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"expected a number of at most {ctx.get('le', ctx.get('lt'))}"
    if kind in ("string_too_short", "too_short"):
        return "expected a non-empty value"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    return str(error["msg"])


def _describe_input(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return f"{value!r:.60} ({_yaml_type(value)})"


def _yaml_type(value: Any) -> str:
    names = {bool: "true/false", int: "integer", float: "number", str: "text", list: "list",
             dict: "mapping"}
    return names.get(type(value), type(value).__name__)
