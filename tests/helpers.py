"""Helpers shared by the tests: paths, small data, configs written to a folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
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


DIRTY_LINES = """\
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1001,A,Red mug,2,2026-10-01 10:00,3.50,0001,UK
1001,B,Blue mug,2,2026-10-01 10:00,3.50,0001,UK
1001,B,Blue mug,2,2026-10-01 10:00,3.50,0001,UK
1002,A,Red mug,1,2026-10-02 09:00,3.50,,UK
1003,POST,Postage,1,2026-10-03 09:00,0,0002,UK
1009,A,Red mug,0,2026-10-03 09:00,3.50,0002,UK
C1004,A,Red mug,-1,2026-10-04 09:00,3.50,0001,UK
1005,A,Red mug,1,,3.50,0003,UK
1006,B,Blue mug,4,2026-10-05 09:00,2.00,0002,UK
1007,A,Red mug,1,2026-10-06 09:00,5.00,0004,UK
C1008,A,Red mug,-1,2026-10-07 09:00,5.00,0004,UK
"""


def dirty_sales_lines(folder: Path, customers: int = 90, seed: int = 3) -> Path:
    """A real-shaped sales-line file with each reason a line is dropped, once: one invoice
    holding two colours of a mug at the same quantity and price (two lines, not a
    duplicate) and a true repeat of a whole line; a line without a customer, one priced
    zero, one of quantity zero, one without a date; a return netted; a customer whose
    return cancels the purchase (net zero); then ordinary customers to segment."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        for n in range(int(rng.integers(1, 6))):
            day = 1 + int(rng.integers(0, 28))
            rows.append(f"{2000 + c * 10 + n},S{n},Item {n},{int(rng.integers(1, 9))},"
                        f"2026-10-{day:02d} 12:00,{rng.choice([1.25, 2.5, 4.95, 12.0])},"
                        f"{500 + c:04d},UK\n")
    path = folder / "lines.csv"
    path.write_text(DIRTY_LINES + "".join(rows), encoding="utf-8")
    return path


def reconciliation_by_hand(path: Path) -> dict:
    """The reconciliation as pandas gives it, with the recipe the appendix states."""
    lines = pd.read_csv(path, dtype={"CustomerID": str, "InvoiceNo": str})
    keep = lines["CustomerID"].notna()
    repeat = keep & lines.duplicated()
    keep &= ~repeat
    priced_out = keep & (lines["UnitPrice"] <= 0)
    keep &= ~priced_out
    amount = lines["Quantity"] * lines["UnitPrice"]
    zero = keep & (amount == 0)
    keep &= ~zero
    undated = keep & lines["InvoiceDate"].isna()
    keep &= ~undated
    net = (amount[keep].groupby(lines["CustomerID"][keep]).sum() * 100).round().astype(int)
    return {"lines_read": len(lines),
            "dropped": [{"reason": r, "lines": int(n.sum())} for r, n in (
                ("lines without a customer id", lines["CustomerID"].isna()),
                ("exact duplicate lines", repeat), ("lines priced zero or below", priced_out),
                ("lines with a zero amount", zero), ("lines without a date", undated))],
            "lines_used": int(keep.sum()),
            "lines_netted": int((keep & (lines["InvoiceNo"].str.startswith("C")
                                          | (lines["Quantity"] < 0))).sum()),
            "customers": len(net), "net_revenue": int(net.sum()) / 100,
            "customers_not_positive": int((net <= 0).sum()),
            "not_positive_revenue": int(net[net <= 0].sum()) / 100,
            "customers_segmented": int((net > 0).sum()),
            "segmented_revenue": int(net[net > 0].sum()) / 100}


def sales_config(folder: Path, data: Path) -> Path:
    return write_config(folder, f"""
        report: {{name: dirty, title: Dirty lines}}
        data: {{path: {data}}}
        transactions:
          customer: CustomerID
          invoice: InvoiceNo
          date: InvoiceDate
          quantity: Quantity
          price: UnitPrice
        features: {{numeric: [recency_days, frequency, monetary]}}
        segmentation: {{k: [2, 4]}}
        output: {{dir: out, formats: [html]}}
        """)


def wholesale(folder: Path) -> Path:
    """The shape of the public UCI wholesale table: Channel 1-2, Region 1-3, spend a
    category."""
    rng = np.random.default_rng(2)
    n = 440
    channel = rng.choice([1, 2], n, p=[0.68, 0.32])
    frame = pd.DataFrame({"Customer ID": range(100, 100 + n), "Channel": channel,
                          "Region": rng.choice([1, 2, 3], n, p=[0.17, 0.11, 0.72])})
    for name, scale in (("Fresh", 12000), ("Milk", 5800), ("Grocery", 7900)):
        frame[name] = (rng.lognormal(0, 1, n) * scale * np.where(channel == 2, 1.8, 0.7)
                       ).round()
    path = folder / "wholesale.csv"
    frame.to_csv(path, index=False)
    return path
