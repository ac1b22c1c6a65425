"""K-Means on every row, in Spark: Lloyd's iterations from the centres the k sweep found
on the driver's sample (model/segment.py), as scikit-learn's `KMeans(init=centres,
n_init=1)` refines them on one machine.

Each iteration is one pass: every row is given its nearest centre (the first on a tie, as
NumPy's argmin) and the rows' sums by centre come back to the driver, k x d numbers. It
stops as scikit-learn's Lloyd does, when the centres moved by at most `tol` times the mean
variance of the columns (no row changing centre moves them by 0); the rows are then
labelled with the final centres. MLlib's KMeans would do the same passes but takes no
starting centres in its DataFrame API, and its RDD API runs Python per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

TOL = 1e-4  # scikit-learn's default
MAX_ITER = 300


@dataclass(frozen=True)
class Refined:
    centres: np.ndarray  # k x d, by the sweep's own cluster index
    sizes: np.ndarray  # rows a centre
    inertia: float
    iterations: int


def distances_to(features: list[Column], centres: np.ndarray) -> Column:
    """Each row's squared distance to every centre, as an array in centre order."""
    from pyspark.sql import functions as F

    return F.array(*[sum(((f - float(c)) * (f - float(c)) for f, c in zip(features, centre,
                                                                          strict=True)),
                         F.lit(0.0)) for centre in centres])


def nearest_in(distances: Column) -> Column:
    """The first of the smallest distances, 0-based: NumPy's argmin."""
    from pyspark.sql import functions as F

    return (F.array_position(distances, F.array_min(distances)) - 1).cast("int")


def nearest(features: list[Column], centres: np.ndarray) -> Column:
    """Each row's nearest centre, 0-based."""
    return nearest_in(distances_to(features, centres))


def refine(matrix: DataFrame, centres: np.ndarray, tol: float = TOL,
           max_iter: int = MAX_ITER) -> Refined:
    """`matrix`: one column a feature (f0, f1, ...), persisted by the caller."""
    from pyspark.sql import functions as F

    features = [F.col(c) for c in matrix.columns]
    threshold = tol * float(np.mean(_variances(matrix)))
    centres = np.asarray(centres, dtype=np.float64)
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        sums, sizes, _ = _sums(matrix, features, centres)
        moved = np.where(sizes[:, None] > 0, sums / np.maximum(sizes, 1)[:, None], centres)
        shift = float(((moved - centres) ** 2).sum())
        centres = moved
        if shift <= threshold:  # no row moved gives a shift of 0, so it stops too
            break
    _, sizes, inertia = _sums(matrix, features, centres)  # the final labels' sizes
    return Refined(centres, sizes, inertia, iteration)


def _variances(matrix: DataFrame) -> list[float]:
    from pyspark.sql import functions as F

    row = matrix.agg(*[F.var_pop(c) for c in matrix.columns]).first()
    assert row is not None
    return [float(v) for v in row]


def _sums(matrix: DataFrame, features: list[Column], centres: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, float]:
    """Per centre: the sum of its rows and their number; and the rows' summed squared
    distance to their centre (the inertia), from one pass."""
    from pyspark.sql import functions as F

    k, d = centres.shape
    distances = distances_to(features, centres)
    labelled = matrix.withColumn("__d", distances).select(
        *features, nearest_in(F.col("__d")).alias("__label"),
        F.array_min("__d").alias("__distance"))
    rows = labelled.groupBy("__label").agg(
        F.count(F.lit(1)).alias("n"), F.sum("__distance").alias("inertia"),
        *[F.sum(f).alias(f"s{j}") for j, f in enumerate(features)]).collect()
    sums, sizes, inertia = np.zeros((k, d)), np.zeros(k), 0.0
    for r in rows:
        label = int(r["__label"])
        sizes[label] = r["n"]
        inertia += float(r["inertia"])
        sums[label] = [r[f"s{j}"] for j in range(d)]
    return sums, sizes, inertia


def label_rows(matrix: DataFrame, centres: np.ndarray) -> Column:
    """The label column for `matrix.withColumn(...)`: the nearest centre's index."""
    from pyspark.sql import functions as F

    return nearest([F.col(c) for c in matrix.columns], centres)
