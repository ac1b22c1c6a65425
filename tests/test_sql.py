"""data.sql: a real PostgreSQL server on loopback, and SQLite and DuckDB files.

The SQL runs are checked against the same data read from the sample files: same rows,
same k, same segment sizes. Failures (wrong password, no server, a server that never
answers, a bad query) are run through the CLI: exit 2, one line, the password nowhere.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import sqlite3
import time
from pathlib import Path

import pandas as pd
import postgres
import pytest
from helpers import ROOT, run_cli, write_config

from reportgen import run_report, validate
from reportgen.data.sql import bound_query
from reportgen.errors import ConfigError, DataError

PASSWORD = "s3cret-Pa55word-xyz"
CUSTOMERS = ROOT / "sample_data" / "customers.csv"
SALES = ROOT / "sample_data" / "transactions.csv.gz"
CUSTOMER_FEATURES = """
  id: customer_id
features:
  numeric: [income, spending_score, purchase_frequency, last_purchase_amount]
  categorical: [preferred_category]
  profile: [age, gender, membership_years]
  log: [last_purchase_amount]
personas: {preset: retail}
recommendations: {preset: retail}
output: {dir: out, formats: [html]}
"""
SALES_BLOCK = """
transactions:
  customer: CustomerID
  invoice: InvoiceNo
  date: InvoiceDate
  quantity: Quantity
  price: UnitPrice
features:
  numeric: [recency_days, frequency, monetary, avg_order_value]
  profile: [tenure_days, Country]
personas: {preset: rfm}
recommendations: {preset: rfm}
output: {dir: out, formats: [html]}
"""


def sql_config(folder: Path, url: str, query: str, body: str = CUSTOMER_FEATURES,
               extra: str = "") -> Path:
    text = (f"report: {{name: sql-test, title: SQL test}}\ndata:\n"
            f"  sql:\n    url: {json.dumps(url)}\n    query: {json.dumps(query)}\n{extra}"
            f"{body}")
    return write_config(folder, text)


def sales_lines() -> pd.DataFrame:
    lines = pd.read_csv(SALES, dtype={"InvoiceNo": str, "StockCode": str})
    lines["InvoiceDate"] = pd.to_datetime(lines["InvoiceDate"], format="%d/%m/%Y %H:%M")
    lines["CustomerID"] = lines["CustomerID"].astype("Int64")
    return lines


def summary(result) -> dict:
    return json.loads((result.folder / "summary.json").read_text())


def sizes(found: dict) -> list[int]:
    return sorted(s["size"] for s in found["segments"])


@pytest.fixture(scope="module")
def file_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The same configs reading the sample files, for comparison."""
    folder = tmp_path_factory.mktemp("file-runs")
    customers = write_config(folder, "report: {name: sql-test, title: SQL test}\ndata:\n"
                             f"  path: {CUSTOMERS}" + CUSTOMER_FEATURES, "customers.yaml")
    sales = write_config(folder, "report: {name: sql-test, title: SQL test}\ndata:\n"
                         f"  path: {SALES}\n  read: {{dayfirst: true}}" + SALES_BLOCK,
                         "sales.yaml")
    return {"customers": summary(run_report(customers, period="2026-10")),
            "sales": summary(run_report(sales, period="2026-10"))}


@pytest.fixture(scope="module")
def pg() -> postgres.Server:
    reason = postgres.why_unavailable()
    if reason:
        pytest.skip(reason)
    server = postgres.start()
    try:
        with server.connect() as admin:
            admin.execute(f"create role analyst login password '{PASSWORD}'")
            admin.execute("create database shop owner analyst")
        _load(server)
        yield server
    finally:
        postgres.stop(server)


def _load(server: postgres.Server) -> None:
    customers = pd.read_csv(CUSTOMERS)
    for column in ("age", "spending_score", "purchase_frequency"):
        customers[column] = customers[column].astype("Int64")
    with server.connect("shop") as db:
        db.execute("set role analyst")
        db.execute("""create table customers (customer_id text primary key, age integer,
            gender text, income numeric(12, 2), spending_score integer,
            membership_years numeric(4, 1), purchase_frequency integer,
            last_purchase_amount numeric(10, 2), preferred_category text)""")
        db.execute("""create table sales ("InvoiceNo" text, "StockCode" text,
            "Quantity" integer, "InvoiceDate" timestamp, "UnitPrice" numeric(10, 2),
            "CustomerID" integer, "Country" text)""")
        db.execute("create table audit (x integer)")
        db.execute("create function bump() returns integer language sql as "
                   "'insert into audit values (1) returning x'")
        _copy(db, "customers", customers)
        _copy(db, "sales", sales_lines())


