"""Roles by meaning, codes as categories and order logs as published (issue 28, items
4-6): on the column names of public tables (a credit-card export, the marketing campaign
table, a wholesale table) and on a file in CDNOW's published layout that the test
writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import CAMPAIGN_CSV, run_cli, wholesale

from reportgen import run_report
from reportgen.config.roles import MEANINGS, bind_by_meaning, is_code

CC_GENERAL = ["CUST_ID", "BALANCE", "BALANCE_FREQUENCY", "PURCHASES", "ONEOFF_PURCHASES",
              "INSTALLMENTS_PURCHASES", "CASH_ADVANCE", "PURCHASES_FREQUENCY",
              "ONEOFF_PURCHASES_FREQUENCY", "PURCHASES_INSTALLMENTS_FREQUENCY",
              "CASH_ADVANCE_FREQUENCY", "CASH_ADVANCE_TRX", "PURCHASES_TRX", "CREDIT_LIMIT",
              "PAYMENTS", "MINIMUM_PAYMENTS", "PRC_FULL_PAYMENT", "TENURE"]
CAMPAIGN = ["Year_Birth", "Income", "Kidhome", "Recency", "MntWines", "MntFruits",
            "NumDealsPurchases", "NumWebPurchases", "NumCatalogPurchases",
            "NumStorePurchases", "NumWebVisitsMonth", "AcceptedCmp1", "Z_Revenue"]


def bound(columns: list[str]) -> dict[str, str | None]:
    return {role: b.column for role, b in bind_by_meaning(MEANINGS, columns).items()}


def test_credit_card_roles_are_bound_by_what_the_columns_measure():
    roles = bound(CC_GENERAL)
    assert roles["frequency"] == "PURCHASES_FREQUENCY"  # not BALANCE_FREQUENCY
    assert roles["spending"] == "PURCHASES"  # the total, not ONEOFF_ or INSTALLMENTS_
    assert roles["balance"] == "BALANCE" and roles["tenure"] == "TENURE"
    assert roles["income"] is None  # a credit limit is not an income: unsure, unbound


def test_an_account_balance_is_money_held_not_owed():
    """A public bank table (CustomerID, CustAccountBalance, TransactionAmount (INR)): the
    balance role means money owed, so the fallback action tells a high segment to
    consolidate what it owes; a deposit account's balance must not be bound to it."""
    roles = bound(["CustomerID", "CustGender", "CustAccountBalance",
                   "TransactionAmount (INR)"])
    assert roles["balance"] is None
    assert roles["spending"] == "TransactionAmount (INR)"


def test_deal_purchases_are_not_purchase_frequency():
    roles = bound(CAMPAIGN)
    assert roles["frequency"] is None  # only parts: NumDealsPurchases, NumWebPurchases ...
    assert roles["recency"] == "Recency" and roles["income"] == "Income"
    roles = bound(["total_mnt", *CAMPAIGN, "num_purchases"])
    assert roles["frequency"] == "num_purchases" and roles["spending"] == "total_mnt"


