"""The error catalogue (docs/errors.md), entry by entry.

Each bad input goes through the real command line: exit code 2, exactly one `error:` line
that names the problem (the fragment below, which docs/errors.md quotes), no traceback,
and no report written: the period folder does not exist and no temporary file is left.
"""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orders
import pytest
from helpers import ROOT, blobs_frame

from reportgen.cli import main

CATALOGUE = ROOT / "docs" / "errors.md"
BASE = """report: {name: small, title: Small}
data: {path: customers.csv, id: customer_id}
features: {numeric: [income, score], profile: [age]}
segmentation: {k: [2, 5]}
output: {dir: out, formats: [html]}
"""


ORDERS = """report: {name: small, title: Small}
data: {path: orders.csv}
transactions: {customer: customer_id, date: date, amount: dollars}
features: {numeric: [recency_days, frequency, monetary]}
value: {backtest: {calibration_end: auto}}
segmentation: {k: 3}
output: {dir: out, formats: [html]}
"""


def order_log(folder: Path) -> None:
    orders.order_log(folder / "orders.csv", customers=150)


def one_time_buyers(folder: Path) -> None:
    rng = np.random.default_rng(1)
    orders.write(folder / "orders.csv", orders.buyers(rng, 0, 200, 0, 30, once=True))


def write_customers(folder: Path, edit: Callable | None = None, name: str = "customers.csv",
                    **csv_options) -> None:
    frame = blobs_frame().drop(columns="group")
    if edit:
        frame = edit(frame)
    frame.to_csv(folder / name, index=False, **csv_options)


def setter(row: int, column: str, value):
    def edit(frame):
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame
    return edit


def column_of(value):
    def edit(frame):
        frame["income"] = value
        return frame
    return edit


def compressed(name: str, compress: Callable[[bytes], bytes], cut: float | None = None):
    """customers.csv compressed into `name`, cut to a share of its bytes when `cut` is set."""
    def make(folder: Path) -> None:
        data = compress(blobs_frame().drop(columns="group").to_csv(index=False).encode())
        (folder / name).write_bytes(data[: int(len(data) * cut)] if cut else data)
    return make


def written(name: str, content: bytes | Callable[[], bytes]):
    def make(folder: Path) -> None:
        (folder / name).write_bytes(content() if callable(content) else content)
    return make


def csv_bytes(edit: Callable[[bytes], bytes] = lambda b: b) -> Callable[[], bytes]:
    return lambda: edit(blobs_frame().drop(columns="group").to_csv(index=False).encode())


def two_files_zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", csv_bytes()())
        archive.writestr("b.csv", csv_bytes()())
    return buffer.getvalue()


def half_a_parquet() -> bytes:
    buffer = io.BytesIO()
    blobs_frame().to_parquet(buffer)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


OLE = bytes.fromhex("d0cf11e0a1b11ae1")


