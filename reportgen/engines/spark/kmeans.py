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


def nearest(features: list[Column], centres: np.ndarray) -> Column:
    """Each row's nearest centre, 0-based: the first of the smallest squared distances."""
    from pyspark.sql import functions as F

    distances = [sum(((f - float(c)) * (f - float(c)) for f, c in zip(features, centre,
                                                                        strict=True)),
                     F.lit(0.0)) for centre in centres]
    array = F.array(*distances)
    return (F.array_position(array, F.array_min(array)) - 1).cast("int")


def squared_distance(features: list[Column], centres: np.ndarray, label: Column) -> Column:
    from pyspark.sql import functions as F

    chosen = [F.element_at(F.array(*[F.lit(float(c[j])) for c in centres]), label + 1)
              for j in range(centres.shape[1])]
    return sum(((f - c) * (f - c) for f, c in zip(features, chosen, strict=True)), F.lit(0.0))


def refine(matrix: DataFrame, centres: np.ndarray, tol: float = TOL,
           max_iter: int = MAX_ITER) -> Refined:
    """`matrix`: one column a feature (f0, f1, ...), persisted by the caller."""
    from pyspark.sql import functions as F

    features = [F.col(c) for c in matrix.columns]
    threshold = tol * float(np.mean(_variances(matrix)))
    centres = np.asarray(centres, dtype=np.float64)
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 (the count is reported)
        sums, sizes = _sums(matrix, features, centres)
        moved = np.where(sizes[:, None] > 0, sums / np.maximum(sizes, 1)[:, None], centres)
        shift = float(((moved - centres) ** 2).sum())
        centres = moved
        if shift <= threshold:  # no row moved gives a shift of 0, so it stops too
            break
    label = nearest(features, centres)
    row = matrix.agg(F.sum(squared_distance(features, centres, label))).first()
    assert row is not None
    _, sizes = _sums(matrix, features, centres)
    return Refined(centres, sizes, float(row[0]), iteration)


def _variances(matrix: DataFrame) -> list[float]:
    from pyspark.sql import functions as F

    row = matrix.agg(*[F.var_pop(c) for c in matrix.columns]).first()
    assert row is not None
    return [float(v) for v in row]


def _sums(matrix: DataFrame, features: list[Column], centres: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Per centre: the sum of its rows and their number."""
    from pyspark.sql import functions as F

    k, d = centres.shape
    labelled = matrix.withColumn("__label", nearest(features, centres))
    rows = labelled.groupBy("__label").agg(
        F.count(F.lit(1)).alias("n"),
        *[F.sum(f).alias(f"s{j}") for j, f in enumerate(features)]).collect()
    sums, sizes = np.zeros((k, d)), np.zeros(k)
    for r in rows:
        label = int(r["__label"])
        sizes[label] = r["n"]
        sums[label] = [r[f"s{j}"] for j in range(d)]
    return sums, sizes


def label_rows(matrix: DataFrame, centres: np.ndarray) -> Column:
    """The label column for `matrix.withColumn(...)`: the nearest centre's index."""
    from pyspark.sql import functions as F

    return nearest([F.col(c) for c in matrix.columns], centres)
