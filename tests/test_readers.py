"""The readers: every format, every encoding Excel writes, ids byte for byte, and no input
file, however damaged, that ends in anything but a table or one clear line."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sqlite3
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import SMALL_CONFIG, blobs_frame, run_cli, write_config
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reportgen import run_report
from reportgen.config.sources import DataSection
from reportgen.data.files import as_text_ids, read_frame
from reportgen.errors import DataError

NEEDED = {"customer_id": "data.id", "income": "features.numeric", "score": "features.numeric",
          "age": "features.profile"}


def padded_customers() -> pd.DataFrame:
    """Ids as a CRM writes them: zero-padded numbers, three of them blank."""
    frame = blobs_frame().drop(columns="group")
    frame["customer_id"] = [f"{i:05d}" for i in range(len(frame))]
    frame.loc[[3, 50, 120], "customer_id"] = ""
    return frame


def zipped(data: bytes, name: str = "customers.csv") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def text_file(frame: pd.DataFrame, encode=lambda text: text.encode()) -> bytes:
    return encode(frame.to_csv(index=False))


WRITERS = {
    "customers.csv": text_file,
    "customers.tsv": lambda f: f.to_csv(index=False, sep="\t").encode(),
    "customers.csv.gz": lambda f: gzip.compress(text_file(f)),
    "customers.csv.bz2": lambda f: bz2.compress(text_file(f)),
    "customers.csv.xz": lambda f: lzma.compress(text_file(f)),
    "customers.csv.zip": lambda f: zipped(text_file(f)),
    "utf8-bom.csv": lambda f: text_file(f, lambda t: t.encode("utf-8-sig")),
    "utf16-bom.csv": lambda f: text_file(f, lambda t: t.encode("utf-16")),
    "utf16le.csv": lambda f: text_file(f, lambda t: t.encode("utf-16-le")),
    "utf16be.csv": lambda f: text_file(f, lambda t: t.encode("utf-16-be")),
    "crlf.csv": lambda f: text_file(f, lambda t: t.replace("\n", "\r\n").encode()),
    "customers.parquet": lambda f: _parquet(f),
    "customers.xlsx": lambda f: _xlsx(f),
    "customers.jsonl": lambda f: _json_lines(f),
    "customers.ndjson.gz": lambda f: gzip.compress(_json_lines(f)),
}


def _json_lines(frame: pd.DataFrame) -> bytes:
    """One object a line, as an event export writes it: a missing id is null."""
    return frame.replace({"customer_id": {"": None}}).to_json(
        orient="records", lines=True).encode()


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.replace({"customer_id": {"": None}}).to_parquet(buffer)
    return buffer.getvalue()


def _xlsx(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.replace({"customer_id": {"": None}}).to_excel(buffer, index=False)
    return buffer.getvalue()


def project(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    (folder / name).write_bytes(WRITERS[name](frame))
    return write_config(folder, SMALL_CONFIG.replace("path: customers.csv", f"path: {name}"))


@pytest.mark.parametrize("name", list(WRITERS))
def test_ids_come_out_exactly_as_they_went_in(tmp_path, name):
    frame = padded_customers()
    result = run_report(project(tmp_path, name, frame), period="2026-09")
    segments = pd.read_csv(result.folder / "segments.csv", dtype=str, keep_default_na=False)
    assert segments["id"].tolist() == [i for i in frame["customer_id"] if i]
    assert result.summary["dropped"] == {"count": 3, "reasons": {"missing customer id": 3}}
    assert result.summary["n_customers"] == len(frame) - 3


def test_ids_a_spreadsheet_stored_as_floats_lose_only_the_point_zero(tmp_path):
    frame = blobs_frame().drop(columns="group")
    frame["customer_id"] = [17850.0 + i for i in range(len(frame))]
    frame.loc[7, "customer_id"] = np.nan
    frame.to_csv(tmp_path / "customers.csv", index=False)
    assert "17850.0," in (tmp_path / "customers.csv").read_text()
    result = run_report(write_config(tmp_path, SMALL_CONFIG), period="2026-09")
    segments = pd.read_csv(result.folder / "segments.csv", dtype=str)
    assert segments["id"].iloc[:3].tolist() == ["17850", "17851", "17852"]
    assert "17857" not in set(segments["id"])


def test_text_ids_keep_every_character():
    values = pd.Series(["007", " 42", "A-1.0", "1e5", None, "NaN-ish"], dtype="str")
    assert as_text_ids(values).tolist()[:4] == ["007", " 42", "A-1.0", "1e5"]
    assert as_text_ids(pd.Series(["12.0", "13.00", None])).tolist()[:2] == ["12", "13"]
    assert as_text_ids(pd.Series(["12.0", "13.5"])).tolist() == ["12.0", "13.5"]
    assert as_text_ids(pd.Series([1, 2], dtype="int64")).tolist() == ["1", "2"]
    assert as_text_ids(pd.Series([1.0, np.nan])).tolist()[0] == "1"
    mixed = pd.Series([17850, "A7", 12.0, None], dtype=object)
    assert as_text_ids(mixed).tolist()[:3] == ["17850", "A7", "12"]


def test_sales_line_customers_and_invoices_keep_their_zeros(tmp_path):
    rng = np.random.default_rng(4)
    rows = 3_000
    customers = rng.integers(0, 300, rows)
    lines = pd.DataFrame({
        "CustomerID": [f"C{c:06d}" if c % 7 else f"{c:06d}" for c in customers],
        "InvoiceNo": [f"0{n:05d}" for n in rng.integers(0, 1500, rows)],
        "InvoiceDate": pd.Timestamp("2026-01-01")
        + pd.to_timedelta(rng.integers(0, 300, rows), "D"),
        "Quantity": rng.integers(1, 5, rows), "UnitPrice": rng.gamma(2, 5, rows).round(2)})
    lines.loc[[5, 9], "CustomerID"] = ""
    lines.to_csv(tmp_path / "lines.csv", index=False)
    config = write_config(tmp_path, """
        report: {name: sales, title: Sales}
        data: {path: lines.csv}
        transactions: {customer: CustomerID, invoice: InvoiceNo, date: InvoiceDate,
                       quantity: Quantity, price: UnitPrice}
        features: {numeric: [recency_days, frequency, monetary]}
        segmentation: {k: 3}
        personas: {preset: rfm}
        output: {dir: out, formats: [html]}
        """)
    result = run_report(config, period="2026-11")
    ids = pd.read_csv(result.folder / "segments.csv", dtype=str)["id"]
    assert set(ids) == set(lines["CustomerID"]) - {""}
    assert any(i.startswith("0") for i in ids)
    assert result.summary["transactions"]["lines"]["lines without a customer id"] == 2


def test_sqlite_ids_are_text_whether_stored_as_text_or_integer(tmp_path):
    frame = blobs_frame().drop(columns="group")
    with sqlite3.connect(tmp_path / "shop.db") as db:
        frame.assign(customer_id=[f"{i:04d}" for i in range(len(frame))]).to_sql(
            "text_ids", db, index=False)
        frame.assign(customer_id=range(1000, 1000 + len(frame))).to_sql("int_ids", db,
                                                                         index=False)
    for table, first in (("text_ids", "0000"), ("int_ids", "1000")):
        config = write_config(tmp_path, SMALL_CONFIG.replace(
            "path: customers.csv", f"sql: {{url: 'sqlite:///shop.db', query: 'select * from "
            f"{table}'}}"))
        result = run_report(config, period="2026-09")
        ids = pd.read_csv(result.folder / "segments.csv", dtype=str)["id"]
        assert ids.iloc[0] == first and len(ids) == len(frame)


def test_a_header_of_ten_thousand_columns_and_a_quoted_line_break(tmp_path):
    frame = padded_customers().replace({"customer_id": {"": "X"}})
    frame.loc[[3, 50, 120], "customer_id"] = ["blank1", "blank2", "blank3"]
    wide = pd.concat([frame, pd.DataFrame(1, index=frame.index,
                                          columns=[f"extra_{i}" for i in range(10_000)])],
                     axis=1)
    text = wide.to_csv(index=False).replace("00001,", '"000\n01",', 1)
    (tmp_path / "customers.csv").write_text(text)
    config = write_config(tmp_path, SMALL_CONFIG)
    result = run_report(config, period="2026-09")
    ids = pd.read_csv(result.folder / "segments.csv", dtype=str)["id"].tolist()
    assert ids[1] == "000\n01" and len(ids) == len(frame)


def test_a_data_line_of_100_mb_is_read(tmp_path):
    frame = blobs_frame().drop(columns="group")
    text = frame.to_csv(index=False) + "K9999,1,2," + "9" * (100 * 2**20) + "\n"
    (tmp_path / "customers.csv").write_text(text)
    write_config(tmp_path, SMALL_CONFIG)
    result = run_cli("validate", "config.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "181 customers (181 rows read)" in result.stdout


def bomb(path: Path, text_mb: int) -> None:
    """A gzip of `text_mb` MB of CSV that is about a thousandth of that on disk."""
    rows = "".join(f"K{i},{i},{i % 97},{i % 50}\n" for i in range(200)).encode()  # < 32 KB
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    with open(path, "wb") as handle:
        handle.write(packer.compress(b"customer_id,income,score,age\n"))
        for _ in range(text_mb * 2**20 // len(rows)):
            handle.write(packer.compress(rows))
        handle.write(packer.flush())


def test_a_gzip_that_expands_past_memory_stops_while_it_streams(tmp_path):
    bomb(tmp_path / "customers.csv.gz", 300)
    size = (tmp_path / "customers.csv.gz").stat().st_size
    assert size < 4 * 2**20, size  # about 1.8 MB: 160 times smaller than its text
    write_config(tmp_path, SMALL_CONFIG.replace("path: customers.csv", "path: customers.csv.gz"))
    result = run_cli("validate", "config.yaml", cwd=tmp_path,
                     env={"REPORTGEN_MEMORY_LIMIT": "600MB"})
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert "\n" not in line
    assert line.startswith(("error: data file customers.csv.gz expands to more than ",
                            "error: data file customers.csv.gz takes more memory to read "
                            "than this run can use")), line  # by its text, or by what it took
    assert "(REPORTGEN_MEMORY_LIMIT 600.0 MB less the " in line, line


@pytest.mark.parametrize("case", ["folder", "fifo", "device"])
def test_data_that_is_not_a_regular_file(tmp_path, case):
    target = {"folder": tmp_path / "dir.csv", "fifo": tmp_path / "pipe.csv",
              "device": Path("/dev/zero")}[case]
    if case == "folder":
        target.mkdir()
    elif case == "fifo":
        import os

        os.mkfifo(target)
    write_config(tmp_path, SMALL_CONFIG.replace("path: customers.csv", f"path: {target}"))
    result = run_cli("validate", "config.yaml", cwd=tmp_path)
    what = {"folder": "a folder", "fifo": "a named pipe", "device": "a device"}[case]
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: data.path: {target} is {what}, not a data file")


def test_a_parquet_whose_pandas_metadata_is_damaged(tmp_path):
    """Found by benchmarks/fuzz_readers.py: a flipped byte in the footer's JSON made
    pyarrow raise KeyError while rebuilding the pandas frame."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(padded_customers())
    meta = json.loads(table.schema.metadata[b"pandas"])
    for column in meta["columns"]:
        column.pop("pandas_type", None)
    pq.write_table(table.replace_schema_metadata({b"pandas": json.dumps(meta).encode()}),
                   tmp_path / "customers.parquet")
    outcome = read(tmp_path / "customers.parquet")
    assert isinstance(outcome, DataError)
    assert str(outcome) == ("data file customers.parquet is not a readable parquet file (its "
                            "pandas metadata is damaged: KeyError 'pandas_type'); export or "
                            "download it again")


