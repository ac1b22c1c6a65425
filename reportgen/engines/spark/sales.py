"""Sales lines to one row a customer on Spark: the cleaning rules, counts and sums of
data/transactions.py, as Spark aggregations over every line.

What comes back to the driver is one row a customer (and, for the value model, one a
customer-day); data/transactions.py's finish_customers then scores and sets aside
customers exactly as for the pandas engine. Dates are read by the pandas engine's own
parser, once per distinct text (a few hundred thousand values even on billions of lines),
and joined back: both engines read a date the same way, whatever its format.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from reportgen.config.expressions import parse
from reportgen.config.sources import TransactionsSection
from reportgen.data.files import as_text_ids
from reportgen.data.transactions import (
    BAD_PRICE,
    DUPLICATE,
    NETTED,
    NO_CUSTOMER,
    NO_DATE,
    ZERO_AMOUNT,
    PurchaseDays,
    SalesSummary,
    check_dates,
    finish_customers,
    read_dates,
)
from reportgen.engines.spark.columns import number, to_column
from reportgen.errors import DataError, ExpressionError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

EPOCH = np.datetime64("1970-01-01", "D")
SUMS = ("monetary", "frequency", "first", "last")


@dataclass(frozen=True)
class SparkSales:
    customers: pd.DataFrame  # indexed by id, as data/transactions.aggregate gives them
    summary: SalesSummary
    purchases: PurchaseDays | None


def aggregate(spark: SparkSession, lines: DataFrame, spec: TransactionsSection,
              dayfirst: bool, extra: list[str], with_days: bool) -> SparkSales:
    from pyspark.sql import functions as F

    customer = F.col(_q(spec.customer))
    lines_read = lines.count()
    has_customer = lines.filter(customer.isNotNull() & (F.trim(customer) != ""))
    counts: dict[str, int] = {NO_CUSTOMER: lines_read - has_customer.count()}
    if spec.invoice is not None:  # identical lines are an export's echo (transactions.py)
        unique = has_customer.dropDuplicates()
        counts[DUPLICATE] = has_customer.count() - unique.count()
    else:
        unique = has_customer
        counts[DUPLICATE] = 0
    flagged = _flags(spark, unique, spec, dayfirst)
    _check_amounts(flagged)
    totals = flagged.agg(
        *[F.sum(F.col(c).cast("long")).alias(c) for c in ("bad_price", "zero", "undated",
                                                          "netted")]).first()
    assert totals is not None
    if spec.price is not None:
        counts[BAD_PRICE] = int(totals["bad_price"] or 0)
    counts[ZERO_AMOUNT] = int(totals["zero"] or 0)
    counts[NO_DATE] = int(totals["undated"] or 0)
    kept = flagged.filter(~F.col("bad_price") & ~F.col("zero") & ~F.col("undated"))
    if kept.limit(1).count() == 0:
        raise DataError("no sales lines are left after cleaning; check the transactions "
                        f"columns ({', '.join(f'{k}: {n:,}' for k, n in counts.items())})")
    counts[NETTED] = int(totals["netted"] or 0)
    per, days = _per_customer(kept, spec, extra)
    as_of = spec.as_of if spec.as_of != "auto" else days[1] + dt.timedelta(days=1)
    per = _with_recency(per, as_of)
    customers, summary = finish_customers(per, counts, lines_read, as_of, days)
    purchases = _purchase_days(flagged, spec.customer) if with_days else None
    return SparkSales(customers, summary, purchases)


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _flags(spark: SparkSession, lines: DataFrame, spec: TransactionsSection,
           dayfirst: bool) -> DataFrame:
    """Each line with its amount, day (days since 1970), return flag and what would drop it,
    in the order of data/transactions._clean: a line counts under the first reason only."""
    from pyspark.sql import functions as F

    try:
        amount = to_column(parse(spec.amount_expression()))
    except ExpressionError as exc:
        raise DataError(f"transactions.amount: {exc}") from exc
    with_day = _with_days(spark, lines, spec.date, dayfirst)
    bad_price = (number(spec.price) <= 0) if spec.price is not None else F.lit(False)
    returned = F.col("amount") < 0
    if spec.quantity is not None:
        returned = returned | F.coalesce(number(spec.quantity) < 0, F.lit(False))
    if spec.cancel_prefix and spec.invoice is not None:
        returned = returned | F.coalesce(
            F.col(_q(spec.invoice)).startswith(spec.cancel_prefix), F.lit(False))
    flagged = with_day.withColumn("amount", amount).withColumn(
        "bad_price", F.coalesce(bad_price, F.lit(False)))
    zero = ~F.col("bad_price") & (F.col("amount") == 0)
    flagged = flagged.withColumn("zero", F.coalesce(zero, F.lit(False)))
    undated = ~F.col("bad_price") & ~F.col("zero") & F.col("day").isNull()
    flagged = flagged.withColumn("undated", undated).withColumn("returned", returned)
    netted = ~F.col("bad_price") & ~F.col("zero") & ~F.col("undated") & F.col("returned")
    return flagged.withColumn("netted", netted)


def _check_amounts(flagged: DataFrame) -> None:
    from pyspark.sql import functions as F

    missing = flagged.filter(F.col("amount").isNull() | F.isnan("amount"))
    bad = missing.count()
    if bad:
        raise DataError(f"transactions.amount is missing or not a number on {bad:,} lines")


def _with_days(spark: SparkSession, lines: DataFrame, column: str,
               dayfirst: bool) -> DataFrame:
    """The date column as a day number, read by the pandas engine's parser."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, TimestampType

    kind = lines.schema[column].dataType
    if isinstance(kind, DateType | TimestampType):
        return lines.withColumn("day", F.datediff(F.to_date(F.col(_q(column))),
                                                  F.lit("1970-01-01")))
    texts = [r[0] for r in lines.select(F.col(_q(column)).cast("string")).distinct()
             .where(F.col(_q(column)).isNotNull()).collect()]
    values = pd.Series(sorted(texts), dtype="string")
    parsed = read_dates(values, dayfirst)
    check_dates(values, parsed, column, dayfirst, np.ones(len(values), dtype=bool))
    day = (parsed.to_numpy().astype("datetime64[D]") - EPOCH).astype(np.int64)
    table = spark.createDataFrame(list(zip(values.tolist(), day.tolist(), strict=True)),
                                  f"{_q('__text')} string, day int")
    return lines.join(F.broadcast(table), F.col(_q(column)).cast("string") == F.col("__text"),
                      "left").drop("__text")


