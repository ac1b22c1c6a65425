"""The data stage: every supported format, delimiter detection, and errors that say the fix."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from reportgen.config.sources import DataSection
from reportgen.data.files import load_table
from reportgen.errors import DataError

FRAME = pd.DataFrame({"cid": ["a1", "a2", "a3"], "income": [10.5, 20.0, 30.25],
                      "Spending Score": [1, 2, 3], "city": ["Lyon", "Nîmes", "Köln"]})
COLUMNS = {"income": "features.numeric", "Spending Score": "features.numeric",
           "city": "features.profile"}


def section(path, **read) -> DataSection:
    return DataSection(path=path, id="cid", read=read)


def check_loaded(table) -> None:
    assert list(table.frame.columns) == list(COLUMNS)
    assert table.ids.tolist() == ["a1", "a2", "a3"]
    assert table.frame["income"].tolist() == [10.5, 20.0, 30.25]
    assert table.frame["city"].tolist() == ["Lyon", "Nîmes", "Köln"]
    assert len(table.sha256) == 64 and table.n_rows_read == 3


@pytest.mark.parametrize(("name", "sep"), [
    ("c.csv", ","), ("c.tsv", "\t"), ("c.txt", ";"), ("semicolon.csv", ";"), ("pipe.txt", "|"),
])
def test_text_files_with_any_common_delimiter(tmp_path, name, sep):
    FRAME.to_csv(tmp_path / name, sep=sep, index=False)
    check_loaded(load_table(section(tmp_path / name), COLUMNS))


def test_gzipped_csv(tmp_path):
    path = tmp_path / "c.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        FRAME.to_csv(handle, index=False)
    check_loaded(load_table(section(path), COLUMNS))


def test_parquet(tmp_path):
    FRAME.to_parquet(tmp_path / "c.parquet")
    check_loaded(load_table(section(tmp_path / "c.parquet"), COLUMNS))


def test_xlsx_with_a_named_sheet(tmp_path):
    path = tmp_path / "c.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Notes", index=False)
        FRAME.to_excel(writer, sheet_name="Customers", index=False)
    check_loaded(load_table(section(path, sheet="Customers"), COLUMNS))
    with pytest.raises(DataError, match=r"data\.read\.sheet"):
        load_table(section(path, sheet="Nope"), COLUMNS)


def test_latin1_file_needs_the_encoding_option(tmp_path):
    path = tmp_path / "c.csv"
    FRAME.to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(DataError) as caught:
        load_table(section(path), COLUMNS)
    assert "not valid utf-8" in str(caught.value) and "data.read.encoding" in str(caught.value)
    check_loaded(load_table(section(path, encoding="latin-1"), COLUMNS))


def test_missing_column_names_the_closest_ones(tmp_path):
    FRAME.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataError) as caught:
        load_table(section(tmp_path / "c.csv"), {"Income": "features.numeric"})
    message = str(caught.value)
    assert message.startswith("features.numeric: column 'Income' is not in c.csv")
    assert "did you mean 'income'" in message


def test_wrong_explicit_delimiter_says_which_to_set(tmp_path):
    FRAME.to_csv(tmp_path / "c.csv", sep=";", index=False)
    with pytest.raises(DataError) as caught:
        load_table(section(tmp_path / "c.csv", sep=","), COLUMNS)
    assert "looks ';'-separated" in str(caught.value)
    assert 'data.read.sep: ";"' in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_table(section(tmp_path / "nope.csv"), COLUMNS)


def test_unsupported_extension(tmp_path):
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(DataError, match=r"use a \.csv"):
        load_table(section(tmp_path / "c.json"), COLUMNS)


def test_empty_file_and_header_only(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_table(section(tmp_path / "empty.csv"), COLUMNS)
    (tmp_path / "header.csv").write_text("cid,income,Spending Score,city\n")
    with pytest.raises(DataError, match="header but no data rows"):
        load_table(section(tmp_path / "header.csv"), COLUMNS)


def test_duplicate_customer_ids_are_an_error(tmp_path):
    FRAME.assign(cid=["a1", "a2", "a1"]).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataError) as caught:
        load_table(section(tmp_path / "c.csv"), COLUMNS)
    assert "'a1' appears 2 times" in str(caught.value)


def test_rows_without_an_id_are_dropped_and_counted(tmp_path):
    FRAME.assign(cid=["a1", None, "a3"]).to_csv(tmp_path / "c.csv", index=False)
    table = load_table(section(tmp_path / "c.csv"), COLUMNS)
    assert table.ids.tolist() == ["a1", "a3"]
    assert table.dropped == {"missing customer id": 1}
    assert table.n_rows_read == 3


def test_without_an_id_column_rows_are_numbered(tmp_path):
    FRAME.to_csv(tmp_path / "c.csv", index=False)
    table = load_table(DataSection(path=tmp_path / "c.csv"), COLUMNS)
    assert table.ids.tolist() == [1, 2, 3]
