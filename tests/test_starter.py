"""`reportgen init`: a starter config from a data file, which runs as written."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import MALL_CSV, ROOT, SHARED_DATA, needs_mall
from helpers import run_cli as cli

from reportgen import run_report, validate
from reportgen.config.docs import SCHEMA_PATH
from reportgen.data.raw import guess_encoding
from reportgen.starter import write_starter

CUSTOMERS = ROOT / "sample_data" / "customers.csv"
SALES = ROOT / "sample_data" / "transactions.csv.gz"
CAMPAIGN = SHARED_DATA / "marketing_campaign.csv"


def init(tmp_path: Path, data: Path, name: str = "starter.yaml") -> dict:
    config, _ = write_starter(data, tmp_path / name)
    text = config.read_text()
    assert text.startswith(f"# yaml-language-server: $schema={SCHEMA_PATH}\n")
    raw = yaml.safe_load(text)
    jsonschema.validate(json.loads(json.dumps(raw, default=str)),
                        json.loads(SCHEMA_PATH.read_text()))
    return raw


def run_html(tmp_path: Path, name: str = "starter.yaml") -> dict:
    result = run_report(tmp_path / name, period="2026-11", output={"formats": ["html"]})
    return json.loads((result.folder / "summary.json").read_text())


def test_sample_customers_config_runs_as_written_with_pdf(tmp_path):
    """The whole promise through the CLI: init, validate, run (HTML and PDF), no edits."""
    data = tmp_path / "data" / "customers.csv"
    data.parent.mkdir()
    data.write_bytes(CUSTOMERS.read_bytes())
    done = cli("init", "data/customers.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {tmp_path / 'customers.yaml'}: one row a customer "
                                  "(id customer_id), 6 clustering features")
    raw = yaml.safe_load((tmp_path / "customers.yaml").read_text())
    assert raw["data"] == {"path": "data/customers.csv", "id": "customer_id"}
    assert raw["features"]["numeric"] == ["age", "income", "spending_score", "membership_years",
                                          "purchase_frequency", "last_purchase_amount"]
    assert raw["features"]["log"] == ["last_purchase_amount"]
    assert raw["features"]["profile"] == ["gender", "preferred_category"]
    assert raw["personas"] == {"preset": "retail"}
    assert cli("validate", "customers.yaml", cwd=tmp_path).returncode == 0
    done = cli("run", "customers.yaml", "--period", "2026-11", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "reports" / "customers" / "2026-11"
    summary = json.loads((folder / "summary.json").read_text())
    assert 2 <= summary["k_selected"] <= 8
    assert summary["n_customers"] == 2000
    assert (folder / "report.pdf").stat().st_size > 50_000


def test_sales_lines_get_a_transactions_block_and_rfm(tmp_path):
    raw = init(tmp_path, SALES)
    assert raw["transactions"] == {"customer": "CustomerID", "invoice": "InvoiceNo",
                                   "date": "InvoiceDate", "quantity": "Quantity",
                                   "price": "UnitPrice", "as_of": "auto"}
    assert raw["data"]["read"] == {"dayfirst": True}
    assert raw["features"]["numeric"] == ["recency_days", "frequency", "monetary",
                                          "avg_order_value"]
    assert raw["features"]["profile"] == ["tenure_days", "Country"]
    assert raw["personas"] == {"preset": "rfm"}
    assert raw["value"] == {"horizon_months": 12, "backtest": {"calibration_end": "auto"}}
    summary = run_html(tmp_path)
    assert summary["n_rows"] == 89_969
    assert summary["value"]["customers"] == summary["n_customers"]
    names = {s["name"] for s in summary["segments"]}
    assert "Champions" in names


def order_log(path: Path, customers: int = 400, seed: int = 7) -> pd.DataFrame:
    """A CDNOW-shaped order log (customer, date, items, dollars; no invoice number):
    each customer buys at their own rate until they drop out."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2025-01-01")
    for number in range(customers):
        rate, life = rng.gamma(1.5, 1 / 20), rng.exponential(250)  # purchases a day, days
        day = rng.integers(0, 90)
        while day < min(life, 540):
            rows.append((f"{number:05d}", (start + pd.Timedelta(days=int(day))).date(),
                         int(rng.integers(1, 4)), round(float(rng.gamma(3, 12)), 2)))
            day += 1 + int(rng.exponential(1 / rate))
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "cds", "dollars"])
    frame.to_csv(path, index=False)
    return frame


