"""The transactions stage: from sales lines to one row a customer, with RFM scores.

Real exports are dirty. In this order, and counted: lines without a customer id, exact
duplicate lines, lines priced zero or below (or with a zero amount), lines without a
date are dropped; cancellations (invoice numbers starting with the cancel prefix) and
returns (negative quantities) are netted against the customer's revenue, not counted as
purchases. Customers whose net revenue is zero or negative are set aside and reported,
never clustered.

Per customer: recency_days (as_of minus the last purchase day), frequency (distinct
invoices), monetary (net revenue), tenure_days (as_of minus the first purchase day),
avg_order_value (monetary / frequency), and r/f/m scores 1-5 by quintile.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .config import TransactionsSection
from .derive import Context, ExpressionError, evaluate, parse
from .errors import DataError

RFM_COLUMNS = ["recency_days", "frequency", "monetary", "tenure_days", "avg_order_value"]
SCORE_COLUMNS = ["r_score", "f_score", "m_score", "rfm_score"]
OUTPUT_COLUMNS = RFM_COLUMNS + SCORE_COLUMNS
NO_CUSTOMER = "lines without a customer id"
DUPLICATE = "exact duplicate lines"
BAD_PRICE = "lines priced zero or below"
ZERO_AMOUNT = "lines with a zero amount"
NO_DATE = "lines without a date"
NETTED = "cancellation and return lines (netted against revenue)"
NOT_POSITIVE = "customers with zero or negative net revenue (not segmented)"


@dataclass
class SalesSummary:
    """What the aggregation did, for summary.json and the report's appendix."""

    lines_read: int
    as_of: dt.date
    first_date: dt.date
    last_date: dt.date
    line_counts: dict[str, int] = field(default_factory=dict)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def lines_dropped(self) -> int:
        return sum(n for reason, n in self.line_counts.items() if reason != NETTED)


