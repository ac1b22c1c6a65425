"""The data stage on Spark: the source read and, for sales lines, aggregated to one row a
customer by Spark; the customer table then goes on as the pandas engine's does
(data/customers.complete_customers): derived columns, features and the rest.

The customer table comes to the driver: one row a customer is what the later stages
work on, and it is what fits where the sales lines do not (200M lines are a few million
customers). Before it is collected its size is checked against the driver's memory, with
the same guard the pandas reader uses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

import pandas as pd

from reportgen.config.schema import Config
from reportgen.data.customers import (
    Customers,
    complete_customers,
    customer_table,
    effective_features,
    line_extras,
    required_columns,
)
from reportgen.data.files import Table, as_text_ids, file_sha256, split_ids
from reportgen.engines.spark.collect import check_collectable
from reportgen.engines.spark.read import read_rows
from reportgen.engines.spark.sales import aggregate
from reportgen.engines.spark.session import spark_session
from reportgen.engines.spark.wording import driver_note
from reportgen.model.pandasrows import PandasRows

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class DriverRows(PandasRows):
    """The customers read (and, from sales lines, aggregated) by Spark, then brought to the
    driver, where the other steps run as the pandas engine runs them."""

    def __init__(self, config: Config, since: dt.date | None = None) -> None:
        super().__init__()
        self.config, self.since, self.method = config, since, driver_note(config)

    def load(self) -> Customers:  # called by api.py: no call back up from model/
        return load_customers(self.config, self.since)


def load_customers(config: Config, since: dt.date | None = None) -> Customers:
    """The period's customers, read (and aggregated) by Spark; `since` as in
    data.load_customers."""
    features = effective_features(config)
    needed = required_columns(config, features)
    with spark_session(config.engine, config.report.name) as spark:
        if config.transactions is None:
            wanted = ({**needed, config.data.id: "data.id"}
                      if config.data.id and config.data.id not in needed else needed)
            rows = read_rows(spark, config.data, wanted)
            table = _customer_rows(rows, config, needed)
            sales = purchases = outcomes = None
        else:
            lines = read_rows(spark, config.data, needed,
                              whole_lines=config.transactions.invoice is not None)
            done = aggregate(spark, lines, config.transactions, config.data.read.dayfirst,
                             line_extras(config, needed), config.value, since)
            table = customer_table(config, done.customers, done.summary, data_fingerprint(config))
            sales, purchases, outcomes = done.summary, done.purchases, done.outcomes
    return complete_customers(config, features, table, sales, purchases, outcomes)


def _customer_rows(rows: DataFrame, config: Config, needed: dict[str, str]) -> Table:
    n = rows.count()
    check_collectable(n, len(rows.columns), "customers")
    frame = pd.DataFrame([tuple(r) for r in rows.collect()], columns=rows.columns)
    frame = _typed(frame, exclude={config.data.id} if config.data.id else set())
    if config.data.id:
        frame[config.data.id] = as_text_ids(frame[config.data.id].astype("string"))
    ids, frame, dropped = split_ids(frame, config.data.id)
    return Table(frame=frame[list(needed)], ids=ids, source=config.data.source_name,
                 sha256=data_fingerprint(config), n_rows_read=n, dropped=dropped)


def _typed(frame: pd.DataFrame, exclude: set[str]) -> pd.DataFrame:
    """Text columns that hold only numbers become numbers, as pandas' CSV reader types
    them; the rest stay text."""
    for column in frame.columns:
        values = frame[column]
        if column in exclude or pd.api.types.is_numeric_dtype(values):
            continue
        try:
            frame[column] = pd.to_numeric(values)
        except (ValueError, TypeError):
            frame[column] = values.astype("string")
    return frame


def data_fingerprint(config: Config) -> str:
    """summary.json's data_sha256: a local file's hash, as the pandas engine gives it; for
    a folder, a URL or a table, a hash of where it is (not of what may be terabytes on
    object storage)."""
    path = config.data.path
    if path is not None and path.is_file():
        return file_sha256(path)
    source = config.data.table or config.data.location or ""
    return hashlib.sha256(f"spark:{source}".encode()).hexdigest()
