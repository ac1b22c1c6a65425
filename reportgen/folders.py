"""The reports tree: a report's folder checked before a run writes into it, one run of a
report at a time, and one rebuild of the archive's index pages at a time.

The reports folder is often shared with a team or served on an internal web server, and
runs start from cron while someone reruns a month by hand:

- a report's folder and its period folders must be real folders: a symbolic link there
  could send a run's files, or its reads, anywhere on the machine;
- a run holds an exclusive lock (`flock`) on `<out>/<report>/.reportgen.lock` from start
  to end, so two runs of the same report never write the same period or compare against
  a half-replaced one; the kernel drops the lock when its process ends, even by kill -9,
  so a stale lock never blocks;
- index pages are rebuilt under `<out>/.reportgen-index.lock`, each rebuild reading the
  folders only once it holds it, so two reports finishing together both appear.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from reportgen.errors import OutputError
from reportgen.files import is_own_folder, process_running, read_own_file, temporary_prefix
from reportgen.text import PERIOD_RE

RUN_LOCK = ".reportgen.lock"
INDEX_LOCK = ".reportgen-index.lock"
POLL_SECONDS = 0.1


def listed_periods(report_dir: Path) -> list[str]:
    """The periods a report's folder holds, oldest first: real folders named YYYY-MM. A
    period named in a file of the folder (summary.json's previous_period) is read only if
    listed here, so that no file can send a run to read outside the folder."""
    if not is_own_folder(report_dir):
        return []
    return sorted(d.name for d in report_dir.iterdir() if PERIOD_RE.fullmatch(d.name)
                  and is_own_folder(d))


def check_report_folder(report_dir: Path, period: str | None = None) -> None:
    """Refuse a report or period folder that is a symbolic link (it may point anywhere)."""
    for path in (report_dir, report_dir / period if period else None):
        if path is not None and path.is_symlink():
            raise OutputError(
                f"output: {path} is a symbolic link to {os.readlink(path)}; reportgen writes "
                "only into real folders under output.dir, so that nobody can redirect a "
                "report elsewhere; replace the link with a folder")


def check_writable(folder: Path) -> None:
    """Fail before the slow stages when the output folder cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=temporary_prefix("write-test")):
            pass
    except OSError as exc:
        raise OutputError(
            f"output.dir: cannot write to {folder} ({exc.strerror or exc}); choose a writable "
            "folder with --out or output.dir"
        ) from exc


@contextlib.contextmanager
def report_lock(report_dir: Path, report: str, wait: float = 0.0) -> Iterator[None]:
    """Hold the report's run lock; after `wait` seconds of another run holding it, stop
    with a line that names that run."""
    check_report_folder(report_dir)
    check_writable(report_dir)
    handle = _open_lock(report_dir / RUN_LOCK)
    try:
        if not _acquire(handle, wait):
            raise OutputError(f"another run of report {report} is in progress "
                              f"({_holder(handle)}); wait for it to finish, or pass --wait "
                              "SECONDS to queue behind it")
        _record_holder(handle)
        yield
    finally:
        os.close(handle)  # releases the lock


@contextlib.contextmanager
def index_lock(out_root: Path) -> Iterator[None]:
    """Hold the lock of the archive's index pages (a rebuild takes well under a second)."""
    handle = _open_lock(out_root / INDEX_LOCK)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _open_lock(path: Path) -> int:
    flags = os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(path, os.O_RDWR | flags, 0o664)
    except PermissionError:  # another user's lock file: a read-only handle locks as well
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise OutputError(f"output.dir: cannot open the lock file {path} ({exc.strerror or exc})"
                          "; it must be a plain file that this user can open") from exc


def _acquire(handle: int, wait: float) -> bool:
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)


def _record_holder(handle: int) -> None:
    """Who holds the lock, for the message a second run prints (written over the last
    holder's line, then cut to length, so a reader never sees an empty file for long)."""
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    line = f"{os.getpid()} {started}\n".encode()
    with contextlib.suppress(OSError):
        os.pwrite(handle, line, 0)
        os.ftruncate(handle, len(line))


def _holder(handle: int) -> str:
    """The holder's pid and start; it writes them just after taking the lock, so a reader
    that comes in between waits a moment for them."""
    for _ in range(20):
        try:
            pid, started = os.pread(handle, 200, 0).decode().split()
            if process_running(int(pid)):
                return f"pid {int(pid)}, started {dt.datetime.fromisoformat(started):%H:%M}"
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return "pid unknown"


CONTROL_KEY = ".reportgen-control-key"
KEY_BYTES = 32


def control_key(report_dir: Path) -> bytes:
    """The report's secret for its control groups (model/control.py): 32 random bytes
    written once as hex into `<out>/<report>/.reportgen-control-key` (readable by its owner
    only) and read by every later run, so that a customer's group is the same on a rerun
    and nobody without the file can tell who will be in the control group. Created under
    the report's lock."""
    key = saved_control_key(report_dir)
    if key is not None:
        return key
    try:
        return _new_key(report_dir, report_dir / CONTROL_KEY)
    except FileExistsError:  # made meanwhile (serve's preview beside a run): read it
        return control_key(report_dir)


def saved_control_key(report_dir: Path) -> bytes | None:
    """The report's key if it has one (a period that holds nobody out still measures
    last period's groups with it). A file that is not 64 hex digits, or a link, is
    refused: a new key would reshuffle the groups that last period's lift is measured on."""
    path = report_dir / CONTROL_KEY
    try:
        text = read_own_file(path, 2 * KEY_BYTES + 1).decode("ascii", "replace").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"{path}: cannot read the control groups' key ({exc}); restore the "
                          "file from a backup, or remove it to start new groups") from exc
    if len(text) != 2 * KEY_BYTES or any(c not in "0123456789abcdef" for c in text):
        raise OutputError(f"{path}: the control groups' key is not 64 hex digits; restore "
                          "the file from a backup, or remove it to start new groups")
    return bytes.fromhex(text)


def _new_key(report_dir: Path, path: Path) -> bytes:
    """Written whole before anyone can read it: a temporary file, then a hard link, which
    fails (FileExistsError) where a key is already in place."""
    report_dir.mkdir(parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    handle, temporary = tempfile.mkstemp(prefix=temporary_prefix(path.name), dir=report_dir)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(key.hex() + "\n")
        os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return key