def _per_customer(kept: DataFrame, spec: TransactionsSection, extra: list[str]
                  ) -> tuple[pd.DataFrame, tuple[dt.date, dt.date]]:
    """Net revenue, purchases and first/last purchase day a customer; the kept lines' span."""
    from pyspark.sql import functions as F

    bought = ~F.col("returned")
    order = F.col(_q(spec.invoice)) if spec.invoice is not None else F.col("day")
    numeric = {c: _numeric(kept, c) for c in extra}
    sums = kept.groupBy(F.col(_q(spec.customer)).alias("id")).agg(
        F.sum("amount").alias("monetary"),
        F.countDistinct(F.when(bought, order)).alias("frequency"),
        F.min(F.when(bought, F.col("day"))).alias("first"),
        F.max(F.when(bought, F.col("day"))).alias("last"),
        *[_customer_value(kept, c) for c in extra if numeric[c]])
    texts = [c for c in extra if not numeric[c]]
    for column in texts:
        sums = sums.join(_most_frequent(kept, spec.customer, column), "id", "left")
    span = kept.agg(F.min("day"), F.max("day")).first()
    assert span is not None
    rows = sums.collect()
    frame = pd.DataFrame([r.asDict() for r in rows],
                         columns=["id", "monetary", "frequency", "first", "last",
                                  *[c for c in extra if c not in texts], *texts])
    frame["id"] = as_text_ids(frame["id"].astype("str"))
    frame = frame.set_index("id").sort_index()
    days = tuple((EPOCH + np.timedelta64(int(d), "D")).astype(dt.date) for d in span)
    return frame[[c for c in frame.columns if c not in extra] + extra], (days[0], days[1])


