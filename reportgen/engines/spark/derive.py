"""`derive:` on Spark: each derived column a Spark expression over every row.

The expressions are the config's safe ones (config/expressions.py), turned into Spark
columns by columns.to_column with data/derive.py's meaning, and refused where derive.py
refuses them, in its words: a column that holds text where a number is expected, a log()
of a value <= 0, a date that cannot be read. Those checks are one aggregation over the rows
with an id (the rows the pandas engine derives on); year() and days_since() read each
distinct date text with the pandas engine's parser (dates.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from reportgen.config.expressions import Node, parse
from reportgen.config.schema import Config
from reportgen.data.customers import unknown_level
from reportgen.engines.spark.collect import to_pandas
from reportgen.engines.spark.columns import column as column_of
from reportgen.engines.spark.columns import number, to_column
from reportgen.engines.spark.dates import read_distinct_dates, text_lookup
from reportgen.errors import DataError, ExpressionError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

DATE_FUNCTIONS = ("year", "days_since")


@dataclass(frozen=True)
class _Check:
    """Something derive.py would refuse, met where its evaluation would meet it."""

    name: str  # the derived column
    kind: str  # "text": a column read as a number; "log": a log()'s argument
    column: str = ""
    argument: Node | None = None


def with_ranks(rows: DataFrame, ordinal: dict[str, list[str]], present: Column) -> DataFrame:
    """Each ordinal column's values replaced by their rank on Spark, as
    data/customers.ranked does; a value not among the levels refused in its words."""
    from pyspark.sql import functions as F

    for column, levels in ordinal.items():
        text = F.trim(column_of(column).cast("string"))
        rank = F.create_map(*[x for i, level in enumerate(levels, start=1)
                              for x in (F.lit(level), F.lit(float(i)))])[text]
        bad = rows.where(present & text.isNotNull() & (text != "") & rank.isNull()).select(
            text).first()
        if bad is not None:
            raise unknown_level(column, bad[0], levels, "and perhaps other rows")
        rows = rows.withColumn(column, rank)
    return rows


def with_derived(spark: SparkSession, rows: DataFrame, config: Config,
                 present: Column) -> DataFrame:
    """`rows` with the derived columns added (as doubles), once their inputs passed the
    checks over the rows where `present` holds."""
    if not config.derive:
        return rows
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, NumericType

    nodes = {name: _parsed(name, text) for name, text in config.derive.items()}
    rows, dates = _with_dates(spark, rows, nodes, present, config)

    def date_of(function: str, column: str) -> Column:
        return F.col(dates[(function, column)])

    kinds = {f.name: f.dataType for f in rows.schema.fields}
    # A derived column may replace a source column of its name (income: income * 1000);
    # the checks read the source as it was.
    sources = {name: f"__source{i}" for i, name in enumerate(nodes) if name in kinds}
    for name, kept in sources.items():
        rows = rows.withColumn(kept, column_of(name))
    for name, node in nodes.items():  # later expressions read earlier results
        rows = rows.withColumn(name, to_column(node, date_of).cast("double"))
    checks = [c for c in _checks(nodes) if c.kind == "log" or not isinstance(
        kinds.get(c.column), NumericType | BooleanType)]
    if checks:
        _refuse_what_derive_refuses(rows, checks, present, date_of, sources)
    return rows.drop(*dates.values(), *sources.values())


def _parsed(name: str, text: str) -> Node:
    try:
        return parse(text)
    except ExpressionError as exc:
        raise DataError(f"derive.{name}: {exc}") from exc


def _checks(nodes: dict[str, Node]) -> list[_Check]:
    """In the order data/derive.py evaluates: expression by expression, each argument
    before the operation on it; a column derived earlier is a number already."""
    found: list[_Check] = []
    earlier: set[str] = set()
    for name, node in nodes.items():
        found += _walk(name, node, earlier)
        earlier.add(name)
    return found


def _walk(name: str, node: Node, earlier: set[str]) -> Iterator[_Check]:
    if node.kind == "column":
        if str(node.value) not in earlier:
            yield _Check(name, "text", column=str(node.value))
        return
    if node.kind == "call" and node.value in DATE_FUNCTIONS:
        return
    for arg in node.args:
        yield from _walk(name, arg, earlier)
    if node.kind == "call" and node.value == "log":
        yield _Check(name, "log", argument=node.args[0])


def _refuse_what_derive_refuses(rows: DataFrame, checks: list[_Check], present: Column,
                                date_of: Callable[[str, str], Column],
                                sources: dict[str, str]) -> None:
    """One pass counts every problem; the first in evaluation order is reported, with an
    example read by a second, small query."""
    from pyspark.sql import functions as F

    conditions = []
    for check in checks:
        if check.kind == "text":
            source = sources.get(check.column, check.column)
            raw = column_of(source)
            conditions.append(present & raw.isNotNull() & number(source).isNull()
                              & (F.trim(raw.cast("string")) != ""))
        else:
            assert check.argument is not None
            conditions.append(present & (to_column(check.argument, date_of) <= 0))
    counted = rows.agg(*[F.count(F.when(c, 1)).alias(f"c{i}")
                         for i, c in enumerate(conditions)]).first()
    assert counted is not None
    for i, check in enumerate(checks):
        if not counted[f"c{i}"]:
            continue
        if check.kind == "text":
            example = rows.where(conditions[i]).select(
                column_of(sources.get(check.column, check.column)).cast("string")).first()
            shown = example[0] if example is not None else ""
            raise DataError(f"derive.{check.name}: column {check.column!r} is not numeric "
                            f"(e.g. {shown!r}); use year() or days_since() for dates")
        assert check.argument is not None
        lowest = rows.where(conditions[i]).agg(
            F.min(to_column(check.argument, date_of))).first()
        value = float(lowest[0]) if lowest is not None and lowest[0] is not None else 0.0
        raise DataError(f"derive.{check.name}: log() of a value <= 0 ({value:g}); write "
                        "log(1 + x) for counts and amounts that can be 0")


def _with_dates(spark: SparkSession, rows: DataFrame, nodes: dict[str, Node], present: Column,
                config: Config) -> tuple[DataFrame, dict[tuple[str, str], str]]:
    """year() and days_since() of each date column the expressions name, joined to the
    rows from a table of its distinct texts."""

    wanted = sorted({str(n.args[0].value) for node in nodes.values() for n in _calls(node)})
    names: dict[tuple[str, str], str] = {}
    if not wanted:
        return rows, names
    as_of = config.data.as_of or dt.date.today()
    for i, column in enumerate(wanted):
        text = column_of(column).cast("string")
        distinct = to_pandas(rows.where(present & text.isNotNull()).select(
            text.alias("text")).distinct())
        values = pd.Series(sorted(distinct["text"].tolist()), dtype="string")
        try:
            parsed = read_distinct_dates(values, column, config.data.read.dayfirst)
        except DataError as exc:
            users = [n for n, node in nodes.items()
                     if any(str(c.args[0].value) == column for c in _calls(node))]
            raise DataError(f"derive.{users[0]}: {exc}") from exc
        days = (pd.Timestamp(as_of) - parsed.dt.normalize()).dt.days
        year, since = f"__year{i}", f"__days{i}"
        lookup = text_lookup(spark, values, {
            year: parsed.dt.year.astype("float64").to_numpy(),
            since: days.astype("float64").to_numpy()},
            f"__text{i} string, {year} double, {since} double")
        rows = lookup(rows, text)
        names[("year", column)], names[("days_since", column)] = year, since
    return rows, names


def _calls(node: Node) -> Iterator[Node]:
    if node.kind == "call" and node.value in DATE_FUNCTIONS:
        yield node
    for arg in node.args:
        yield from _calls(arg)


__all__ = ["with_derived"]
