"""The data stage for `data.sql`: a query's result as the DataFrame a data file would give.

Through SQLAlchemy, with the driver a URL's scheme implies (psycopg for PostgreSQL; SQLite
and DuckDB files read-only). The password comes from the environment variable the config
names and only ever reaches the driver: messages show the URL without it, and any text a
driver echoes is scrubbed of it. `{period_start}`, `{period_end}` and `{as_of}` become
bound date parameters, never text pasted into the SQL. Rows arrive in chunks from a
server-side cursor and each chunk is typed compactly at once, so a big result is never
held twice as Python objects.

A driver's own exception is the one cause not kept (`from None`, against the rule of
errors.py): its text may carry the password, which the one-line message has scrubbed, and
`--debug` must not print it either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from reportgen.config.schema import Config
from reportgen.config.sources import SqlSource
from reportgen.errors import ConfigError, DataError
from reportgen.text import did_you_mean

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
BIND_LIKE_RE = re.compile(r"(?<![:\w\\]):(?=\w)")  # what SQLAlchemy's text() takes for a bind
WHERE = "the query's result"


def query_parameters(config: Config, period: str) -> dict[str, dt.date]:
    """The dates a query may use. period_end is the first day after the period (use
    `< {period_end}`); as_of is the configured reference date, else period_end."""
    start = dt.date.fromisoformat(f"{period}-01")
    end = (start + dt.timedelta(days=32)).replace(day=1)
    as_of: dt.date | None = config.data.as_of
    if config.transactions is not None and isinstance(config.transactions.as_of, dt.date):
        as_of = config.transactions.as_of
    return {"period_start": start, "period_end": end, "as_of": as_of or end}


def read_query(sql: SqlSource, wanted: dict[str, str], parameters: dict[str, dt.date],
               whole_lines: bool = False) -> tuple[pd.DataFrame, str, np.ndarray | None]:
    """The wanted columns of the query's rows, a sha256 of them for summary.json and,
    with `whole_lines`, a hash of each row over every column the query returns."""
    password = _password(sql)
    engine = _engine(sql, password)
    try:
        with _connection(engine, sql, password) as connection:
            cursor = _execute(connection, sql, parameters, password)
            columns = _result_columns(cursor, wanted)
            hashes: list[np.ndarray] | None = [] if whole_lines else None
            chunks = list(_typed_chunks(cursor, columns, wanted, sql.chunk_rows, password,
                                        hashes))
    finally:
        engine.dispose()
    if not chunks:
        shown = ", ".join(f"{k}={v}" for k, v in parameters.items() if k in _used(sql.query))
        raise DataError("data.sql.query returned no rows" + (f" for {shown}" if shown else "")
                        + "; check its filters and the --period")
    frame = _settle_types(pd.concat(chunks, ignore_index=True))
    return frame, frame_sha256(frame), np.concatenate(hashes) if hashes is not None else None


def bound_query(query: str) -> str:
    """The query with its placeholders as bind parameters and any other `:name` made
    literal (a PostgreSQL `'12:30'::time` or a JSON path must not become a parameter)."""
    escaped = BIND_LIKE_RE.sub(r"\\:", query)
    pieces = []
    for literal, name, _, _ in string.Formatter().parse(escaped):
        pieces.append(literal)
        if name is not None:
            pieces.append(f"(:{name})")  # parenthesised: `{as_of}::date` must still bind
    return "".join(pieces)


def frame_sha256(frame: pd.DataFrame) -> str:
    """A fingerprint of the rows read, so two runs can be seen to have read the same data."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _used(query: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(query) if name}


def _password(sql: SqlSource) -> str | None:
    if sql.password_env is None:
        return None
    value = os.environ.get(sql.password_env)
    if not value:
        raise ConfigError(f"data.sql.password_env: the environment variable "
                          f"{sql.password_env} is not set; export it with the database "
                          "password before running")
    return value


def _engine(sql: SqlSource, password: str | None) -> Engine:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        url = make_url(_driver_url(sql.url))
        if password is not None:
            url = url.set(password=password)
        return create_engine(url, poolclass=NullPool,
                             connect_args=_connect_args(url.get_backend_name(), sql))
    except NoSuchModuleError as exc:
        scheme = sql.url.split("://", 1)[0]
        raise ConfigError(f"data.sql.url: no SQLAlchemy dialect for {scheme!r}; use "
                          "postgresql://, sqlite:/// or duckdb:///, or install the dialect "
                          "for your database") from exc
    except ModuleNotFoundError as exc:
        raise ConfigError(f"data.sql.url: the database driver {exc.name!r} is not installed; "
                          f"pip install it into reportgen's environment") from exc
    except ArgumentError as exc:
        raise ConfigError(f"data.sql.url: {_scrub(str(exc), password)}") from None


def _driver_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    url = f"{DRIVERS.get(scheme.lower(), scheme)}://{rest}"
    if scheme.lower() == "sqlite":  # read-only, so a report can never change the database
        url = f"sqlite:///file:{rest[1:]}?mode=ro&uri=true"
    return url


def _connect_args(backend: str, sql: SqlSource) -> dict[str, Any]:
    if backend == "postgresql":
        return {"connect_timeout": sql.connect_timeout, "application_name": "reportgen",
                "options": "-c default_transaction_read_only=on"}
    if backend == "duckdb":
        return {"read_only": True}
    if backend == "sqlite":
        return {"timeout": sql.connect_timeout}
    return {}


