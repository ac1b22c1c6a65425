"""engine: spark (issue 19) against engine: pandas on the project's samples, with a real
local Spark (local[2]): the same customers, dropped lines, k, labels, profile means and
persona names; and the one-line errors when Spark, Java, the master or the data are not
there. Skipped, saying why, where PySpark or a Java runtime cannot be had."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import (
    ROOT,
    dirty_sales_lines,
    reconciliation_by_hand,
    run_cli,
    sales_config,
    wholesale,
    write_config,
)
from sklearn.metrics import adjusted_rand_score

from reportgen import run_report
from reportgen.engines.spark.session import java_command

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed: pip install "
                              "'reportgen[spark]' (make test installs it)")
if java_command() is None:
    pytest.skip("no Java runtime for Spark (scripts/system-deps.sh installs "
                "default-jre-headless)", allow_module_level=True)

SPARK = {"name": "spark", "master": "local[2]"}


@pytest.fixture(scope="module")
def spark():
    """One local Spark for the module; the engine runs on the active session."""
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("reportgen tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    yield session
    session.stop()


def spark_run(config: Path, out: Path, **overrides):
    return run_report(config, out=out, period="2026-11", engine=SPARK,
                      output={"formats": ["html"]}, **overrides)


def summary_of(run) -> dict:
    return json.loads((run.folder / "summary.json").read_text())


def assert_same_report(spark_summary: dict, pandas_summary: dict) -> None:
    for key in ("n_rows", "n_customers", "k_selected", "dropped", "features"):
        assert spark_summary[key] == pandas_summary[key], key
    assert [s["name"] for s in spark_summary["segments"]] == [
        s["name"] for s in pandas_summary["segments"]]
    assert [s["size"] for s in spark_summary["segments"]] == [
        s["size"] for s in pandas_summary["segments"]]
    for ours, theirs in zip(spark_summary["segments"], pandas_summary["segments"], strict=True):
        for column, stat in theirs["profile"].items():
            if "mean" in stat:
                assert ours["profile"][column]["mean"] == pytest.approx(stat["mean"], rel=1e-9)


def assert_same_labels(spark_folder: Path, pandas_folder: Path, in_order: bool = True) -> None:
    ours = pd.read_csv(spark_folder / "segments.csv", dtype=str)
    theirs = pd.read_csv(pandas_folder / "segments.csv", dtype=str)
    if not in_order:  # part files come back in no set order: compare customer by customer
        ours = ours.set_index("id").loc[theirs["id"]].reset_index()
    assert ours["id"].tolist() == theirs["id"].tolist()  # ids exactly as written
    assert adjusted_rand_score(theirs["segment"], ours["segment"]) >= 0.99
    assert (ours["persona"] == theirs["persona"]).mean() >= 0.99


def test_sample_customers_same_report_on_spark(spark, sample_run, tmp_path):
    run = spark_run(ROOT / "configs" / "sample.yaml", tmp_path)
    assert_same_report(summary_of(run), sample_run.summary)
    assert_same_labels(run.folder, sample_run.folder)
    assert_parquet_holds_every_customer(run, sample_run)
    page = run.html.read_text()  # the appendix says where it ran; pandas' says nothing
    assert "Engine: Apache Spark (local[2]). The table was read and checked" in page
    assert "Engine: Apache Spark" not in sample_run.html.read_text()


def assert_parquet_holds_every_customer(run, sample_run) -> None:
    """The customer table stayed on Spark: Spark wrote the per-customer files, and the
    parquet (by segment) holds the same customers and segments as the CSV."""
    parquet = run.folder / "segments.parquet"
    assert sorted(p.name for p in parquet.iterdir() if p.is_dir()) == [
        f"segment={s['id']}" for s in sample_run.summary["segments"]]
    written = pd.read_parquet(parquet).astype({"segment": int}).set_index("id")
    csv = pd.read_csv(sample_run.folder / "segments.csv", dtype={"id": str}).set_index("id")
    assert written.loc[csv.index, "segment"].tolist() == csv["segment"].tolist()
    assert written.loc[csv.index, "persona"].tolist() == csv["persona"].tolist()
    assert "segments.parquet" in summary_of(run)["outputs"]


def test_sample_sales_lines_same_customers_and_dropped_lines_on_spark(
        spark, transactions_run, tmp_path):
    run = spark_run(ROOT / "configs" / "transactions.yaml", tmp_path)
    ours, theirs = summary_of(run), transactions_run.summary
    assert ours["transactions"] == theirs["transactions"]  # lines read, kept, dropped why
    assert ours["dropped"]["reasons"]["exact duplicate lines"] == 419  # the sample's echoes
    assert_same_report(ours, theirs)
    assert_same_labels(run.folder, transactions_run.folder)
    for column in ("expected_purchases", "p_alive", "value"):
        a = pd.read_csv(run.folder / "segments.csv")[column].to_numpy()
        b = pd.read_csv(transactions_run.folder / "segments.csv")[column].to_numpy()
        assert np.allclose(a, b, rtol=1e-6), column
    assert "aggregated to one row a customer and, for the value model, each customer" in (
        page := run.html.read_text()) and "purchase days summed on Spark" in page


def test_a_duplicate_is_a_repeat_of_the_whole_line_on_spark(spark, tmp_path):
    """Two colours of a mug in one invoice at one price are two lines; a true repeat is
    one duplicate; the reconciliation is the one pandas gives, to the cent."""
    data = dirty_sales_lines(tmp_path)
    run = spark_run(sales_config(tmp_path, data), tmp_path / "out")
    assert summary_of(run)["reconciliation"] == reconciliation_by_hand(data)


def test_sales_marked_as_cancellations_are_refused_on_spark_as_on_pandas(spark, tmp_path):
    """Invoices starting with the cancel prefix that sell (Superstore's "CA-" orders)
    stop both engines with the same line, and nothing is written."""
    data = dirty_sales_lines(tmp_path)
    lines = pd.read_csv(data, dtype=str, keep_default_na=False)
    sells = ((pd.to_numeric(lines["Quantity"], errors="coerce") > 0)
             & (pd.to_numeric(lines["UnitPrice"], errors="coerce") > 0)
             & lines["CustomerID"].ne("") & lines["InvoiceDate"].ne("")
             & ~lines.duplicated(keep=False))
    chosen = lines.index[sells][:3]
    lines.loc[chosen, "InvoiceNo"] = "CA-" + lines.loc[chosen, "InvoiceNo"]
    lines.to_csv(data, index=False)
    config = sales_config(tmp_path, data)
    from reportgen.errors import DataError

    messages = []
    for engine in ("pandas", "spark"):
        with pytest.raises(DataError) as refused:
            run_report(config, out=tmp_path / engine, period="2026-11",
                       engine={**SPARK, "name": engine})
        messages.append(str(refused.value))
        assert_nothing_written(tmp_path / engine)
    assert messages[0] == messages[1]
    assert "marks 3 lines with a positive amount as cancellations" in messages[0]


def test_codes_are_categories_on_spark_as_on_pandas(spark, tmp_path):
    """Channel and Region (integer codes) are profiled by their shares on both engines."""
    data = wholesale(tmp_path)
    config = write_config(tmp_path, f"""
        report: {{name: wholesale, title: Wholesale}}
        data: {{path: {data}, id: Customer ID}}
        features:
          numeric: [Fresh, Milk, Grocery]
          log: [Fresh, Milk, Grocery]
          profile: [Channel, Region]
        segmentation: {{k: 3}}
        output: {{dir: out, formats: [html]}}
        """)
    ours = summary_of(spark_run(config, tmp_path / "spark"))
    theirs = summary_of(run_report(config, out=tmp_path / "pandas", period="2026-11",
                                   output={"formats": ["html"]}))
    for a, b in zip(ours["segments"], theirs["segments"], strict=True):
        assert "Channel" not in a["profile"] and a["mix"] == b["mix"]
        assert set(a["mix"]) == {"Channel", "Region"}


@pytest.mark.parametrize("cut", [{}, {"transactions.as_of": "2026-09-15",
                                    "value.backtest.calibration_end": "2025-12-31"}])
def test_spark_sums_the_purchase_days_as_numpy_does(spark, cut):
    """The value model's per-customer sums (data/purchases.py) made by Spark, never the
    customer-days on the driver: equal to numpy's, also with lines after as_of (which
    the model does not see but the backtest's holdout counts) and a set calibration end."""
    from reportgen import data
    from reportgen.config import load_config
    from reportgen.engines.spark import load_customers

    config = load_config(ROOT / "configs" / "transactions.yaml",
                         {"engine.name": "spark", "engine.master": "local[2]", **cut}).config
    ours = load_customers(config).purchases
    theirs = data.load_customers(config.model_copy(update={"engine": config.engine.model_copy(
        update={"name": "pandas"})}), "2026-11").purchases
    assert ours is not None and theirs is not None
    assert ours.ids.tolist() == theirs.ids.tolist()
    for name in ("first_day", "end", "calibration_end", "auto", "negative_days", "zero_days"):
        assert getattr(ours, name) == getattr(theirs, name), name
    for name in ("holdout_purchases", "repeat_days", "repeat_counts"):
        assert np.array_equal(getattr(ours, name), getattr(theirs, name)), name
    for name in ("last_year_spend", "holdout_revenue"):
        assert np.allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12), name
    for cutoff in ("whole", "calibration"):
        a, b = getattr(ours, cutoff), getattr(theirs, cutoff)
        seen = b.count > 0
        assert np.array_equal(a.count, b.count)
        for name in ("first", "last", "first_amount"):
            assert np.array_equal(getattr(a, name)[seen], getattr(b, name)[seen]), name
        assert np.allclose(a.total, b.total, rtol=1e-12)
    assert 0 < theirs.calibration.count.sum() < theirs.whole.count.sum()
    assert theirs.holdout_purchases.sum() > 0


