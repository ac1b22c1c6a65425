"""Hostile content: values that spreadsheets would run, paths and URLs the PDF must not
fetch. (Escaping in the page itself is checked in headless Chromium in test_browser.)"""

from __future__ import annotations

import json

import pandas as pd
from helpers import blobs_frame, write_config

from reportgen import run_report
from reportgen.csvsafe import neutralise_formulas, restore_formulas

HOSTILE_IDS = ["=1+2", "+44 20 7946", "-5", "@SUM(A1)", "\tx", "plain"]


def test_formula_cells_are_neutralised_and_read_back():
    values = pd.Series(HOSTILE_IDS)
    safe = neutralise_formulas(values)
    assert list(safe) == ["'=1+2", "'+44 20 7946", "'-5", "'@SUM(A1)", "'\tx", "plain"]
    assert list(restore_formulas(safe)) == HOSTILE_IDS
    numbers = pd.Series([-5, 3])
    assert neutralise_formulas(numbers).tolist() == [-5, 3]


def test_segments_csv_is_safe_and_months_still_match(tmp_path):
    """Ids and a persona name that start with '=' are written inert; next month the same
    customers are recognised as returning."""
    frame = blobs_frame().drop(columns="group")
    frame["customer_id"] = [f"={i}+1" if i % 2 else f"-{i}" for i in range(len(frame))]
    frame.to_csv(tmp_path / "customers.csv", index=False)
    config = write_config(tmp_path, f"""
report: {{name: small, title: Small}}
data: {{path: customers.csv, id: customer_id}}
features: {{numeric: [income, score], profile: [age]}}
segmentation: {{k: 3}}
personas:
  rules:
    - when: {{income: high}}
      name: '=HYPERLINK("http://evil.example","click")'
output: {{dir: out, formats: [html]}}
""")
    first = run_report(config, period="2026-10")
    cells = pd.read_csv(first.folder / "segments.csv", dtype=str, keep_default_na=False)
    assert not cells["id"].str.match(r"^[=+\-@]").any()
    assert cells["id"].str.startswith("'").all()
    assert (cells["persona"] == '\'=HYPERLINK("http://evil.example","click")').any()
    second = run_report(config, period="2026-11")
    migration = json.loads((second.folder / "summary.json").read_text())["migration"]
    assert migration["returning"] == len(frame)
    assert migration["new_customers"] == 0 and migration["lost_customers"] == 0
