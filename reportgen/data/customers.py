"""The data stage as the pipeline sees it: one row a customer, whatever the source.

From a customer file the columns are read as they are; from sales lines (`transactions:`)
they are aggregated first. Then `derive:` adds computed columns. Every column the config
names is checked against the file before anything is computed, and a missing one is
reported with the config key that asked for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from reportgen.config.expressions import Node, parse
from reportgen.config.presets import load_preset
from reportgen.config.schema import Config, FeaturesSection
from reportgen.config.value import LOGGED_VALUE_COLUMNS, VALUE_COLUMNS, value_labels
from reportgen.data.derive import Context, derive_columns
from reportgen.data.files import Table, load_table, read_lines
from reportgen.data.purchases import (
    Outcomes,
    PurchaseHistories,
    outcomes_since,
    purchase_histories,
)
from reportgen.data.sql import query_parameters
from reportgen.data.transactions import (
    OUTPUT_COLUMNS,
    RFM_COLUMNS,
    SalesSummary,
    aggregate,
    parse_dates,
)
from reportgen.errors import DataError, ExpressionError

PROFILED_SCORES = ["r_score", "f_score", "m_score"]


@dataclass(frozen=True)
class Customers:
    table: Table
    features: FeaturesSection  # the config's, completed with preset defaults
    sales: SalesSummary | None
    identified: bool  # customers carry their own ids (data.id, transactions.customer)
    purchases: PurchaseHistories | None = None  # with value: each customer's purchase days
    profile_log: tuple[str, ...] = ()  # profile columns described on log(1 + x)
    outcomes: Outcomes | None = None  # asked for with `since`: what each customer bought


def load_customers(config: Config, period: str, since: dt.date | None = None) -> Customers:
    """The period's customers; `period` (YYYY-MM) only matters to a SQL query's dates.
    `since`: the day last period's control groups were drawn from; with sales lines, each
    customer's purchases from that day on come too (model/lift.py)."""
    features = effective_features(config)
    needed = required_columns(config, features)
    parameters = query_parameters(config, period) if config.data.sql is not None else None
    if config.transactions is None:
        table = load_table(config.data, needed, parameters)
        sales = purchases = outcomes = None
    else:
        table, sales, purchases, outcomes = _from_sales_lines(config, needed, parameters,
                                                              since)
    return complete_customers(config, features, table, sales, purchases, outcomes)


def complete_customers(config: Config, features: FeaturesSection, table: Table,
                       sales: SalesSummary | None, purchases: PurchaseHistories | None,
                       outcomes: Outcomes | None = None) -> Customers:
    """One row a customer, however it was read (here, or by an engine): derived columns
    added, only the used columns kept."""
    as_of = config.data.as_of or (sales.as_of if sales else dt.date.today())
    table = _with_derived(table, config, as_of, features)
    identified = config.data.id is not None or config.transactions is not None
    return Customers(table, features, sales, identified, purchases,
                     LOGGED_VALUE_COLUMNS if config.value else (), outcomes)


def effective_features(config: Config) -> FeaturesSection:
    """The features section with the preset's default logs and, for sales, the RFM profile."""
    spec = config.features
    preset_name = config.personas.preset or config.recommendations.preset
    log = spec.log
    if log is None:
        preset_log = load_preset(preset_name).log if preset_name else []
        log = [c for c in preset_log if c in spec.numeric]
    profile = list(spec.profile)
    computed = RFM_COLUMNS + PROFILED_SCORES + (list(VALUE_COLUMNS) if config.value else [])
    if config.transactions is not None:
        named = set(spec.numeric + spec.categorical + profile)
        profile += [c for c in computed if c not in named]
    labels = {**value_labels(config.value), **spec.labels} if config.value else spec.labels
    labels = {**{c: rank_label(c, levels) for c, levels in spec.ordinal.items()}, **labels}
    numeric = [*spec.numeric, *[c for c in spec.ordinal if c not in spec.numeric]]
    return spec.model_copy(update={"numeric": numeric, "log": log, "profile": profile,
                                   "labels": labels})


def rank_label(column: str, levels: list[str]) -> str:
    """An ordinal column's name in the report: its rank's meaning said once."""
    return f"{column} (1 = {levels[0]} to {len(levels)} = {levels[-1]})"


def unknown_level(column: str, value: object, levels: list[str], where: str) -> DataError:
    return DataError(f"features.ordinal: column {column!r} holds {value!r} ({where}), which "
                     f"is not among its levels {', '.join(levels)}; add it to the levels in "
                     "its place, or clear those cells so they count as missing")


