"""What each Spark stage of engine: spark costs per row, on local[2]: the slopes that
docs/scaling.md extrapolates from (issue 19).

    python benchmarks/bench_spark_stages.py --rows 10000000 --rows 50000000

The customers are the sample generator's (8 features: 6 numeric, 2 categorical), written
once as parquet part files of 1M rows in benchmarks/.cache. In one local[2] session, each
stage is timed as the engine runs it: read and count, the features' fitted numbers
(fit_preprocessing), the matrix persisted, a seeded 50,000-row sample collected, K-Means
refined on every row from the sample's centres (k = 5), and the per-segment sums.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from runner import customers_parquet, print_table

from reportgen.config.engine import EngineSection
from reportgen.config.schema import FeaturesSection
from reportgen.engines.spark.features import fit_preprocessing, matrix_columns
from reportgen.engines.spark.kmeans import label_rows, refine
from reportgen.engines.spark.session import spark_session

SPEC = FeaturesSection(numeric=["age", "income", "spending_score", "membership_years",
                                "purchase_frequency", "last_purchase_amount"],
                       categorical=["gender", "preferred_category"],
                       log=["last_purchase_amount"])
def timed(stages: list[tuple[str, float]], name: str, action):
    started = time.perf_counter()
    result = action()
    stages.append((name, time.perf_counter() - started))
    return result


def measure(spark, folder: Path) -> list[tuple[str, float]]:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from sklearn.cluster import KMeans

    stages: list[tuple[str, float]] = []
    rows = spark.read.parquet(str(folder))
    n = timed(stages, "read and count", rows.count)
    fitted = timed(stages, "fit the features' numbers", lambda: fit_preprocessing(rows, SPEC))
    matrix = rows.select(*[c.alias(f"f{i}") for i, c in enumerate(matrix_columns(fitted))])
    matrix = matrix.persist(StorageLevel.MEMORY_AND_DISK)
    timed(stages, "matrix persisted", matrix.count)
    sample = timed(stages, "50,000-row sample collected", lambda: np.array(
        matrix.sample(fraction=min(1.0, 60_000 / n), seed=42).limit(50_000).collect()))
    start = KMeans(n_clusters=5, n_init=10, random_state=42).fit(sample).cluster_centers_
    refined = timed(stages, "K-Means refined on every row", lambda: refine(matrix, start))
    labelled = matrix.withColumn("segment", label_rows(matrix, refined.centres))
    timed(stages, "per-segment sums", lambda: labelled.groupBy("segment").agg(
        *[F.avg(c) for c in matrix.columns]).collect())
    stages.append((f"(K-Means iterations: {refined.iterations})", 0.0))
    matrix.unpersist()
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append")
    args = parser.parse_args()
    sizes = args.rows or [10_000_000]
    folders = {n: customers_parquet(n) for n in sizes}
    results = {}
    with spark_session(EngineSection(name="spark", master="local[2]"), "bench") as spark:
        for n, folder in folders.items():
            results[n] = measure(spark, folder)
    names = [name for name, _ in results[sizes[0]]]
    rows = [[name] + [f"{dict(results[n])[name]:.1f}" for n in sizes] for name in names]
    print_table(["stage (local[2])"] + [f"{n:,} customers, s" for n in sizes], rows)


if __name__ == "__main__":
    main()