@pytest.mark.parametrize(("offset", "value", "expected"), [
    (6, 143, "is damaged or is not a valid .zip file (zip file version 14.3)"),
    (10, 99, "is damaged or is not a valid .zip file (That compression method is not "
             "supported)"),
    (8, 1, "is a password-protected zip; unzip it, or zip the CSV again without a password"),
], ids=["zip version", "zip method", "encrypted zip"])
def test_a_zip_that_zipfile_cannot_open(tmp_path, offset, value, expected):
    """Found by benchmarks/fuzz_readers.py: zipfile says 'not supported' with
    NotImplementedError and 'encrypted' with RuntimeError, outside its BadZipFile."""
    import struct

    data = bytearray(zipped(text_file(padded_customers())))
    entry = data.rfind(b"PK\x01\x02")  # the central directory's record of the one file
    data[entry + offset:entry + offset + 2] = struct.pack("<H", value)
    (tmp_path / "customers.csv.zip").write_bytes(bytes(data))
    outcome = read(tmp_path / "customers.csv.zip")
    assert isinstance(outcome, DataError) and expected in str(outcome)


# ---- random and damaged bytes through every reader -----------------------------------------


def read(path: Path) -> pd.DataFrame | DataError:
    """The one reader step of a run: a table, or the DataError a run prints; nothing else."""
    data = DataSection.model_validate({"path": str(path), "id": "customer_id"})
    try:
        return read_frame(data, NEEDED, ["customer_id"])
    except DataError as exc:
        assert "\n" not in str(exc)
        return exc


