"""Shared fixtures. Whole-report runs are session-scoped: rendering a PDF takes seconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import MALL_CSV, ROOT, SMALL_CONFIG, blobs_frame, write_config

os.environ.setdefault("SOURCE_DATE_EPOCH", "1795000000")  # reproducible generated_at


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
def transactions_run(tmp_path_factory: pytest.TempPathFactory):
    """The sales-line sample report (RFM), rendered once."""
    from reportgen import run_report

    out = tmp_path_factory.mktemp("transactions-reports")
    return run_report(ROOT / "configs" / "transactions.yaml", out=out, period="2026-11")
