"""The memory guard: refuse to read a file that cannot fit, before the machine swaps.

The need is estimated from the file (its size, the share of its columns the run reads, how
much pandas needs while parsing) and compared with what the machine can give: the
kernel's MemAvailable, a container's cgroup limit, and REPORTGEN_MEMORY_LIMIT when set
(a cap of the user's own, e.g. on a shared server). A refusal says both numbers and the
ways out: aggregate in the database, parquet with only the needed columns, or a sample.
"""

from __future__ import annotations

import math
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from reportgen.config.engine import LARGER_ENGINE
from reportgen.errors import DataError

# Bytes in memory per byte of the file, while parsing (measured: a 586 MB sales-line CSV
# peaks at 2.2 GB in the data stage, all columns read; gzip text is about 4x smaller). An
# .xlsx counts by what its zip expands to: its XML, which openpyxl turns into Python cells.
PARSE_FACTOR = {"text": 3.5, "gzip": 14.0, "parquet": 2.5, "xlsx": 4.0, "jsonl": 6.0}
HEADROOM = 0.8  # leave a fifth for the stages after reading
UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}
WATCH_SECONDS = 0.02
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def available_bytes() -> tuple[float, str]:
    """What this run may still add to its memory, and where the figure comes from.
    REPORTGEN_MEMORY_LIMIT caps the whole process, so what it already holds (Python,
    pandas, scikit-learn: some 250 MB) counts against it."""
    candidates = []
    meminfo = _meminfo_available()
    if meminfo is not None:
        candidates.append((meminfo, "available memory"))
    cgroup = _cgroup_room()
    if cgroup is not None:
        candidates.append((cgroup, "the container's memory limit"))
    configured = configured_limit()
    if configured is not None:
        held = process_rss()
        candidates.append((max(configured - held, 0.0), f"REPORTGEN_MEMORY_LIMIT "
                           f"{human(configured)} less the {human(held)} the run holds"))
    return min(candidates) if candidates else (float("inf"), "no limit known")


def configured_limit() -> float | None:
    configured = os.environ.get("REPORTGEN_MEMORY_LIMIT")
    return parse_size(configured) if configured else None


