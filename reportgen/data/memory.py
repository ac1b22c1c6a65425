"""The memory guard: refuse to read a file that cannot fit, before the machine swaps.

The need is estimated from the file (its size, the share of its columns the run reads, how
much pandas needs while parsing) and compared with what the machine can give: the
kernel's MemAvailable, a container's cgroup limit, and REPORTGEN_MEMORY_LIMIT when set
(a cap of the user's own, e.g. on a shared server). A refusal says both numbers and the
ways out: aggregate in the database, parquet with only the needed columns, or a sample.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from reportgen.errors import DataError

# Bytes in memory per byte of the file, while parsing (measured: a 586 MB sales-line CSV
# peaks at 2.2 GB in the data stage, all columns read; gzip text is about 4x smaller).
PARSE_FACTOR = {"text": 3.5, "gzip": 14.0, "parquet": 2.5}
HEADROOM = 0.8  # leave a fifth for the stages after reading
UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def available_bytes() -> tuple[float, str]:
    """What this run may use, and where the figure comes from."""
    candidates = []
    meminfo = _meminfo_available()
    if meminfo is not None:
        candidates.append((meminfo, "available memory"))
    cgroup = _cgroup_room()
    if cgroup is not None:
        candidates.append((cgroup, "the container's memory limit"))
    configured = os.environ.get("REPORTGEN_MEMORY_LIMIT")
    if configured:
        candidates.append((parse_size(configured), "REPORTGEN_MEMORY_LIMIT"))
    return min(candidates) if candidates else (float("inf"), "no limit known")


def check_fits(path: Path, kind: str, share_of_columns: float) -> None:
    """Raise DataError when reading `path` would need more memory than there is."""
    factor = PARSE_FACTOR["gzip" if path.name.lower().endswith(".gz") else kind]
    need = path.stat().st_size * factor * max(share_of_columns, 0.05)
    room, source = available_bytes()
    if need > room * HEADROOM:
        raise DataError(
            f"data file {path.name} ({human(path.stat().st_size)}) needs about {human(need)} "
            f"of memory to read, more than the {human(room * HEADROOM)} this run can use "
            f"({source}: {human(room)}, less a fifth for the later stages); aggregate it in "
            "a database (data.sql), convert it to parquet so only the needed columns are "
            "read, run it on Spark (engine: spark), or sample it")


def text_budget(share_of_columns: float) -> float:
    """How many bytes of (decompressed) text this run may parse, for the streaming check:
    a compressed file's size says little about what it expands to."""
    room, _ = available_bytes()
    return room * HEADROOM / (PARSE_FACTOR["text"] * max(share_of_columns, 0.05))


def too_big_to_read(path: Path, limit: float) -> DataError:
    room, source = available_bytes()
    return DataError(
        f"data file {path.name} expands to more than {human(limit)} of text while it is read, "
        f"which needs more than the {human(room * HEADROOM)} of memory this run can use "
        f"({source}: {human(room)}, less a fifth for the later stages); aggregate it in a "
        "database (data.sql), convert it to parquet so only the needed columns are read, run "
        "it on Spark (engine: spark), or sample it")


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
