"""The data stage: read the configured file into a DataFrame of the columns the run needs.

Reading is by extension, with the config's `read` options. Problems a user can fix (a
missing file, a wrong delimiter or encoding, a column the data lacks) become DataError
with the fix in the message; nothing here knows about clustering.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.config.sources import DataSection
from reportgen.data.memory import check_fits, check_parquet_fits, text_budget, too_big_to_read
from reportgen.data.raw import (
    OLE_SIGNATURE,
    READ_ERRORS,
    TEXT_SUFFIXES,
    ZIP_SIGNATURE,
    check_regular_file,
    compression,
    csv_encoding,
    damaged,
    decompressed,
    file_kind,
    guess_encoding,
    is_wide,
    nul_error,
    read_head,
    settle_encoding,
    text_handle,
)
from reportgen.errors import DataError
from reportgen.text import did_you_mean

CANDIDATE_SEPARATORS = ",\t;|"


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
    frame, sha256 = read_source(data, wanted, parameters, [data.id] if data.id else [])
    ids, frame, dropped = split_ids(frame, data.id)
    return Table(frame=frame[list(needed)], ids=ids, source=data.source_name, sha256=sha256,
                 n_rows_read=len(frame) + sum(dropped.values()), dropped=dropped)


def read_source(data: DataSection, needed: dict[str, str],
                parameters: dict[str, dt.date] | None = None,
                text_columns: Collection[str] = ()) -> tuple[pd.DataFrame, str]:
    """The rows of the file or query, only the needed columns in that order, and a sha256.

    `text_columns` (ids, invoice numbers) are read as text exactly as written, whatever
    the source, so that an id keeps its zeros and never turns into a float.
    """
    source = read_lines(data, needed, parameters, text_columns, whole_lines=False)
    return source.frame, source.sha256


@dataclass(frozen=True)
class Lines:
    """The needed columns of every row, and (when asked) a hash of each whole row."""

    frame: pd.DataFrame
    sha256: str
    whole: np.ndarray | None  # uint64, one a row: every column of the source, as written


def read_lines(data: DataSection, needed: dict[str, str],
               parameters: dict[str, dt.date] | None, text_columns: Collection[str],
               whole_lines: bool) -> Lines:
    """As read_source, with `whole_lines` a hash of each row over all the source's
    columns: a duplicate is a repeat of a whole line, and two colours of one product in
    one invoice at the same quantity and price are two lines, not one (hashing only the
    columns a run reads dropped 151,429 of the Online Retail export's 541,909 lines, of
    which 5,268 are repeats)."""
    whole: np.ndarray | None = None
    if data.sql is not None:
        from reportgen.data.sql import read_query

        frame, sha256, whole = read_query(data.sql, needed, parameters or {}, whole_lines)
    else:
        assert data.path is not None
        frame, sha256 = read_frame(data, needed, text_columns), file_sha256(data.path)
        if whole_lines:
            whole = file_line_hashes(data, frame)
    for column in text_columns:
        if column in frame:
            frame[column] = as_text_ids(frame[column])
    return Lines(frame, sha256, whole)


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row over every column."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def file_line_hashes(data: DataSection, read: pd.DataFrame) -> np.ndarray:
    """Each row's hash over all the file's columns. The run reads only the columns it
    needs; the file is read again here a block at a time, so the memory added is 8 bytes
    a row."""
    path = data.path
    assert path is not None
    kind = file_kind(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        parts = [row_hashes(batch.to_pandas())
                 for batch in pq.ParquetFile(path).iter_batches(batch_size=500_000)]
        hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    elif kind == "xlsx":
        hashes = row_hashes(read_workbook(path, data.read.sheet
                                          if data.read.sheet is not None else 0))
    elif kind == "jsonl":
        hashes = _json_line_hashes(path)
    else:
        hashes = _text_line_hashes(path, data, read)
    if len(hashes) != len(read):
        raise AssertionError(f"{len(hashes)} line hashes for {len(read)} lines")
    return hashes


def _text_line_hashes(path: Path, data: DataSection, read: pd.DataFrame) -> np.ndarray:
    opts = data.read
    layout = text_layout(path, opts.encoding, opts.sep, opts.columns)
    if set(layout.header) <= set(read.columns):  # every column is already read
        return row_hashes(read)
    raw = _raw_line_hashes(path, layout, len(read))
    return raw if raw is not None else _parsed_line_hashes(path, layout)


def _raw_line_hashes(path: Path, layout: TextLayout, rows: int) -> np.ndarray | None:
    """Each line's bytes hashed as they stream by, line ends aside: on the Online Retail
    export 0.15 s, against 0.9 s to parse the other columns as text and hash them. Only
    where a line is a row: none when the file is UTF-16/32 or its count of non-blank
    lines differs from the rows read (a quoted field holding a line break)."""
    if is_wide(layout.encoding):
        return None
    with decompressed(path) as handle:
        stripped = (line.rstrip(b"\r\n") for line in handle)
        hashes = np.fromiter((hash(line) for line in stripped if line.strip()), dtype=np.int64)
    if not layout.named:
        hashes = hashes[1:]
    return hashes.view(np.uint64) if len(hashes) == rows else None


def _parsed_line_hashes(path: Path, layout: TextLayout) -> np.ndarray:
    """Every column parsed as text, a block at a time, and hashed: 8 bytes a row kept."""
    limit = text_budget(1.0 / max(len(layout.header), 1))
    fields = (layout.sep, len(layout.header), not layout.named)
    parts = []
    with text_handle(path, layout.encoding, limit, too_big_to_read(path, limit),
                     fields) as handle:
        for block in pd.read_csv(handle, sep=layout.sep, encoding=csv_encoding(layout.encoding),
                                 dtype=str, keep_default_na=False, na_filter=False,
                                 chunksize=500_000, **({"header": None, "names": layout.header}
                                                      if layout.named else {})):
            parts.append(row_hashes(block))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def read_frame(data: DataSection, needed: dict[str, str],
               text_columns: Collection[str] = ()) -> pd.DataFrame:
    """The file's rows, only the needed columns, in that order."""
    path = data.path
    assert path is not None
    check_regular_file(path)
    kind = file_kind(path)
    if kind == "parquet":
        frame = _read_parquet(path, needed, text_columns)
    elif kind == "xlsx":
        frame = _read_excel(path, data, needed, text_columns)
    elif kind == "jsonl":
        frame = _read_json_lines(path, needed)
    else:
        frame = _read_text(path, data, needed, text_columns)
    if frame.empty:
        raise DataError(f"data file {path.name} has a header but no data rows")
    return frame


