"""The data stage: read the configured file into a DataFrame of the columns the run needs.

Reading is by extension, with the config's `read` options. Problems a user can fix (a
missing file, a wrong delimiter or encoding, a column the data lacks) become DataError
with the fix in the message; nothing here knows about clustering.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import DataSection
from .errors import DataError
from .memory import check_fits
from .textutil import did_you_mean

TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": None}
CANDIDATE_SEPARATORS = ",\t;|"
SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Table:
    """One row a customer. `frame` keeps the file's own column names and values."""

    frame: pd.DataFrame
    ids: pd.Series
    source: str  # a file's name or "SQL query on <url>"
    sha256: str
    n_rows_read: int
    dropped: dict[str, int]


def load_table(data: DataSection, needed: dict[str, str],
               parameters: dict[str, dt.date] | None = None) -> Table:
    """Read the needed columns (and the id) from the configured source: one row a customer.

    `needed` maps each column to the config key that asked for it, for error messages;
    `parameters` are the dates a SQL query may use.
    """
    wanted = {**needed, data.id: "data.id"} if data.id and data.id not in needed else needed
    frame, sha256 = read_source(data, wanted, parameters)
    ids, frame, dropped = split_ids(frame, data.id)
    return Table(frame=frame[list(needed)], ids=ids, source=data.source_name, sha256=sha256,
                 n_rows_read=len(frame) + sum(dropped.values()), dropped=dropped)


def read_source(data: DataSection, needed: dict[str, str],
                parameters: dict[str, dt.date] | None = None) -> tuple[pd.DataFrame, str]:
    """The rows of the file or query, only the needed columns in that order, and a sha256."""
    if data.sql is not None:
        from .sql import read_query

        return read_query(data.sql, needed, parameters or {})
    assert data.path is not None
    return read_frame(data, needed), file_sha256(data.path)


def read_frame(data: DataSection, needed: dict[str, str]) -> pd.DataFrame:
    """The file's rows, only the needed columns, in that order."""
    path = data.path
    assert path is not None
    if not path.is_file():
        raise DataError(
            f"data.path: file not found: {path} (relative paths are resolved against the "
            "config file's folder)"
        )
    kind = file_kind(path)
    if kind == "parquet":
        frame = _read_parquet(path, needed)
    elif kind == "xlsx":
        frame = _read_excel(path, data, needed)
    else:
        frame = _read_text(path, data, needed)
    if frame.empty:
        raise DataError(f"data file {path.name} has a header but no data rows")
    return frame


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".xlsx"):
        return "xlsx"
    if any(name.endswith(s) or name.endswith(s + ".gz") for s in TEXT_SUFFIXES):
        return "text"
    raise DataError(
        f"data.path: cannot read {path.name}: use a .csv, .tsv, .txt, .csv.gz, .parquet or "
        ".xlsx file"
    )


def _read_text(path: Path, data: DataSection, wanted: dict[str, str]) -> pd.DataFrame:
    opts = data.read
    sample = _text_sample(path, opts.encoding)
    if not sample.strip():
        raise DataError(f"data file {path.name} is empty")
    sep = opts.sep or sniff_separator(sample, path)
    header = _header(sample, sep)
    check_columns(wanted, header, path, hint=_separator_hint(header, sep, opts.sep))
    check_fits(path, "text", len(wanted) / max(len(header), 1))
    try:
        return pd.read_csv(
            path, sep=sep, usecols=list(wanted), encoding=opts.encoding, decimal=opts.decimal,
            thousands=opts.thousands, low_memory=False,
        )[list(wanted)]
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, opts.encoding, exc) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"data file {path.name} cannot be parsed: {_first_line(exc)}") from None


