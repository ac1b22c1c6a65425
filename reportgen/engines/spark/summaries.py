"""What the profiles and the histograms are made of, summed on Spark, however many
customers there are: a few numbers a segment and column come back to the driver.

1. One aggregation rolled up by segment (each segment, then everyone): each numeric
   column's mean, median and the mean and spread on its z-score scale
   (model/profile.Summaries) and, for the histogram columns, the 0.5th and 99.5th
   percentiles and the extremes the bins' edges are drawn from
   (report/chartdata.edges_between).
2. One grouping a column, by segment: each categorical column's value counts and each
   histogram column's customers a bin (model/population.BinCounts).

Measured on 10M customers x 8 columns, local[2], the labelled rows persisted: 52 s and
25 s. The layout these replaced (everyone apart from the segments, the bins' ends apart,
and the bins counted by one count(when(...)) a column and bin, 120 aggregates in one
pass), on rows labelled afresh at each pass, took 258 s. Laying every row's values out
one a row (explode, grouping sets) or grouping by several columns at once measured 2 to
12 times slower than a grouping a column (docs/scaling.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from reportgen.engines.spark.columns import column as column_of
from reportgen.engines.spark.columns import number
from reportgen.engines.spark.features import APPROX_ACCURACY, EXACT_ROWS
from reportgen.model.population import HISTOGRAM_BINS, BinCounts, edges_between
from reportgen.model.profile import ColumnSummary, GroupSummary, Summaries

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

EVERYONE = 0
ENDS = (0.005, 0.995)  # the histogram's edges lie between these percentiles


def summarize(rows: DataFrame, segment: str, numeric: Sequence[str],
              categorical: Sequence[str], logged: Sequence[str], binned: Sequence[str],
              n: int) -> tuple[Summaries, dict[str, BinCounts]]:
    """`rows`: one a customer, with the stable segment id in column `segment` (never 0,
    everyone's). `logged`: the columns described on log(1 + x), whose bins are too;
    `binned`: the numeric columns with a histogram."""
    stats = _rolled_up(rows, segment, numeric, set(logged), set(binned), exact=n <= EXACT_ROWS)
    edges = {c: _edges(stats[EVERYONE], c, c in logged) for c in binned}
    counts = _counts(rows, segment, categorical, edges)
    groups = {group: _group(found, numeric, categorical, counts, group)
              for group, found in stats.items()}
    bins = {c: BinCounts(edges[c], _bins(counts, c, stats)) for c in binned}
    return Summaries(groups), bins


def _rolled_up(rows: DataFrame, segment: str, numeric: Sequence[str], logged: set[str],
               binned: set[str], exact: bool) -> dict[int, dict[str, Any]]:
    """Pass 1: group -> what was found, by name."""
    from pyspark.sql import functions as F

    aggregates: list[Column] = [F.count(F.lit(1)).alias("__size")]
    for column in numeric:
        value = number(column)
        scale = F.log1p(value) if column in logged else value
        wanted = [0.5, *ENDS] if column in binned else [0.5]
        quantiles = (F.percentile(value, wanted) if exact
                     else F.percentile_approx(value, wanted, APPROX_ACCURACY))
        aggregates += [F.mean(value).alias(f"mean:{column}"),
                       quantiles.alias(f"q:{column}"),
                       F.mean(scale).alias(f"scale_mean:{column}"),
                       F.stddev_pop(scale).alias(f"scale_std:{column}")]
        if column in binned:
            aggregates += [F.min(value).alias(f"min:{column}"),
                           F.max(value).alias(f"max:{column}")]
    grouped = rows.select(F.col(segment).alias("__segment"),
                          *[column_of(c) for c in numeric]).rollup("__segment")
    found = grouped.agg(F.grouping("__segment").alias("__everyone"), *aggregates).collect()
    return {EVERYONE if row["__everyone"] else int(row["__segment"]): row.asDict()
            for row in found}


def _edges(everyone: Mapping[str, Any], column: str, logged: bool) -> np.ndarray:
    _, low, high = everyone[f"q:{column}"]
    return edges_between(float(low), float(high), float(everyone[f"min:{column}"]),
                         float(everyone[f"max:{column}"]), logged)


def category_text(rows: DataFrame, column: str) -> Column:
    """A category as text the way the pandas engine writes it (model/profile.py): a code
    stored as a number is "2", not "2.0"."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    value = column_of(column)
    if not isinstance(rows.schema[column].dataType, NumericType):
        return value.cast("string")
    whole = value == F.floor(value)
    return F.when(whole, value.cast("long").cast("string")).otherwise(value.cast("string"))


def _counts(rows: DataFrame, segment: str, categorical: Sequence[str],
            edges: Mapping[str, np.ndarray]) -> dict[tuple[int, str], dict[str, int]]:
    """Pass 2, one grouping a column: (group, column) -> value (a category, or a bin's
    index) -> customers, for each segment and everyone (the segments' sums). A bin i holds
    edges[i] <= x < edges[i + 1]; the last also its end, and the values beyond the edges
    go in the end bins (model/population.count_bins)."""
    from pyspark.sql import functions as F

    values = {c: _bin_index(number(c), edges[c]) for c in edges}
    values.update({c: category_text(rows, c) for c in categorical})
    out: dict[tuple[int, str], dict[str, int]] = {}
    for column, value in values.items():
        grouped = rows.where(value.isNotNull()).groupBy(F.col(segment).alias("s"),
                                                        value.alias("v")).count()
        for row in grouped.collect():
            for key in ((int(row["s"]), column), (EVERYONE, column)):
                counted = out.setdefault(key, {})
                value_of = str(row["v"])
                counted[value_of] = counted.get(value_of, 0) + int(row["count"])
    return out


def _bin_index(value: Column, edges: np.ndarray) -> Column:
    from pyspark.sql import functions as F

    index = sum(((value >= float(e)).cast("int") for e in edges[1:-1]), F.lit(0))
    return F.when(value.isNotNull(), index)


def _group(found: Mapping[str, Any], numeric: Sequence[str], categorical: Sequence[str],
           counts: Mapping[tuple[int, str], Mapping[str, int]], group: int) -> GroupSummary:
    def value(name: str) -> float:
        return float("nan") if found[name] is None else float(found[name])

    def median(column: str) -> float:
        quantiles = found[f"q:{column}"]
        return float("nan") if quantiles is None else float(quantiles[0])

    summaries = {c: ColumnSummary(value(f"mean:{c}"), median(c), value(f"scale_mean:{c}"),
                                  value(f"scale_std:{c}")) for c in numeric}
    mixes = {c: _by_count(counts.get((group, c), {})) for c in categorical}
    return GroupSummary(int(found["__size"]), summaries, mixes)


def _bins(counts: Mapping[tuple[int, str], Mapping[str, int]], column: str,
          groups: Mapping[int, object]) -> dict[int, np.ndarray]:
    out = {}
    for group in groups:
        counted = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
        for index, n in counts.get((group, column), {}).items():
            counted[int(index)] = n
        out[group] = counted
    return out


def _by_count(values: Mapping[str, int]) -> dict[str, int]:
    """Most frequent first, ties in text order: the order pandas' value_counts gives."""
    return dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))
