"""The config file's schema, declared once with help text: the report, the features, the
segmentation and the outputs here, the data sources, rules and email in their own modules.

The models are the single source of truth for every key: validation, the error messages
and the README's config reference all follow from them. Unknown keys are errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from reportgen.config.audiences import AudiencesSection
from reportgen.config.base import Section, resolve_path
from reportgen.config.email import EmailSection
from reportgen.config.engine import EngineSection
from reportgen.config.rules import PersonasSection, RecommendationsSection
from reportgen.config.sources import DataSection, Expression, TransactionsSection
from reportgen.config.value import ValueSection
from reportgen.text import REPORT_NAME_PATTERN

LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg")


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
        pattern=f"^{REPORT_NAME_PATTERN}$", max_length=64,
        description="Folder name of this report's outputs: lower-case letters, digits, "
        "dashes; at most 64.",
    )
    title: str = Field(min_length=1, max_length=300,
                       description="Title on the report's cover and pages.")
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

    _resolve = field_validator("logo", "templates")(resolve_path)

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


class FeaturesSection(Section):
    numeric: list[str] = Field(default_factory=list, description="Numeric clustering columns.")
    categorical: list[str] = Field(
        default_factory=list,
        description="Categorical clustering columns: one-hot, weighted like one numeric column.",
    )
    profile: list[str] = Field(
        default_factory=list, description="Columns described per segment but not clustered on."
    )
    ordinal: dict[str, list[str]] = Field(
        default_factory=dict, description="Ordered categories clustered by their rank, 1 for "
        "the first level and scaled like a numeric column: {size: [S, M, L, XL]}. A value "
        "not listed is an error; a blank is missing.")
    as_numbers: list[str] = Field(
        default_factory=list, description="Integer columns with a code-like name (channel, "
        "region, type, ...) are profiled as categories with their shares; list one here to "
        "profile it as a number (its mean) instead.")
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
        if not self.numeric and not self.categorical and not self.ordinal:
            raise ValueError("list at least one column under numeric, categorical or ordinal")
        for column, levels in self.ordinal.items():
            if len(levels) < 2 or len(set(levels)) < len(levels):
                raise ValueError(f"ordinal.{column}: list two or more levels, each once, in "
                                 "order")
            if column in self.numeric + self.categorical + self.profile:
                raise ValueError(f"ordinal lists {column!r}, which is also under numeric, "
                                 "categorical or profile; keep one")
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
    select: Literal["stable", "silhouette", "elbow", "calinski_harabasz"] = Field(
        "stable", description="How k is chosen from the range: stable (the best silhouette "
        "among the k of 3 or more whose segments all come back when the customers are "
        "resampled and each hold min_share), or silhouette, elbow, calinski_harabasz."
    )
    min_share: float = Field(
        0.03, ge=0, lt=0.5, description="With select: stable, the smallest share of customers "
        "a segment may hold (a segment too small to run a campaign on does not count).")
    random_state: int = Field(
        42, ge=0, le=2**32 - 1,
        description="Seed: the same config and data give the same labels (0 to 2**32 - 1).")
    n_init: int = Field(
        10, ge=4, le=100, description="K-Means initialisations per k (4 to 100; one picks "
        "wrong k).")
    silhouette_sample: int = Field(
        10_000, ge=1_000, le=100_000, description="Silhouette is computed on at most this "
        "many rows (its cost grows with the square: 100,000 takes minutes)."
    )
    sweep_sample: int = Field(
        50_000, ge=1_000, le=10_000_000, description="The k sweep is fitted on at most this "
        "many rows (a seeded random sample); the chosen k is then fitted on all rows.")
    refit: bool = Field(
        True, description="Fit a new model each period and match its segments to the last "
        "period's (ids, names, colours kept); false: score new data with the saved model.")
    match_distance: float = Field(
        0.5, gt=0, le=1, description="A new segment keeps an old id when its centre lies "
        "within this fraction of the distance from the old centre to the nearest other one.")


class OutputSection(Section):
    dir: Path = Field(Path("reports"), validate_default=True,
                      description="Where report folders are written.")
    formats: list[Literal["html", "pdf"]] = Field(
        default_factory=lambda: list[Literal["html", "pdf"]](["html", "pdf"]),
        description="Rendered formats; segments.csv and summary.json are always written.",
    )

    _resolve = field_validator("dir")(resolve_path)


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
    roles: dict[Literal["spending", "frequency", "recency", "tenure", "income", "balance",
                        "age"], str | None] = Field(
        default_factory=dict, description="Which column measures what the presets' rules "
        "talk about (`frequency: PURCHASES_FREQUENCY`); `null` leaves a role unbound. Roles "
        "not named are bound by meaning: a column whose name says it measures the role, a "
        "total before its parts (config/roles.py). `init` writes the block with reasons.")
    output: OutputSection = Field(
        default_factory=dict, validate_default=True, description="Where and what to write.")
    value: ValueSection | None = Field(
        None, description="Predict each customer's purchases, P(alive) and value from sales "
        "lines (needs transactions:), with a backtest.")
    audiences: AudiencesSection = Field(
        default_factory=dict, validate_default=True,
        description="The audiences for a CRM (with value:) and their control group.")
    email: EmailSection | None = Field(
        None, description="Email the PDF: `reportgen send`, or after every run.")
    engine: EngineSection = Field(
        default_factory=dict, validate_default=True,
        description="Where the stages that touch every row run: pandas or spark.")

    @model_validator(mode="after")
    def _transactions_identify_customers(self) -> Config:
        if self.transactions is not None and self.data.id is not None:
            raise ValueError("data.id is not used with transactions: customers are identified "
                             "by transactions.customer; remove data.id")
        if self.value is not None and self.transactions is None:
            raise ValueError("value: the value model needs sales lines (a purchase history); "
                             "add a transactions: block (customer, date and amount columns) "
                             "or remove value:")
        if self.audiences.control_share and self.value is None:
            raise ValueError("audiences.control_share: the audiences are written with the "
                             "value model; add a value: block, or remove control_share")
        self._engine_reads_source()
        return self

    def _engine_reads_source(self) -> None:
        if self.engine.segments_path is not None and (
                not self.engine.spark or self.transactions is not None):
            raise ValueError("engine.segments_path is where Spark writes the segments of a "
                             "customer table it keeps (engine: spark, no transactions:); "
                             "remove it, the segments then go in the report's folder")
        if self.engine.spark:
            if self.data.sql is not None:
                raise ValueError("engine: spark reads data.path or data.table, not data.sql; "
                                 "point data.path at files Spark can read, or use engine: "
                                 "pandas")
            return
        if self.data.table is not None:
            raise ValueError("data.table is a Spark catalog table: set engine: {name: spark}, "
                             "or read a file with data.path")
        if self.data.path is None and self.data.sql is None:
            raise ValueError(f"data.path {self.data.location} is a URL only Spark reads: set "
                             "engine: {name: spark}, or copy the data to a local file")