def _copy(db, table: str, frame: pd.DataFrame) -> None:
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    with db.cursor().copy(f"copy {table} ({columns}) from stdin") as copy:
        for row in frame.itertuples(index=False):
            copy.write_row([None if pd.isna(v) else v for v in row])


# --- PostgreSQL ---------------------------------------------------------------------------


def test_customers_query_on_postgresql_matches_the_file(pg, file_runs, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_PASSWORD", PASSWORD)
    config = sql_config(tmp_path, pg.url(), "select * from customers",
                        extra="    password_env: SHOP_PASSWORD\n")
    found = summary(run_report(config, period="2026-10"))
    expected = file_runs["customers"]
    assert found["n_customers"] == expected["n_customers"] == 2000
    assert found["k_selected"] == expected["k_selected"]
    assert sizes(found) == sizes(expected)
    html = (tmp_path / "out" / "sql-test" / "2026-10" / "report.html").read_text()
    assert f"SQL query on postgresql://analyst@127.0.0.1:{pg.port}/shop" in html
    assert found["source"] == f"SQL query on postgresql://analyst@127.0.0.1:{pg.port}/shop"
    assert PASSWORD not in html
    assert PASSWORD not in (tmp_path / "out" / "sql-test" / "2026-10" / "summary.json").read_text()


def test_sales_query_with_period_placeholders(pg, tmp_path, monkeypatch):
    """The last 12 months before the period's end: the rows read are exactly those."""
    monkeypatch.setenv("SHOP_PASSWORD", PASSWORD)
    query = ('select * from sales where "InvoiceDate" >= {period_start} - interval '
             "'12 months' and \"InvoiceDate\" < {period_end}")
    config = sql_config(tmp_path, pg.url(), query, body=SALES_BLOCK,
                        extra="    password_env: SHOP_PASSWORD\n    chunk_rows: 5000\n")
    found = summary(run_report(config, period="2026-09"))
    lines = sales_lines()
    window = lines["InvoiceDate"].between(pd.Timestamp("2025-09-01"),
                                          pd.Timestamp("2026-10-01"), inclusive="left")
    assert found["n_rows"] == int(window.sum()) > 40_000
    assert found["transactions"]["last_date"] == "2026-09-30"
    assert found["transactions"]["first_date"] == "2025-09-01"


def test_sales_query_gives_the_same_report_as_the_file(pg, file_runs, tmp_path, monkeypatch):
    """Dates as timestamps, prices as numeric: the aggregation must not notice."""
    monkeypatch.setenv("SHOP_PASSWORD", PASSWORD)
    config = sql_config(tmp_path, pg.url(), "select * from sales", body=SALES_BLOCK,
                        extra="    password_env: SHOP_PASSWORD\n")
    found = summary(run_report(config, period="2026-10"))
    expected = file_runs["sales"]
    assert found["n_rows"] == expected["n_rows"]
    assert found["transactions"] == expected["transactions"]
    assert found["k_selected"] == expected["k_selected"]
    assert sizes(found) == sizes(expected)


def test_validate_reads_the_query(pg, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_PASSWORD", PASSWORD)
    config = sql_config(tmp_path, pg.url(),
                        "select * from customers where income > {as_of} - {as_of} + 100000",
                        extra="    password_env: SHOP_PASSWORD\n")
    # {as_of} - {as_of} is an integer 0 in PostgreSQL: both bound as dates
    found = validate(config, period="2026-10")
    assert found["customers"] == int((pd.read_csv(CUSTOMERS)["income"] > 100_000).sum())


def test_wrong_password_is_one_line_and_never_echoed(pg, tmp_path):
    config = sql_config(tmp_path, pg.url(), "select * from customers",
                        extra="    password_env: SHOP_PASSWORD\n")
    wrong = "Wr0ng-Pa55-" + PASSWORD[::-1]
    done = run_cli("run", str(config), "--period", "2026-10", env={"SHOP_PASSWORD": wrong})
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: data.sql: cannot connect to postgresql://analyst@")
    assert 'password authentication failed for user "analyst"' in done.stderr
    assert "check the user in data.sql.url and the password in the environment variable " \
           "SHOP_PASSWORD" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    for secret in (wrong, PASSWORD):
        assert secret not in done.stderr + done.stdout
    assert not (tmp_path / "out" / "sql-test" / "2026-10").exists()


def test_missing_password_variable_names_it(pg, tmp_path, monkeypatch):
    monkeypatch.delenv("SHOP_PASSWORD", raising=False)
    config = sql_config(tmp_path, pg.url(), "select * from customers",
                        extra="    password_env: SHOP_PASSWORD\n")
    with pytest.raises(ConfigError, match="environment variable SHOP_PASSWORD is not set"):
        validate(config, period="2026-10")


def test_query_error_shows_the_databases_message(pg, tmp_path):
    config = sql_config(tmp_path, pg.url(), "select incomes from customers",
                        extra="    password_env: SHOP_PASSWORD\n")
    done = run_cli("run", str(config), "--period", "2026-10", env={"SHOP_PASSWORD": PASSWORD})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        'error: data.sql.query: the database refused the query: column "incomes" does not '
        'exist (Perhaps you meant to reference the column "customers.income".)']
    assert not (tmp_path / "out" / "sql-test" / "2026-10").exists()


def test_a_column_the_query_does_not_return(pg, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_PASSWORD", PASSWORD)
    config = sql_config(tmp_path, pg.url(), "select customer_id, age, income from customers",
                        extra="    password_env: SHOP_PASSWORD\n")
    with pytest.raises(DataError, match=r"features\.numeric: column 'spending_score' is not in "
                       "the query's result"):
        validate(config, period="2026-10")


def test_the_report_cannot_write_to_the_database(pg, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_PASSWORD", PASSWORD)
    """A query that calls a function which writes is stopped by the read-only session."""
    config = sql_config(tmp_path, pg.url(), "select *, bump() from customers",
                        extra="    password_env: SHOP_PASSWORD\n")
    with pytest.raises(DataError, match="cannot execute INSERT in a read-only transaction"):
        validate(config, period="2026-10")
    with pg.connect("shop") as db:
        assert db.execute("select count(*) from audit").fetchone()[0] == 0


def test_no_server_on_the_port_fails_at_once(tmp_path):
    config = sql_config(tmp_path, f"postgresql://analyst@127.0.0.1:{postgres.free_port()}/shop",
                        "select * from customers")
    started = time.monotonic()
    done = run_cli("validate", str(config))
    assert time.monotonic() - started < 15
    assert done.returncode == 2
    assert "Connection refused" in done.stderr
    assert "check the host and port in data.sql.url, and that the server is running" \
        in done.stderr


def test_a_server_that_never_answers_times_out(tmp_path):
    """A port that accepts TCP connections but never speaks: connect_timeout applies."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        config = sql_config(tmp_path, f"postgresql://analyst@127.0.0.1:{port}/shop",
                            "select * from customers", extra="    connect_timeout: 2\n")
        started = time.monotonic()
        done = run_cli("validate", str(config))
        elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert elapsed < 15
    assert "no answer within 2 s" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# --- SQLite and DuckDB files, and the config's checks -------------------------------------


def test_sqlite_file_next_to_the_config(file_runs, tmp_path):
    with sqlite3.connect(tmp_path / "shop.db") as db:
        pd.read_csv(CUSTOMERS).to_sql("customers", db, index=False)
    config = sql_config(tmp_path, "sqlite:///shop.db", "select * from customers")
    found = summary(run_report(config, period="2026-10"))
    assert found["k_selected"] == file_runs["customers"]["k_selected"]
    assert sizes(found) == sizes(file_runs["customers"])
    assert (tmp_path / "shop.db").stat().st_size > 0


def test_duckdb_sales_with_as_of_placeholder(tmp_path):
    import duckdb

    lines = sales_lines()
    with duckdb.connect(str(tmp_path / "shop.duckdb")) as db:
        db.register("lines", lines)
        db.execute("create table sales as select * from lines")
    config = sql_config(tmp_path, "duckdb:///shop.duckdb",
                        'select * from sales where "InvoiceDate" < {as_of}',
                        body=SALES_BLOCK.replace("  price: UnitPrice\n",
                                                 "  price: UnitPrice\n  as_of: 2026-06-01\n"))
    found = summary(run_report(config, period="2026-10"))
    assert found["n_rows"] == int((lines["InvoiceDate"] < pd.Timestamp("2026-06-01")).sum())
    assert found["transactions"]["as_of"] == "2026-06-01"


def test_a_query_that_returns_nothing_says_which_dates(tmp_path):
    with sqlite3.connect(tmp_path / "shop.db") as db:
        pd.read_csv(CUSTOMERS).to_sql("customers", db, index=False)
    config = sql_config(tmp_path, "sqlite:///shop.db",
                        "select * from customers where {period_start} < '2000-01-01'")
    with pytest.raises(DataError, match="returned no rows for period_start=2026-10-01"):
        validate(config, period="2026-10")


@pytest.mark.parametrize(("url", "query", "message"), [
    ("postgresql://analyst:pw@db/shop", "select 1",
     "the url holds a password; remove it and name an environment variable"),
    ("sqlite:///missing.db", "select 1", "database file not found"),
    ("shop.db", "select 1", "is not a database URL"),
    ("sqlite:///shop.db", "select * from t where d < {period_stop}",
     "unknown placeholder {period_stop}"),
])
def test_config_checks(tmp_path, url, query, message):
    (tmp_path / "shop.db").touch()
    config = sql_config(tmp_path, url, query)
    with pytest.raises(ConfigError, match=message):
        validate(config)


def test_path_and_sql_together_are_refused(tmp_path):
    (tmp_path / "shop.db").touch()
    config = sql_config(tmp_path, "sqlite:///shop.db", "select 1",
                        extra="  path: customers.csv\n")
    with pytest.raises(ConfigError, match=r"set either path .* or sql .*, not both"):
        validate(config)


def test_placeholders_are_bound_not_pasted():
    query = "select * from t where d >= {period_start}::date and t = '12:30' and j->>':x'"
    bound = bound_query(query)
    assert "(:period_start)::date" in bound
    assert "2026" not in bound
    assert "'12:30'" in bound
    assert "'\\:x'" in bound


def test_query_dates_follow_the_period():
    from reportgen.config.schema import Config
    from reportgen.data.sql import query_parameters

    config = Config.model_validate({
        "report": {"name": "x", "title": "x"},
        "data": {"sql": {"url": "postgresql://u@h/d", "query": "select 1"}},
        "features": {"numeric": ["a"]}})
    assert query_parameters(config, "2026-12") == {
        "period_start": dt.date(2026, 12, 1), "period_end": dt.date(2027, 1, 1),
        "as_of": dt.date(2027, 1, 1)}


def test_aggregation_pushed_into_the_query(pg, file_runs, tmp_path, monkeypatch):
    """configs/postgres_rfm.yaml: the database returns one row a customer, RFM computed in
    SQL; the customers, their revenue and the naming agree with the file run."""
    monkeypatch.setenv("SHOP_PASSWORD", PASSWORD)
    result = run_report(ROOT / "configs" / "postgres_rfm.yaml", out=tmp_path, period="2026-10",
                        **{"data.sql.url": pg.url(), "output.formats": ["html"]})
    found = summary(result)
    expected = file_runs["sales"]
    assert found["n_customers"] == expected["n_customers"]
    revenue = [sum(s["size"] * s["profile"]["monetary"]["mean"] for s in run["segments"])
               for run in (found, expected)]
    # within 0.05%: the file run drops duplicates over the columns it reads (StockCode is
    # not among them), the query over whole lines, so a few lines differ.
    assert abs(revenue[0] - revenue[1]) < 0.0005 * revenue[1]
    assert "Champions" in {s["name"] for s in found["segments"]}