def ranked(frame: pd.DataFrame, ordinal: dict[str, list[str]]) -> pd.DataFrame:
    """Each ordinal column's values replaced by their rank (1 for the first level)."""
    for column, levels in ordinal.items():
        text = frame[column].astype("string").str.strip()
        rank = text.map({level: i for i, level in enumerate(levels, start=1)})
        unknown = text.notna() & (text != "") & rank.isna()
        if unknown.any():
            row = int(unknown.to_numpy().argmax())
            raise unknown_level(column, text.iloc[row], levels, f"row {row + 1}")
        frame = frame.assign(**{column: rank.astype("float64")})
    return frame


def required_columns(config: Config, features: FeaturesSection) -> dict[str, str]:
    """Columns to read from the file, each with the config key that needs it."""
    derived = list(config.derive)
    computed = (set(derived) | (set(OUTPUT_COLUMNS) if config.transactions else set())
                | (set(VALUE_COLUMNS) if config.value else set()))
    needed: dict[str, str] = {}

    def need(column: str, key: str) -> None:
        if column not in computed:
            needed.setdefault(column, key)

    for column in features.ordinal:
        need(column, "features.ordinal")
    for key in ("numeric", "categorical", "profile"):
        for column in getattr(features, key):
            need(column, f"features.{key}")
    for position, (name, expression) in enumerate(config.derive.items()):
        # a column derived earlier is computed; one derived here or later (income: income
        # * 1000 replaces the file's income) is read from the file first
        known = set(derived[:position]) | (computed - set(derived))
        for column in parse(expression).columns():
            if column not in known:
                needed.setdefault(column, f"derive.{name}")
    if config.transactions is not None:
        needed = {**transaction_columns(config), **needed}
    return needed


def transaction_columns(config: Config) -> dict[str, str]:
    spec = config.transactions
    assert spec is not None
    columns = {spec.customer: "transactions.customer", spec.date: "transactions.date"}
    if spec.invoice is not None:
        columns[spec.invoice] = "transactions.invoice"
    for key in ("quantity", "price"):
        if getattr(spec, key):
            columns.setdefault(getattr(spec, key), f"transactions.{key}")
    for column in parse(spec.amount_expression()).columns():
        columns.setdefault(column, "transactions.amount")
    return columns


def _from_sales_lines(config: Config, needed: dict[str, str],
                      parameters: dict[str, dt.date] | None, since: dt.date | None
                      ) -> tuple[Table, SalesSummary, PurchaseHistories | None,
                                 Outcomes | None]:
    spec = config.transactions
    assert spec is not None
    read = read_lines(config.data, needed, parameters,
                      [c for c in (spec.customer, spec.invoice) if c],
                      whole_lines=spec.invoice is not None)
    customers, sales, days = aggregate(read.frame, spec, config.data.read.dayfirst,
                                       line_extras(config, needed),
                                       with_days=config.value is not None or since is not None,
                                       whole=read.whole)
    histories = (purchase_histories(days, sales.as_of, config.value.backtest.calibration_end)
                 if days is not None and config.value is not None else None)
    outcomes = (outcomes_since(days, since, sales.as_of)
                if days is not None and since is not None else None)
    return customer_table(config, customers, sales, read.sha256), sales, histories, outcomes


def line_extras(config: Config, needed: dict[str, str]) -> list[str]:
    """The per-customer profile columns that come from the sales lines."""
    own = set(transaction_columns(config))
    return [c for c in needed if c not in own]


def customer_table(config: Config, customers: pd.DataFrame, sales: SalesSummary,
                   sha256: str) -> Table:
    frame = customers.reset_index()
    ids = frame.pop("id").rename("id")
    return Table(frame=frame, ids=ids, source=config.data.source_name, sha256=sha256,
                 n_rows_read=sales.lines_read, dropped={})


def _with_derived(table: Table, config: Config, as_of: dt.date,
                  features: FeaturesSection) -> Table:
    """Add the derived columns, then keep only what features and profiles use."""
    frame = ranked(table.frame, config.features.ordinal)
    if config.derive:
        dayfirst = config.data.read.dayfirst
        context = Context(as_of=as_of, parse_dates=lambda v, c: parse_dates(v, c, dayfirst))
        for name, expression in config.derive.items():
            nodes: dict[str, Node] = {name: parse(expression)}
            try:
                frame = derive_columns(frame, nodes, context)
            except (ExpressionError, DataError) as exc:
                raise DataError(f"derive.{name}: {exc}") from exc
    later = set(VALUE_COLUMNS) if config.value else set()  # the value stage adds them
    used = [c for c in dict.fromkeys(features.numeric + features.categorical + features.profile)
            if c not in later]
    return Table(frame=pd.DataFrame(frame[used]), ids=table.ids, source=table.source,
                 sha256=table.sha256, n_rows_read=table.n_rows_read, dropped=table.dropped)
