"""Where the data come from: a file (with its reading options) or a SQL query, and the
`transactions:` block that turns sales lines into one row a customer."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reportgen.config.base import Section, check_placeholders, resolve_path
from reportgen.config.expressions import parse
from reportgen.errors import ExpressionError


class ReadOptions(Section):
    sep: str | None = Field(
        None, min_length=1, description="Column separator (one character), or `whitespace` "
        "for columns lined up with spaces; detected from the file when absent.")
    columns: list[str] | None = Field(
        None, min_length=1, description="The column names of a file without a header row "
        "(its first line is then data).")
    encoding: str = Field("utf-8", description="Text encoding of the file, e.g. latin-1 "
                          "(a UTF-8 byte-order mark and UTF-16 are detected by themselves).")
    dayfirst: bool = Field(False, description="Dates are written day first (31/12/2024).")
    sheet: str | int | None = Field(None, description="Excel sheet name or 0-based index.")
    decimal: str = Field(".", min_length=1, max_length=1, description="Decimal mark.")
    thousands: str | None = Field(None, max_length=1, description="Thousands separator.")

    @field_validator("sep")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and value != "whitespace" and len(value) != 1:
            raise ValueError(f"a separator is one character (or whitespace), found {value!r:.20}")
        return value

    @field_validator("encoding")
    @classmethod
    def _text_encoding(cls, value: str) -> str:
        """A codec Python knows and that turns bytes into text: rot13 or base64 are not."""
        try:
            info = codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r:.40}; try utf-8, latin-1 or cp1252"
                             ) from None
        if not getattr(info, "_is_text_encoding", True):
            raise ValueError(f"{value!r:.40} is not a text encoding; try utf-8, latin-1 or "
                             "cp1252")
        return value


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
    chunk_rows: int = Field(50_000, ge=1000, le=10_000_000,
                            description="Rows fetched at a time.")
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
        check_placeholders(value, SQL_PLACEHOLDERS)
        return value


def _database_file_url(scheme: str, rest: str, info: ValidationInfo) -> str:
    """sqlite:///shop.db means shop.db next to the config; the file must exist (SQLite
    would otherwise create an empty database and the query would fail obscurely)."""
    if not rest.startswith("/") or rest in ("/", "/:memory:"):
        raise ValueError(f"use {scheme}:///path/to/file (three slashes, then the file)")
    path = resolve_path(Path(rest[1:]), info)
    assert path is not None
    if not path.is_file():
        raise ValueError(f"database file not found: {path}")
    return f"{scheme}:///{path}"


class DataSection(Section):
    path: Path | None = Field(
        None, description="The data file: .csv .tsv .txt .jsonl (optionally .gz .bz2 .xz "
        ".zip), .parquet, .xlsx; or `sql:`. With engine: spark, also a folder of parquet or CSV "
        "files, or a URL Spark reads (s3a://, hdfs://, abfss://).")
    sql: SqlSource | None = Field(None, description="Read the data with a SQL query instead.")
    table: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$",
        description="With engine: spark, a catalog table (warehouse.sales) instead of a path.")
    id: str | None = Field(None, min_length=1, description="Customer id column, read as "
                           "text exactly as written; row numbers when absent.")
    as_of: dt.date | None = Field(
        None, description="Reference date for days_since() in derive (default: the "
        "transactions' as_of, else today).")
    read: ReadOptions = Field(default_factory=dict, validate_default=True,
                              description="Reading options.")

    _uri: str | None = PrivateAttr(None)
    _resolve = field_validator("path")(resolve_path)

    @model_validator(mode="wrap")
    @classmethod
    def _one_source(cls, value: Any, handler: Any) -> DataSection:
        """Exactly one source. A URL path (s3a://bucket/sales) is not a file next to the
        config: it is kept as written, for Spark, which alone reads it."""
        uri = None
        if isinstance(value, dict) and isinstance(value.get("path"), str) and URL_RE.match(
                value["path"].strip()) and not value["path"].startswith("file://"):
            uri = value["path"].strip()
            value = {**value, "path": None}
        section: DataSection = handler(value)
        section._uri = uri
        given = [name for name, set_ in (("path", section.path or uri), ("sql", section.sql),
                                         ("table", section.table)) if set_]
        if given == ["path", "sql"]:
            raise ValueError("set either path (a data file) or sql (a database query), not both")
        if len(given) > 1:
            raise ValueError(f"set one of path, sql and table, not {' and '.join(given)}")
        if not given:
            raise ValueError("set either path (a data file) or sql (a database query) "
                             "(or, with engine: spark, table)")
        return section

    @property
    def location(self) -> str | None:
        """Where Spark reads: the URL as written, or the local path."""
        return self._uri or (str(self.path) if self.path is not None else None)

    @property
    def source_name(self) -> str:
        """How the report names where the data came from (never with a password)."""
        if self.sql is not None:
            return f"SQL query on {self.sql.url}"
        if self.table is not None:
            return f"table {self.table}"
        if self._uri is not None:
            return self._uri.rstrip("/").rpartition("/")[2] or self._uri
        assert self.path is not None
        return self.path.name


def _check_expression(value: str) -> str:
    try:
        parse(value)
    except ExpressionError as exc:
        raise ValueError(f"{exc} in {value!r}" if len(value) <= 80 else str(exc)) from exc
    return value


Expression = Annotated[str, BeforeValidator(lambda v: _check_expression(str(v)))]


class TransactionsSection(Section):
    customer: str = Field(description="Customer id column of the sales lines.")
    invoice: str | None = Field(
        None, description="Invoice (order) number column; distinct invoices count as "
        "purchases. Without one (an order log of one line a purchase) a purchase is a "
        "customer's day.")
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
        "C", description="Invoice numbers starting with this mark cancellations (with an "
        "invoice column), whose amounts must be negative; null where order ids start with "
        "it and sell (Superstore's \"CA-\" orders).")

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


