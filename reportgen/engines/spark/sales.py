"""Sales lines to one row a customer on Spark: the cleaning rules, counts and sums of
data/transactions.py, as Spark aggregations over every line.

What comes back to the driver is one row a customer (and, for the value model, the sums
of each customer's purchase days, data/purchases.py); data/transactions.py's
finish_customers then scores and sets aside customers exactly as for the pandas engine.
Dates are read by the pandas engine's own parser, once per distinct text (a few hundred
thousand values even on billions of lines), and joined back: both engines read a date the
same way, whatever its format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from reportgen.config.expressions import parse
from reportgen.config.sources import TransactionsSection
from reportgen.config.value import ValueSection
from reportgen.data.files import as_text_ids
from reportgen.data.purchases import (
    LAST_YEAR,
    DaySums,
    Outcomes,
    PurchaseHistories,
    calibration_end,
    history_end,
)
from reportgen.data.transactions import (
    BAD_PRICE,
    DUPLICATE,
    NETTED,
    NO_CUSTOMER,
    NO_DATE,
    ZERO_AMOUNT,
    SalesSummary,
    cancelled_sales_error,
    finish_customers,
)
from reportgen.engines.spark.collect import check_collectable, to_pandas
from reportgen.engines.spark.columns import column as column_of
from reportgen.engines.spark.columns import number, quoted, to_column
from reportgen.engines.spark.dates import read_distinct_dates, text_lookup
from reportgen.errors import DataError, ExpressionError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

EPOCH = np.datetime64("1970-01-01", "D")
SUMS = ("monetary", "frequency", "first", "last")
HISTORY_COLUMNS = 13  # the value model's sums a customer (_purchase_histories)


@dataclass(frozen=True)
class SparkSales:
    customers: pd.DataFrame  # indexed by id, as data/transactions.aggregate gives them
    summary: SalesSummary
    purchases: PurchaseHistories | None  # with value:
    outcomes: Outcomes | None = None  # with since: what each customer bought from then on


def aggregate(spark: SparkSession, lines: DataFrame, spec: TransactionsSection,
              dayfirst: bool, extra: list[str], value: ValueSection | None,
              since: dt.date | None = None) -> SparkSales:
    """Two passes over the lines whatever their number: one reads the distinct dates and
    counts the lines; one shuffles them by customer and removes the duplicates into a slim
    persisted table of flagged lines, which every sum is made from without another
    shuffle of the lines."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    day_of, lines_read, no_customer = _date_pass(spark, lines, spec, dayfirst)
    # One shuffle of the lines, by customer: the duplicates, the per-customer sums and the
    # purchase days then need no other (a customer's lines are all in one partition).
    has_customer = lines.filter(_present(spec.customer)).repartition(column_of(spec.customer))
    # With an invoice, read_rows added a hash of the whole line: repeats of a whole line go.
    unique = has_customer.dropDuplicates() if spec.invoice is not None else has_customer
    flagged = _flags(day_of(unique), spec, extra).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        totals = _totals(flagged, extra)
        if totals["missing_amount"]:
            raise DataError("transactions.amount is missing or not a number on "
                            f"{totals['missing_amount']:,} lines")
        counts = _line_counts(totals, spec, lines_read, no_customer)
        if not totals["kept"]:
            raise DataError("no sales lines are left after cleaning; check the transactions "
                            f"columns ({', '.join(f'{k}: {n:,}' for k, n in counts.items())})")
        kept = flagged.filter(~F.col("bad_price") & ~F.col("zero") & ~F.col("undated"))
        if totals["cancelled_sales"]:  # data/transactions.check_cancellations
            first = kept.filter(F.col("cancelled_sale")).agg(F.min("order")).first()
            raise cancelled_sales_error(totals["cancelled_sales"],
                                        str(first[0] if first else ""), spec)
        numeric = {c: totals[f"text:{c}"] == 0 and totals[f"present:{c}"] > 0 for c in extra}
        check_collectable(totals["customers"], 1 + len(SUMS) + len(extra)
                          + (HISTORY_COLUMNS if value is not None else 0), "customers")
        per = _per_customer(kept, spec, extra, numeric)
        days = (_date(totals["first_day"]), _date(totals["last_day"]))
        as_of = spec.as_of if spec.as_of != "auto" else days[1] + dt.timedelta(days=1)
        customers, summary = finish_customers(_with_recency(per, as_of), counts, lines_read,
                                              as_of, days)
        purchases, outcomes = _day_results(flagged, as_of, value, since)
    finally:
        flagged.unpersist()
    return SparkSales(customers, summary, purchases, outcomes)