@pytest.mark.skipif(not CAMPAIGN_CSV.is_file(), reason=f"not present: {CAMPAIGN_CSV}")
def test_init_writes_the_roles_with_reasons_and_the_total_purchases(tmp_path: Path):
    done = run_cli("init", str(CAMPAIGN_CSV), "-o", "campaign.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "campaign.yaml").read_text()
    raw = yaml.safe_load(text)
    assert raw["derive"]["num_purchases"] == (
        "NumWebPurchases + NumCatalogPurchases + NumStorePurchases")
    assert raw["roles"]["frequency"] == "num_purchases"
    assert raw["roles"]["spending"] == "total_mnt" and raw["roles"]["balance"] is None
    assert "  frequency: num_purchases      # its name says a count or rate of purchases" in text
    run = run_report(tmp_path / "campaign.yaml", period="2026-11",
                     output={"formats": ["html"]})
    summary = json.loads((run.folder / "summary.json").read_text())
    assert summary["roles"]["frequency"] == "num_purchases"
    listed = {b["role"]: b["column"] for b in summary["role_bindings"]}
    assert listed["frequency"] == "num_purchases" and listed["balance"] is None
    html = (run.folder / "report.html").read_text()
    assert "<h3>Roles</h3>" in html


def test_codes_are_profiled_as_categories(tmp_path: Path):
    data = wholesale(tmp_path)
    done = run_cli("init", data.name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "wholesale.yaml").read_text()
    raw = yaml.safe_load(text)
    assert {"Channel", "Region"} <= set(raw["features"]["profile"])
    assert "a code (2 values, named like a category)" in text
    run = run_report(tmp_path / "wholesale.yaml", period="2026-11",
                     output={"formats": ["html"]})
    summary = json.loads((run.folder / "summary.json").read_text())
    for segment in summary["segments"]:
        assert "Channel" not in segment["profile"] and "Region" not in segment["profile"]
        assert not any(t.startswith(("Lower channel", "Higher channel", "Channel "))
                       for t in segment["traits"])
    assert summary["features"]["profile"] == ["Channel", "Region"]


def test_a_code_can_be_averaged_on_request(tmp_path: Path):
    data = wholesale(tmp_path)
    assert run_cli("init", data.name, cwd=tmp_path).returncode == 0
    run = run_report(tmp_path / "wholesale.yaml", period="2026-11",
                     output={"formats": ["html"]}, features={"as_numbers": ["Channel"]})
    summary = json.loads((run.folder / "summary.json").read_text())
    assert all("Channel" in s["profile"] for s in summary["segments"])
    assert is_code("Region", pd.Series([1, 2, 3])) and not is_code("Kidhome",
                                                                 pd.Series([0, 1, 2]))


def cdnow_master(folder: Path, customers: int = 400, seed: int = 7) -> tuple[Path, pd.DataFrame]:
    """An order log in the layout CDNOW published: no header, fields lined up by blanks,
    zero-padded ids, YYYYMMDD dates, the number of CDs and the dollars."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(1, customers + 1):
        first = pd.Timestamp("1997-01-01") + pd.Timedelta(days=int(rng.integers(0, 90)))
        rate, life = rng.gamma(1.2, 1 / 60), rng.exponential(300)
        day = 0.0
        while day <= min(life, 540) and len(rows) < 50_000:
            cds = int(rng.integers(1, 6))
            rows.append((f"{c:05d}", (first + pd.Timedelta(days=int(day))).strftime("%Y%m%d"),
                         cds, round(cds * float(rng.gamma(6, 2.5)), 2)))
            day += rng.exponential(1 / rate) + 1
    lines = [f" {i} {d} {q:2d} {a:7.2f}\n" for i, d, q, a in rows]
    path = folder / "CDNOW_master.txt"
    path.write_text("".join(lines))
    return path, pd.DataFrame(rows, columns=["id", "date", "cds", "dollars"])


def test_the_cdnow_master_layout_goes_through_init_and_run_with_no_edits(tmp_path: Path):
    data, truth = cdnow_master(tmp_path)
    done = run_cli("init", data.name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    raw = yaml.safe_load((tmp_path / "cdnow-master.yaml").read_text())
    assert raw["data"]["read"] == {"sep": "whitespace",
                                   "columns": ["customer_id", "date", "quantity", "amount"]}
    assert raw["transactions"] == {"customer": "customer_id", "date": "date",
                                   "amount": "amount", "as_of": "auto"}
    assert "value" in raw and "date" not in raw["features"]["numeric"]
    run = run_report(tmp_path / "cdnow-master.yaml", period="1998-07",
                     output={"formats": ["html"]})
    summary = json.loads((run.folder / "summary.json").read_text())
    net = truth.groupby("id")["dollars"].sum()
    assert summary["n_customers"] == int((net > 0).sum())
    segments = pd.read_csv(run.folder / "segments.csv", dtype={"id": str})
    assert set(segments["id"]) == set(net.index[net > 0])  # zero padding kept
    assert summary["value"] is not None and summary["k_selected"] >= 2
    assert summary["reconciliation"]["segmented_revenue"] == pytest.approx(
        round(net[net > 0].sum(), 2))


def test_a_file_init_cannot_read_names_the_options(tmp_path: Path):
    (tmp_path / "one.txt").write_text("alpha\nbeta\ngamma\n")
    done = run_cli("init", "one.txt", cwd=tmp_path)
    assert done.returncode == 2
    assert "data.read.sep" in done.stderr and "data.read.columns" in done.stderr


def test_an_invoice_level_export_is_read_as_sales_lines(tmp_path: Path):
    """One row an invoice with its total (a public Online Retail derivative): TotalPrice
    is the amount, not a unit price, so the file is sales lines, not a customer table."""
    rng = np.random.default_rng(4)
    rows = [(f"{536000 + i}", f"2011-{1 + i % 12:02d}-{1 + i % 28:02d}",
             f"{12000 + int(rng.integers(0, 150))}", round(float(rng.gamma(3, 40)), 2))
            for i in range(1200)]
    pd.DataFrame(rows, columns=["InvoiceNo", "InvoiceDate", "CustomerID", "TotalPrice"]
                 ).to_csv(tmp_path / "invoices.csv", index=False)
    assert run_cli("init", "invoices.csv", cwd=tmp_path).returncode == 0
    raw = yaml.safe_load((tmp_path / "invoices.yaml").read_text())
    assert raw["transactions"]["amount"] == "TotalPrice" and "price" not in raw["transactions"]