def process_rss() -> float:
    """This process's resident memory, in bytes (0 where /proc is not there)."""
    try:
        with open("/proc/self/statm", "rb") as stream:
            return float(stream.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0.0


def check_fits(path: Path, kind: str, share_of_columns: float) -> None:
    """Raise DataError when reading `path` would need more memory than there is."""
    factor = PARSE_FACTOR["gzip" if path.name.lower().endswith(".gz") else kind]
    need = _expanded_size(path, kind) * factor * max(share_of_columns, 0.05)
    room, source = available_bytes()
    if need > room * HEADROOM:
        raise DataError(
            f"data file {path.name} ({human(path.stat().st_size)}) needs about {human(need)} "
            f"of memory to read, more than the {human(room * HEADROOM)} this run can use "
            f"({source}: {human(room)}, less a fifth for the later stages); aggregate it in "
            "a database (data.sql), convert it to parquet so only the needed columns are "
            f"read, {LARGER_ENGINE}, or sample it")


def _expanded_size(path: Path, kind: str) -> float:
    """A file's size, or for an .xlsx what its zip says its parts expand to (a 20 MB
    workbook of repeated rows may hold gigabytes of XML); zipfile reads no further."""
    if kind != "xlsx":
        return float(path.stat().st_size)
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return float(sum(info.file_size for info in archive.infolist()))
    except (OSError, zipfile.BadZipFile):
        return float(path.stat().st_size)  # the reader says what is wrong with it


def check_parquet_fits(path: Path, columns: list[str]) -> None:
    """Raise DataError when the columns of a parquet file would not fit. Its size says
    little (a column of one repeated value compresses a thousandfold), so the need is
    read from its footer: per column, 8 bytes a row, its pages' uncompressed size, and
    for text the longest value its statistics know, a row."""
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata
    wanted, need = set(columns), 0.0
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            if chunk.path_in_schema.split(".")[0] not in wanted:
                continue
            longest = 0
            statistics = chunk.statistics
            if statistics is not None and statistics.has_min_max and \
                    isinstance(statistics.max, str | bytes):
                longest = max(len(statistics.min), len(statistics.max))
            need += row_group.num_rows * (8 + longest) + chunk.total_uncompressed_size
    need *= PARSE_FACTOR["parquet"]
    room, source = available_bytes()
    if need > room * HEADROOM:
        raise DataError(
            f"data file {path.name} ({human(path.stat().st_size)}, {metadata.num_rows:,} rows) "
            f"needs about {human(need)} of memory to read, more than the "
            f"{human(room * HEADROOM)} this run can use ({source}: {human(room)}, less a "
            "fifth for the later stages); aggregate it in a database (data.sql), read fewer "
            f"columns, {LARGER_ENGINE}, or sample it")


def text_budget(share_of_columns: float) -> float:
    """How many bytes of (decompressed) text this run may parse, for the streaming check:
    a compressed file's size says little about what it expands to."""
    room, _ = available_bytes()
    return room * HEADROOM / (PARSE_FACTOR["text"] * max(share_of_columns, 0.05))


def read_ceiling(path: Path) -> tuple[float, DataError]:
    """The resident size at which reading a file stops, and the error it stops with: now
    plus half of what the run may add. pandas holds the tokens of all it has read and,
    when the reading ends, makes the columns beside them, so the peak is about twice what
    the reading reached; many short rows take ten times their text in tokens, which no
    estimate from the file's size foresees, so the reading measures instead."""
    room, source = available_bytes()
    return process_rss() + room * HEADROOM / 2, DataError(
        f"data file {path.name} takes more memory to read than this run can use ({source}: "
        f"{human(room)}; reading stops at half of that, since pandas makes the columns "
        "beside what it read): aggregate it in a database (data.sql), convert it to parquet "
        f"so only the needed columns are read, {LARGER_ENGINE}, or sample it")


def too_big_to_read(path: Path, limit: float) -> DataError:
    room, source = available_bytes()
    return DataError(
        f"data file {path.name} expands to more than {human(limit)} of text while it is read, "
        f"which needs more than the {human(room * HEADROOM)} of memory this run can use "
        f"({source}: {human(room)}, less a fifth for the later stages); aggregate it in a "
        "database (data.sql), convert it to parquet so only the needed columns are read, "
        f"{LARGER_ENGINE}, or sample it")


def parse_size(text: str) -> float:
    match = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)i?b?\s*", text.lower())
    if not match:
        raise DataError(f"REPORTGEN_MEMORY_LIMIT: expected a size such as 8GB or 500MB, "
                        f"found {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def human(size: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} bytes"


def _meminfo_available() -> float | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(r"^MemAvailable:\s+(\d+) kB", text, re.MULTILINE)
    return float(match.group(1)) * 1024 if match else None


def _cgroup_room() -> float | None:
    """cgroup v2: memory.max minus memory.current, when a limit is set."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return float(limit) - float((base / "memory.current").read_text())
    except (OSError, ValueError):
        return None


class MemoryLimitReached(BaseException):
    """Raised in the main thread by MemoryWatch; a BaseException, like Ctrl-C, so that no
    `except Exception` on the way mistakes it for a damaged file. The CLI prints `line`."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


class MemoryWatch:
    """The backstop under the readers' estimates: a thread that reads the process's
    resident size every WATCH_SECONDS and, past `soft` (nine tenths of the limit), asks the
    main thread to stop (SIGUSR1, raised there as MemoryLimitReached, which unwinds as
    Ctrl-C does: temporary files removed, no report changed); past the limit itself, when
    the main thread is stuck in one long allocation, it prints the line and ends the
    process at once (the next run removes the staging folder it leaves). The limit is
    REPORTGEN_MEMORY_LIMIT, else what the container or the machine had free at the start."""

    def __init__(self) -> None:
        room, source = available_bytes()
        configured = configured_limit()
        self.limit = configured if configured is not None else process_rss() + room * 0.95
        self.source = source if configured is None else "REPORTGEN_MEMORY_LIMIT"
        self.line = (f"error: the run needed more than {human(self.limit)} of memory "
                     f"({self.source}); no report was changed. Read fewer columns or rows "
                     f"(parquet, data.sql, a sample), {LARGER_ENGINE}, or "
                     "raise REPORTGEN_MEMORY_LIMIT")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True,
                                        name="reportgen-memory-watch")
        self._previous: Any = None

    def __enter__(self) -> MemoryWatch:
        """Watching starts only under a limit above what the process already holds (below
        it, the readers refuse the data in their own words)."""
        if math.isfinite(self.limit) and self.limit > process_rss() \
                and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGUSR1, self._raise)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            signal.signal(signal.SIGUSR1, self._previous)

    def _raise(self, signum: int, frame: object) -> None:
        raise MemoryLimitReached(self.line)

    def _watch(self) -> None:
        asked = False
        while not self._stop.wait(WATCH_SECONDS):
            rss = process_rss()
            if rss > self.limit:
                sys.stderr.write(self.line + "\n")
                sys.stderr.flush()
                os._exit(2)
            if rss > 0.9 * self.limit and not asked:
                asked = True
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)