def _day_results(flagged: DataFrame, as_of: dt.date, value: ValueSection | None,
                 since: dt.date | None) -> tuple[PurchaseHistories | None, Outcomes | None]:
    """What is made of the customer-days: the value model's sums (with value:) and the
    purchases since last period's control groups were drawn (with since)."""
    if value is None and since is None:
        return None, None
    days = _customer_days(flagged).persist()
    try:
        return (_purchase_histories(days, as_of, value.backtest.calibration_end)
                if value is not None else None,
                _outcomes(days, since, as_of) if since is not None else None)
    finally:
        days.unpersist()


def _customer_days(flagged: DataFrame) -> DataFrame:
    """The priced, dated lines of a customer's day merged (data/transactions.purchase_days):
    id, day, net, and whether it is a purchase day."""
    from pyspark.sql import functions as F

    rows = flagged.filter(~F.col("bad_price") & F.col("day").isNotNull())
    merged = rows.groupBy(F.col("customer").alias("id"), "day").agg(
        F.sum("amount").alias("sum"), F.max((~F.col("returned")).cast("int")).alias("bought"))
    merged = merged.withColumn("net", F.bround("sum", 6) + F.lit(0.0))
    return merged.withColumn("purchase", (F.col("bought") == 1) & (F.col("net") >= 0))


def _outcomes(days: DataFrame, since: dt.date, as_of: dt.date) -> Outcomes:
    """data/purchases.outcomes_since on Spark: one row a customer who bought since."""
    from pyspark.sql import functions as F

    end = history_end(as_of)
    window = (F.col("day") >= _day_number(np.datetime64(since, "D"))) & (
        F.col("day") <= _day_number(end))
    per = to_pandas(days.where(F.col("purchase") & window).groupBy("id").agg(
        F.sum("net").alias("revenue"), F.count(F.lit(1)).alias("purchases")))
    per["id"] = as_text_ids(per["id"].astype("str"))
    per = per.sort_values("id", kind="stable").reset_index(drop=True)
    return Outcomes(since, end.astype(dt.date), per["id"].to_numpy(dtype=object),
                    per["revenue"].to_numpy(dtype=np.float64),
                    per["purchases"].to_numpy(dtype=np.int64))


def _present(column: str) -> Column:
    from pyspark.sql import functions as F

    value = column_of(column)
    return value.isNotNull() & (F.trim(value) != "")


def _date(day: int) -> dt.date:
    return (EPOCH + np.timedelta64(int(day), "D")).astype(dt.date)


def _line_counts(totals: dict[str, int], spec: TransactionsSection, lines_read: int,
                 no_customer: int) -> dict[str, int]:
    """What was dropped why, in the order and under the names of data/transactions.py."""
    counts = {NO_CUSTOMER: no_customer,
              DUPLICATE: lines_read - no_customer - totals["unique"]}
    if spec.price is not None:
        counts[BAD_PRICE] = totals["bad_price"]
    counts[ZERO_AMOUNT] = totals["zero"]
    counts[NO_DATE] = totals["undated"]
    counts[NETTED] = totals["netted"]
    return counts


def _totals(flagged: DataFrame, extra: list[str]) -> dict[str, int]:
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    kept = ~F.col("bad_price") & ~F.col("zero") & ~F.col("undated")

    def count_of(condition: Column, name: str) -> Column:
        return F.sum(condition.cast("long")).alias(name)

    columns = [F.count(F.lit(1)).alias("unique"),
               F.approx_count_distinct("customer").alias("customers"),  # for the driver
               count_of(F.col("amount").isNull() | F.isnan("amount"), "missing_amount"),
               *[count_of(F.col(c), c) for c in ("bad_price", "zero", "undated", "netted")],
               count_of(kept, "kept"), count_of(kept & F.col("cancelled_sale"), "cancelled_sales"),
               F.min(F.when(kept, F.col("day"))).alias("first_day"),
               F.max(F.when(kept, F.col("day"))).alias("last_day")]
    for column in extra:
        present = kept & column_of(column).isNotNull()
        is_number = isinstance(flagged.schema[column].dataType, NumericType)
        columns += [count_of(present, f"present:{column}"),
                    count_of(present & (F.lit(False) if is_number else number(column).isNull()),
                             f"text:{column}")]
    row = flagged.agg(*columns).first()
    assert row is not None
    return {k: (int(v) if v is not None else 0) for k, v in row.asDict().items()}


