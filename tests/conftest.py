"""Shared fixtures. Whole-report runs are session-scoped: rendering a PDF takes seconds."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import (
    CAMPAIGN_CSV,
    MALL_CSV,
    PERIODS,
    ROOT,
    SMALL_CONFIG,
    blobs_frame,
    write_config,
)

os.environ.setdefault("SOURCE_DATE_EPOCH", "1795000000")  # reproducible generated_at


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite tests/golden from this code's outputs (test_golden.py)")


FIRST = ("test_spark.py",)  # the longest file: started first, it ends with the others


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs the files on two workers (pytest-xdist, --dist loadfile): the Spark
    tests, a third of the suite's time in one file, go first so that the other worker
    takes the rest meanwhile instead of waiting for them at the end."""
    items.sort(key=lambda item: item.path.name not in FIRST)


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """A folder with a three-group customers.csv and an HTML-only config; returns the config."""
    blobs_frame().drop(columns="group").to_csv(tmp_path / "customers.csv", index=False)
    return write_config(tmp_path, SMALL_CONFIG)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory):
    """The sample report, HTML and PDF, rendered once for all tests that read it."""
    from reportgen import run_report

    out = tmp_path_factory.mktemp("sample-reports")
    return run_report(ROOT / "configs" / "sample.yaml", out=out, period="2026-11")


@pytest.fixture(scope="session")
def mall_run(tmp_path_factory: pytest.TempPathFactory):
    if not MALL_CSV.is_file():
        pytest.skip(f"shared dataset not present: {MALL_CSV}")
    from reportgen import run_report

    out = tmp_path_factory.mktemp("mall-reports")
    return run_report(ROOT / "configs" / "mall_customers.yaml", out=out, period="2026-11")


@pytest.fixture(scope="session")
def branded_run(tmp_path_factory: pytest.TempPathFactory):
    """The worked branding example (logo, accent, template overrides), rendered once."""
    from reportgen import run_report

    out = tmp_path_factory.mktemp("branded-reports")
    return run_report(ROOT / "configs" / "branded.yaml", out=out, period="2026-11")


@pytest.fixture(scope="session")
def marketing_run(tmp_path_factory: pytest.TempPathFactory):
    if not CAMPAIGN_CSV.is_file():
        pytest.skip(f"shared dataset not present: {CAMPAIGN_CSV}")
    from reportgen import run_report

    out = tmp_path_factory.mktemp("marketing-reports")
    return run_report(ROOT / "configs" / "marketing_campaign.yaml", out=out, period="2026-11")


@pytest.fixture(scope="session")
def transactions_run(tmp_path_factory: pytest.TempPathFactory):
    """The sales-line sample report (RFM), rendered once."""
    from reportgen import run_report

    out = tmp_path_factory.mktemp("transactions-reports")
    return run_report(ROOT / "configs" / "transactions.yaml", out=out, period="2026-11")


@pytest.fixture(scope="session")
def drift_runs(tmp_path_factory: pytest.TempPathFactory):
    """The sample config over three months of drifting data (the last with a PDF)."""
    folder = tmp_path_factory.mktemp("drift")
    config = (ROOT / "configs" / "sample.yaml").read_text().replace(
        "../sample_data/customers.csv", "customers.csv").replace("../reports", "out")
    write_config(folder, config)
    from reportgen import run_report
    from reportgen.sample import drifting_months

    months = drifting_months(len(PERIODS))
    runs = []
    for period, month in zip(PERIODS, months, strict=True):
        month.frame.to_csv(folder / "customers.csv", index=False)
        formats = ["html", "pdf"] if period == PERIODS[-1] else ["html"]
        runs.append(run_report(folder / "config.yaml", period=period,
                               output={"formats": formats}))
    return SimpleNamespace(runs=runs, months=months, out=folder / "out" / "sample")


@pytest.fixture(scope="session")
def drift_run(drift_runs):
    """The third month of the drifting sample: a report with a "What changed" section."""
    return drift_runs.runs[-1]