def test_an_order_log_without_invoices_gets_rfm_and_predicted_value(tmp_path):
    """CDNOW's shape: no invoice column; each line is one order. init still sees sales
    lines, and the report predicts value, with the customer ids as written."""
    lines = order_log(tmp_path / "orders.csv")
    done = cli("init", "orders.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "sales lines (customer customer_id, date date)" in done.stdout
    raw = yaml.safe_load((tmp_path / "orders.yaml").read_text())
    assert raw["transactions"] == {"customer": "customer_id", "date": "date",
                                   "amount": "dollars", "as_of": "auto"}
    assert raw["value"]["backtest"] == {"calibration_end": "auto"}
    done = cli("run", "orders.yaml", "--period", "2026-11", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "reports" / "orders" / "2026-11"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["n_customers"] == lines["customer_id"].nunique()
    assert summary["value"]["backtest"]["actual_transactions"] > 0
    segments = pd.read_csv(folder / "segments.csv", dtype={"id": str})
    assert set(segments["id"]) == set(lines["customer_id"])
    assert segments["p_alive"].between(0, 1).all()
    assert (segments["value"] >= 0).all()


def test_semicolons_and_windows_encoding_are_detected(tmp_path):
    frame = pd.read_csv(CUSTOMERS)
    frame["preferred_category"] = frame["preferred_category"].str.replace("Home", "Café")
    frame.to_csv(tmp_path / "export.csv", sep=";", index=False, encoding="cp1252")
    raw = init(tmp_path, tmp_path / "export.csv")
    assert raw["data"]["read"] == {"sep": ";", "encoding": "cp1252"}
    found = validate(tmp_path / "starter.yaml")
    assert found["customers"] == 2000 and found["numeric"] == 6


def test_parquet_and_excel_files(tmp_path):
    frame = pd.read_csv(CUSTOMERS).head(400)
    frame.to_parquet(tmp_path / "c.parquet")
    frame.to_excel(tmp_path / "c.xlsx", index=False)
    for name in ("c.parquet", "c.xlsx"):
        raw = init(tmp_path, tmp_path / name, f"{name}.yaml")
        assert raw["data"]["id"] == "customer_id"
        assert validate(tmp_path / f"{name}.yaml")["customers"] == 400


def test_ids_dates_constants_and_free_text_are_left_out_with_reasons(tmp_path):
    frame = pd.read_csv(CUSTOMERS).head(300)
    frame["signup"] = pd.date_range("2020-01-13", periods=300, freq="D").strftime("%d/%m/%Y")
    frame["country"] = "UK"
    frame["note"] = [f"called on {i}" for i in range(300)]
    frame["row_no"] = range(300)
    frame.to_csv(tmp_path / "c.csv", index=False)
    init(tmp_path, tmp_path / "c.csv")
    text = (tmp_path / "starter.yaml").read_text()
    assert "days_since_signup: days_since(signup)" in text
    assert "read: {dayfirst: true}" in text
    assert "#   country  the same value (UK) in every row" in text
    assert "#   note     unique in every row: an id or free text" in text
    assert "#   row_no   unique in every row: an id or free text" in text
    assert "#   signup   dates, written day first; used for days_since_signup" in text
    assert validate(tmp_path / "starter.yaml")["profile"] == 3


def test_an_existing_config_is_not_replaced_without_force(tmp_path):
    (tmp_path / "customers.yaml").write_text("keep me\n")
    done = cli("init", str(CUSTOMERS), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"error: {tmp_path / 'customers.yaml'} already exists; "
                                   "choose another name with -o or add --force to replace it")
    assert (tmp_path / "customers.yaml").read_text() == "keep me\n"
    assert cli("init", str(CUSTOMERS), "--force", cwd=tmp_path).returncode == 0


def test_a_missing_or_one_column_file_is_a_clean_error(tmp_path):
    done = cli("init", "nope.csv", cwd=tmp_path)
    assert done.returncode == 2 and "data file not found" in done.stderr
    (tmp_path / "one.csv").write_text("a\n1\n2\n")
    done = cli("init", "one.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert "could not tell its columns apart" in done.stderr and "data.read.columns" in done.stderr
    assert not list(tmp_path.glob("*.yaml"))


def test_encoding_detection():
    assert guess_encoding("naïve".encode()) == "utf-8"
    assert guess_encoding("naïve".encode()[:3]) == "utf-8"  # cut mid-character
    assert guess_encoding(b"\xef\xbb\xbfid,x\n") == "utf-8-sig"
    assert guess_encoding("café €5".encode("cp1252")) == "cp1252"


@needs_mall()
def test_mall_customers(tmp_path):
    raw = init(tmp_path, MALL_CSV)
    assert raw["data"]["id"] == "CustomerID"
    assert raw["features"]["numeric"] == ["Age", "Annual Income (k$)",
                                          "Spending Score (1-100)"]
    assert raw["features"]["profile"] == ["Gender"]
    summary = run_html(tmp_path)
    assert summary["n_customers"] == 200 and summary["k_selected"] >= 4
    assert "Affluent high spenders" in {s["name"] for s in summary["segments"]}
    assert_readable(summary, raw["features"]["numeric"] + raw["features"]["profile"])


@pytest.mark.skipif(not CAMPAIGN.is_file(), reason=f"shared dataset not present: {CAMPAIGN}")
def test_marketing_campaign(tmp_path):
    raw = init(tmp_path, CAMPAIGN)
    assert raw["data"]["read"] == {"sep": "\t", "dayfirst": True}
    assert raw["derive"]["age"].endswith("- Year_Birth")
    assert raw["derive"]["total_mnt"].startswith("MntWines + MntFruits")
    numeric = raw["features"]["numeric"]
    assert {"age", "Income", "total_mnt", "num_purchases"} <= set(numeric) and len(numeric) == 6
    assert "NumDealsPurchases" in raw["features"]["profile"]  # a part, counted in the others
    assert "MntWines" in raw["features"]["profile"]
    assert "Response" in raw["features"]["profile"]
    text = (tmp_path / "starter.yaml").read_text()
    assert "Z_CostContact  the same value (3) in every row" in text
    summary = run_html(tmp_path)
    assert summary["n_customers"] == 2240
    assert len(summary["segments"]) == summary["k_selected"] >= 3
    assert_readable(summary, raw["features"]["numeric"] + raw["features"]["profile"])


def assert_readable(summary: dict, columns: list[str]) -> None:
    """No persona repeats a raw column name that has capitals or a unit in parentheses,
    and every segment has a real action."""
    raw = [c for c in columns if c != c.lower() or "(" in c]
    for segment in summary["segments"]:
        assert not any(c in segment["name"] for c in raw), segment["name"]
        assert not any(r["action"].startswith("No recommendation rule matched")
                       for r in segment["recommendations"])


def test_an_upper_case_bank_export_gets_names_and_actions_in_words(tmp_path):
    """A credit-card table as banks export it (upper-case names, units in parentheses):
    no persona repeats a raw column name, none carries a unit, every segment has an
    action grounded in its profile."""
    rng = np.random.default_rng(3)
    kinds = rng.choice(3, size=1500, p=[0.5, 0.3, 0.2])
    centre = np.array([[1500, 300, 0.2, 2000], [800, 2500, 0.9, 100], [5000, 400, 0.3, 4500]])
    values = centre[kinds] * rng.lognormal(0, 0.25, size=(1500, 4))
    pd.DataFrame({"CUST_ID": [f"C{i:05d}" for i in range(1500)],
                  "BALANCE": values[:, 0].round(2), "PURCHASES": values[:, 1].round(2),
                  "PURCHASES_FREQUENCY": values[:, 2].clip(0, 1).round(3),
                  "CASH_ADVANCE (USD)": values[:, 3].round(2)}).to_csv(
        tmp_path / "cards.csv", index=False)
    done = cli("init", "cards.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = run_html(tmp_path, "cards.yaml")
    raw = {"BALANCE", "PURCHASES", "PURCHASES FREQUENCY", "CASH ADVANCE", "USD"}
    for segment in summary["segments"]:
        assert not any(word in segment["name"] for word in raw), segment["name"]
        for action in segment["recommendations"]:
            assert "No recommendation rule matched" not in action["action"]
            assert not any(word in action["action"] for word in raw), action["action"]


def superstore_lines(path: Path, customers: int = 300, seed: int = 3) -> pd.DataFrame:
    """The shape of Tableau's "Sample - Superstore": order ids "US-2019-103800" and, for
    Canada, "CA-2019-115238", a line amount (Sales), day-first two-digit-year dates."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(customers):
        country = "CA" if number % 5 == 0 else "US"
        for _ in range(int(rng.integers(1, 6))):
            order = f"{country}-2021-{int(rng.integers(100000, 999999))}"
            day = pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(rng.integers(0, 700)))
            for _ in range(int(rng.integers(1, 4))):
                rows.append((order, day.strftime("%d/%m/%y"), f"AB-{10000 + number}",
                             round(float(rng.gamma(2, 60)), 2)))
    frame = pd.DataFrame(rows, columns=["Order ID", "Order Date", "Customer ID", "Sales"])
    frame.to_csv(path, index=False)
    return frame


def test_order_ids_that_start_with_c_are_sales_in_the_written_config(tmp_path):
    """init sees positive amounts on invoices starting with the cancel prefix and writes
    cancel_prefix: null; without that line, the run stops in one line saying so."""
    lines = superstore_lines(tmp_path / "superstore.csv")
    done = cli("init", "superstore.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "superstore.yaml").read_text()
    assert yaml.safe_load(written)["transactions"]["cancel_prefix"] is None
    done = cli("run", "superstore.yaml", "--period", "2026-11", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "reports" / "superstore" / "2026-11"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["n_customers"] == lines["Customer ID"].nunique()
    orders = sum(s["profile"]["frequency"]["mean"] * s["size"] for s in summary["segments"])
    assert orders == pytest.approx(lines.groupby("Customer ID")["Order ID"].nunique().sum())
    (tmp_path / "superstore.yaml").write_text(
        "\n".join(line for line in written.splitlines() if "cancel_prefix" not in line))
    done = cli("run", "superstore.yaml", "--period", "2026-12", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "transactions.cancel_prefix: null" in done.stderr
    assert not (tmp_path / "reports" / "superstore" / "2026-12").exists()


def test_a_european_export_is_read_with_its_decimal_comma(tmp_path):
    """Tableau's Superstore saved from a European locale: semicolons, 261,96 and
    1.706,18. Read with the point, Sales was text and init clustered rows on Quantity;
    now it is an amount, and the revenue is the comma file's to the cent."""
    lines = superstore_lines(tmp_path / "plain.csv")
    lines["Sales"] = lines["Sales"] * 7  # some above 1,000
    written = lines.assign(Sales=[f"{v:,.2f}".replace(",", " ").replace(".", ",")
                                  .replace(" ", ".") for v in lines["Sales"]])
    written.to_csv(tmp_path / "export.csv", sep=";", index=False)
    assert (written["Sales"].str.contains(r"\d\.\d{3},")).any()  # 1.706,18 is in it
    raw = init(tmp_path, tmp_path / "export.csv")
    assert raw["data"]["read"] == {"sep": ";", "decimal": ",", "thousands": ".",
                                   "dayfirst": True}
    assert raw["transactions"]["amount"] == "Sales"
    summary = run_html(tmp_path)
    assert summary["reconciliation"]["net_revenue"] == pytest.approx(
        lines["Sales"].sum(), abs=0.01 * len(lines))


@pytest.mark.parametrize(("values", "marks"), [
    (["261,96", "14,62", "1.706,18"], (",", ".")),
    (["261,96", "14,62", "3"], (",", None)),
    (["261.96", "14.62"], (".", None)),  # the point: nothing to change
    (["Claire Gute", "14,62"], (".", None)),  # text with a comma is text
])
def test_the_decimal_mark_is_read_from_the_numbers_written_as_text(values, marks):
    from reportgen.starter.inspect import number_marks

    assert number_marks(pd.DataFrame({"Sales": values}), ";") == marks
    assert number_marks(pd.DataFrame({"Sales": values}), ",") == (".", None)


def test_a_transaction_log_where_few_customers_come_back_is_read_as_lines(tmp_path):
    """The shape of a public bank table (22,349 transactions by 22,270 customers): init
    took it for one row a customer keyed on TransactionID, and the page counted every
    transaction as a customer."""
    rng = np.random.default_rng(5)
    customers = [f"C{n:07d}" for n in rng.choice(9_000_000, 400, replace=False)]
    rows = customers + customers[:4]  # four come back
    frame = pd.DataFrame({
        "TransactionID": [f"T{i + 1}" for i in range(len(rows))], "CustomerID": rows,
        "TransactionDate": [f"2016-08-{1 + int(d):02d}" for d in rng.integers(0, 28, len(rows))],
        "TransactionAmount": rng.gamma(2, 400, len(rows)).round(2)})
    frame.to_csv(tmp_path / "bank.csv", index=False)
    raw = init(tmp_path, tmp_path / "bank.csv")
    assert raw["transactions"]["customer"] == "CustomerID"
    assert raw["transactions"]["invoice"] == "TransactionID"
    assert run_html(tmp_path)["n_customers"] == 400