def test_customers_that_would_not_fit_the_driver_are_refused_first(spark, tmp_path,
                                                                   monkeypatch):
    """The sales lines' customers come to the driver: refused in one line, before they
    are collected, when they would not fit its memory."""
    from reportgen.errors import DataError

    monkeypatch.setenv("REPORTGEN_MEMORY_LIMIT", "1m")
    with pytest.raises(DataError) as refused:
        spark_run(ROOT / "configs" / "transactions.yaml", tmp_path)
    message = str(refused.value)
    assert message.startswith("engine: spark: the ") and "customers need about" in message
    assert "REPORTGEN_MEMORY_LIMIT" in message and "--driver-memory" in message
    assert not (tmp_path / "transactions").exists() or not any(
        (tmp_path / "transactions").glob("2026-11*"))


def test_a_folder_of_parquet_parts_reads_as_the_csv(spark, sample_run, tmp_path):
    """What a Spark user has: a folder of part files, not one CSV."""
    frame = pd.read_csv(ROOT / "sample_data" / "customers.csv", dtype={"customer_id": str})
    spark.createDataFrame(frame).repartition(3).write.parquet(str(tmp_path / "customers"))
    config = (ROOT / "configs" / "sample.yaml").read_text().replace(
        "path: ../sample_data/customers.csv", f"path: {tmp_path / 'customers'}")
    run = spark_run(write_config(tmp_path, config), tmp_path / "out")
    assert_same_report(summary_of(run), sample_run.summary)
    assert_same_labels(run.folder, sample_run.folder, in_order=False)


