"""CSV cells a spreadsheet would run as formulas (CSV injection), neutralised and restored.

segments.csv is opened in Excel by the people the report is for, and its ids and persona
names come from customer data and configs. A value starting with = + - @ (or a tab or
carriage return) is written with a leading apostrophe; reportgen strips it again when it
reads its own file back (month-over-month migration), so ids still match.
"""

from __future__ import annotations

import pandas as pd

FORMULA_MARKS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as a formula
PLAIN_NUMBER = r"[+-]?\d+(?:\.\d+)?"


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Text that Excel or LibreOffice would run as a formula gets a leading apostrophe
    (shown as text, the OWASP advice for CSV injection). Numbers are left alone."""
    if pd.api.types.is_numeric_dtype(values):
        return values
    text = values.astype("string")
    risky = text.str.startswith(FORMULA_MARKS).fillna(False)
    if risky.any():  # a plain signed number (an id -17850) is a number to Excel, not a formula
        risky &= ~text.str.fullmatch(PLAIN_NUMBER).fillna(False)
    return text.where(~risky, "'" + text)


def restore_formulas(values: pd.Series) -> pd.Series:
    """The inverse of neutralise_formulas, for reading our own CSV back."""
    text = values.astype("string")
    marked = text.str.startswith(tuple("'" + m for m in FORMULA_MARKS)).fillna(False)
    marked &= ~text.str.slice(1).str.fullmatch(PLAIN_NUMBER).fillna(False)
    return text.where(~marked, text.str.slice(1))
