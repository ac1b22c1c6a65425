"""`reportgen serve`: stages re-run only as far as an edit reaches, the served page
reloads itself, errors show over the last good report, and nothing is written.

The browser test runs the real command in a subprocess and a real headless Chromium
(Debian's, installed by `make test`); it skips, and says why, where either is missing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers import SMALL_CONFIG, blobs_frame, write_config
from test_browser import CHROMIUM

from reportgen.serve import Preview, Published

NAMED_CONFIG = SMALL_CONFIG.replace("segmentation:", """personas:
  rules:
    - when: {income: high}
      name: Premium patrons
segmentation:""")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    blobs_frame().drop(columns="group").to_csv(tmp_path / "customers.csv", index=False)
    return write_config(tmp_path, NAMED_CONFIG)


def edit(config: Path, old: str, new: str) -> None:
    """Save the config as an editor does: the whole file rewritten, its mtime moved on."""
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new), encoding="utf-8")


def test_an_edit_reruns_only_the_stages_it_reaches(project):
    preview = Preview(project, "2026-11")
    stages, page = preview.render()
    assert stages == "everything" and "Premium patrons" in page

    edit(project, "Premium patrons", "Gold circle")
    stages, page = preview.render()
    assert stages == "rules and page"
    assert "Gold circle" in page and "Premium patrons" not in page

    edit(project, "k: [2, 5]", "k: 4")
    stages, page = preview.render()
    assert stages == "from the features on"
    assert len(preview._fitted.segments.ids) == 4

    edit(project, "profile: [age]", "profile: []")
    assert preview.render()[0] == "everything"

    data = project.parent / "customers.csv"
    data.write_text(data.read_text(encoding="utf-8"), encoding="utf-8")
    os.utime(data, ns=(time.time_ns(), time.time_ns() + 10**9))  # new data, same columns
    assert preview.render()[0] == "everything"
    assert preview.render()[0] == "rules and page"  # nothing changed: only the page
    assert not (project.parent / "out").exists()  # nothing written unless --write


def test_a_failed_attempt_shows_its_line_over_the_last_good_page():
    published = Published()
    published.show("<html><body><h1>Segments</h1></body></html>")
    published.show(None, "error: config key 'segmentation.k': expected ...")
    page = published.page()
    banner = page.index('id="reportgen-serve-error"')
    assert banner < page.index("<h1>Segments</h1>")
    assert "error: config key &#x27;segmentation.k&#x27;: expected ..." in page
    assert 'id="reportgen-live"' in page and "var shown = 2;" in page
    published.show("<html><body><h1>Fixed</h1></body></html>")
    assert "reportgen-serve-error" not in published.page()


# ---- the real command in a real browser ------------------------------------------------


class Served:
    """`reportgen serve` in a subprocess, on a free port; stopped with SIGINT (Ctrl-C)."""

    def __init__(self, config: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reportgen", "serve", str(config), "--port", "0",
             "--period", "2026-12", *args], stderr=subprocess.PIPE, text=True,
            cwd=config.parent)
        self.lines: list[str] = []
        self.url = self._wait_for(r"at (http://\S+/) ").group(1)

    def _wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        assert self.process.stderr is not None
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"serve never printed {pattern!r}: {''.join(self.lines)}")

    def wait_rendered(self) -> None:
        self._wait_for(r"rendered in|^error:")

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        _, rest = self.process.communicate(timeout=20)
        return self.process.returncode, "".join(self.lines) + rest


@pytest.fixture
def browser_page():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium); the served page "
                    "was not checked in a browser")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e .[dev])")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser.new_page()
        browser.close()


def test_the_served_page_follows_edits_and_shows_errors_over_the_last_report(
        project, browser_page):
    subprocess.run([sys.executable, "-m", "reportgen", "run", str(project), "--period",
                    "2027-01"], check=True, capture_output=True)  # a period to browse, later
    # than the served one so that the preview has no previous period to compare with
    served = Served(project)
    try:
        served.wait_rendered()
        page = browser_page
        page.goto(served.url)
        heading = page.locator("h1").first.inner_text()
        page.get_by_text("Premium patrons").first.wait_for()

        edit(project, "Premium patrons", "Gold circle")
        page.get_by_text("Gold circle").first.wait_for(timeout=30_000)
        assert page.get_by_text("Premium patrons").count() == 0

        edit(project, "k: [2, 5]", "k: [2, 5, 9]")
        banner = page.locator("#reportgen-serve-error")
        banner.wait_for(timeout=30_000)
        assert banner.inner_text().startswith("error: config key 'segmentation.k': ")
        assert page.locator("h1").first.inner_text() == heading  # the old report, below
        assert page.get_by_text("Gold circle").count() > 0

        edit(project, "k: [2, 5, 9]", "k: [2, 5]")
        banner.wait_for(state="detached", timeout=30_000)
        assert page.get_by_text("Gold circle").count() > 0

        status, archive = served.get("/archive/small/")
        assert status == 200 and b"2027-01" in archive
        status, written = served.get("/archive/small/2027-01/report.html")
        assert status == 200 and b"reportgen-live" not in written  # only served pages
        assert served.get("/archive/../config.yaml")[0] == 404
        assert not (project.parent / "out" / "small" / "2026-12").exists()  # no --write
    finally:
        code, log = served.stop()
    assert code == 0, log
    assert "stopped" in log and "Traceback" not in log


@pytest.mark.parametrize("args, expected", [
    (["missing.yaml"], "error: missing.yaml: no such config file; pass the YAML config"),
    (["{config}", "--period", "2026-13"], "error: --period: expected YYYY-MM such as"),
    (["{config}", "--port", "{taken}"], "error: --port {taken}: cannot listen on 127.0.0.1"),
])
def test_serve_refuses_bad_arguments_in_one_line(project, args, expected):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        argv = [a.format(config=project, taken=port) for a in args]
        done = subprocess.run([sys.executable, "-m", "reportgen", "serve", *argv],
                              capture_output=True, text=True, cwd=project.parent, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(expected.format(taken=port)) and done.stderr.count("\n") == 1
