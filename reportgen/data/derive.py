"""Evaluating parsed expressions (expressions.py) on the columns of a DataFrame."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reportgen.config.expressions import COMPARISONS, Node
from reportgen.errors import ExpressionError


@dataclass(frozen=True)
class Context:
    """What evaluation needs besides the columns: how to read dates and the reference day."""

    as_of: dt.date
    parse_dates: Callable[[pd.Series, str], pd.Series]


BINARY: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def evaluate(node: Node, frame: pd.DataFrame, context: Context) -> pd.Series | float:
    if node.kind == "number":
        return float(node.value)  # type: ignore[arg-type]
    if node.kind == "column":
        return _numeric_column(frame, str(node.value))
    if node.kind == "unary":
        return -evaluate(node.args[0], frame, context)
    if node.kind == "binary":
        left, right = (evaluate(arg, frame, context) for arg in node.args)
        if node.value == "/":
            right = _no_zero(right)
        result = BINARY[str(node.value)](left, right)
        return result.astype(float) if node.value in COMPARISONS else result
    return _call(node, frame, context)


def _call(node: Node, frame: pd.DataFrame, context: Context) -> pd.Series | float:
    name = str(node.value)
    if name in ("year", "days_since"):
        column = str(node.args[0].value)
        dates = context.parse_dates(frame[column], column)
        if name == "year":
            return dates.dt.year.astype(float)
        return (pd.Timestamp(context.as_of) - dates.dt.normalize()).dt.days.astype(float)
    values = [evaluate(arg, frame, context) for arg in node.args]
    if name == "abs":
        return np.abs(values[0])
    if name == "log":
        return _log(values[0])
    stacked = pd.concat([_as_series(v, frame) for v in values], axis=1)
    return stacked.min(axis=1) if name == "min" else stacked.max(axis=1)


def _numeric_column(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if not pd.api.types.is_numeric_dtype(values):
        converted = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & converted.isna()
        if bad.any():
            example = values[bad].iloc[0]
            raise ExpressionError(f"column {column!r} is not numeric (e.g. {example!r}); "
                                  "use year() or days_since() for dates")
        values = converted
    return values.astype(float)


def _no_zero(value: pd.Series | float) -> pd.Series | float:
    """Division by zero gives a missing value (imputed or dropped later), not infinity."""
    if isinstance(value, pd.Series):
        return value.where(value != 0)
    return np.nan if value == 0 else value


def _log(value: pd.Series | float) -> pd.Series | float:
    series = value if isinstance(value, pd.Series) else pd.Series([value])
    bad = series.notna() & (series <= 0)
    if bad.any():
        raise ExpressionError(f"log() of a value <= 0 ({series[bad].iloc[0]:g}); "
                              "write log(1 + x) for counts and amounts that can be 0")
    result = np.log(series)
    return result if isinstance(value, pd.Series) else float(result.iloc[0])


def _as_series(value: pd.Series | float, frame: pd.DataFrame) -> pd.Series:
    return value if isinstance(value, pd.Series) else pd.Series(value, index=frame.index)


def derive_columns(frame: pd.DataFrame, expressions: Mapping[str, Node],
                   context: Context) -> pd.DataFrame:
    """Add each derived column in order; later expressions may use earlier results."""
    frame = frame.copy()
    for name, node in expressions.items():
        result = evaluate(node, frame, context)
        frame[name] = _as_series(result, frame).astype(float)
    return frame