@contextmanager
def _connection(engine: Engine, sql: SqlSource, password: str | None) -> Iterator[Connection]:
    from sqlalchemy.exc import DBAPIError

    try:
        connection = engine.connect()
    except DBAPIError as exc:
        message = _scrub(_driver_message(exc), password)
        raise DataError(f"data.sql: cannot connect to {sql.url}: {message}"
                        f"{_connection_hint(message, sql)}") from None
    with connection:
        yield connection


def _execute(connection: Connection, sql: SqlSource, parameters: dict[str, dt.date],
             password: str | None) -> Any:
    """The driver's own cursor over the query's rows (server-side for PostgreSQL).

    SQLAlchemy compiles the statement for the driver's parameter style; the rows are read
    from the driver directly, as plain tuples: SQLAlchemy's Row objects cost pandas four
    times the fetching itself (1M lines: 20 s against 5 s), and a text() query has no
    result types for SQLAlchemy to process anyway.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    used = _used(sql.query)
    try:
        compiled = text(bound_query(sql.query)).compile(dialect=connection.dialect)
        values: Any = compiled.construct_params({k: v for k, v in parameters.items()
                                                 if k in used})
    except SQLAlchemyError as exc:
        raise DataError(f"data.sql.query: {_scrub(_driver_message(exc), password)}") from None
    if connection.dialect.positional:
        values = tuple(values[name] for name in compiled.positiontup or [])
    driver = connection.connection.dbapi_connection
    assert driver is not None
    cursor = (driver.cursor(name="reportgen") if connection.dialect.name == "postgresql"
              else driver.cursor())
    try:
        cursor.execute(compiled.string, values)
    except Exception as exc:  # any driver's error class: the database said no
        raise DataError("data.sql.query: the database refused the query: "
                        f"{_scrub(_driver_message(exc), password)}") from None
    return cursor


def _result_columns(cursor: Any, wanted: dict[str, str]) -> list[str]:
    columns = [str(column[0]) for column in cursor.description or []]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise DataError(f"data.sql.query returns the column {twice[0]!r} twice; give one of "
                        "them another name with AS")
    missing = [c for c in wanted if c not in columns]
    if missing:
        name = missing[0]
        raise DataError(f"{wanted[name]}: column {name!r} is not in {WHERE}"
                        f"{did_you_mean(name, columns)}")
    return columns


def _typed_chunks(cursor: Any, columns: list[str], wanted: dict[str, str], size: int,
                  password: str | None, hashes: list[np.ndarray] | None
                  ) -> Iterator[pd.DataFrame]:
    """The rows a block at a time; into `hashes`, each row's hash over all its columns."""
    keep = list(wanted)
    while True:
        try:
            rows = cursor.fetchmany(size)
        except Exception as exc:  # any driver's error class: the database said no
            raise DataError("data.sql.query failed while reading rows: "
                            f"{_scrub(_driver_message(exc), password)}") from None
        if not rows:
            return
        chunk = pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
        if hashes is not None:
            hashes.append(pd.util.hash_pandas_object(chunk.astype(str), index=False).to_numpy())
        yield _settle_types(chunk[keep])


def _settle_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as datetime64 (naive), numbers as numbers, text as text: what a file gives."""
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            frame[column] = values.dt.tz_convert(None)
        elif values.dtype == object:
            frame[column] = _from_objects(values)
    return frame


def _from_objects(values: pd.Series) -> pd.Series:
    present = values.dropna()
    if present.empty:
        return values.astype("float64")
    first = present.iloc[0]
    if isinstance(first, dt.date | dt.datetime):
        parsed = pd.to_datetime(values, errors="coerce", utc=True)
        return parsed.dt.tz_convert(None)
    if isinstance(first, bool | int | float):
        return pd.to_numeric(values, errors="coerce")
    return values.astype("str").where(values.notna())


def _driver_message(exc: BaseException) -> str:
    """The database's own words, on one line, without SQLAlchemy's [SQL: ...] appendix."""
    original = getattr(exc, "orig", None) or exc
    diag = getattr(original, "diag", None)  # psycopg: the server's message without the SQL
    primary = getattr(diag, "message_primary", None)
    if primary:
        hint = getattr(diag, "message_hint", None)
        return f"{primary} ({hint})" if hint else primary
    text = str(original).split("\n[SQL:")[0].split("\n(Background on")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = " ".join(lines[:2]) if lines else type(original).__name__
    return re.sub(r"\s+", " ", message).removeprefix("connection failed: ")


def _connection_hint(message: str, sql: SqlSource) -> str:
    lower = message.lower()
    if "password" in lower or "authentication" in lower:
        where = (f"the environment variable {sql.password_env}" if sql.password_env
                 else "data.sql.password_env (not set)")
        return f"; check the user in data.sql.url and the password in {where}"
    if "timeout" in lower or "timed out" in lower:
        return (f"; no answer within {sql.connect_timeout} s: check the host and port, and "
                "any firewall between")
    if "refused" in lower or "could not translate" in lower or "resolve" in lower:
        return "; check the host and port in data.sql.url, and that the server is running"
    return ""


def _scrub(text: str, password: str | None) -> str:
    return text.replace(password, "***") if password else text
