"""The HTML report in a real headless Chromium, opened from file:// with the network off.

Debian's chromium is installed by `make test` (scripts/system-deps.sh) when missing; if
it cannot be had, these tests skip and say so. No browser is ever downloaded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); "
    "the HTML was not checked in a browser")
ARTIFACTS = ROOT / ".ci-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ALL_CHARTS_DRAWN = ("document.querySelectorAll('.vega[data-rendered]').length === "
                    "document.querySelectorAll('.vega').length")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e .[dev])")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield launched
        launched.close()


class OpenedReport:
    """A report page plus everything it asked the network for and every error it logged."""

    def __init__(self, browser, html: Path, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(offline=True, viewport=viewport)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(html.as_uri())
        self.page.wait_for_function(ALL_CHARTS_DRAWN, timeout=30_000)

    def marks_per_chart(self) -> dict[str, int]:
        return self.page.evaluate("""() => Object.fromEntries(
            Array.from(document.querySelectorAll('.vega')).map(el => [el.id,
              el.querySelectorAll('svg .role-mark > *, canvas').length]))""")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("run", ["sample_run", "transactions_run", "mall_run", "drift_run"])
def test_every_chart_renders_offline_without_errors(request, browser, run):
    result = request.getfixturevalue(run)
    report = OpenedReport(browser, result.html, DESKTOP)
    try:
        marks = report.marks_per_chart()
        assert marks and all(count > 0 for count in marks.values()), marks
        assert report.errors == []
        leaving = [u for u in report.requests if not u.startswith(("file:", "data:", "blob:"))]
        assert leaving == []
        name = f"{result.summary['report']}-{result.summary['period']}-desktop"
        assert report.screenshot(name).stat().st_size > 0
    finally:
        report.close()


def test_tooltips_show_the_numbers(browser, sample_run):
    report = OpenedReport(browser, sample_run.html, DESKTOP)
    try:
        report.page.locator("#chart-sizes svg .role-mark path").first.hover()
        report.page.wait_for_selector("#vg-tooltip-element.visible", timeout=5_000)
        tooltip = report.page.inner_text("#vg-tooltip-element")
        first = sample_run.summary["segments"][0]
        assert first["name"] in tooltip and f"{first['size']:,}" in tooltip
    finally:
        report.close()


def test_phone_width_fits_without_sideways_scrolling(browser, sample_run):
    report = OpenedReport(browser, sample_run.html, PHONE)
    try:
        overflow = report.page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        nav = report.page.evaluate(
            "() => getComputedStyle(document.querySelector('.site-nav')).position")
        assert nav == "sticky"
        report.screenshot("sample-phone")
    finally:
        report.close()


SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory):
    """Customer data and a config whose text tries to run script in the page."""
    from helpers import blobs_frame, write_config

    from reportgen import run_report

    folder = tmp_path_factory.mktemp("hostile")
    frame = blobs_frame().drop(columns="group")
    frame["channel"] = [SCRIPT if i % 3 == 0 else IMG if i % 3 == 1 else "web"
                        for i in range(len(frame))]
    frame.to_csv(folder / "customers.csv", index=False)
    config = write_config(folder, f"""
report: {{name: hostile, title: {IMG!r}, company: {SCRIPT!r}}}
data: {{path: customers.csv, id: customer_id}}
features: {{numeric: [income, score], categorical: [channel]}}
segmentation: {{k: 3}}
personas:
  rules:
    - when: {{income: high}}
      name: {SCRIPT!r}
      description: {IMG!r}
output: {{dir: out}}
""")
    return run_report(config, period="2026-11")


def test_hostile_text_shows_as_text_and_runs_nothing(browser, hostile_run):
    """Category values, a title, a company and a persona from the data and the config are
    shown literally in the HTML (checked in Chromium: no dialog, no stray element) and
    in the PDF."""
    from helpers import page_texts, squash

    report = OpenedReport(browser, hostile_run.html, DESKTOP)
    dialogs: list[str] = []
    report.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        report.page.wait_for_timeout(500)
        assert dialogs == []
        injected = report.page.evaluate(
            "() => document.querySelectorAll('img[src=x], img[onerror]').length")
        assert injected == 0
        body = report.page.inner_text("body")
        assert SCRIPT in body and IMG in body
        tooltips = []
        for mark in report.page.query_selector_all(".vega svg .role-mark > path")[:40]:
            box = mark.bounding_box()
            if not box or box["width"] < 2 or box["height"] < 2:
                continue
            mark.scroll_into_view_if_needed()
            box = mark.bounding_box()
            report.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            tooltips.append(report.page.evaluate(
                "() => (document.getElementById('vg-tooltip-element') || {}).innerText || ''"))
        assert any(SCRIPT in t for t in tooltips), tooltips[:5]  # a tooltip shows the name
        assert report.page.evaluate(
            "() => document.querySelectorAll('img[src=x], img[onerror]').length") == 0
        assert dialogs == []
        assert report.errors == []
    finally:
        report.close()
    pdf = squash(" ".join(page_texts(hostile_run.folder / "report.pdf")))
    assert squash(SCRIPT) in pdf and squash(IMG) in pdf
