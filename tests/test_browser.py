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