def _numeric(frame: DataFrame, column: str) -> bool:
    """A number column, as pandas' reader would type it: text that is all numbers is."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType, StringType

    kind = frame.schema[column].dataType
    if isinstance(kind, NumericType):
        return True
    if not isinstance(kind, StringType):
        return False
    present = F.col(_q(column)).isNotNull()
    text = frame.where(present & number(column).isNull()).limit(1).count()
    return text == 0 and frame.where(present).limit(1).count() > 0


def _customer_value(kept: DataFrame, column: str) -> Column:
    from pyspark.sql import functions as F

    return F.mean(number(column)).alias(column)


def _most_frequent(kept: DataFrame, customer: str, column: str) -> DataFrame:
    """A text column per customer: its most frequent value (ties: the first in text order)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    counted = kept.where(F.col(_q(column)).isNotNull()).groupBy(
        F.col(_q(customer)).alias("id"), F.col(_q(column)).alias(column)).count()
    rank = Window.partitionBy("id").orderBy(F.col("count").desc(), F.col(_q(column)))
    return (counted.withColumn("__rank", F.row_number().over(rank))
            .where(F.col("__rank") == 1).select("id", _q(column)))


def _with_recency(per: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The columns of transactions._per_customer, from the sums."""
    reference = (np.datetime64(as_of, "D") - EPOCH).astype(np.int64)
    frequency = per["frequency"].to_numpy(dtype=np.int64)
    monetary = np.round(per["monetary"].to_numpy(dtype=float), 2)
    out = pd.DataFrame({
        "recency_days": reference - per["last"].to_numpy(dtype=float),
        "frequency": frequency,
        "monetary": monetary,
        "tenure_days": reference - per["first"].to_numpy(dtype=float),
        "avg_order_value": np.round(monetary / np.where(frequency > 0, frequency, np.nan), 2),
    }, index=per.index)
    for column in per.columns:
        if column not in SUMS:
            out[column] = per[column]
    return out


def _purchase_days(flagged: DataFrame, customer: str) -> PurchaseDays:
    """Customer-days for the value model: the priced, dated lines of a day merged."""
    from pyspark.sql import functions as F

    rows = flagged.filter(~F.col("bad_price") & F.col("day").isNotNull())
    merged = rows.groupBy(F.col(_q(customer)).alias("id"), "day").agg(
        F.sum("amount").alias("sum"), F.max((~F.col("returned")).cast("int")).alias("bought"))
    merged = merged.withColumn("net", F.bround("sum", 6) + F.lit(0.0))
    counted = merged.agg(
        F.sum(((F.col("bought") == 1) & (F.col("net") < 0)).cast("long")).alias("negative"),
        F.sum(((F.col("bought") == 1) & (F.col("net") == 0)).cast("long")).alias("zero"),
    ).first()
    assert counted is not None
    kept = merged.where((F.col("bought") == 1) & (F.col("net") >= 0)).select("id", "day", "net")
    frame = pd.DataFrame([tuple(r) for r in kept.collect()], columns=["id", "day", "net"])
    frame = frame.sort_values(["id", "day"], kind="stable")
    codes, ids = pd.factorize(frame["id"].astype("str"), sort=True)
    return PurchaseDays(customer=codes.astype(np.int64),
                        day=(EPOCH + frame["day"].to_numpy(dtype=np.int64).astype(
                            "timedelta64[D]")),
                        amount=frame["net"].to_numpy(dtype=float), ids=np.asarray(ids),
                        negative_days=int(counted["negative"] or 0),
                        zero_days=int(counted["zero"] or 0))
