"""Helpers shared by the tests: paths, small data, configs written to a folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
MALL_CSV = SHARED_DATA / "Mall_Customers.csv"
CAMPAIGN_CSV = SHARED_DATA / "marketing_campaign.csv"
CDNOW_TXT = SHARED_DATA / "CDNOW_sample.txt"
PERIODS = ("2026-09", "2026-10", "2026-11")  # the drifting-sample months


def needs_mall() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not MALL_CSV.is_file(),
                              reason=f"shared dataset not present: {MALL_CSV}")


def needs_cdnow() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not CDNOW_TXT.is_file(),
                              reason=f"shared dataset not present: {CDNOW_TXT}")


def write_config(folder: Path, text: str, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def blobs_frame(n_per_group: int = 60, seed: int = 0) -> pd.DataFrame:
    """Three well-separated groups of customers: small, hand-checkable, fast to cluster."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = [(20_000, 20), (60_000, 50), (110_000, 85)]
    rows = []
    for group, (income, score) in enumerate(centres):
        for _ in range(n_per_group):
            rows.append({"income": rng.normal(income, 3_000), "score": rng.normal(score, 3),
                         "age": rng.integers(20, 70), "group": group})
    frame = pd.DataFrame(rows)
    frame.insert(0, "customer_id", [f"K{i:04d}" for i in range(len(frame))])
    return frame


SMALL_CONFIG = """
report:
  name: small
  title: Small test report
data:
  path: customers.csv
  id: customer_id
features:
  numeric: [income, score]
  profile: [age]
segmentation:
  k: [2, 5]
output:
  dir: out
  formats: [html]
"""


def squash(text: str) -> str:
    """Text without whitespace: a PDF breaks lines anywhere, the words stay in order."""
    return re.sub(r"\s+", "", text)


def chart_specs(html: Path) -> dict[str, dict]:
    """The Vega-Lite specs an HTML report embeds, by chart element id."""
    found = re.search(r'<script type="application/json" id="chart-specs">(.*?)</script>',
                      html.read_text(), re.S)
    assert found, f"no chart specs in {html}"
    return json.loads(found.group(1))


def page_texts(pdf: Path) -> list[str]:
    """Each PDF page's text, squashed."""
    from pypdf import PdfReader

    return [squash(page.extract_text()) for page in PdfReader(pdf).pages]


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            **options) -> subprocess.CompletedProcess:
    """`python -m reportgen ARGS` as a user runs it; `env` is added to the environment."""
    return subprocess.run([sys.executable, "-m", "reportgen", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env={**os.environ, **(env or {})},
                          **options)