def zipped(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customers.csv", data)
    return buffer.getvalue()


def encrypted(data: bytes) -> bytes:
    """The zip with its one file flagged as encrypted, as a password-protected zip is."""
    data = bytearray(data)
    entry = data.rfind(b"PK\x01\x02")
    data[entry + 8] |= 1
    return bytes(data)


def on(name: str) -> str:
    return BASE.replace("path: customers.csv", f"path: {name}")


# id: (files, config text, fragment of the one error line)
CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "yaml-syntax": (write_customers, "report: {name: small\n  title: x\n",
                    "config.yaml line 2, column 8: YAML syntax error"),
    "not-a-mapping": (write_customers, "- report\n- data\n",
                      "config.yaml: the top level must be a mapping of sections"),
    "unknown-key": (write_customers, BASE.replace("segmentation:", "segmentaton:"),
                    "unknown key 'segmentaton'; did you mean 'segmentation'"),
    "wrong-type": (write_customers, BASE.replace("k: [2, 5]", 'k: "five"'),
                   "config key 'segmentation.k': expected an integer or a range [min, max] of "
                   "integers, found 'five' (text)"),
    "k-reversed": (write_customers, BASE.replace("k: [2, 5]", "k: [5, 2]"),
                   "the range [5, 2] is reversed; write [2, 5]"),
    "k-below-2": (write_customers, BASE.replace("k: [2, 5]", "k: 1"),
                  "k must be at least 2 (a single segment is no segmentation)"),
    "k-above-rows": (lambda d: write_customers(d, lambda f: f.head(4)), BASE,
                     "the data have 4 distinct customers (rows), too few for up to 5 segments"),
    "fewer-than-k": (lambda d: write_customers(d, lambda f: f.head(3)),
                     BASE.replace("k: [2, 5]", "k: 4"),
                     "the data have 3 distinct customers (rows), too few for 4 segments"),
    "missing-file": (lambda d: None, BASE, "data.path: file not found:"),
    "empty-file": (lambda d: (d / "customers.csv").write_text(""), BASE,
                   "data file customers.csv is empty"),
    "header-only": (lambda d: (d / "customers.csv").write_text("customer_id,income,score,age\n"),
                    BASE, "data file customers.csv has a header but no data rows"),
    "wrong-delimiter": (lambda d: write_customers(d, sep=";"),
                        BASE.replace("id: customer_id}", 'id: customer_id, read: {sep: ","}}'),
                        "the file looks ';'-separated; set data.read.sep: \";\""),
    "not-utf-8": (lambda d: write_customers(d, lambda f: f.assign(customer_id="Zoë"),
                                            encoding="latin-1"),
                  BASE.replace("id: customer_id", "id: income"),
                  "is not valid utf-8 text (byte 0xeb at offset"),
    "column-missing": (write_customers, BASE.replace("[income, score]", "[income, scores]"),
                       "features.numeric: column 'scores' is not in customers.csv; did you "
                       "mean 'score' or 'income'?"),
    "text-in-numeric": (lambda d: write_customers(d, setter(4, "income", "n.a.")), BASE,
                        "column 'income' holds text that is not a number: 'n.a.' (row 5)"),
    "all-missing": (lambda d: write_customers(d, column_of(None)), BASE,
                    "column 'income' has no values at all"),
    "constant": (lambda d: write_customers(d, column_of(5)), BASE,
                 "column 'income' holds the same value (5) in every row"),
    "ordinal-level": (
        lambda d: write_customers(d, lambda f: f.assign(
            tier=["Gold"] * 3 + ["Platinum"] + ["Silver"] * (len(f) - 4))),
        BASE.replace("features: {numeric: [income, score], profile: [age]}",
                     "features: {numeric: [income, score], ordinal: {tier: [Silver, Gold]}}"),
        "features.ordinal: column 'tier' holds 'Platinum' (row 4), which is not among its "
        "levels Silver, Gold"),
    "duplicate-ids": (lambda d: write_customers(d, setter(1, "customer_id", "K0000")), BASE,
                      "data.id: customer id 'K0000' appears 2 times"),
    "bad-date": (lambda d: write_customers(d, lambda f: f.assign(
        joined=["2024-01-05"] * 9 + ["soon"] + ["2024-02-01"] * (len(f) - 10))),
        BASE + "derive: {tenure: days_since(joined)}\n",
        "derive.tenure: column 'joined' holds a date that cannot be read: 'soon' (row 10)"),
    "transactions-columns": (write_customers, BASE.replace(
        ", id: customer_id}", "}\ntransactions: {customer: CustomerID, invoice: "
        "InvoiceNo, date: InvoiceDate, quantity: Quantity, price: UnitPrice}"),
        "transactions.customer: column 'CustomerID' is not in customers.csv"),
    "value-without-sales": (write_customers, BASE + "value: {}\n",
                            "value: the value model needs sales lines (a purchase history)"),
    "value-calibration-outside": (order_log, ORDERS.replace("auto}}", "2027-01-01}}"),
                                  "value.backtest.calibration_end: 2027-01-01 is not inside "
                                  "the history (2025-01-02 to 2026-06-19); choose a date "
                                  "between them, or auto"),
    "value-no-repeats": (one_time_buyers, ORDERS, "value: no customer bought on more than one "
                         "day, so the value model cannot learn how often"),
    "value-calibration-early": (order_log, ORDERS.replace("auto}}", "2025-01-03}}"),
                                "value.backtest.calibration_end: no customer bought twice by "
                                "2025-01-03"),
    "action-placeholder": (order_log, ORDERS + "recommendations: {rules: [{when: {value: high},"
                           " action: 'Protect {valeu_total}.'}]}\n",
                           "recommendations.rules[0].action: {valeu_total} is not a segment "
                           "figure; use {size}, {share}, a numeric column or a column_total; "
                           "did you mean 'value_total'"),
    "expression-column": (write_customers, BASE + "derive: {income2: incomes * 2}\n",
                          "derive.income2: column 'incomes' is not in customers.csv; did you "
                          "mean 'income' or 'score'?"),
    "expression-forbidden": (write_customers,
                             BASE + "derive: {x: __import__('os').system('id')}\n",
                             "config key 'derive.x': unknown function '__import__'"),
    "output-not-writable": (lambda d: (write_customers(d), (d / "out").write_text("a file")),
                            BASE, "output.dir: cannot write to"),
    "logo-missing": (write_customers, BASE.replace("title: Small}", "title: Small, logo: l.png}"),
                     "config key 'report.logo': logo file not found"),
    "not-gzip": (written("customers.csv.gz", csv_bytes()), on("customers.csv.gz"),
                 "data file customers.csv.gz is damaged or is not a valid .gz file (Not a "
                 "gzipped file"),
    "truncated-gzip": (compressed("customers.csv.gz", gzip.compress, 0.5),
                       on("customers.csv.gz"), "data file customers.csv.gz is damaged or is "
                       "not a valid .gz file (Compressed file ended before the end-of-stream "
                       "marker was reached); export or download it again"),
    "truncated-bz2": (compressed("customers.csv.bz2", bz2.compress, 0.5),
                      on("customers.csv.bz2"), "customers.csv.bz2 is damaged or is not a "
                      "valid .bz2 file (Compressed file ended"),
    "corrupt-xz": (written("customers.csv.xz", csv_bytes()), on("customers.csv.xz"),
                   "customers.csv.xz is damaged or is not a valid .xz file (Input format not "
                   "supported by decoder)"),
    "truncated-zip": (compressed("customers.csv.zip", lambda b: zipped(b), 0.5),
                      on("customers.csv.zip"), "customers.csv.zip is damaged or is not a "
                      "valid .zip file (File is not a zip file)"),
    "zip-of-two": (written("customers.csv.zip", two_files_zipped), on("customers.csv.zip"),
                   "data file customers.csv.zip holds 2 files; a .zip must hold exactly one "
                   "CSV"),
    "encrypted-zip": (written("customers.csv.zip", lambda: encrypted(zipped(csv_bytes()()))),
                      on("customers.csv.zip"), "data file customers.csv.zip is a "
                      "password-protected zip; unzip it, or zip the CSV again without a "
                      "password"),
    "truncated-parquet": (written("customers.parquet", half_a_parquet),
                          on("customers.parquet"), "data file customers.parquet is not a "
                          "readable parquet file (Parquet magic bytes not found in footer"),
    "not-xlsx": (written("customers.xlsx", csv_bytes()), on("customers.xlsx"),
                 "data file customers.xlsx is not an .xlsx workbook (an .xlsx file is a zip "
                 "archive, and this one is not)"),
    "encrypted-xlsx": (written("customers.xlsx", OLE + bytes(2000)), on("customers.xlsx"),
                       "data file customers.xlsx is a password-protected workbook or an old "
                       ".xls file, which cannot be read; save it without a password as .xlsx"),
    "nul-bytes": (written("customers.csv", csv_bytes(lambda b: b + b"K9,1\x00,2,3\n")), BASE,
                  "data file customers.csv holds NUL bytes (the first at byte 8,257), so it "
                  "is not a text file"),
    "line-too-long": (written("customers.csv", lambda: b"x" * (5 * 2**20)), BASE,
                      "data file customers.csv: its first line is longer than 4 MB, so it is "
                      "not a header of column names; is it a CSV file?"),
    "duplicate-column": (written("customers.csv", csv_bytes(lambda b: b.replace(
        b"customer_id,income,score,age", b"customer_id,income,score,age,score", 1))), BASE,
        "features.numeric: customers.csv has 2 columns named 'score' (columns 3 and 5); rename "
        "all but one in the file"),
    "not-a-file": (lambda d: None, BASE.replace("path: customers.csv", "path: /dev/zero"),
                   "data.path: /dev/zero is a device, not a data file; point data.path at a "
                   ".csv"),
    # issue 27: hostile and clumsy input, second round
    "duplicate-key": (write_customers, BASE + "output: {dir: /tmp/elsewhere}\n",
                      "config.yaml: line 6: key 'output' appears twice in one section (first "
                      "on line 5); keep one"),
    "yaml-aliases": (write_customers, BASE + "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"x{i}: &a{i} [*{'a' if i == 0 else f'a{i - 1}'}" + f", *{'a' if i == 0 else f'a{i - 1}'}"
        * 9 + "]\n" for i in range(6)),
                     "config.yaml: line 10: its aliases expand to more than 100,000 values; "
                     "write the values out instead of nesting aliases"),
    "yaml-too-deep": (write_customers, BASE + "x: " + "[" * 5000 + "]" * 5000 + "\n",
                      "config.yaml: it nests deeper than 40 levels"),
    "config-too-large": (write_customers, BASE + "# " + "x" * 2**20 + "\n",
                         "config.yaml is larger than 1 MB, more than any config needs; is it "
                         "the data file?"),
    "expression-too-deep": (write_customers, BASE + "derive: {total: " + " + ".join(
        ["income"] * 500) + "}\n", "the expression nests more than 100 levels deep; split it "
                           "into several derived columns (a sum of many columns into partial "
                           "sums)"),
    "separator-too-long": (write_customers, BASE.replace("id: customer_id}",
                                                         "id: customer_id, read: {sep: ';;'}}"),
                           "config key 'data.read.sep': a separator is one character (or "
                           "whitespace), found ';;'"),
    "not-a-text-encoding": (write_customers, BASE.replace(
        "id: customer_id}", "id: customer_id, read: {encoding: rot13}}"),
        "config key 'data.read.encoding': 'rot13' is not a text encoding; try utf-8, latin-1 "
        "or cp1252"),
    "empty-id": (write_customers, BASE.replace("id: customer_id", "id: ''"),
                 "config key 'data.id': expected a non-empty value"),
    "name-too-long": (write_customers, BASE.replace("name: small", "name: " + "a" * 300),
                      "config key 'report.name': expected at most 64 characters"),
    "seed-out-of-range": (write_customers, BASE.replace("k: [2, 5]}", "k: [2, 5], "
                                                        "random_state: -1}"),
                          "config key 'segmentation.random_state': expected a number of at "
                          "least 0, found -1 (integer)"),
    "n-init-too-large": (write_customers, BASE.replace("k: [2, 5]}", "k: [2, 5], "
                                                       "n_init: 1000000000000}"),
                         "config key 'segmentation.n_init': expected a number of at most 100"),
    "categorical-too-many": (lambda d: write_customers(d, lambda f: f.assign(
        code=[f"X{i}" for i in range(len(f))])), BASE.replace(
        "profile: [age]", "categorical: [code], profile: [age]"),
        "features.categorical: column 'code' has more than 50 distinct values; each value "
        "becomes a column of its own, so the segments would follow the values: move it to "
        "features.profile, or derive a coarser column"),
    "short-row": (written("customers.csv", csv_bytes(lambda b: b.replace(b"\nK0003,", b"\nK0003"
                                                                          b",1\nK0003x,", 1))),
                  BASE, "data file customers.csv line 5 has 2 fields where the header has 4: "
                  "a row cut short or a separator lost"),
    "subject-format": (write_customers, BASE + "email: {to: [a@example.com], subject: "
                       "'{title:99999999999}'}\n", "config key 'email.subject': "
                       "{title:99999999999} in '{title:99999999999}': placeholders take no "
                       "format or conversion; write {title}"),
    "no-recipients": (write_customers, BASE + "email: {to: []}\n",
                      "config key 'email.to': expected a non-empty value"),
    "template-not-allowed": (lambda d: (write_customers(d), (d / "t").mkdir(),
                                        (d / "t" / "report.html.j2").write_text(
                                            '{% extends "default:report.html.j2" %}{% block '
                                            'content %}{{ cycler.__init__.__globals__.os }}'
                                            "{% endblock %}")),
                             BASE.replace("title: Small}", "title: Small, templates: t}"),
                             "template report.html.j2: not allowed in a template: access to "
                             "attribute '__init__' of 'type' object is unsafe"),
    "template-syntax": (lambda d: (write_customers(d), (d / "t").mkdir(),
                                   (d / "t" / "report.html.j2").write_text(
                                       '{% extends "default:report.html.j2" %}\n'
                                       "{% block content %}{% if %}{% endblock %}\n")),
                        BASE.replace("title: Small}", "title: Small, templates: t}"),
                        "t/report.html.j2 line 2: Expected an expression"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_clear_line_and_writes_nothing(case, tmp_path, monkeypatch, capsys):
    make_files, config_text, fragment = CASES[case]
    make_files(tmp_path)
    (tmp_path / "config.yaml").write_text(config_text)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "config.yaml", "--period", "2026-11"])
    out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]
    assert "Traceback" not in err and out == ""
    report = tmp_path / "out" / "small"
    assert not (report / "2026-11").exists()
    leftovers = [p.name for p in tmp_path.rglob(".*") if ".tmp-" in p.name]
    assert leftovers == []