def test_json_lines_read_as_the_csv(spark, sample_run, tmp_path):
    """An event export: one JSON object a line, read as text as the CSV is."""
    frame = pd.read_csv(ROOT / "sample_data" / "customers.csv", dtype={"customer_id": str})
    frame.to_json(tmp_path / "customers.jsonl", orient="records", lines=True)
    config = (ROOT / "configs" / "sample.yaml").read_text().replace(
        "path: ../sample_data/customers.csv", f"path: {tmp_path / 'customers.jsonl'}")
    run = spark_run(write_config(tmp_path, config), tmp_path / "out")
    assert_same_report(summary_of(run), sample_run.summary)
    assert_same_labels(run.folder, sample_run.folder, in_order=True)


def test_a_sampled_sweep_takes_the_pandas_engines_rows(spark, tmp_path):
    """Past sweep_sample customers the driver gets a sample: the same seeded row numbers
    the pandas engine sweeps on, so the same k, scores and (refined on all) labels."""
    overrides = {"segmentation": {"sweep_sample": 1_000, "silhouette_sample": 1_000}}
    theirs = run_report(ROOT / "configs" / "sample.yaml", out=tmp_path / "pandas",
                        period="2026-11", output={"formats": ["html"]}, **overrides)
    ours = spark_run(ROOT / "configs" / "sample.yaml", tmp_path / "spark", **overrides)
    a, b = summary_of(ours), summary_of(theirs)
    assert a["selection"]["sweep_rows"] == b["selection"]["sweep_rows"] == 1_000
    assert [s["k"] for s in a["k_scores"]] == [s["k"] for s in b["k_scores"]]
    for x, y in zip(a["k_scores"], b["k_scores"], strict=True):
        assert x["silhouette"] == pytest.approx(y["silhouette"], abs=1e-9)
    assert_same_report(a, b)
    assert_same_labels(ours.folder, theirs.folder)


def test_next_months_migration_is_a_spark_join(spark, tmp_path):
    """Two periods on each engine: the same segments kept and the same customers moving."""
    def two_periods(out: Path, **engine) -> dict:
        for period in ("2026-10", "2026-11"):
            run = run_report(ROOT / "configs" / "sample.yaml", out=out, period=period,
                             output={"formats": ["html"]},
                             segmentation={"random_state": 7 if period == "2026-11" else 42},
                             **engine)
        return summary_of(run)

    ours, theirs = two_periods(tmp_path / "spark", engine=SPARK), two_periods(tmp_path / "pd")
    assert ours["migration"] == theirs["migration"] and ours["migration"]["matrix"]
    assert ours["changes"]["segments"] == theirs["changes"]["segments"]

    # On a cluster the parquet goes where the executors write; the join reads it back
    lake = tmp_path / "lake"
    elsewhere = two_periods(tmp_path / "elsewhere", engine={**SPARK,
                                                             "segments_path": lake.as_uri()})
    assert elsewhere["migration"] == theirs["migration"]
    place = lake / "sample" / "2026-11" / "segments.parquet"
    assert f"{lake.as_uri()}/sample/2026-11/segments.parquet" in elsewhere["outputs"]
    assert "segments.parquet" not in elsewhere["outputs"]
    assert not (tmp_path / "elsewhere" / "sample" / "2026-11" / "segments.parquet").exists()
    written = pd.read_parquet(place)
    assert len(written) == elsewhere["n_customers"]
    assert sorted(p.name for p in (lake / "sample").iterdir()) == ["2026-10", "2026-11"]
    assert [p.name for p in (lake / "sample" / "2026-11").iterdir()] == ["segments.parquet"]


