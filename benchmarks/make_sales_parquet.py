"""200M (or any multiple of the cached 100M) sales lines as parquet, made by Spark from the
cached CSV: each copy's customers and invoices renumbered, so that no line repeats another
copy's and the lines stay as dirty as the generator made them.

    python benchmarks/make_sales_parquet.py --copies 2     # .cache/sales-200000000.parquet
"""

from __future__ import annotations

import argparse

from runner import CACHE, sales_file

from reportgen.config.engine import EngineSection
from reportgen.engines.spark.session import spark_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--lines", type=int, default=100_000_000)
    args = parser.parse_args()
    source = sales_file(args.lines)
    target = CACHE / f"sales-{args.lines * args.copies}.parquet"
    with spark_session(EngineSection(name="spark", master="local[2]"), "make-sales") as spark:
        from pyspark.sql import functions as F

        lines = spark.read.option("header", True).csv(str(source))
        copies = []
        for copy in range(args.copies):
            renumbered = lines.withColumn(
                "CustomerID", F.when(F.col("CustomerID").isNotNull(), F.concat(
                    F.lit(f"{copy}-"), F.col("CustomerID")))).withColumn(
                "InvoiceNo", F.regexp_replace("InvoiceNo", r"^(C?)(\d+)$", f"$1{copy}$2"))
            copies.append(renumbered)
        union = copies[0]
        for other in copies[1:]:
            union = union.unionByName(other)
        union.write.mode("overwrite").parquet(str(target))
    print(target)


if __name__ == "__main__":
    main()