def _read_json_lines(path: Path, wanted: dict[str, str]) -> pd.DataFrame:
    """One JSON object a line; a key missing from a line, or null, is a missing value.
    Values keep their JSON types (a text id stays text; a numeric id becomes text as the
    other readers' ids do, data/files.as_text_ids)."""
    if compression(path) is None:
        check_fits(path, "jsonl", 1.0)  # every key is parsed, wanted or not
    try:
        with decompressed(path) as handle:
            frame = pd.read_json(handle, lines=True, dtype=False)
    except (ValueError, *READ_ERRORS) as exc:
        raise damaged(path, exc) from exc
    present = [str(c) for c in frame.columns]
    check_columns(wanted, present, path)
    return frame[list(wanted)].reset_index(drop=True)


def _json_line_hashes(path: Path) -> np.ndarray:
    """Each non-blank line's bytes hashed: a duplicate repeats a line byte for byte."""
    with decompressed(path) as handle:
        stripped = (line.rstrip(b"\r\n") for line in handle)
        hashes = np.fromiter((hash(line) for line in stripped if line.strip()), dtype=np.int64)
    return hashes.view(np.uint64)


def _read_text(path: Path, data: DataSection, wanted: dict[str, str],
               text_columns: Collection[str]) -> pd.DataFrame:
    opts = data.read
    layout = text_layout(path, opts.encoding, opts.sep, opts.columns)
    share = len(wanted) / max(len(layout.header), 1)
    if compression(path) is None:
        check_fits(path, "text", share)
    check_not_binary(layout, path)
    check_columns(wanted, layout.header, path,
                  hint=_separator_hint(layout.header, layout.sep, opts.sep))
    check_unique_columns(wanted, layout.header, path)
    return parse_text(path, layout, share, usecols=list(wanted), decimal=opts.decimal,
                      thousands=opts.thousands,
                      dtype={c: "str" for c in text_columns if c in wanted})[list(wanted)]


