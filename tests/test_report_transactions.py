"""Sales lines end to end: RFM segments recover the generator's behaviour types."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from helpers import ROOT, write_config
from sklearn.metrics import adjusted_rand_score

from reportgen import run_report
from reportgen.config.load import load_config
from reportgen.errors import ConfigError, DataError
from reportgen.sample import BEHAVIOURS, generate_sales


@pytest.fixture(scope="module")
def summary(transactions_run) -> dict:
    return json.loads((transactions_run.folder / "summary.json").read_text())


def test_segments_recover_the_behaviour_types(transactions_run, summary):
    assert summary["k_selected"] == len(BEHAVIOURS)
    segments = pd.read_csv(transactions_run.folder / "segments.csv")
    _, truth = generate_sales()
    assert adjusted_rand_score(truth.reindex(segments["id"]).to_numpy(),
                               segments["segment"]) >= 0.85


def test_rfm_personas_name_the_behaviours(transactions_run):
    segments = pd.read_csv(transactions_run.folder / "segments.csv")
    _, truth = generate_sales()
    behaviour = truth.reindex(segments["id"]).map(lambda i: BEHAVIOURS[i].name).to_numpy()
    persona_of = pd.crosstab(behaviour, segments["persona"]).idxmax(axis=1).to_dict()
    assert persona_of["Frequent big spenders"] == "Champions"
    assert persona_of["Loyal small baskets"] == "Loyal customers"
    assert persona_of["Lapsed"] in ("At risk", "Can't lose them")
    assert persona_of["One-off buyers"] in ("Hibernating", "Lost", "About to sleep")


def test_dirty_lines_are_counted(summary):
    """Each count as pandas gives it, step by step, from the generated lines: a line
    without an id; a repeat of an earlier line in every column of the file (StockCode
    too, which the run does not read: two products at one price in one invoice are two
    lines); a price of zero or below; then the cancellations (C invoices) and returns
    (negative quantities) among the lines kept."""
    lines, _ = generate_sales()
    reasons = summary["dropped"]["reasons"]
    keep = lines["CustomerID"].notna()
    repeat = lines.duplicated()
    priced_out = keep & ~repeat & (lines["UnitPrice"] <= 0)
    kept = keep & ~repeat & ~priced_out
    netted = kept & (lines["InvoiceNo"].str.startswith("C") | (lines["Quantity"] < 0))
    assert reasons["lines without a customer id"] == int((~keep).sum()) == 1717
    assert reasons["exact duplicate lines"] == int((keep & repeat).sum()) == 419
    assert reasons["lines priced zero or below"] == int(priced_out.sum()) == 257
    assert reasons["cancellation and return lines (netted against revenue)"] == int(
        netted.sum()) == 3444
    tx = summary["transactions"]
    assert tx["lines_read"] == summary["n_rows"] == len(lines)
    assert tx["as_of"] == "2026-11-01" and tx["last_date"] == "2026-10-31"
    assert tx["customers_excluded"] == reasons.get(
        "customers with zero or negative net revenue (not segmented)", 0)


def test_revenue_shares_add_up_and_rfm_scores_are_profiled(summary):
    shares = [s["revenue_share"] for s in summary["segments"]]
    assert sum(shares) == pytest.approx(1.0)
    champions = next(s for s in summary["segments"] if s["name"] == "Champions")
    assert champions["revenue_share"] == max(shares)
    assert champions["profile"]["r_score"]["mean"] >= 4
    assert set(summary["features"]["log"]) == {"frequency", "monetary", "avg_order_value"}


def test_report_shows_revenue_and_the_rfm_section(transactions_run, summary):
    from pypdf import PdfReader

    text = "".join("".join(p.extract_text().split()) for p in PdfReader(transactions_run.pdf).pages)
    for phrase in ("Revenue and RFM", "Recency score (5 = most recent)", "Sales lines read",
                   "Champions bring"):
        assert "".join(phrase.split()) in text, phrase
    for segment in summary["segments"]:
        for rec in segment["recommendations"]:
            assert "".join(rec["action"].split()) in text
    html = transactions_run.html.read_text()
    # with value: the revenue chart is the value section's (customers, revenue, value)
    assert all(f'id="chart-{c}"' in html for c in ("value-share", "rfm-boxes", "rfm-grid"))


def test_transactions_need_an_amount(tmp_path):
    path = write_config(tmp_path, """
        report: {name: t, title: T}
        data: {path: x.csv}
        transactions: {customer: c, invoice: i, date: d, quantity: q}
        features: {numeric: [monetary]}
    """)
    with pytest.raises(ConfigError, match="set amount"):
        load_config(path)


def test_data_id_is_refused_with_transactions(tmp_path):
    path = write_config(tmp_path, """
        report: {name: t, title: T}
        data: {path: x.csv, id: c}
        transactions: {customer: c, invoice: i, date: d, amount: a}
        features: {numeric: [monetary]}
    """)
    with pytest.raises(ConfigError, match=r"data\.id is not used with transactions"):
        load_config(path)


def test_a_transactions_column_the_export_lacks_is_named_with_its_key(tmp_path):
    with pytest.raises(DataError) as caught:
        run_report(ROOT / "configs" / "transactions.yaml", out=tmp_path,
                   **{"transactions.customer": "Customer ID"})
    assert str(caught.value).startswith("transactions.customer: column 'Customer ID' is not in")
    assert "did you mean 'CustomerID'" in str(caught.value)


def test_derive_syntax_errors_are_config_errors(tmp_path):
    path = write_config(tmp_path, """
        report: {name: t, title: T}
        data: {path: x.csv}
        derive: {age: "__import__('os').system('ls')"}
        features: {numeric: [age]}
    """)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert re.search(r"config key 'derive.age': unknown function '__import__'", str(caught.value))


def test_marketing_campaign_config_runs_end_to_end(marketing_run):
    result = marketing_run
    summary = result.summary
    assert summary["n_customers"] == 2240 and summary["imputed"] == {}
    # select: stable (the default) takes k=3; silhouette alone says 2, the elbow 4
    assert summary["k_selected"] == 3 and summary["selection"]["knee"] == 4
    names = {s["name"] for s in summary["segments"]}
    assert names == {"Browsing bargain hunters", "Affluent high spenders", "Loyal regulars"}
    big = next(s for s in summary["segments"] if s["name"] == "Affluent high spenders")
    assert big["profile"]["total_spend"]["level"] in ("high", "very high")
    assert set(summary["features"]["profile"]) >= {"age", "children", "Education",
                                                   "Marital_Status"}
    assert result.pdf.stat().st_size > 0


UCI_LIKE = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,CRÈME BRÛLÉE SET,6,12/1/2010 8:26,2.55,17850,United Kingdom
536366,22633,HAND WARMER,6,12/1/2010 8:28,1.85,17850,United Kingdom
C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom
536380,22961,JAM MAKING SET,24,12/1/2010 9:45,1.45,14527,United Kingdom
536381,22139,RETROSPOT TEA SET,3,12/2/2010 10:00,4.95,,United Kingdom
536382,21730,GLASS LANTERN,2,12/3/2010 11:00,4.25,13047,France
536383,22752,SET 7 BABUSHKA,4,12/9/2011 12:50,7.65,13047,France
536384,22752,SET 7 BABUSHKA,4,12/9/2011 12:55,0,13047,France
"""


def test_a_latin1_export_with_month_first_dates_runs_with_the_encoding_option(tmp_path):
    (tmp_path / "online_retail.csv").write_bytes(UCI_LIKE.encode("latin-1"))
    config = write_config(tmp_path, """
        report: {name: uci, title: UCI-like}
        data: {path: online_retail.csv}
        transactions: {customer: CustomerID, invoice: InvoiceNo, date: InvoiceDate,
                       amount: Quantity * UnitPrice}
        features: {numeric: [recency_days, monetary]}
        segmentation: {k: 2}
        output: {dir: out, formats: []}
    """)
    with pytest.raises(DataError) as caught:
        run_report(config, period="2011-12")
    assert "not valid utf-8" in str(caught.value) and "data.read.encoding" in str(caught.value)
    result = run_report(config, period="2011-12", **{"data.read.encoding": "latin-1"})
    tx = result.summary["transactions"]
    assert tx["as_of"] == "2011-12-10" and tx["first_date"] == "2010-12-01"
    reasons = result.summary["dropped"]["reasons"]
    assert reasons["lines without a customer id"] == 1
    assert reasons["lines with a zero amount"] == 1
    assert reasons["cancellation and return lines (netted against revenue)"] == 1
    assert result.summary["n_customers"] == 3
