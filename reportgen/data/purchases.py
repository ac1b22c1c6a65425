"""Each customer's purchase days, summed at the days the value model cuts the history.

The value models (model/btyd.py) and their backtest see a customer only through a few sums
of the customer's purchase days: how many, the first and the last, the total and the
first day's amount, up to the end of the history and up to the backtest's calibration
end; what they bought after it; and, for the tracking chart, on which days the
calibration customers came back. Those sums are what an engine makes where the days are
(numpy here, from PurchaseDays; aggregations where the lines are, engines/), so a run
holds one row a customer instead of one a customer-day: on 100M sales lines, 2.8M customers instead
of tens of millions of customer-days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np

from reportgen.data.transactions import PurchaseDays
from reportgen.errors import DataError

HELD_OUT = 0.25  # the share of the history a backtest's `auto` calibration_end holds out
LAST_YEAR = np.timedelta64(365, "D")


@dataclass(frozen=True)
class DaySums:
    """Per customer (in the order of PurchaseHistories.ids), the purchase days on or
    before a cut-off; `first`, `last` and `first_amount` mean nothing where count is 0."""

    count: np.ndarray  # int64
    first: np.ndarray  # datetime64[D]
    last: np.ndarray  # datetime64[D]
    total: np.ndarray  # the amount of those days
    first_amount: np.ndarray  # the amount of the first of them


@dataclass(frozen=True)
class PurchaseHistories:
    """What the value stage reads of the purchase days (see the module's docstring)."""

    ids: np.ndarray  # every customer with a purchase day, as text, sorted
    first_day: np.datetime64  # anyone's first purchase day
    end: np.datetime64  # the history's last day (the day before as_of)
    whole: DaySums  # up to `end`
    last_year_spend: np.ndarray  # spent on the days after end - 365 days
    calibration_end: np.datetime64  # the backtest's
    auto: bool  # calibration_end chosen as the start of the last quarter
    calibration: DaySums  # up to calibration_end
    holdout_purchases: np.ndarray  # purchase days after calibration_end
    holdout_revenue: np.ndarray  # their amount
    repeat_days: np.ndarray  # sorted days on which calibration customers bought again
    repeat_counts: np.ndarray  # how many of them bought again on each of those days
    negative_days: int  # customer-days whose returns outweighed their purchases
    zero_days: int  # purchase days of amount 0


@dataclass(frozen=True)
class Outcomes:
    """What each customer bought from `since` (the first day after the period whose
    control groups are measured, model/lift.py) to `end`, for the customers who bought:
    purchase days (a day's lines merged, its returns netted; a day whose returns outweigh
    its purchases is none) and their net amount."""

    since: dt.date
    end: dt.date  # this period's last day of sales lines (the day before as_of)
    ids: np.ndarray  # as text, sorted
    revenue: np.ndarray
    purchases: np.ndarray  # int64, purchase days


def outcomes_since(days: PurchaseDays, since: dt.date, as_of: dt.date) -> Outcomes:
    """The outcomes from the customer-days themselves (the pandas engine)."""
    end = history_end(as_of)
    window = (days.day >= np.datetime64(since, "D")) & (days.day <= end)
    n = len(days.ids)
    counted = np.bincount(days.customer[window], minlength=n)
    revenue = np.bincount(days.customer[window], weights=days.amount[window], minlength=n)
    bought = counted > 0
    return Outcomes(since, end.astype(dt.date), days.ids[bought].astype(str).astype(object),
                    revenue[bought], counted[bought].astype(np.int64))


def calibration_end(first: np.datetime64, last: np.datetime64,
                    asked: dt.date | str) -> tuple[np.datetime64, bool]:
    """The day the backtest's calibration ends, checked to lie inside the history."""
    if asked == "auto":
        span = int((last - first).astype(np.int64))
        return first + np.timedelta64(round(span * (1 - HELD_OUT)), "D"), True
    end = np.datetime64(asked, "D")
    if not first < end < last:
        raise DataError(
            f"value.backtest.calibration_end: {asked} is not inside the history "
            f"({first.astype(dt.date)} to {last.astype(dt.date)}); choose a date between "
            "them, or auto")
    return end, False


def history_end(as_of: dt.date) -> np.datetime64:
    """The last day the value model sees: the day before as_of."""
    return np.datetime64(as_of, "D") - np.timedelta64(1, "D")


def purchase_histories(days: PurchaseDays, as_of: dt.date,
                       asked: dt.date | str) -> PurchaseHistories:
    """The sums from the customer-days themselves (the pandas engine)."""
    days = _with_purchases_only(days)
    end = history_end(as_of)
    first_day = days.day.min()
    cut, auto = calibration_end(first_day, end, asked)
    calibration = day_sums(days.customer, days.day, days.amount, cut, len(days.ids))
    later = days.day > cut
    recent = days.day > end - LAST_YEAR
    cohort = calibration.count > 0
    repeat = cohort[days.customer] & (days.day > calibration.first[days.customer])
    repeat_days, repeat_counts = np.unique(days.day[repeat], return_counts=True)
    n = len(days.ids)
    return PurchaseHistories(
        ids=days.ids, first_day=first_day, end=end,
        whole=day_sums(days.customer, days.day, days.amount, end, n),
        last_year_spend=np.bincount(days.customer[recent], weights=days.amount[recent],
                                    minlength=n),
        calibration_end=cut, auto=auto, calibration=calibration,
        holdout_purchases=np.bincount(days.customer[later], minlength=n),
        holdout_revenue=np.bincount(days.customer[later], weights=days.amount[later],
                                    minlength=n),
        repeat_days=repeat_days, repeat_counts=repeat_counts,
        negative_days=days.negative_days, zero_days=days.zero_days)


def _with_purchases_only(days: PurchaseDays) -> PurchaseDays:
    """The customers with a purchase day, renumbered: `ids` held every customer of the
    sales lines, those with only returns or unpriced lines among them."""
    present = np.bincount(days.customer, minlength=len(days.ids)) > 0
    if present.all():
        return days
    code = np.cumsum(present) - 1
    return dataclasses.replace(days, customer=code[days.customer], ids=days.ids[present])


def day_sums(customer: np.ndarray, day: np.ndarray, amount: np.ndarray, cutoff: np.datetime64,
             customers: int) -> DaySums:
    """From purchase days sorted by customer, then day, the sums of those on or before
    `cutoff`, for customer codes 0 .. customers - 1."""
    seen = day <= cutoff
    customer, day, amount = customer[seen], day[seen], amount[seen]
    change = np.flatnonzero(customer[1:] != customer[:-1]) + 1
    start = np.r_[0, change] if len(customer) else np.array([], dtype=np.intp)
    stop = np.r_[change - 1, len(customer) - 1] if len(customer) else start
    first = np.zeros(customers, dtype="datetime64[D]")
    last = np.zeros(customers, dtype="datetime64[D]")
    first_amount, total = np.zeros(customers), np.zeros(customers)
    first[customer[start]], last[customer[stop]] = day[start], day[stop]
    first_amount[customer[start]] = amount[start]
    if len(start):  # summed pairwise by segment, as the model's figures always were
        total[customer[start]] = np.add.reduceat(amount, start)
    return DaySums(count=np.bincount(customer, minlength=customers).astype(np.int64),
                   first=first, last=last, total=total, first_amount=first_amount)