@dataclass(frozen=True)
class TextLayout:
    """How a text file is written, from its first line(s): what `run` and `init` share."""

    head: bytes
    encoding: str
    sep: str
    header: list[str]
    named: bool = False  # the header comes from data.read.columns: the file has none


def text_layout(path: Path, encoding: str | None, sep: str | None,
                columns: list[str] | None = None) -> TextLayout:
    """The file's encoding (`None`: guessed), delimiter (`None`: sniffed) and header
    (`columns` for a file that has none)."""
    head = read_head(path)
    encoding = settle_encoding(head, encoding or guess_encoding(head))
    sample = _decode_sample(head, encoding, path)
    if not sample.strip():
        raise DataError(f"data file {path.name} is empty")
    sep = WHITESPACE if sep == "whitespace" else sep or sniff_separator(sample, path)
    header = list(columns) if columns else _header(sample, sep)
    return TextLayout(head, encoding, sep, header, named=columns is not None)


WHITESPACE = r"\s+"  # pandas' C parser reads columns lined up by any run of blanks


def check_not_binary(layout: TextLayout, path: Path) -> None:
    if not is_wide(layout.encoding) and b"\x00" in layout.head:
        raise nul_error(path, layout.head.find(b"\x00"))


def parse_text(path: Path, layout: TextLayout, share: float, **options: Any) -> pd.DataFrame:
    """pandas' read_csv over the guarded stream; its complaints as one line."""
    limit = text_budget(share)
    try:
        fields = (layout.sep, len(layout.header), not layout.named)
        with text_handle(path, layout.encoding, limit, too_big_to_read(path, limit),
                         fields) as handle:
            return pd.read_csv(handle, sep=layout.sep, encoding=csv_encoding(layout.encoding),
                               low_memory=False, **({"header": None, "names": layout.header}
                                                    if layout.named else {}), **options)
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, layout.encoding, exc) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"data file {path.name} cannot be parsed: {_first_line(exc)}") from exc


def _decode_sample(head: bytes, encoding: str, path: Path) -> str:
    try:
        return head.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.reason in ("unexpected end of data", "truncated data"):  # cut by the sample's end
            return head[: exc.start].decode(encoding)
        raise _encoding_error(path, encoding, exc) from exc


def _encoding_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> DataError:
    if exc.reason in ("truncated data", "unexpected end of data"):
        return DataError(f"data file {path.name} ends in the middle of a {encoding} character, "
                         "so it was cut short; export or download it again")
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
        name = path.name.lower()
        bare = name.removesuffix(Path(name).suffix) if compression(path) else name
        return TEXT_SUFFIXES.get(Path(bare).suffix) or ","


def _header(sample: str, sep: str) -> list[str]:
    """The first record, quotes and all (a quoted name may even hold a line break)."""
    if sep == WHITESPACE:
        return next((line.split() for line in sample.splitlines() if line.strip()), [])
    try:
        first = next(csv.reader(io.StringIO(sample), delimiter=sep), [])
    except csv.Error:
        first = sample.splitlines()[0].split(sep) if sample.splitlines() else []
    return [c.strip() for c in first]


def _separator_hint(header: list[str], sep: str, configured: str | None) -> str:
    if len(header) != 1:
        return ""
    for candidate in CANDIDATE_SEPARATORS:
        if candidate != sep and candidate in header[0]:
            shown = "\\t" if candidate == "\t" else candidate
            return (f"; only one column was found with separator {sep!r}: the file looks "
                    f"{shown!r}-separated; set data.read.sep: \"{shown}\"")
    return "" if configured else "; only one column was found; set data.read.sep"