def _flags(lines: DataFrame, spec: TransactionsSection, extra: list[str]) -> DataFrame:
    """Each line, slimmed to what the sums read: customer, order, day (days since 1970),
    amount, the return flag and what would drop it, in the order of
    data/transactions._clean (a line counts under the first reason only)."""
    from pyspark.sql import functions as F

    try:
        amount = to_column(parse(spec.amount_expression()))
    except ExpressionError as exc:
        raise DataError(f"transactions.amount: {exc}") from exc
    bad_price = (number(spec.price) <= 0) if spec.price is not None else F.lit(False)
    marked = F.lit(False)
    if spec.cancel_prefix and spec.invoice is not None:
        marked = F.coalesce(column_of(spec.invoice).startswith(spec.cancel_prefix), F.lit(False))
    returned = (amount < 0) | marked
    if spec.quantity is not None:
        returned = returned | F.coalesce(number(spec.quantity) < 0, F.lit(False))
    order = column_of(spec.invoice) if spec.invoice is not None else F.col("day").cast("string")
    slim = lines.select(
        column_of(spec.customer).alias("customer"), order.alias("order"), "day",
        amount.alias("amount"), F.coalesce(bad_price, F.lit(False)).alias("bad_price"),
        F.coalesce(returned, F.lit(False)).alias("returned"),
        (marked & F.coalesce(amount > 0, F.lit(False))).alias("cancelled_sale"),
        *[column_of(c) for c in extra])
    slim = slim.withColumn("zero", ~F.col("bad_price") & F.coalesce(F.col("amount") == 0,
                                                                    F.lit(False)))
    slim = slim.withColumn("undated", ~F.col("bad_price") & ~F.col("zero")
                           & F.col("day").isNull())
    return slim.withColumn("netted", ~F.col("bad_price") & ~F.col("zero") & ~F.col("undated")
                           & F.col("returned"))


def _date_pass(spark: SparkSession, lines: DataFrame, spec: TransactionsSection,
               dayfirst: bool) -> tuple[Callable[[DataFrame], DataFrame], int, int]:
    """One pass over the lines: how many, how many without a customer, and the date column
    as a day number, read by the pandas engine's parser once per distinct text."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, TimestampType

    column = spec.date
    no_customer = (~_present(spec.customer)).cast("long")
    if isinstance(lines.schema[column].dataType, DateType | TimestampType):
        row = lines.agg(F.count(F.lit(1)), F.sum(no_customer)).first()
        assert row is not None
        return (lambda frame: frame.withColumn("day", F.datediff(
            F.to_date(column_of(column)), F.lit("1970-01-01")))), int(row[0]), int(row[1] or 0)
    text = column_of(column).cast("string")
    groups = lines.groupBy(text.alias("text")).agg(F.count(F.lit(1)).alias("n"),
                                                   F.sum(no_customer).alias("none")).collect()
    lines_read = sum(int(g["n"]) for g in groups)
    missing = sum(int(g["none"] or 0) for g in groups)
    values = pd.Series(sorted(g["text"] for g in groups if g["text"] is not None),
                       dtype="string")
    parsed = read_distinct_dates(values, column, dayfirst)
    day = (parsed.to_numpy().astype("datetime64[D]") - EPOCH).astype(np.int64)
    lookup = text_lookup(spark, values, {"day": day}, "__text string, day int")
    return (lambda frame: lookup(frame, text)), lines_read, missing


def _per_customer(kept: DataFrame, spec: TransactionsSection, extra: list[str],
                  numeric: dict[str, bool]) -> pd.DataFrame:
    """Net revenue, purchases and first/last purchase day a customer, in id order."""
    from pyspark.sql import functions as F

    bought = ~F.col("returned")
    sums = kept.groupBy(F.col("customer").alias("id")).agg(
        F.sum("amount").alias("monetary"),
        F.countDistinct(F.when(bought, F.col("order"))).alias("frequency"),
        F.min(F.when(bought, F.col("day"))).alias("first"),
        F.max(F.when(bought, F.col("day"))).alias("last"),
        *[F.mean(number(c)).alias(c) for c in extra if numeric[c]])
    texts = [c for c in extra if not numeric[c]]
    for column in texts:
        sums = sums.join(_most_frequent(kept, column), "id", "left")
    names = ["id", *SUMS, *[c for c in extra if numeric[c]], *texts]
    frame = to_pandas(sums.select(*names))
    frame["id"] = as_text_ids(frame["id"].astype("str"))
    return frame.set_index("id").sort_index()[[*SUMS, *extra]]


def _most_frequent(kept: DataFrame, column: str) -> DataFrame:
    """A text column per customer: its most frequent value (ties: the first in text order)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    counted = kept.where(column_of(column).isNotNull()).groupBy(
        F.col("customer").alias("id"), column_of(column).alias(column)).count()
    rank = Window.partitionBy("id").orderBy(F.col("count").desc(), column_of(column))
    return (counted.withColumn("__rank", F.row_number().over(rank))
            .where(F.col("__rank") == 1).select("id", quoted(column)))


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


