"""What the profiles and the histograms are made of, summed on Spark: per segment and for
everyone, each numeric column's mean, median and the mean and spread on its z-score scale,
each categorical column's value counts (model/profile.Summaries), and the customers in
each histogram bin (report/chartdata.BinCounts). What comes back is a few numbers a
segment and column, however many customers there are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from reportgen.engines.spark.columns import column as column_of
from reportgen.engines.spark.columns import number
from reportgen.engines.spark.features import APPROX_ACCURACY, EXACT_ROWS
from reportgen.model.profile import ColumnSummary, GroupSummary, Summaries
from reportgen.report.chartdata import HISTOGRAM_BINS, BinCounts, edges_between

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

EVERYONE = 0


def summarize(rows: DataFrame, segment: str, numeric: Sequence[str],
              categorical: Sequence[str], logged: Sequence[str], n: int) -> Summaries:
    """`rows`: one a customer, with the stable segment id in column `segment`."""
    from pyspark.sql import functions as F

    columns = _numeric_aggregates(numeric, set(logged), exact=n <= EXACT_ROWS)
    by_segment = rows.groupBy(F.col(segment).alias("__segment")).agg(
        F.count(F.lit(1)).alias("__size"), *columns).collect()
    everyone = rows.agg(F.count(F.lit(1)).alias("__size"), *columns).collect()
    counts = _counts(rows, segment, categorical)
    groups = {EVERYONE: _group(everyone[0], numeric, categorical, counts, EVERYONE)}
    for row in by_segment:
        groups[int(row["__segment"])] = _group(row, numeric, categorical, counts,
                                               int(row["__segment"]))
    return Summaries(groups)


def _numeric_aggregates(numeric: Sequence[str], logged: set[str], exact: bool) -> list[Column]:
    from pyspark.sql import functions as F

    out = []
    for column in numeric:
        value = number(column)
        scale = F.log1p(value) if column in logged else value
        median = (F.percentile(value, 0.5) if exact
                  else F.percentile_approx(value, 0.5, APPROX_ACCURACY))
        out += [F.mean(value).alias(f"mean:{column}"), median.alias(f"median:{column}"),
                F.mean(scale).alias(f"scale_mean:{column}"),
                F.stddev_pop(scale).alias(f"scale_std:{column}")]
    return out


def _counts(rows: DataFrame, segment: str, categorical: Sequence[str]
            ) -> dict[tuple[int, str], dict[str, int]]:
    """(segment, column) -> value -> customers; everyone's are the segments' sums."""
    from pyspark.sql import functions as F

    out: dict[tuple[int, str], dict[str, int]] = {}
    for column in categorical:
        text = column_of(column).cast("string")
        for row in rows.where(text.isNotNull()).groupBy(
                F.col(segment).alias("s"), text.alias("v")).count().collect():
            for key in ((int(row["s"]), column), (EVERYONE, column)):
                values = out.setdefault(key, {})
                values[row["v"]] = values.get(row["v"], 0) + int(row["count"])
    return out


def _group(row: object, numeric: Sequence[str], categorical: Sequence[str],
           counts: dict[tuple[int, str], dict[str, int]], group: int) -> GroupSummary:
    def value(name: str) -> float:
        found = row[name]  # type: ignore[index]
        return float("nan") if found is None else float(found)

    summaries = {c: ColumnSummary(value(f"mean:{c}"), value(f"median:{c}"),
                                  value(f"scale_mean:{c}"), value(f"scale_std:{c}"))
                 for c in numeric}
    mixes = {c: _by_count(counts.get((group, c), {})) for c in categorical}
    return GroupSummary(int(row["__size"]), summaries, mixes)  # type: ignore[index]


def _by_count(values: dict[str, int]) -> dict[str, int]:
    """Most frequent first, ties in text order: the order pandas' value_counts gives."""
    return dict(sorted(values.items(), key=lambda item: (-item[1], item[0])))


def count_bins(rows: DataFrame, segment: str, numeric: Sequence[str], logged: Sequence[str],
               n: int) -> dict[str, BinCounts]:
    """Each numeric clustering column's histogram (report/chartdata.count_bins) on Spark:
    the edges from its 0.5th and 99.5th percentiles, then one pass counting the customers
    of each segment in each bin (values beyond the edges in the end bins)."""
    from pyspark.sql import functions as F

    if not numeric:
        return {}
    exact = n <= EXACT_ROWS
    ends = rows.agg(*[
        (F.percentile(number(c), [0.005, 0.995]) if exact else
         F.percentile_approx(number(c), [0.005, 0.995], APPROX_ACCURACY)).alias(f"q:{c}")
        for c in numeric], *[F.min(number(c)).alias(f"min:{c}") for c in numeric],
        *[F.max(number(c)).alias(f"max:{c}") for c in numeric]).first()
    assert ends is not None
    edges = {c: edges_between(float(ends[f"q:{c}"][0]), float(ends[f"q:{c}"][1]),
                              float(ends[f"min:{c}"]), float(ends[f"max:{c}"]), c in logged)
             for c in numeric}
    indices: list[Column] = []
    for column in numeric:  # bin i holds edges[i] <= x < edges[i + 1]; the last, x = end
        value = number(column)
        index = sum(((value >= float(e)).cast("int") for e in edges[column][1:-1]), F.lit(0))
        indices.append(F.when(value.isNotNull(), index).alias(f"b{len(indices)}"))
    binned = rows.select(F.col(segment).alias("s"), *indices)
    counted = binned.groupBy("s").agg(*[  # one pass: every column's bins at once
        F.count(F.when(F.col(f"b{j}") == b, 1)).alias(f"{j}:{b}")
        for j in range(len(numeric)) for b in range(HISTOGRAM_BINS)]).collect()
    out = {}
    for j, column in enumerate(numeric):
        counts: dict[int, np.ndarray] = {EVERYONE: np.zeros(HISTOGRAM_BINS, dtype=np.int64)}
        for row in counted:
            group = np.array([int(row[f"{j}:{b}"]) for b in range(HISTOGRAM_BINS)])
            counts[int(row["s"])] = group
            counts[EVERYONE] = counts[EVERYONE] + group
        out[column] = BinCounts(edges[column], counts)
    return out