def _read_parquet(path: Path, wanted: dict[str, str],
                  text_columns: Collection[str] = ()) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        check_columns(wanted, schema.names, path)
        check_unique_columns(wanted, schema.names, path)
        check_parquet_fits(path, list(wanted))
        types = {column: schema.field(column).type for column in wanted}
        for column, kind in types.items():
            if pa.types.is_nested(kind):
                raise DataError(f"{wanted[column]}: column {column!r} of {path.name} holds "
                                f"{kind} values (lists or records); reportgen reads numbers, "
                                "text and dates: flatten it where the file is made")
        frame = pd.read_parquet(path, columns=list(wanted))
        for column, kind in types.items():
            exact = column in text_columns and pa.types.is_integer(kind)
            if exact or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
                frame[column] = _arrow_text(path, column, wanted[column])
        return frame
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"data file {path.name} is not a readable parquet file "
                        f"({_first_line(exc)}); export or download it again") from exc
    except (KeyError, TypeError, IndexError) as exc:  # pyarrow reading damaged pandas metadata
        raise DataError(f"data file {path.name} is not a readable parquet file (its pandas "
                        f"metadata is damaged: {type(exc).__name__} {exc}); export or "
                        "download it again") from exc


def _arrow_text(path: Path, column: str, key: str) -> pd.Series:
    """A parquet column as text made by Arrow: 18-digit integer ids with a null among them
    stay exact (pandas makes them floats first), bytes are read as UTF-8 text (pandas
    shows them as b'...')."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = pq.read_table(path, columns=[column]).column(0)
    try:
        text = values.cast(pa.string())
    except pa.ArrowInvalid as exc:
        raise DataError(f"{key}: column {column!r} of {path.name} holds bytes that are not "
                        "UTF-8 text; store it as text or numbers") from exc
    return pd.Series(text.to_pylist(), dtype="str")


def _read_excel(path: Path, data: DataSection, wanted: dict[str, str],
                text_columns: Collection[str]) -> pd.DataFrame:
    frame = read_workbook(path, data.read.sheet if data.read.sheet is not None else 0,
                          text=text_columns)
    header = list(frame.columns)
    check_columns(wanted, header, path)
    check_unique_columns(wanted, _unmangled(header), path)
    return frame[list(wanted)]


def read_workbook(path: Path, sheet: str | int, nrows: int | None = None,
                  text: Collection[str] = ()) -> pd.DataFrame:
    """A sheet of an .xlsx file, its column names stripped; a damaged, encrypted or old
    workbook is one line. `text` columns keep their cells as written (pandas would turn a
    text cell 00017 into the number 17)."""
    with open(path, "rb") as handle:
        signature = handle.read(len(OLE_SIGNATURE))
    if signature == OLE_SIGNATURE:
        raise DataError(f"data file {path.name} is a password-protected workbook or an old "
                        ".xls file, which cannot be read; save it without a password as .xlsx, "
                        "or export the sheet to CSV")
    if not signature.startswith(ZIP_SIGNATURE):
        raise DataError(f"data file {path.name} is not an .xlsx workbook (an .xlsx file is a "
                        "zip archive, and this one is not); save it from the spreadsheet as "
                        ".xlsx, or name a CSV file .csv")
    check_fits(path, "xlsx", 1.0)
    try:
        frame = pd.read_excel(path, sheet_name=sheet, nrows=nrows,
                              dtype={c: object for c in text} or None)
    except ValueError as exc:
        if "worksheet" in str(exc).lower():
            raise DataError(f"data.read.sheet: {_first_line(exc)} in {path.name}") from exc
        raise DataError(f"data file {path.name} is not a readable .xlsx file: "
                        f"{_first_line(exc)}") from exc
    except Exception as exc:  # openpyxl raises whatever the damaged zip or XML gives it
        raise DataError(f"data file {path.name} is not a readable .xlsx file: "
                        f"{_first_line(exc)}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def parquet_head(path: Path, rows: int) -> pd.DataFrame:
    """The first rows of a parquet file, for `init`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        batch = next(pq.ParquetFile(path).iter_batches(batch_size=rows), None)
        return batch.to_pandas() if batch is not None else pd.DataFrame()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"data file {path.name} is not a readable parquet file "
                        f"({_first_line(exc)}); export or download it again") from exc