def test_segments_path_is_for_a_table_kept_on_spark(tmp_path):
    config = spark_config(tmp_path, engine="{name: pandas, segments_path: s3a://b/r}")
    result = run_cli("validate", str(config))
    assert_one_error_line(result, "engine.segments_path", "engine: spark")


def test_no_id_and_missing_drop_number_rows_as_pandas(spark, tmp_path):
    """Without data.id the ids are row numbers before missing: drop leaves rows out."""
    frame = sample_with_gaps()
    frame.drop(columns="customer_id").to_csv(tmp_path / "gaps.csv", index=False)
    config = write_config(tmp_path, """
report: {name: gaps, title: Gaps}
data: {path: gaps.csv}
features: {numeric: [income, spending_score, purchase_frequency],
           categorical: [preferred_category], profile: [age], missing: drop}
segmentation: {k: [2, 6]}
output: {dir: out, formats: [html]}
""")
    theirs = run_report(config, out=tmp_path / "pandas", period="2026-11")
    ours = spark_run(config, tmp_path / "spark")
    a, b = summary_of(ours), summary_of(theirs)
    assert a["dropped"] == b["dropped"] and b["dropped"]["count"] > 0
    assert_same_report(a, b)
    assert_same_labels(ours.folder, theirs.folder)


def test_derived_columns_of_the_marketing_table_same_report_on_spark(spark, marketing_run,
                                                                      tmp_path):
    """A real table whose features are all derived (sums, shares with min/max, a tenure
    from day-first dates): computed by Spark over every row, the same report as pandas."""
    run = spark_run(ROOT / "configs" / "marketing_campaign.yaml", tmp_path)
    assert_same_report(summary_of(run), marketing_run.summary)
    assert_same_labels(run.folder, marketing_run.folder)
    assert (run.folder / "segments.parquet").is_dir()  # the table stayed on Spark


DERIVED = """
derive:
  spending_score: spending_score * 2
  signup_days: days_since(signup)
  spend_per_visit: last_purchase_amount / purchase_frequency
  big_spender: spending_score > 60
  not_young: age != 30
  capped_income: min(income, 150000)
  log_amount: log(1 + last_purchase_amount)
"""


def derived_table(tmp_path: Path, frame: pd.DataFrame | None = None) -> Path:
    """The sample customers with a signup date (day first, some missing), a few zero
    purchase frequencies and missing ages: every kind of derived value, gaps included."""
    if frame is None:
        frame = pd.read_csv(ROOT / "sample_data" / "customers.csv", dtype=str)
        days = pd.Timestamp("2026-10-31") - pd.to_timedelta(
            np.arange(len(frame)) * 7 % 1500, unit="D")
        frame["signup"] = days.strftime("%d/%m/%Y")
        frame.loc[::37, "signup"] = None
        frame.loc[::53, "purchase_frequency"] = "0"
        frame.loc[::41, "age"] = None
    frame.to_csv(tmp_path / "customers.csv", index=False)
    return write_config(tmp_path, f"""
report: {{name: derived, title: Derived columns}}
data: {{path: customers.csv, id: customer_id, read: {{dayfirst: true}}, as_of: 2026-11-01}}
{DERIVED}
features:
  numeric: [capped_income, spending_score, spend_per_visit, log_amount]
  profile: [signup_days, big_spender, not_young]
segmentation: {{k: [2, 6]}}
output: {{dir: out, formats: [html]}}
""")


def test_derived_columns_same_report_on_spark(spark, tmp_path):
    config = derived_table(tmp_path)
    theirs = run_report(config, out=tmp_path / "pandas", period="2026-11")
    ours = spark_run(config, tmp_path / "spark")
    a, b = summary_of(ours), summary_of(theirs)
    assert_same_report(a, b)
    assert_same_labels(ours.folder, theirs.folder)
    assert a["dropped"] == b["dropped"]
    for segment, other in zip(a["segments"], b["segments"], strict=True):
        for column in ("signup_days", "big_spender", "not_young"):
            assert segment["profile"][column]["mean"] == pytest.approx(
                other["profile"][column]["mean"], rel=1e-9), column


