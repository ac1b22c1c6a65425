"""Dates on Spark, read by the pandas engine's own parser once per distinct text.

A date column holds few distinct texts however many rows it has (a day, or a timestamp to
the minute, for every order), so the texts are collected, read by data/transactions.py's
read_dates, and joined back to the rows as a small broadcast table: both engines read a
date the same way, whatever its format.
"""

from __future__ import annotations

import pandas as pd

from reportgen.data.transactions import read_dates
from reportgen.errors import DataError


def read_distinct_dates(values: pd.Series, column: str, dayfirst: bool) -> pd.Series:
    """The distinct texts of a date column as dates; one that is present but cannot be
    read is refused in the pandas engine's words, less its row number, which a set of
    distinct values does not have."""
    parsed = read_dates(values, dayfirst)
    text = values.astype("string").str.strip()
    unread = (text.notna() & (text != "") & parsed.isna()).to_numpy()
    if unread.any():
        raise DataError(
            f"column {column!r} holds a date that cannot be read: {values[unread].iloc[0]!r}; "
            f"check data.read.dayfirst (now {str(dayfirst).lower()}) or fix the value")
    return parsed