FORMATS = sorted(WRITERS)


@pytest.fixture(scope="module")
def real_files() -> dict[str, bytes]:
    return {name: write(padded_customers()) for name, write in WRITERS.items()}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(FORMATS), content=st.binary(max_size=3000))
def test_random_bytes_in_any_format_are_a_table_or_one_line(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    outcome = read(path)
    event(f"{name}: {'table' if isinstance(outcome, pd.DataFrame) else 'clean error'}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(FORMATS), cut=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=3))
def test_a_real_file_cut_short_or_damaged_is_a_table_or_one_line(tmp_path, real_files, name,
                                                                  cut, flips):
    content = bytearray(real_files[name][: max(1, int(len(real_files[name]) * cut))])
    for where, bits in flips:
        content[int(where * (len(content) - 1))] ^= bits
    path = tmp_path / name
    path.write_bytes(bytes(content))
    outcome = read(path)
    if isinstance(outcome, pd.DataFrame):
        assert list(outcome.columns) == list(NEEDED)
    event(f"{name}: {'table' if isinstance(outcome, pd.DataFrame) else 'clean error'}")


def test_a_json_lines_file_that_is_not_json_is_one_line_naming_it(tmp_path):
    good = _json_lines(padded_customers()).decode().splitlines()
    config = project(tmp_path, "customers.jsonl", padded_customers())
    broken = [*good[:5], '{"customer_id": "x",', *good[5:]]
    (tmp_path / "customers.jsonl").write_text("\n".join(broken))
    done = run_cli("run", str(config))
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: data file customers.jsonl is damaged or is not a valid .jsonl")


def test_a_json_lines_file_without_a_configured_column_names_it(tmp_path):
    frame = padded_customers().drop(columns="score")
    config = project(tmp_path, "customers.jsonl", frame)
    done = run_cli("run", str(config))
    assert done.returncode == 2
    assert "'score'" in done.stderr and "features.numeric" in done.stderr