def _unmangled(header: list[str]) -> list[str]:
    """pandas renames a second 'income' to 'income.1'; the names as the sheet has them."""
    present = set(header)
    return [re.sub(r"\.\d+$", "", c) if re.sub(r"\.\d+$", "", c) in present else c
            for c in header]


def check_unique_columns(wanted: dict[str, str], present: list[str], path: Path) -> None:
    """A configured column named twice in the file: which one is meant cannot be known."""
    for name in wanted:
        positions = [i + 1 for i, c in enumerate(present) if c == name]
        if len(positions) > 1:
            raise DataError(
                f"{wanted[name]}: {path.name} has {len(positions)} columns named {name!r} "
                f"(columns {', '.join(map(str, positions[:-1]))} and {positions[-1]}); rename "
                "all but one in the file")


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


def repeated_id(first: object, count: int, id_column: str, n_ids: int) -> DataError:
    """Ids that repeat, in the words of every engine: the most repeated first."""
    return DataError(
        f"data.id: customer id {first!r} appears {count} times in column {id_column!r} "
        f"({n_ids:,} {'id repeats' if n_ids == 1 else 'ids repeat'}); the data must hold "
        "one row a customer")


def split_ids(frame: pd.DataFrame, id_column: str | None) -> tuple[pd.Series, pd.DataFrame,
                                                                     dict[str, int]]:
    """Customer ids: the id column (unique, rows without one dropped) or row numbers."""
    if id_column is None:
        ids = pd.Series(range(1, len(frame) + 1), name="id")
        return ids, frame.reset_index(drop=True), {}
    missing = missing_ids(frame[id_column])
    frame = frame.loc[~missing].reset_index(drop=True)
    ids = frame[id_column].rename("id")
    repeated = ids[ids.duplicated()]
    if not repeated.empty:
        first = repeated.iloc[0]
        raise repeated_id(first, int((ids == first).sum()), id_column, repeated.nunique())
    dropped = {"missing customer id": int(missing.sum())} if missing.any() else {}
    return ids, frame, dropped


def missing_ids(ids: pd.Series) -> pd.Series:
    """No id: a missing value (pandas' NA markers such as NULL or N/A) or only blanks."""
    text = ids if isinstance(ids.dtype, pd.StringDtype) else ids.astype("str")
    return (ids.isna() | (text.str.strip() == "")).fillna(True).astype(bool)


INTEGRAL_FLOAT_RE = r"[+-]?\d+\.0+"


def as_text_ids(values: pd.Series) -> pd.Series:
    """Ids as text, exactly as written: 00017 stays 00017, and a blank never turns the
    others into floats. The one normalisation: numbers a spreadsheet stored as floats
    (17850.0, the whole column so) lose the '.0'."""
    if pd.api.types.is_float_dtype(values):
        present = values.dropna()
        if (present % 1 == 0).all():
            return values.astype("Int64").astype("str").where(values.notna())
        return values.map(repr, na_action="ignore").astype("str")
    if not pd.api.types.is_string_dtype(values) or values.dtype == object:
        values = values.map(_id_text, na_action="ignore").astype("str")
    present = values.dropna()
    if len(present) and re.fullmatch(INTEGRAL_FLOAT_RE, present.iloc[0]) and bool(
            present.str.fullmatch(INTEGRAL_FLOAT_RE).all()):
        return values.str.replace(r"\.0+$", "", regex=True)
    return values


def _id_text(value: object) -> str:
    """One id from a spreadsheet cell or a database row: integers without a '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