def _purchase_histories(days: DataFrame, as_of: dt.date,
                        asked: dt.date | str) -> PurchaseHistories:
    """The value model's sums of each customer's purchase days (data/purchases.py), made by
    Spark from the customer-days: one row a customer and one a day of repeat purchases
    come to the driver, never the customer-days."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    counted = days.agg(
        F.sum(((F.col("bought") == 1) & (F.col("net") < 0)).cast("long")).alias("negative"),
        F.sum((F.col("purchase") & (F.col("net") == 0)).cast("long")).alias("zero"),
        F.min(F.when(F.col("purchase"), F.col("day"))).alias("first")).first()
    assert counted is not None and counted["first"] is not None
    end = history_end(as_of)
    cut, auto = calibration_end(EPOCH + np.timedelta64(int(counted["first"]), "D"), end,
                                asked)
    bought = days.where("purchase")
    per = to_pandas(bought.groupBy("id").agg(
        *_day_sums(F.col("day") <= _day_number(end), ""),
        *_day_sums(F.col("day") <= _day_number(cut), "c_"),
        F.min_by("net", "day").alias("first_amount"),
        F.sum(F.when(F.col("day") > _day_number(end - LAST_YEAR), F.col("net"))
              ).alias("last_year"),
        F.count(F.when(F.col("day") > _day_number(cut), 1)).alias("held"),
        F.sum(F.when(F.col("day") > _day_number(cut), F.col("net"))).alias("held_sum")))
    first = F.min("day").over(Window.partitionBy("id"))  # for the repeats only
    repeats = to_pandas(bought.withColumn("first", first)
                        .where((F.col("first") <= _day_number(cut))
                               & (F.col("day") > F.col("first")))
                        .groupBy("day").count().orderBy("day"))
    per["id"] = as_text_ids(per["id"].astype("str"))
    per = per.sort_values("id", kind="stable").reset_index(drop=True)
    return PurchaseHistories(
        ids=per["id"].to_numpy(dtype=object), first_day=EPOCH + np.timedelta64(
            int(counted["first"]), "D"), end=end,
        whole=_sums_of(per, ""), last_year_spend=_filled(per["last_year"]),
        calibration_end=cut, auto=auto, calibration=_sums_of(per, "c_"),
        holdout_purchases=per["held"].to_numpy(dtype=np.int64),
        holdout_revenue=_filled(per["held_sum"]),
        repeat_days=EPOCH + repeats["day"].to_numpy(dtype=np.int64).astype("timedelta64[D]"),
        repeat_counts=repeats["count"].to_numpy(dtype=np.int64),
        negative_days=int(counted["negative"] or 0), zero_days=int(counted["zero"] or 0))


def _day_number(day: np.datetime64) -> int:
    return int((day - EPOCH).astype(np.int64))


def _day_sums(seen: Column, prefix: str) -> list[Column]:
    from pyspark.sql import functions as F

    return [F.count(F.when(seen, 1)).alias(f"{prefix}count"),
            F.min(F.when(seen, F.col("day"))).alias(f"{prefix}first"),
            F.max(F.when(seen, F.col("day"))).alias(f"{prefix}last"),
            F.sum(F.when(seen, F.col("net"))).alias(f"{prefix}total")]


def _sums_of(per: pd.DataFrame, prefix: str) -> DaySums:
    def day(column: str) -> np.ndarray:
        return EPOCH + per[column].fillna(0).to_numpy(dtype=np.int64).astype("timedelta64[D]")

    count = per[f"{prefix}count"].to_numpy(dtype=np.int64)
    return DaySums(count=count, first=day(f"{prefix}first"), last=day(f"{prefix}last"),
                   total=_filled(per[f"{prefix}total"]),
                   first_amount=np.where(count > 0, _filled(per["first_amount"]), 0.0))


def _filled(values: pd.Series) -> np.ndarray:
    """A sum over no day is missing in Spark and 0 in numpy's bincount."""
    return values.fillna(0.0).to_numpy(dtype=np.float64)
