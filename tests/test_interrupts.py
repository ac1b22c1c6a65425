"""Runs killed part-way (Ctrl-C, SIGTERM, kill -9) never damage an earlier good report.

A good report of the period exists first; a second run of the same period is stopped
as a given stage starts (seen on its --progress lines); every file of the earlier report
and of the archive indexes must be byte-identical afterwards, and the next run must
finish and clear whatever the killed run left behind.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, run_cli, write_config

from reportgen.folders import INDEX_LOCK, RUN_LOCK

PERIOD = "2026-11"


def visible_files(out: Path) -> dict[str, str]:
    """Every file a reader can see (not hidden temporaries), with its sha256."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)}


def hidden_entries(out: Path) -> list[str]:
    """Hidden files a run left, less the lock files that are there to stay (folders.py)."""
    return sorted(str(p.relative_to(out)) for p in out.rglob(".*")
                  if p.name not in (RUN_LOCK, INDEX_LOCK))


def start(config: Path) -> subprocess.Popen:
    """The run as a terminal starts it: with Ctrl-C live even when the tests themselves were
    started in the background (a shell's `cmd &` ignores SIGINT, and Python then installs
    no KeyboardInterrupt handler in its children)."""
    return subprocess.Popen([sys.executable, "-m", "reportgen", "run", str(config), "--period",
                             PERIOD, "--progress"], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def stop_at(child: subprocess.Popen, stage: str, signum: int) -> tuple[int, str]:
    """Signal the run as `stage` starts; return its exit status and what it printed."""
    assert child.stderr is not None
    seen = []
    for line in child.stderr:
        seen.append(line)
        if line.strip() == f"reportgen: {stage} ...":
            child.send_signal(signum)
            break
    rest = child.stderr.read()
    return child.wait(timeout=120), "".join(seen) + rest


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample report (HTML and PDF), written once: the good report to protect."""
    folder = tmp_path_factory.mktemp("interrupts")
    text = (ROOT / "configs" / "sample.yaml").read_text().replace(
        "../sample_data/customers.csv", str(ROOT / "sample_data" / "customers.csv")).replace(
        "../reports", "out")
    config = write_config(folder, text)
    done = run_cli("run", str(config), "--period", PERIOD)
    assert done.returncode == 0, done.stderr
    return config, folder / "out"


@pytest.mark.parametrize(("stage", "signum", "status", "message"), [
    ("features", signal.SIGINT, 130, "error: interrupted; no report was changed"),
    ("segmentation", signal.SIGTERM, 143, "error: stopped by SIGTERM; no report was changed"),
    ("html", signal.SIGTERM, 143, "error: stopped by SIGTERM; no report was changed"),
    ("pdf", signal.SIGKILL, -9, None),
    ("publish", signal.SIGKILL, -9, None),
], ids=["ctrl-c after loading", "sigterm in the k sweep", "sigterm writing html",
        "kill -9 in the pdf", "kill -9 renaming into place"])
def test_a_stopped_run_leaves_the_earlier_report_untouched(project, stage, signum, status,
                                                           message):
    config, out = project
    before = visible_files(out)  # as the earlier tests of this module left it
    status_seen, printed = stop_at(start(config), stage, signum)
    assert status_seen == status, printed
    if message:
        assert printed.strip().splitlines()[-1] == message
        assert "Traceback" not in printed
        assert hidden_entries(out) == []  # unwound: its temporary folder is gone
    after = visible_files(out)
    if stage == "publish":  # killed at the rename: the earlier report or the new one, whole
        assert after.keys() == before.keys()
    else:
        assert after == before


def test_the_next_run_clears_what_a_killed_run_left(project):
    """Killed while it writes the files into its staging folder (report.render has made
    the page by then), the run leaves that folder behind; the next run removes it."""
    config, out = project
    before = visible_files(out)
    status, _ = stop_at(start(config), "files", signal.SIGKILL)
    assert status == -9
    left = hidden_entries(out)
    assert any(".tmp-" in name for name in left)
    done = run_cli("run", str(config), "--period", PERIOD)
    assert done.returncode == 0, done.stderr
    assert hidden_entries(out) == []
    assert visible_files(out).keys() == before.keys()


def test_a_full_disk_is_one_clear_line_and_damages_nothing(project):
    """The run may not write files over 300 kB (RLIMIT_FSIZE, the way a full disk looks
    to a writer: the write fails); report.html is larger, so writing it fails."""
    import resource

    config, out = project
    before = visible_files(out)

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write (EFBIG), not die
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    done = run_cli("run", str(config), "--period", PERIOD, preexec_fn=small_files)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: writing the report to ")
    assert "(File too large)" in lines[0] and "is untouched" in lines[0]
    assert visible_files(out) == before
    assert hidden_entries(out) == []
