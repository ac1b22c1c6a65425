"""Files of the reports tree, handled safely: temporary names and the clean-up of what a
killed run left behind, atomic writes, and reads that never follow a link.

Every temporary name is hidden and carries the writer's PID (.NAME.tmp-PID-xyz), so a
later run can remove the leftovers of a run that was killed with SIGKILL or lost power,
and leave alone those of a run that is still going. The folder is often shared or served:
a file read back from it is opened without following a symbolic link.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import IO

# exactly what temporary_prefix + tempfile's 8-character suffix, and publish's retired
# folder, make: .NAME.tmp-PID-abcd_123, .NAME.old-PID
STALE_RE = re.compile(r"^\.[^/]+\.(?:tmp-(\d+)-[a-z0-9_]{8}|old-(\d+))$")
STALE_AFTER = 24 * 3600  # seconds; a folder this old is litter even if its PID was reused


def temporary_prefix(name: str) -> str:
    """Hidden, and carrying our PID, so a later run can tell what a killed run left."""
    return f".{name}.tmp-{os.getpid()}-"


def remove_stale(folder: Path) -> list[Path]:
    """Delete what killed runs left here (kill -9, power loss); a live run's files stay.

    Only names reportgen makes, and never a symbolic link (reportgen makes none, so one
    with such a name is someone else's) nor anything it points to; rmtree itself does not
    follow the links inside a folder.
    """
    removed = []
    for entry in folder.iterdir() if folder.is_dir() and not folder.is_symlink() else []:
        match = STALE_RE.match(entry.name)
        if not match or entry.is_symlink():
            continue
        pid = int(match.group(1) or match.group(2))
        if process_running(pid) and not _older_than(entry, STALE_AFTER):
            continue
        if match.group(2) and _restore(entry, match.group(0)):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _restore(retired: Path, name: str) -> bool:
    """A run killed between moving the earlier report aside and renaming the new one into
    place left the earlier one as .NAME.old-PID and no NAME: put it back."""
    original = retired.with_name(name[1:].rsplit(".old-", 1)[0])
    if original.exists() or original.is_symlink():
        return False
    retired.rename(original)
    return True


MAX_PID = 2**22  # Linux's pid_max can be at most this


def process_running(pid: int) -> bool:
    """Whether a process of this pid runs. The pid comes from a name or a file in the
    reports folder: one that no process can have (0, 20 digits) is no process."""
    if not 0 < pid <= MAX_PID:
        return False
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


def write_atomically(path: Path, content: str | bytes) -> Path:
    """Write beside the target and rename, so a reader never sees half a file."""
    handle, temporary = tempfile.mkstemp(prefix=temporary_prefix(path.name), dir=path.parent)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_own_file(path: Path, limit: int) -> bytes:
    """A regular file of the reports folder, at most `limit` bytes (see open_own_file)."""
    with open_own_file(path) as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limit:
            raise OSError(f"{path.name} is {size:,} bytes, more than any of ours")
        return stream.read(limit + 1)[:limit]


def open_own_file(path: Path) -> IO[bytes]:
    """A regular file of the reports folder, opened without following a symbolic link:
    whoever can write into the folder must not make a run (or `send`) read, and pass on,
    a file from elsewhere. OSError (FileNotFoundError when it is not there)."""
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    stream = os.fdopen(handle, "rb")
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        stream.close()
        raise OSError(f"{path.name} is not a regular file")
    return stream


def is_own_folder(path: Path) -> bool:
    """A real folder of the reports tree: a symbolic link may point anywhere, so it is not
    read from, listed or written into."""
    return path.is_dir() and not path.is_symlink()
