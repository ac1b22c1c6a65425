"""Counting an auditor would sign (issue 28): a duplicate is a repeat of a whole line, and
the reconciliation from lines read to revenue segmented adds up exactly, on the sample,
on CDNOW and on a file built with every reason a line is dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import (
    CDNOW_TXT,
    ROOT,
    dirty_sales_lines,
    needs_cdnow,
    page_texts,
    reconciliation_by_hand,
    sales_config,
    squash,
)

from reportgen import run_report


def adds_up(done: dict) -> None:
    """Each step a subtraction, exact in lines and in cents."""
    assert done["lines_read"] - sum(d["lines"] for d in done["dropped"]) == done["lines_used"]
    cents = {k: round(done[k] * 100) for k in ("net_revenue", "not_positive_revenue",
                                                "segmented_revenue")}
    assert cents["net_revenue"] - cents["not_positive_revenue"] == cents["segmented_revenue"]
    assert done["customers"] - done["customers_not_positive"] == done["customers_segmented"]


def test_two_colours_in_one_invoice_are_two_lines_and_a_true_repeat_is_one(tmp_path: Path):
    data = dirty_sales_lines(tmp_path)
    run = run_report(sales_config(tmp_path, data), period="2026-11")
    summary = json.loads((run.folder / "summary.json").read_text())
    done = summary["reconciliation"]
    assert done["dropped"][1] == {"reason": "exact duplicate lines", "lines": 1}
    assert done == reconciliation_by_hand(data)
    assert [d["lines"] for d in done["dropped"]] == [1, 1, 1, 1, 1]
    assert done["customers_not_positive"] == 1 and done["lines_netted"] == 2
    adds_up(done)
    # customer 0001 keeps both mugs: 2 x 3.50 twice, less the returned 3.50
    segments = pd.read_csv(run.folder / "segments.csv", dtype={"id": str})
    assert "0001" in set(segments["id"])
    assert summary["n_customers"] == done["customers_segmented"] == len(segments)


@pytest.mark.parametrize("layout", ["gzip", "quoted line break", "crlf"])
def test_whole_lines_whatever_the_text_layout(tmp_path: Path, layout: str):
    """Lines hashed as they stream by, or (where a quoted field holds a line break, so a
    line is not a row) the columns parsed as text: the same count either way."""
    import gzip

    csv = dirty_sales_lines(tmp_path)
    text = csv.read_text()
    if layout == "quoted line break":
        text = text.replace("Blue mug", '"Blue\nmug"')
    if layout == "crlf":
        text = text.replace("\n", "\r\n")
        csv.write_bytes(text.encode())
    data = csv
    if layout == "gzip":
        data = tmp_path / "lines.csv.gz"
        data.write_bytes(gzip.compress(text.encode()))
    elif layout == "quoted line break":
        csv.write_text(text)
    run = run_report(sales_config(tmp_path, data), period="2026-11")
    done = json.loads((run.folder / "summary.json").read_text())["reconciliation"]
    assert done == reconciliation_by_hand(csv)


def test_the_same_whole_line_rule_reads_parquet(tmp_path: Path):
    csv = dirty_sales_lines(tmp_path)
    lines = pd.read_csv(csv, dtype={"CustomerID": str, "InvoiceNo": str})
    parquet = tmp_path / "lines.parquet"
    lines.to_parquet(parquet)
    run = run_report(sales_config(tmp_path, parquet), period="2026-11")
    done = json.loads((run.folder / "summary.json").read_text())["reconciliation"]
    assert done == reconciliation_by_hand(csv)


def test_the_sample_sales_lines_reconcile(transactions_run):
    summary = json.loads((transactions_run.folder / "summary.json").read_text())
    done = summary["reconciliation"]
    adds_up(done)
    assert done == reconciliation_by_hand(ROOT / "sample_data" / "transactions.csv.gz")
    assert summary["transactions"]["revenue"] == pytest.approx(done["segmented_revenue"],
                                                               abs=0.01)


def test_the_appendix_prints_the_reconciliation(transactions_run):
    done = json.loads((transactions_run.folder / "summary.json").read_text())["reconciliation"]
    text = squash(" ".join(page_texts(transactions_run.folder / "report.pdf")))
    assert squash(f"Sales lines read {done['lines_read']:,}") in text
    assert squash(f"= Revenue of the {done['customers_segmented']:,} customers segmented "
                  f"{done['segmented_revenue']:,.2f}") in text


@needs_cdnow()
def test_cdnow_reconciles(tmp_path: Path):
    run = run_report(ROOT / "configs" / "cdnow.yaml", out=tmp_path, period="1998-07",
                     output={"formats": ["html"]})
    done = json.loads((run.folder / "summary.json").read_text())["reconciliation"]
    adds_up(done)
    lines = pd.read_csv(CDNOW_TXT, sep=r"\s+", header=None,
                        names=["customer_id", "sample_id", "date", "cds", "dollars"])
    paid = lines[lines["dollars"] != 0]  # 8 of the 2,357 customers bought only free CDs
    net = (paid.groupby("customer_id")["dollars"].sum() * 100).round()
    assert done["lines_read"] == len(lines) == 6919
    dropped = {d["reason"]: d["lines"] for d in done["dropped"]}
    assert dropped["exact duplicate lines"] == 0  # no invoice: two equal lines are two orders
    assert dropped["lines with a zero amount"] == len(lines) - len(paid)
    assert done["customers"] == len(net) == 2349
    assert done["net_revenue"] == net.sum() / 100
    assert done["segmented_revenue"] == net[net > 0].sum() / 100
