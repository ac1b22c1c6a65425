"""The config's safe expressions (config/expressions.py) as Spark columns: the same
arithmetic as data/derive.py, evaluated by Spark on every row, no Python per row."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from reportgen.config.expressions import COMPARISONS, Node
from reportgen.errors import ExpressionError

if TYPE_CHECKING:
    from pyspark.sql import Column


def quoted(name: str) -> str:
    """A column name as Spark SQL reads it whatever it holds (spaces, dots, backticks)."""
    return "`" + name.replace("`", "``") + "`"


def column(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col(quoted(name))


def number(name: str) -> Column:
    """A column as a double: text that is not a number becomes missing, as pandas'
    to_numeric(errors='coerce') makes it (the callers count and report those)."""
    return column(name).try_cast("double")


def to_column(node: Node, dates: Callable[[str, str], Column] | None = None) -> Column:
    """`node` as a Spark column, with data/derive.py's meaning: a comparison with a missing
    value is false (0; `!=` true), a division by zero and a log of a value <= 0 missing
    (derive.py refuses the log; the callers check first). `dates(function, column)` gives
    year() and days_since() of a date column, where the caller has joined them."""
    from pyspark.sql import functions as F

    if node.kind == "number":
        return F.lit(float(node.value))  # type: ignore[arg-type]
    if node.kind == "column":
        return number(str(node.value))
    if node.kind == "unary":
        return -to_column(node.args[0], dates)
    if node.kind == "binary":
        left, right = (to_column(arg, dates) for arg in node.args)
        op = str(node.value)
        if op in COMPARISONS:
            compared = {"<": left < right, "<=": left <= right, ">": left > right,
                        ">=": left >= right, "==": left == right, "!=": left != right}[op]
            return F.coalesce(compared, F.lit(op == "!=")).cast("double")
        if op == "/":  # division by zero gives a missing value, as in derive.py
            return F.when(right != 0, left / right)
        return {"+": left + right, "-": left - right, "*": left * right}[op]
    return _call(node, dates)


def _call(node: Node, dates: Callable[[str, str], Column] | None) -> Column:
    from pyspark.sql import functions as F

    name = str(node.value)
    if name in ("year", "days_since"):
        if dates is None:
            raise ExpressionError(f"{name}() in transactions.amount is read by engine: pandas "
                                  "only; compute it with derive: instead")
        return dates(name, str(node.args[0].value))
    values = [to_column(arg, dates) for arg in node.args]
    if name == "abs":
        return F.abs(values[0])
    if name == "log":
        return F.when(values[0] > 0, F.log(values[0]))
    if len(values) == 1:
        return values[0]
    return F.least(*values) if name == "min" else F.greatest(*values)
