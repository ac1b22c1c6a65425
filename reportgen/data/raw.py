"""A data file's bytes as the readers get them: a regular file, decompressed, its encoding
settled, and guarded while it streams.

Exports arrive damaged, truncated, compressed twice over, from Excel with a byte-order
mark or in UTF-16, and now and then as something that is not a table at all. Every such
file must end in one line that says what is wrong with it, never in a decoder's exception:

- the path must be a regular file (not a folder, a device such as /dev/zero, or a pipe);
- .gz, .bz2, .xz and .zip (one file inside) are decompressed as they are read, and a
  corrupt or truncated archive is named as such;
- the decompressed text is counted as it streams: a small archive that expands past what
  the memory guard allows stops there, before the machine swaps (memory.py);
- a UTF-8 byte-order mark is dropped, UTF-16 (with or without one) is detected and read;
  NUL bytes in 8-bit text mean the file is binary, and are refused.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import gzip
import io
import lzma
import stat
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

from reportgen.config.engine import FOLDER_READER
from reportgen.data.memory import process_rss, read_ceiling
from reportgen.errors import DataError

TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": None}
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")  # one JSON object a line
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
SNIFF_BYTES = 64 * 1024
HEADER_LIMIT = 4 * 2**20  # a header line longer than this is not a table's header
READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile)
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
OLE_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")  # encrypted .xlsx and old .xls files
ZIP_SIGNATURE = b"PK\x03\x04"  # every .xlsx is a zip archive


def check_regular_file(path: Path, key: str = "data.path") -> None:
    """A missing path, and one that is not a regular file, each get their own line."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise DataError(f"{key}: file not found: {path} (relative paths are resolved against "
                        "the config file's folder)") from exc
    except OSError as exc:
        raise DataError(f"{key}: cannot read {path} ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(mode):
        what = ("a folder" if stat.S_ISDIR(mode) else "a device" if stat.S_ISCHR(mode)
                or stat.S_ISBLK(mode) else "a named pipe" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        folder = f"; {FOLDER_READER}" if stat.S_ISDIR(mode) else ""
        raise DataError(f"{key}: {path} is {what}, not a data file; point {key} at a .csv, "
                        ".tsv, .txt, .jsonl (optionally .gz, .bz2, .xz or .zip), .parquet or "
                        ".xlsx file"
                        f"{folder}")


def compression(path: Path) -> str | None:
    return COMPRESSIONS.get(Path(path.name.lower()).suffix)


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".xlsx"):
        return "xlsx"
    bare = name.removesuffix(Path(name).suffix) if compression(path) else name
    if Path(bare).suffix in TEXT_SUFFIXES:
        return "text"
    if Path(bare).suffix in JSON_LINES_SUFFIXES:
        return "jsonl"
    raise DataError(
        f"data.path: cannot read {path.name}: use a .csv, .tsv, .txt or .jsonl file "
        "(optionally compressed: .gz, .bz2, .xz, .zip), a .parquet or an .xlsx file")


def damaged(path: Path, exc: BaseException) -> DataError:
    """A decompressor's or a format library's complaint, as one line about the file."""
    suffix = Path(path.name.lower()).suffix or ".data"
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DataError(f"data file {path.name} is damaged or is not a valid {suffix} file "
                     f"({reason}); export or download it again")


@contextlib.contextmanager
def decompressed(path: Path) -> Iterator[io.BufferedIOBase]:
    """The file's bytes, decompressed as they are read."""
    kind = compression(path)
    try:
        if kind == "zip":
            with _zip_member(path) as member:
                yield member
            return
        with _opened(path, kind) as handle:
            yield handle
    except READ_ERRORS as exc:
        if isinstance(exc, PermissionError):
            raise DataError(f"data.path: cannot read {path} ({exc.strerror})") from exc
        raise damaged(path, exc) from exc


@contextlib.contextmanager
def _zip_member(path: Path) -> Iterator[io.BufferedIOBase]:
    """The one file of a .zip. zipfile says 'not supported' with NotImplementedError (a
    format version or method it lacks) and 'encrypted' with RuntimeError."""
    try:
        archive = zipfile.ZipFile(path)
        member = cast(io.BufferedIOBase, archive.open(_only_member(path, archive)))  # ZipExtFile
    except NotImplementedError as exc:
        raise damaged(path, exc) from exc
    except RuntimeError as exc:
        raise DataError(f"data file {path.name} is a password-protected zip; unzip it, or "
                        "zip the CSV again without a password") from exc
    with archive, member:
        yield member


def _opened(path: Path, kind: str | None) -> io.BufferedIOBase:
    if kind == "gzip":
        return gzip.GzipFile(path, "rb")
    if kind == "bz2":
        return bz2.open(path, "rb")
    if kind == "xz":
        return lzma.open(path, "rb")
    return open(path, "rb")


def _only_member(path: Path, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    files = [info for info in archive.infolist() if not info.is_dir()]
    if len(files) != 1:
        raise DataError(f"data file {path.name} holds {len(files)} files; a .zip must hold "
                        "exactly one CSV (or unzip it and point data.path at the file)")
    return files[0]


def read_head(path: Path) -> bytes:
    """The start of a text file (decompressed): SNIFF_BYTES, or up to the end of the first
    line when that is longer (a header of 10,000 columns), refused past HEADER_LIMIT."""
    with decompressed(path) as handle:
        try:
            head = handle.read(SNIFF_BYTES)
            while b"\n" not in head and len(head) < HEADER_LIMIT:
                more = handle.read(SNIFF_BYTES)
                if not more:
                    return head
                head += more
        except READ_ERRORS as exc:
            raise damaged(path, exc) from exc
    if b"\n" not in head:
        raise DataError(f"data file {path.name}: its first line is longer than "
                        f"{HEADER_LIMIT // 2**20} MB, so it is not a header of column names; "
                        "is it a CSV file?")
    return head


ENCODINGS = ("utf-8", "cp1252", "latin-1")


def guess_encoding(raw: bytes) -> str:
    """For `init`, which has no config yet: UTF-8 when the bytes are (a character cut by
    the sample's end is forgiven), else the Windows code page most exports use, else
    latin-1, which reads any byte."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ENCODINGS:
        try:
            raw.decode(encoding)
            return encoding
        except UnicodeDecodeError as exc:
            if encoding == "utf-8" and exc.reason == "unexpected end of data":
                return encoding
    return "latin-1"


def settle_encoding(head: bytes, configured: str) -> str:
    """The encoding to read with: a byte-order mark or UTF-16's NUL pattern decides, unless
    the config names an encoding other than UTF-8 or UTF-16."""
    family = _codec(configured)
    if family not in ("utf-8", "utf-16", "utf-16-le", "utf-16-be"):
        return configured
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    sample = head[:4096]
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4 and odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if len(sample) >= 4 and even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return configured


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise DataError(f"data.read.encoding: unknown encoding {name!r}; try latin-1 or "
                        "cp1252") from exc


def is_utf8(encoding: str) -> bool:
    return _codec(encoding) in ("utf-8", "utf-8-sig")


def ascii_bytes(encoding: str) -> bool:
    """An encoding whose bytes below 0x80 are always ASCII characters (UTF-8 and the 8-bit
    code pages), so a separator, a quote or a line break can be found in the bytes."""
    return _codec(encoding).startswith(("utf-8", "latin", "iso8859", "cp125", "ascii",
                                        "mac-"))


def is_wide(encoding: str) -> bool:
    """UTF-16 and UTF-32 hold NUL bytes in ordinary text."""
    return _codec(encoding).startswith(("utf-16", "utf-32"))


def nul_error(path: Path, offset: int) -> DataError:
    return DataError(f"data file {path.name} holds NUL bytes (the first at byte {offset:,}), "
                     "so it is not a text file: a spreadsheet must be saved as .xlsx or CSV; "
                     "UTF-16 text needs data.read.encoding: utf-16")


class ShortRows:
    """Finds a row with fewer fields than the header as the text streams past, which
    pandas reads silently, filling the missing cells as if they were blank (a row cut
    short, a separator lost in an export) so that imputation hides it. Counted with numpy
    on each block of whole lines: the separators of a line, outside quoted fields. Where
    quoting makes a line ambiguous (it holds a quote, or lies inside a quoted field that
    spans lines), it is left to pandas: a line is refused only when it certainly has too
    few fields. Too many fields is pandas' own error."""

    CARRY_LIMIT = 4 * 2**20  # no line break this far: not a text this check understands

    def __init__(self, path: Path, sep: bytes, expected: int, header: bool) -> None:
        self.path, self.sep, self.expected = path, sep[0], expected
        self.carry, self.lines, self.inside, self.header = b"", 0, 0, header
        self.off = expected < 2

    def feed(self, chunk: bytes) -> None:
        if self.off:
            return
        data = self.carry + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self.off = len(data) > self.CARRY_LIMIT
            self.carry = b"" if self.off else data
            return
        self.carry = data[cut + 1:]
        self._check(data[:cut + 1])

    def close(self) -> None:
        if not self.off and self.carry.strip():
            self._check(self.carry + b"\n")
        self.carry = b""

    def _check(self, block: bytes) -> None:
        import numpy as np

        if not self.inside and b'"' not in block:  # the fast path: every line has its fields
            text = np.frombuffer(block, dtype=np.uint8)
            lines = int(np.count_nonzero(text == 10))
            if int(np.count_nonzero(text == self.sep)) == (self.expected - 1) * lines:
                self.lines += lines
                self.header = False
                return
        self._check_lines(block)

    def _check_lines(self, block: bytes) -> None:
        import numpy as np

        text = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(text == 10)
        starts = np.concatenate(([0], ends[:-1] + 1))
        seps = np.add.reduceat(text == self.sep, starts, dtype=np.int64)
        quotes = np.add.reduceat(text == 34, starts, dtype=np.int64)
        length = ends - starts
        blank = (length == 0) | ((length == 1) & (text[starts] == 13))
        odd = quotes % 2
        inside = (self.inside + np.cumsum(odd) - odd) % 2
        short = (inside == 0) & (quotes == 0) & ~blank & (seps < self.expected - 1)
        if self.header and len(short):
            short[0], self.header = False, False
        if short.any():
            line = int(np.argmax(short))
            raise DataError(
                f"data file {self.path.name} line {self.lines + line + 1:,} has "
                f"{int(seps[line]) + 1} fields where the header has {self.expected}: a row "
                "cut short or a separator lost; fix the row (an empty cell is written as "
                "two separators side by side)")
        self.inside = int(self.inside + odd.sum()) % 2
        self.lines += len(ends)


class Guarded(io.RawIOBase):
    """A byte stream that stops past `limit` bytes (the memory guard) and, for 8-bit text,
    at the first NUL byte; the decompressor's own errors become one line about the file."""

    def __init__(self, raw: io.BufferedIOBase, path: Path, limit: float, refuse_nul: bool,
                 too_big: DataError, ceiling: tuple[float, DataError] | None = None,
                 rows: ShortRows | None = None) -> None:
        super().__init__()
        self.raw, self.path, self.limit = raw, path, limit
        self.refuse_nul, self.too_big, self.seen = refuse_nul, too_big, 0
        self.ceiling = ceiling  # the process's resident size at which the reading stops
        self.rows = rows

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            count = self.raw.readinto(buffer)
        except READ_ERRORS as exc:
            raise damaged(self.path, exc) from exc
        if count and self.refuse_nul:
            at = bytes(memoryview(buffer)[:count]).find(b"\x00")
            if at >= 0:
                raise nul_error(self.path, self.seen + at)
        self.seen += count or 0
        if self.seen > self.limit:
            raise self.too_big
        if self.ceiling is not None and process_rss() > self.ceiling[0]:
            raise self.ceiling[1]
        if self.rows is not None:
            if count:
                self.rows.feed(bytes(memoryview(buffer)[:count]))
            else:
                self.rows.close()
        return count or 0


@contextlib.contextmanager
def text_handle(path: Path, encoding: str, limit: float, too_big: DataError,
                fields: tuple[str, int, bool] | None = None) -> Iterator[IO[bytes] | IO[str]]:
    """What pandas' read_csv reads: the decompressed, guarded bytes when the text is UTF-8
    (its parser decodes that itself, fastest), else the text decoded here. `fields`: the
    separator, the header's number of columns and whether the first line is that header,
    for the check of short rows (ShortRows), where the bytes show the separator as it is."""
    with decompressed(path) as raw:
        rows = None
        if fields is not None and ascii_bytes(encoding) and len(fields[0]) == 1 \
                and fields[0].isascii():
            rows = ShortRows(path, fields[0].encode("ascii"), fields[1], fields[2])
        guarded = Guarded(raw, path, limit, not is_wide(encoding), too_big,
                          read_ceiling(path), rows)
        stream = io.BufferedReader(guarded, buffer_size=1 << 20)
        yield stream if is_utf8(encoding) else io.TextIOWrapper(stream, encoding=encoding,
                                                                newline="")


def csv_encoding(encoding: str) -> str | None:
    """What read_csv is told of a text_handle: UTF-8 for the bytes, nothing for the text."""
    return "utf-8" if is_utf8(encoding) else None
