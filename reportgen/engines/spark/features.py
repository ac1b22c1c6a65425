"""The features stage's fitted numbers computed by Spark over every row, and the matrix
as Spark columns: what model/features.py fits with scikit-learn on one machine.

`fit_preprocessing` gives the same Preprocessing (model/features.py) that scikit-learn's
transformer gives on the same rows: medians and quartiles by Spark's exact `percentile`
(linear interpolation, as NumPy's) up to EXACT_ROWS rows and by `percentile_approx`
(rank error below one in ten thousand) beyond, where an exact percentile would hold every
distinct value in one task; means, standard deviations, minima and maxima exact; the
categorical dummies' fill (the mode), categories and weights from the value counts.
`matrix_columns` then applies it on the executors, so the next period's saved model and
this period's matrix are the same numbers on either engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from reportgen.config.schema import FeaturesSection
from reportgen.engines.spark.columns import column as column_of
from reportgen.engines.spark.columns import number
from reportgen.model.features import (
    CategoricalStep,
    NumericStep,
    Preprocessing,
    category_weight,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

EXACT_ROWS = 2_000_000
APPROX_ACCURACY = 10_000  # rank error 1e-4: the same fills as 1e6 on 10M rows, 5x faster


def fit_preprocessing(rows: DataFrame, spec: FeaturesSection) -> Preprocessing:
    """The features' fill, log and scaling numbers (and the dummies') from all rows."""
    n = rows.count()
    logged = set(spec.log or [])
    order = [c for c in spec.numeric if c in logged] + [c for c in spec.numeric
                                                         if c not in logged]
    fills = _percentiles(rows, {c: number(c) for c in order}, [0.5], n)
    numeric = []
    for column in order:
        fill = fills[column][0]
        numeric.append(NumericStep(column, fill, column in logged))
    steps = _scaled(rows, tuple(numeric), spec.scale, n)
    variances = _scaled_variances(rows, steps)
    reference = sum(variances) / len(variances) if variances else 1.0
    categorical = tuple(_categorical(rows, c, reference) for c in spec.categorical)
    return Preprocessing(steps, categorical)


def _percentiles(rows: DataFrame, columns: dict[str, Column], qs: list[float],
                 n: int) -> dict[str, list[float]]:
    from pyspark.sql import functions as F

    if not columns:
        return {}
    exact = n <= EXACT_ROWS
    aggregates = [(F.percentile(value, qs) if exact else
                   F.percentile_approx(value, qs, APPROX_ACCURACY)).alias(name)
                  for name, value in columns.items()]
    row = rows.agg(*aggregates).first()
    assert row is not None
    return {name: [float(v) for v in row[name]] for name in columns}


def numeric_input(step: NumericStep) -> Column:
    """The column filled and, when logged, log1p'd: what the scaler sees."""
    from pyspark.sql import functions as F

    filled = F.coalesce(number(step.column), F.lit(step.fill))
    return F.log1p(filled) if step.log1p else filled


def _scaled(rows: DataFrame, steps: tuple[NumericStep, ...], scale: str,
            n: int) -> tuple[NumericStep, ...]:
    """The scaler's numbers, as scikit-learn's StandardScaler, RobustScaler, MinMaxScaler
    compute them (a zero spread counts as 1)."""
    from dataclasses import replace

    from pyspark.sql import functions as F

    if not steps:
        return steps
    inputs = {s.column: numeric_input(s) for s in steps}
    if scale == "robust":
        quartiles = _percentiles(rows, inputs, [0.25, 0.5, 0.75], n)
        return tuple(replace(s, subtract=quartiles[s.column][1],
                             divide=_spread(quartiles[s.column][2] - quartiles[s.column][0]))
                     for s in steps)
    stats = rows.agg(*[f(v).alias(f"{name}:{c}") for c, v in inputs.items()
                       for name, f in (("mean", F.mean), ("std", F.stddev_pop),
                                       ("min", F.min), ("max", F.max))]).first()
    assert stats is not None
    if scale == "minmax":
        out = []
        for s in steps:
            low, high = float(stats[f"min:{s.column}"]), float(stats[f"max:{s.column}"])
            multiply = 1.0 / _spread(high - low)
            out.append(replace(s, multiply=multiply, add=0.0 - low * multiply))
        return tuple(out)
    return tuple(replace(s, subtract=float(stats[f"mean:{s.column}"]),
                         divide=_spread(float(stats[f"std:{s.column}"])))
                 for s in steps)


def _spread(value: float) -> float:
    """scikit-learn's _handle_zeros_in_scale: a constant column is left unscaled."""
    return 1.0 if abs(value) < 10 * 2.220446049250313e-16 else value


def scaled_column(step: NumericStep) -> Column:
    return (numeric_input(step) - step.subtract) / step.divide * step.multiply + step.add


def _scaled_variances(rows: DataFrame, steps: tuple[NumericStep, ...]) -> list[float]:
    """The variance of each scaled column: what the dummies are weighed against."""
    from pyspark.sql import functions as F

    if not steps:
        return []
    row = rows.agg(*[F.var_pop(scaled_column(s)).alias(s.column) for s in steps]).first()
    assert row is not None
    return [float(row[s.column]) for s in steps]


def _categorical(rows: DataFrame, column: str, reference: float) -> CategoricalStep:
    """BalancedOneHot's numbers from the value counts: the mode fills a missing value."""

    text = column_of(column).cast("string")
    counts = {r[0]: int(r[1]) for r in rows.groupBy(text).count().collect()}
    missing = counts.pop(None, 0)
    known = pd.Series(counts, dtype="int64").sort_index()
    fill = str(known[known == known.max()].index[0])  # pandas' mode: the first, sorted
    known[fill] += missing
    shares = known / known.sum()
    return CategoricalStep(column, fill, tuple(str(c) for c in sorted(known.index)),
                           category_weight(shares, reference if reference > 0 else 1.0))


def matrix_columns(preprocessing: Preprocessing) -> list[Column]:
    """The clustering matrix's columns, in Preprocessing.names order, as Spark columns."""
    from pyspark.sql import functions as F

    columns = [scaled_column(s) for s in preprocessing.numeric]
    for step in preprocessing.categorical:
        text = F.coalesce(column_of(step.column).cast("string"),
                          F.lit(step.fill))
        columns += [F.when(text == c, F.lit(step.weight)).otherwise(F.lit(0.0))
                    for c in step.categories]
    return columns
