"""Reading the configured source into a Spark DataFrame of the columns the run needs.

A path is whatever Spark reads (a file, a folder of part files, s3a://, hdfs://), by its
kind: parquet, or delimited text read as text, so that ids and invoice numbers stay exactly
as written and numbers are converted where a stage needs them, as the pandas reader does.
A table is read from the session's catalog. The values pandas reads as missing (NA, NULL,
N/A, ...) are missing here too, so both engines drop and count the same lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reportgen.config.sources import DataSection
from reportgen.data.files import check_columns, text_layout
from reportgen.engines.spark.columns import column as column_of
from reportgen.engines.spark.columns import quoted
from reportgen.engines.spark.session import failure_reason
from reportgen.errors import DataError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

# pandas' default missing-value markers (read_csv's na_values), as text.
NA_TEXT = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
           "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


LINE_KEY = "__reportgen_line"  # a hash of the whole line, beside the needed columns


def read_rows(spark: SparkSession, data: DataSection, needed: dict[str, str],
              whole_lines: bool = False) -> DataFrame:
    """The needed columns, in that order; a missing one named with the key that asked.
    With `whole_lines`, also LINE_KEY: a 64-bit hash of every column of the line as
    read, so that a duplicate is a repeat of the whole line, as on the pandas engine."""
    from pyspark.sql import functions as F

    frame = _source(spark, data)
    check_columns(needed, list(frame.columns), Path(data.source_name))  # named by it
    columns: list[str | Column] = [quoted(c) for c in needed]
    if whole_lines:
        every = [F.coalesce(column_of(c).cast("string"), F.lit("\u0000")) for c in frame.columns]
        columns.append(F.xxhash64(*every).alias(LINE_KEY))
    return _missing_as_null(frame.select(*columns))


def _source(spark: SparkSession, data: DataSection) -> DataFrame:
    try:
        if data.table is not None:
            return spark.table(data.table)
        location = data.location
        assert location is not None
        if _is_parquet(location):
            return spark.read.parquet(location)
        if location.rstrip("/").lower().endswith(JSON_ENDINGS):
            return spark.read.option("primitivesAsString", True).json(location)
        return _read_text(spark, data, location)
    except DataError:
        raise
    except Exception as exc:  # AnalysisException: path or table not found, unreadable
        what = f"table {data.table}" if data.table else f"data.path {data.location}"
        raise DataError(f"{what}: Spark cannot read it ({failure_reason(exc)}); check the "
                        "path or table name and that every executor can reach it") from exc


JSON_ENDINGS = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")  # as text, like CSV
TEXT_ENDINGS = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz", ".csv.bz2",
                *JSON_ENDINGS)


def _is_parquet(location: str) -> bool:
    """By name for a file or a URL (a URL folder without a text ending: parquet, what
    Spark jobs write); a local folder by its part files."""
    name = location.rstrip("/").lower()
    if name.endswith(".parquet"):
        return True
    local = Path(location)
    if local.is_dir():
        parts = _parts(local)
        return bool(parts) and all(p.name.lower().endswith(".parquet") for p in parts)
    return not local.exists() and not name.endswith(TEXT_ENDINGS)


def _parts(folder: Path) -> list[Path]:
    """A folder's data files, as Spark reads them (not _SUCCESS, .crc or hidden files)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not p.name.startswith((".", "_")))


def _read_text(spark: SparkSession, data: DataSection, location: str) -> DataFrame:
    options = data.read
    if options.sep == "whitespace":
        raise DataError("data.read.sep: whitespace-aligned files are read by engine: pandas "
                        "only; convert the file to CSV or parquet for engine: spark")
    sep = options.sep or _local_separator(location)
    reader = (spark.read.option("header", options.columns is None).option("sep", sep)
              .option("encoding", options.encoding).option("quote", '"')
              .option("escape", '"').option("multiLine", "false")
              .option("mode", "FAILFAST").option("nullValue", None))
    frame = reader.csv(location)
    if options.columns is not None:
        frame = frame.toDF(*options.columns)
    return frame


def _local_separator(location: str) -> str:
    """A local file's delimiter as the pandas reader finds it (a folder's: its first part
    file's); a URL: a comma, unless data.read.sep says otherwise."""
    path = Path(location)
    if path.is_dir():
        parts = _parts(path)
        path = parts[0] if parts else path
    if path.is_file():
        return text_layout(path, None, None).sep
    return ","


def _missing_as_null(frame: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    columns = []
    for field in frame.schema.fields:
        column = column_of(field.name)
        if isinstance(field.dataType, StringType):
            column = F.when(column.isin(list(NA_TEXT)), F.lit(None)).otherwise(column)
        columns.append(column.alias(field.name))
    return frame.select(*columns)