@pytest.mark.parametrize(("change", "words"), [
    ("text", ("derive.spend_per_visit: column 'purchase_frequency' is not numeric",
              "e.g. 'often'")),
    ("log", ("derive.log_amount: log() of a value <= 0 (-2)", "log(1 + x)")),
    ("date", ("derive.signup_days: column 'signup' holds a date that cannot be read: "
              "'soon'",)),
    ("replaced", ("derive.spending_score: column 'spending_score' is not numeric",
                  "e.g. 'high'")),
])
def test_derived_columns_are_refused_on_spark_as_on_pandas(spark, tmp_path, change, words):
    frame = pd.read_csv(ROOT / "sample_data" / "customers.csv", dtype=str)
    frame["signup"] = "01/02/2025"
    if change == "text":
        frame.loc[5, "purchase_frequency"] = "often"
    elif change == "log":
        frame.loc[9, "last_purchase_amount"] = "-3"
    elif change == "replaced":  # text in a column a derived column of its name replaces
        frame.loc[7, "spending_score"] = "high"
    else:
        frame.loc[12, "signup"] = "soon"
    config = derived_table(tmp_path, frame)
    from reportgen.errors import DataError

    for engine in ("pandas", "spark"):
        with pytest.raises(DataError) as refused:
            run_report(config, out=tmp_path / engine, period="2026-11",
                       engine={**SPARK, "name": engine})
        message = str(refused.value)
        assert "\n" not in message and all(w in message for w in words), (engine, message)
        assert_nothing_written(tmp_path / engine)


def bad_table(tmp_path: Path, change: str) -> Path:
    frame = pd.read_csv(ROOT / "sample_data" / "customers.csv", dtype=str)
    if change == "repeat":
        frame.loc[7, "customer_id"] = frame.loc[3, "customer_id"]
    elif change == "text":
        frame.loc[11, "income"] = "lots"
    else:
        frame["gender"] = "Female" if change == "same" else None
    config = spark_config(tmp_path, features="{numeric: [income, spending_score], "
                          "categorical: [gender]}")
    frame.to_csv(tmp_path / "customers.csv", index=False)
    return config


def test_a_bad_customer_table_is_one_line_on_spark(tmp_path):
    config = bad_table(tmp_path, "repeat")
    assert_one_error_line(run_cli("run", str(config)), "data.id", "appears 2 times",
                          "one row a customer")
    assert_nothing_written(tmp_path / "out")


@pytest.mark.parametrize(("change", "words"), [
    ("text", ("features.numeric", "'lots'", "not a number")),
    ("same", ("features:", "column 'gender' holds the same value ('Female') in every row")),
    ("empty", ("features:", "column 'gender' has no values at all")),
])
def test_bad_customer_columns_are_refused_on_spark(spark, tmp_path, change, words):
    """In this process, on the module's Spark (the command line's one line is shown above
    with its own JVM): the checks over every row say what pandas' would."""
    from reportgen.errors import DataError

    with pytest.raises(DataError) as refused:
        run_report(bad_table(tmp_path, change), out=tmp_path / "out", period="2026-11")
    message = str(refused.value)
    assert "\n" not in message and all(word in message for word in words), message
    assert_nothing_written(tmp_path / "out")


def spark_config(tmp_path: Path, data: str = "path: customers.csv",
                 engine: str = "{name: spark, master: 'local[1]'}",
                 features: str = "{numeric: [income, spending_score]}") -> Path:
    shutil.copy(ROOT / "sample_data" / "customers.csv", tmp_path / "customers.csv")
    return write_config(tmp_path, f"""
report: {{name: spark-errors, title: Spark errors}}
data: {{{data}, id: customer_id}}
features: {features}
segmentation: {{k: 3}}
engine: {engine}
output: {{dir: out, formats: [html]}}
""")