def test_every_case_is_in_the_catalogue():
    """docs/errors.md quotes each message; a change of wording must update the docs."""
    text = CATALOGUE.read_text()
    missing = [case for case, (_, _, fragment) in CASES.items()
               if f"`{case}`" not in text or fragment not in text]
    assert missing == []


def test_a_file_larger_than_memory_is_refused_before_reading(tmp_path, monkeypatch, capsys):
    """A (sparse) 200 GB customers.csv: refused at once with the limit and the options,
    instead of the machine swapping."""
    write_customers(tmp_path)
    with open(tmp_path / "customers.csv", "r+b") as handle:
        handle.truncate(200 * 10**9)
    (tmp_path / "config.yaml").write_text(BASE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPORTGEN_MEMORY_LIMIT", raising=False)
    try:
        assert main(["validate", "config.yaml"]) == 2
    finally:
        (tmp_path / "customers.csv").unlink()
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: data file customers.csv (200.0 GB) needs about ")
    assert "of memory to read, more than the " in err
    assert "aggregate it in a database (data.sql), convert it to parquet" in err
    assert "run it on Spark (engine: spark)" in err


def test_memory_limit_of_ones_own(tmp_path, monkeypatch, capsys):
    write_customers(tmp_path)
    (tmp_path / "config.yaml").write_text(BASE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPORTGEN_MEMORY_LIMIT", "20kB")
    assert main(["validate", "config.yaml"]) == 2
    assert "(REPORTGEN_MEMORY_LIMIT 20.0 kB less the " in capsys.readouterr().err
    monkeypatch.setenv("REPORTGEN_MEMORY_LIMIT", "lots")
    assert main(["validate", "config.yaml"]) == 2
    assert "expected a size such as 8GB" in capsys.readouterr().err


def test_engine_spark_without_pyspark_is_one_line(small_project, monkeypatch, capsys):
    """Where PySpark is not installed (import fails), before anything is read or written."""
    import sys

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    assert main(["run", str(small_project), "--set", "engine.name=spark"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: engine: spark needs PySpark, which is not installed here: "
                   "pip install 'reportgen[spark]' (or set engine.name: pandas)")
    assert not list(small_project.parent.rglob("report.html"))
