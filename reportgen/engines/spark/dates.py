"""Dates on Spark, read by the pandas engine's own parser once per distinct text.

A date column holds few distinct texts however many rows it has (a day, or a timestamp to
the minute, for every order), so the texts are collected, read by data/transactions.py's
read_dates, and joined back to the rows as a small broadcast table: both engines read a
date the same way, whatever its format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from reportgen.data.transactions import check_dates, read_dates

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession


def read_distinct_dates(values: pd.Series, column: str, dayfirst: bool) -> pd.Series:
    """The distinct texts of a date column as dates; one that is present but cannot be
    read is refused in the pandas engine's words, less its row number, which a set of
    distinct values does not have."""
    parsed = read_dates(values, dayfirst)
    check_dates(values, parsed, column, dayfirst, np.ones(len(values), dtype=bool),
                rows=False)
    return parsed


def text_lookup(spark: SparkSession, values: pd.Series, columns: Mapping[str, np.ndarray],
                schema: str) -> Callable[[DataFrame, Column], DataFrame]:
    """What was read from each distinct text (`columns`, with `schema` naming the text
    column first), joined to rows by their text as a broadcast table."""
    from pyspark.sql import functions as F

    key = schema.split()[0]
    cells = [[None if x != x else x for x in c.tolist()] for c in columns.values()]  # NaN
    table = spark.createDataFrame(list(zip(values.tolist(), *cells, strict=True)), schema)

    def joined(rows: DataFrame, text: Column) -> DataFrame:
        return rows.join(F.broadcast(table), text == F.col(key), "left").drop(key)

    return joined