def assert_one_error_line(result, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in errors[0], errors[0]


def assert_nothing_written(out: Path) -> None:
    """No period folder, no staging folder: only the report's lock may be left."""
    left = [p.relative_to(out).as_posix() for p in out.rglob("*")] if out.exists() else []
    assert all("/" not in name or name.endswith("/.reportgen.lock") for name in left), left
    assert not [p for p in out.glob("*/*") if p.name != ".reportgen.lock"], left


def test_a_job_that_fails_on_an_executor_is_one_line(tmp_path):
    """A gzip file cut short: Spark reads its header on the driver, then the task that
    reads the rest fails on the executor. The line names the Java cause, not py4j's call."""
    import gzip

    config = spark_config(tmp_path, data="path: customers.csv.gz")
    packed = gzip.compress((ROOT / "sample_data" / "customers.csv").read_bytes())
    (tmp_path / "customers.csv.gz").write_bytes(packed[:-200])
    result = run_cli("run", str(config), "--period", "2026-11")
    assert_one_error_line(result, "engine: spark: a Spark job failed: EOFException: "
                          "Unexpected end of input stream")
    assert "collectToPython" not in result.stderr
    assert_nothing_written(tmp_path / "out")


def java_children(pid: int) -> list[int]:
    """The JVMs a run started (PySpark's spark-submit and its java), by /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            comm = (entry / "comm").read_text().strip()
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            found += ([int(entry.name)] if comm == "java" else []) + java_children(
                int(entry.name))
    return found


def test_ctrl_c_stops_the_spark_job_and_changes_no_report(tmp_path):
    """A good report of the period first (pandas); a Spark run of the same period
    interrupted in its features stage (a Spark job over every row) ends in one line, exit
    130, leaves the earlier report byte-identical, and its JVM does not outlive it."""
    import signal
    import subprocess
    import sys
    import time

    config = spark_config(tmp_path)
    done = run_cli("run", str(config), "--period", "2026-11", "--set", "engine.name=pandas")
    assert done.returncode == 0, done.stderr
    report = tmp_path / "out" / "spark-errors" / "2026-11"
    before = {p.name: p.read_bytes() for p in report.iterdir()}
    child = subprocess.Popen(
        [sys.executable, "-m", "reportgen", "run", str(config), "--period", "2026-11",
         "--progress"], stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert child.stderr is not None
    printed, jvms = [], []
    for line in child.stderr:
        printed.append(line)
        if line.strip() == "reportgen: features ...":
            jvms = java_children(child.pid)
            child.send_signal(signal.SIGINT)
            break
    printed.append(child.stderr.read())
    assert child.wait(timeout=120) == 130, "".join(printed)
    assert "".join(printed).strip().splitlines()[-1] == "error: interrupted; no report was changed"
    assert "Traceback" not in "".join(printed)
    assert jvms, "the run's JVM was not found while it ran"
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{pid}").exists() for pid in jvms) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{pid}").exists() for pid in jvms), "the JVM outlived the run"
    assert {p.name: p.read_bytes() for p in report.iterdir()} == before
    assert not [p for p in report.parent.iterdir() if p.name.startswith(".tmp-")]


def test_no_java_is_one_line(tmp_path):
    result = run_cli("run", str(spark_config(tmp_path)), env={"JAVA_HOME": str(tmp_path)})
    assert_one_error_line(result, "JAVA_HOME", "Java 17")
    assert_nothing_written(tmp_path / "out")


def test_a_master_that_does_not_answer_is_one_line(tmp_path):
    config = spark_config(tmp_path, engine="{name: spark, master: 'spark://127.0.0.1:9'}")
    assert_one_error_line(run_cli("run", str(config)), "no Spark master answers",
                          "spark://127.0.0.1:9")
    assert_nothing_written(tmp_path / "out")


def test_a_path_spark_cannot_read_is_one_line(tmp_path):
    config = spark_config(tmp_path, data=f"path: {tmp_path / 'no-such-folder'}/")
    assert_one_error_line(run_cli("run", str(config)), "Spark cannot read it", "no-such-folder")
    assert_nothing_written(tmp_path / "out")


def test_validate_checks_a_spark_config_on_spark(spark, tmp_path):
    """`validate` reads through the configured engine: a URL only Spark reads is Spark's
    refusal in one line (it was an internal error), a good table is counted on Spark."""
    from reportgen.api import validate
    from reportgen.errors import DataError

    with pytest.raises(DataError, match="Spark cannot read it"):
        validate(spark_config(tmp_path, data="path: s3a://no-such-bucket/customers/"))
    (tmp_path / "good").mkdir()
    counted = validate(spark_config(tmp_path / "good"))
    assert counted["customers"] == counted["rows"] == 2_000


def test_spark_only_sources_need_the_spark_engine(tmp_path):
    table = spark_config(tmp_path, data="table: warehouse.customers", engine="{name: pandas}")
    assert_one_error_line(run_cli("validate", str(table)), "data.table", "engine")
    url = spark_config(tmp_path, data="path: 's3a://bucket/customers/'", engine="{name: pandas}")
    assert_one_error_line(run_cli("validate", str(url)), "URL only Spark reads")


def sample_with_gaps() -> pd.DataFrame:
    """The sample customers with missing values, so that the fills matter."""
    frame = pd.read_csv(ROOT / "sample_data" / "customers.csv", dtype={"customer_id": str})
    rng = np.random.default_rng(7)
    for column in ("income", "last_purchase_amount", "preferred_category"):
        frame.loc[rng.random(len(frame)) < 0.05, column] = None
    return frame


@pytest.mark.parametrize("scale", ["standard", "robust", "minmax"])
def test_spark_fits_the_preprocessing_scikit_learn_fits(spark, scale):
    from reportgen.config.schema import FeaturesSection
    from reportgen.engines.spark.features import fit_preprocessing, matrix_columns
    from reportgen.model.features import fit_matrix

    frame = sample_with_gaps()
    spec = FeaturesSection(numeric=["income", "spending_score", "last_purchase_amount"],
                           categorical=["preferred_category"], log=["last_purchase_amount"],
                           scale=scale)
    matrix, theirs = fit_matrix(frame, spec)
    rows = spark.createDataFrame(frame.astype(object).where(frame.notna(), None))
    ours = fit_preprocessing(rows, spec)
    assert ours.names == theirs.names
    for a, b in zip(ours.numeric, theirs.numeric, strict=True):
        assert (a.column, a.log1p) == (b.column, b.log1p)
        for field in ("fill", "subtract", "divide", "multiply", "add"):
            assert getattr(a, field) == pytest.approx(getattr(b, field), rel=1e-12), field
    for a, b in zip(ours.categorical, theirs.categorical, strict=True):
        assert (a.fill, a.categories) == (b.fill, b.categories)
        assert a.weight == pytest.approx(b.weight, rel=1e-12)
    collected = np.array(rows.select(*matrix_columns(ours)).collect(), dtype=float)
    assert np.allclose(collected, matrix, rtol=1e-12, atol=1e-12)


def test_spark_refines_the_centres_as_scikit_learn_does(spark):
    from sklearn.cluster import KMeans

    from reportgen.engines.spark.kmeans import label_rows, refine

    rng = np.random.default_rng(3)
    matrix = np.vstack([rng.normal(centre, 1.0, size=(1500, 3))
                        for centre in ((0, 0, 0), (4, 0, 1), (0, 5, -2), (3, 3, 3))])
    start = KMeans(n_clusters=4, n_init=4, random_state=0).fit(matrix[::10]).cluster_centers_
    theirs = KMeans(n_clusters=4, init=start, n_init=1).fit(matrix)
    frame = spark.createDataFrame(matrix.tolist(), ["f0", "f1", "f2"]).persist()
    ours = refine(frame, start)
    assert np.allclose(ours.centres, theirs.cluster_centers_, rtol=1e-9)
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=1e-9)
    labels = np.array([r[0] for r in frame.select(label_rows(frame, ours.centres)).collect()])
    assert (labels == theirs.labels_).all()
    assert ours.sizes.tolist() == np.bincount(theirs.labels_).tolist()
    frame.unpersist()


@pytest.fixture(scope="module")
def sample_fitted():
    """The sample's features and segments as the pandas engine makes them."""
    from reportgen import api
    from reportgen.config import load_config
    from reportgen.engines import in_process
    from reportgen.timing import StageTimer

    config = load_config(ROOT / "configs" / "sample.yaml").config
    rows = in_process(config, "2026-11")
    before = api.look_back(config, "2026-11", Path("/nonexistent"))
    prepared = api.prepare_data(config, before, StageTimer(None), rows)
    return api.fit_segments(config, prepared, StageTimer(None), rows)


def labelled_rows(spark, fitted):
    frame = fitted.features.frame.copy()
    frame["__segment"] = fitted.segments.labels
    return spark.createDataFrame(frame.astype(object).where(frame.notna(), None))


def summed_on_spark(spark, fitted):
    from reportgen.engines.spark.summaries import summarize

    features = fitted.features
    return summarize(labelled_rows(spark, fitted), "__segment", features.all_numeric,
                     features.all_categorical,
                     [c for c in features.all_numeric if features.described_on_log(c)],
                     features.numeric, len(features.frame))


def test_spark_sums_the_profiles_as_pandas_does(spark, sample_fitted):
    from reportgen.model.profile import build_profiles
    from reportgen.model.profile import summarize as on_pandas

    features, segments = sample_fitted.features, sample_fitted.segments
    ours, _ = summed_on_spark(spark, sample_fitted)
    theirs = on_pandas(features, segments)
    assert sorted(ours.groups) == sorted(theirs.groups)
    for group, summary in theirs.groups.items():
        assert ours.groups[group].size == summary.size
        assert ours.groups[group].counts == summary.counts
        for column, stat in summary.numeric.items():
            for field in ("mean", "median", "scale_mean", "scale_std"):
                assert getattr(ours.groups[group].numeric[column], field) == pytest.approx(
                    getattr(stat, field), rel=1e-12), (group, column, field)
    a = build_profiles(features, segments, ours)
    b = build_profiles(features, segments, theirs)
    assert [[t.text for t in p.traits] for p in a.segments] == [
        [t.text for t in p.traits] for p in b.segments]


def test_spark_counts_the_histogram_bins_as_pandas_does(spark, sample_fitted):
    from reportgen.model.population import count_bins as on_pandas

    _, ours = summed_on_spark(spark, sample_fitted)
    theirs = on_pandas(sample_fitted.features, sample_fitted.segments)
    assert sorted(ours) == sorted(theirs)
    for column, bins in theirs.items():
        assert np.allclose(ours[column].edges, bins.edges, rtol=1e-12)
        assert sorted(ours[column].counts) == sorted(bins.counts)
        for group, counts in bins.counts.items():
            assert ours[column].counts[group].tolist() == counts.tolist(), (column, group)


def test_a_failed_run_leaves_the_earlier_segments_in_segments_path(spark, tmp_path,
                                                                    monkeypatch):
    """The parquet is written beside its place and moved in only once the report is
    published: a run that fails after writing it leaves the earlier one whole."""
    from reportgen.deliver import period as delivered
    from reportgen.errors import OutputError

    lake = tmp_path / "lake"
    engine = {**SPARK, "segments_path": lake.as_uri()}
    def run(**overrides):
        return run_report(ROOT / "configs" / "sample.yaml", out=tmp_path / "out",
                          period="2026-11", engine=engine, output={"formats": ["html"]},
                          **overrides)

    first = run()
    place = lake / "sample" / "2026-11" / "segments.parquet"
    before = pd.read_parquet(place).sort_values("id")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(delivered, "write_model", disk_full)
    with pytest.raises(OutputError, match="No space left"):
        run(segmentation={"random_state": 7})
    assert [p.name for p in place.parent.iterdir()] == ["segments.parquet"]
    after = pd.read_parquet(place).sort_values("id")
    assert after["segment"].tolist() == before["segment"].tolist()
    assert f"{lake.as_uri()}/sample/2026-11/segments.parquet" in summary_of(first)["outputs"]


def test_last_months_summary_cannot_point_spark_elsewhere(spark, tmp_path):
    """summary.json lies in a folder others may write: an `outputs` entry naming another
    segments.parquet (here one where every customer sat in segment 9) is not read; the
    segments come from where this config's segments_path puts that period's."""
    import json

    lake, decoy = tmp_path / "lake", tmp_path / "decoy" / "segments.parquet"
    engine = {**SPARK, "segments_path": lake.as_uri()}
    first = run_report(ROOT / "configs" / "sample.yaml", out=tmp_path / "out", period="2026-10",
                       engine=engine, output={"formats": ["html"]})
    real = pd.read_parquet(lake / "sample" / "2026-10" / "segments.parquet")
    decoy.parent.mkdir()
    real.assign(segment=9).to_parquet(decoy)
    summary = json.loads((first.folder / "summary.json").read_text())
    summary["outputs"] = [decoy.parent.as_uri() + "/segments.parquet" if o.endswith(
        "segments.parquet") else o for o in summary["outputs"]]
    (first.folder / "summary.json").write_text(json.dumps(summary))
    second = run_report(ROOT / "configs" / "sample.yaml", out=tmp_path / "out",
                        period="2026-11", engine=engine, output={"formats": ["html"]})
    flows = summary_of(second)["migration"]["matrix"]
    assert flows and all(flow["from_id"] != 9 for flow in flows)
    assert sum(flow["customers"] for flow in flows) == len(real)


def test_an_ordinal_column_is_ranked_on_spark_as_on_pandas(spark, tmp_path):
    from test_features import TIERS, quartiles, tiered_project

    tiers: list[str | None] = [TIERS[r] for r in quartiles(2000)]
    tiers[5] = None
    config = tiered_project(tmp_path, tiers)
    theirs = run_report(config, out=tmp_path / "pandas", period="2026-10")
    ours = spark_run(config, tmp_path / "spark")
    assert (ours.folder / "segments.csv").read_bytes() == (
        theirs.folder / "segments.csv").read_bytes()
    tiers[9] = "Diamond"
    config = tiered_project(tmp_path, tiers)
    done = run_cli("run", str(config), "--set", "engine.name=spark",
                   "--set", "engine.master=local[1]")
    assert done.returncode == 2
    assert "'Diamond' (and perhaps other rows), which is not among its levels" in done.stderr


def test_the_control_groups_are_the_pandas_engines(spark, tmp_path):
    """Sales lines aggregated on Spark, the audiences' groups drawn as pandas draws them."""
    from test_control import CONTROL, LINES, groups

    from reportgen.folders import CONTROL_KEY

    theirs = run_report(ROOT / "configs" / "transactions.yaml", out=tmp_path / "pandas",
                        period="2026-10", data={"path": str(LINES)}, **CONTROL)
    (tmp_path / "spark" / "transactions").mkdir(parents=True)
    (tmp_path / "spark" / "transactions" / CONTROL_KEY).write_text(
        (theirs.folder.parent / CONTROL_KEY).read_text())
    ours = run_report(ROOT / "configs" / "transactions.yaml", out=tmp_path / "spark",
                      period="2026-10", data={"path": str(LINES)}, engine=SPARK, **CONTROL)
    assert groups(ours.folder).equals(groups(theirs.folder))
    assert ours.summary["control"] == theirs.summary["control"]



def test_the_lift_is_the_pandas_engines(spark, tmp_path):
    """Last period's groups measured on sales lines aggregated by Spark: the purchases
    since, and so every figure of the lift, are the pandas engine's."""
    import shutil

    from campaign import two_periods

    _, theirs, planted = two_periods(1, tmp_path, n=2_000)
    shutil.rmtree(tmp_path / "out" / "shop" / "2026-11")
    ours = run_report(tmp_path / "shop.yaml", period="2026-11", engine=SPARK).summary["lift"]
    theirs = theirs["lift"]
    assert {k: v for k, v in ours.items() if k != "segments"} == {
        k: v for k, v in theirs.items() if k != "segments"}
    assert [s["verdict"] for s in ours["segments"]] == [s["verdict"] for s in theirs["segments"]]
    assert any(s["id"] == planted and s["revenue"] for s in ours["segments"])
    assert_close(ours["segments"], theirs["segments"])


def assert_close(ours, theirs, where: str = "") -> None:
    """The same JSON, numbers to 1e-9 (Spark sums in another order)."""
    if isinstance(theirs, dict):
        assert ours.keys() == theirs.keys(), where
        for key in theirs:
            assert_close(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_close(a, b, f"{where}[{i}]")
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12), where
    else:
        assert ours == theirs, where