def parse_dates(values: pd.Series, column: str, dayfirst: bool) -> pd.Series:
    """Dates as written in the export; an unparseable value is an error that shows it."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, dayfirst=dayfirst, errors="coerce", format="mixed")
    bad = text.notna() & (text != "") & parsed.isna()
    if bad.any():
        example = text[bad].iloc[0]
        raise DataError(
            f"column {column!r} holds a date that cannot be read: {example!r} (row "
            f"{int(np.flatnonzero(bad.to_numpy())[0]) + 1}); check data.read.dayfirst "
            f"(now {str(dayfirst).lower()}) or fix the value"
        )
    return parsed


def aggregate(lines: pd.DataFrame, spec: TransactionsSection, dayfirst: bool,
              extra: list[str]) -> tuple[pd.DataFrame, SalesSummary]:
    """Customers (indexed by id) with the RFM columns and `extra` columns, and what was done."""
    counts: dict[str, int] = {}
    total = len(lines)
    lines = _drop(lines, lines[spec.customer].isna(), NO_CUSTOMER, counts)
    lines = _drop(lines, lines.duplicated(keep="first"), DUPLICATE, counts)
    amount = _amount(lines, spec, dayfirst)
    if spec.price is not None:
        price = pd.to_numeric(lines[spec.price], errors="coerce")
        keep = ~(price <= 0)
        lines, amount = _drop(lines, ~keep, BAD_PRICE, counts), amount[keep]
    zero = amount == 0
    lines, amount = _drop(lines, zero, ZERO_AMOUNT, counts), amount[~zero]
    dates = parse_dates(lines[spec.date], spec.date, dayfirst)
    missing_date = dates.isna()
    lines = _drop(lines, missing_date, NO_DATE, counts)
    amount, dates = amount[~missing_date], dates[~missing_date]
    if lines.empty:
        raise DataError("no sales lines are left after cleaning; check the transactions "
                        f"columns ({', '.join(f'{k}: {n:,}' for k, n in counts.items())})")
    returns = _returns(lines, amount, spec)
    counts[NETTED] = int(returns.sum())
    as_of = _as_of(spec, dates)
    customers = _per_customer(lines, amount, dates, returns, spec, as_of, extra)
    excluded = customers[customers["monetary"] <= 0]
    customers = customers[customers["monetary"] > 0]
    if customers.empty:
        raise DataError("no customer has a positive net revenue; check transactions.amount")
    counts[NOT_POSITIVE] = len(excluded)
    customers = customers.join(rfm_scores(customers))
    summary = SalesSummary(lines_read=total, as_of=as_of,
                           first_date=dates.min().date(), last_date=dates.max().date(),
                           line_counts=counts,
                           excluded=excluded[["frequency", "monetary"]].reset_index())
    return customers, summary


def _drop(lines: pd.DataFrame, mask: pd.Series, reason: str,
          counts: dict[str, int]) -> pd.DataFrame:
    counts[reason] = int(mask.sum())
    return lines[~mask.to_numpy()] if counts[reason] else lines


def _amount(lines: pd.DataFrame, spec: TransactionsSection, dayfirst: bool) -> pd.Series:
    context = Context(as_of=dt.date.today(),
                      parse_dates=lambda v, c: parse_dates(v, c, dayfirst))
    try:
        value = evaluate(parse(spec.amount_expression()), lines, context)
    except ExpressionError as exc:
        raise DataError(f"transactions.amount: {exc}") from None
    amount = value if isinstance(value, pd.Series) else pd.Series(value, index=lines.index)
    missing = amount.isna()
    if missing.any():
        raise DataError(f"transactions.amount is missing or not a number on "
                        f"{int(missing.sum()):,} lines (first: row "
                        f"{int(np.flatnonzero(missing.to_numpy())[0]) + 1})")
    return amount


def _returns(lines: pd.DataFrame, amount: pd.Series, spec: TransactionsSection) -> pd.Series:
    """Cancelled invoices and returned quantities, netted rather than counted as purchases."""
    returned = amount < 0
    if spec.quantity is not None:
        returned |= pd.to_numeric(lines[spec.quantity], errors="coerce") < 0
    if spec.cancel_prefix:
        invoices = lines[spec.invoice].astype("string").str.strip()
        returned |= invoices.str.startswith(spec.cancel_prefix).fillna(False)
    return returned


def _as_of(spec: TransactionsSection, dates: pd.Series) -> dt.date:
    if spec.as_of == "auto":
        return dates.max().date() + dt.timedelta(days=1)
    return spec.as_of


def _per_customer(lines: pd.DataFrame, amount: pd.Series, dates: pd.Series,
                  returns: pd.Series, spec: TransactionsSection, as_of: dt.date,
                  extra: list[str]) -> pd.DataFrame:
    ids = customer_ids(lines[spec.customer])
    frame = pd.DataFrame({"customer": ids.to_numpy(), "invoice": lines[spec.invoice].to_numpy(),
                          "amount": amount.to_numpy(), "day": dates.dt.normalize().to_numpy(),
                          "returned": returns.to_numpy()})
    bought = frame[~frame["returned"]]
    grouped = bought.groupby("customer", sort=True)
    per = pd.DataFrame({
        "frequency": grouped["invoice"].nunique(),
        "first": grouped["day"].min(),
        "last": grouped["day"].max(),
    })
    revenue = frame.groupby("customer", sort=True)["amount"].sum()
    per = per.reindex(revenue.index)
    per["frequency"] = per["frequency"].fillna(0).astype(int)
    per["monetary"] = revenue.round(2)
    reference = pd.Timestamp(as_of)
    per["recency_days"] = (reference - per["last"]).dt.days
    per["tenure_days"] = (reference - per["first"]).dt.days
    per["avg_order_value"] = (per["monetary"] / per["frequency"].where(per["frequency"] > 0)
                              ).round(2)
    per.index.name = "id"
    per = per[RFM_COLUMNS]
    for column in extra:
        per[column] = _customer_value(lines[column], ids, per.index)
    return per


def customer_ids(values: pd.Series) -> pd.Series:
    """Ids read as floats because of missing values (17850.0) go back to integers."""
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        return values.astype("Int64")
    return values


def _customer_value(values: pd.Series, ids: pd.Series, index: pd.Index) -> pd.Series:
    """A sales-line column per customer: the mean of a number, the most frequent text."""
    keyed = pd.DataFrame({"id": ids.to_numpy(), "value": values.to_numpy()})
    if pd.api.types.is_numeric_dtype(values):
        return keyed.groupby("id")["value"].mean().reindex(index)
    counts = keyed.groupby(["id", "value"], sort=False).size().reset_index(name="n")
    top = counts.sort_values(["id", "n"], ascending=[True, False]).drop_duplicates("id")
    return top.set_index("id")["value"].reindex(index)


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """1-5 by quintile of rank; ties broken by rank order (the customers' sorted order)."""
    ranks = (values if higher_is_better else -values).rank(method="first")
    scores = np.ceil(ranks * 5 / len(values)).clip(1, 5)
    return scores.astype(int)


def rfm_scores(customers: pd.DataFrame) -> pd.DataFrame:
    """R reversed (recent buyers score 5), F and M straight; rfm_score is their sum."""
    scores = pd.DataFrame({
        "r_score": quintile_score(customers["recency_days"], higher_is_better=False),
        "f_score": quintile_score(customers["frequency"]),
        "m_score": quintile_score(customers["monetary"]),
    }, index=customers.index)
    scores["rfm_score"] = scores.sum(axis=1)
    return scores
