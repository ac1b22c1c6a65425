"""Names for the temporary files and folders a run writes beside its outputs, and the
clean-up of what a killed run left behind.

Every temporary name is hidden and carries the writer's PID (.NAME.tmp-PID-xyz), so a
later run can remove the leftovers of a run that was killed with SIGKILL or lost power,
and leave alone those of a run that is still going.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

STALE_RE = re.compile(r"^\..+\.(?:tmp|old)-(\d+)(?:-.*)?$")  # .NAME.tmp-PID-xyz, .NAME.old-PID
STALE_AFTER = 24 * 3600  # seconds; a folder this old is litter even if its PID was reused


def temporary_prefix(name: str) -> str:
    """Hidden, and carrying our PID, so a later run can tell what a killed run left."""
    return f".{name}.tmp-{os.getpid()}-"


def remove_stale(folder: Path) -> list[Path]:
    """Delete what killed runs left here (kill -9, power loss); a live run's files stay."""
    removed = []
    for entry in folder.iterdir() if folder.is_dir() else []:
        match = STALE_RE.match(entry.name)
        if not match or (_running(int(match.group(1))) and not _older_than(entry, STALE_AFTER)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.lstat().st_mtime > seconds
    except OSError:
        return False