def read_head(path: Path) -> bytes:
    """The first SNIFF_BYTES of a text file, gzip or not: enough to see how it is written."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        return handle.read(SNIFF_BYTES)


def _text_sample(path: Path, encoding: str) -> str:
    raw = read_head(path)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":  # a character cut by the sample's end
            return raw[: exc.start].decode(encoding)
        raise _encoding_error(path, encoding, exc) from None
    except LookupError:
        raise DataError(f"data.read.encoding: unknown encoding {encoding!r}; try latin-1 "
                        "or cp1252") from None


def _encoding_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> DataError:
    byte = exc.object[exc.start : exc.start + 1].hex()
    return DataError(
        f"data file {path.name} is not valid {encoding} text (byte 0x{byte} at offset "
        f"{exc.start}); set data.read.encoding to the file's encoding, e.g. latin-1 or cp1252"
    )


def sniff_separator(sample: str, path: Path) -> str:
    """The delimiter of a text file; the extension's default when the sample is ambiguous."""
    lines = "\n".join(sample.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(lines, delimiters=CANDIDATE_SEPARATORS).delimiter
    except csv.Error:
        suffix = path.name.lower().removesuffix(".gz")
        return TEXT_SUFFIXES.get(Path(suffix).suffix) or ","


def _header(sample: str, sep: str) -> list[str]:
    first = sample.splitlines()[0] if sample.splitlines() else ""
    return [c.strip() for c in next(csv.reader(io.StringIO(first), delimiter=sep), [])]


def _separator_hint(header: list[str], sep: str, configured: str | None) -> str:
    if len(header) != 1:
        return ""
    for candidate in CANDIDATE_SEPARATORS:
        if candidate != sep and candidate in header[0]:
            shown = "\\t" if candidate == "\t" else candidate
            return (f"; only one column was found with separator {sep!r}: the file looks "
                    f"{shown!r}-separated; set data.read.sep: \"{shown}\"")
    return "" if configured else "; only one column was found; set data.read.sep"


def _read_parquet(path: Path, wanted: dict[str, str]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as exc:
        raise DataError(f"data file {path.name} is not a readable parquet file: "
                        f"{_first_line(exc)}") from None
    check_columns(wanted, names, path)
    check_fits(path, "parquet", len(wanted) / max(len(names), 1))
    return pd.read_parquet(path, columns=list(wanted))


def _read_excel(path: Path, data: DataSection, wanted: dict[str, str]) -> pd.DataFrame:
    sheet = data.read.sheet if data.read.sheet is not None else 0
    try:
        frame = pd.read_excel(path, sheet_name=sheet)
    except ValueError as exc:
        raise DataError(f"data.read.sheet: {_first_line(exc)} in {path.name}") from None
    except Exception as exc:
        raise DataError(f"data file {path.name} is not a readable .xlsx file: "
                        f"{_first_line(exc)}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    check_columns(wanted, list(frame.columns), path)
    return frame[list(wanted)]


def check_columns(wanted: dict[str, str], present: list[str], path: Path,
                  hint: str = "") -> None:
    """Every configured column must exist; name the key, and the closest columns."""
    missing = [c for c in wanted if c not in present]
    if missing:
        name = missing[0]
        raise DataError(
            f"{wanted[name]}: column {name!r} is not in {path.name}"
            f"{hint or did_you_mean(name, present)}"
        )


def split_ids(frame: pd.DataFrame, id_column: str | None) -> tuple[pd.Series, pd.DataFrame,
                                                                     dict[str, int]]:
    """Customer ids: the id column (unique, rows without one dropped) or row numbers."""
    if id_column is None:
        ids = pd.Series(range(1, len(frame) + 1), name="id")
        return ids, frame.reset_index(drop=True), {}
    missing = frame[id_column].isna()
    frame = frame.loc[~missing].reset_index(drop=True)
    ids = frame[id_column].rename("id")
    repeated = ids[ids.duplicated()]
    if not repeated.empty:
        first = repeated.iloc[0]
        count = int((ids == first).sum())
        raise DataError(
            f"data.id: customer id {first!r} appears {count} times in column {id_column!r} "
            f"({repeated.nunique()} {'id repeats' if repeated.nunique() == 1 else 'ids repeat'}"
            "); the data must hold one row a customer"
        )
    dropped = {"missing customer id": int(missing.sum())} if missing.any() else {}
    return ids, frame, dropped


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
