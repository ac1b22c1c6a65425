"""The backtest: how well the value models foresee purchases they have not seen.

The models are refitted on the history up to `calibration_end` and asked for what the
customers of that period would buy between it and the end of the data; then the forecast
is set against what they did: repeat purchases in total, per customer (mean absolute
error) and by decile of the prediction, revenue, and week by week over the whole history
(the cumulative tracking chart of the BTYD literature). `auto` holds out the last quarter
of the history. Too short a holdout (under 13 weeks) or too few returning customers
(under 500) is said plainly, and the value section says how far to trust the forecast.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reportgen.data.purchases import PurchaseHistories
from reportgen.errors import DataError
from reportgen.model import btyd

MIN_HOLDOUT_WEEKS = 13
MIN_RETURNING = 500


@dataclass(frozen=True)
class Backtest:
    calibration_end: dt.date
    holdout_end: dt.date
    auto: bool  # calibration_end was chosen as the last quarter's start
    holdout_weeks: float
    bgnbd: btyd.BgNbd
    gamma_gamma: btyd.GammaGamma
    customers: pd.DataFrame  # by id: predicted and actual repeat purchases and revenue
    tracking: pd.DataFrame  # week, actual (cumulative repeat purchases), expected
    deciles: pd.DataFrame  # decile, customers, predicted, actual (mean purchases)
    returning: int  # customers who bought more than once by calibration_end
    trust: tuple[str, ...] = field(default=())  # why to be careful with the forecast

    @property
    def actual_transactions(self) -> int:
        return int(self.customers["actual"].sum())

    @property
    def expected_transactions(self) -> float:
        return float(self.customers["predicted"].sum())

    @property
    def actual_revenue(self) -> float:
        return float(self.customers["actual_revenue"].sum())

    @property
    def expected_revenue(self) -> float:
        return float(self.customers["predicted_revenue"].sum())

    @property
    def mae_per_customer(self) -> float:
        return float((self.customers["predicted"] - self.customers["actual"]).abs().mean())


def backtest(days: PurchaseHistories) -> Backtest:
    end, last = days.calibration_end, days.end
    h = btyd.from_sums(days.calibration, end)
    if not (h.x > 0).any():
        raise DataError(
            f"value.backtest.calibration_end: no customer bought twice by {end.astype(dt.date)}"
            ", so there is nothing to calibrate the models on; choose a later date")
    bgnbd, gamma_gamma = btyd.fit_bgnbd(h), btyd.fit_gamma_gamma(h)
    weeks = float((last - end).astype(np.float64)) / btyd.WEEK
    customers = _scored(h, days, bgnbd, gamma_gamma, weeks)
    return Backtest(
        calibration_end=end.astype(dt.date), holdout_end=last.astype(dt.date),
        auto=days.auto, holdout_weeks=weeks, bgnbd=bgnbd, gamma_gamma=gamma_gamma,
        customers=customers, tracking=tracking(h, days, bgnbd), deciles=deciles(customers),
        returning=int((h.x > 0).sum()),
        trust=_trust(weeks, int((h.x > 0).sum()), int(customers["actual"].sum())))


def _scored(h: btyd.History, days: PurchaseHistories, bgnbd: btyd.BgNbd,
            gamma_gamma: btyd.GammaGamma, weeks: float) -> pd.DataFrame:
    """Each calibration customer's predicted and actual holdout purchases and revenue."""
    predicted = btyd.expected_purchases(bgnbd, h, weeks)
    return pd.DataFrame({
        "predicted": predicted, "actual": days.holdout_purchases[h.customer],
        "predicted_revenue": predicted * btyd.expected_spend(gamma_gamma, h),
        "actual_revenue": days.holdout_revenue[h.customer],
    }, index=pd.Index(days.ids[h.customer], name="id"))


def tracking(h: btyd.History, days: PurchaseHistories, bgnbd: btyd.BgNbd) -> pd.DataFrame:
    """Cumulative repeat purchases of the calibration customers, week by week from the
    first purchase day: as they happened, and as the model expects them (the expectation
    of each first-purchase day, times its customers)."""
    start = days.first_day
    weeks = np.arange(1, int((days.end - start).astype(np.int64)) // 7 + 2)
    week_ends = start + (weeks * 7 - 1).astype("timedelta64[D]")
    cumulative = np.r_[0, np.cumsum(days.repeat_counts)]
    actual = cumulative[np.searchsorted(days.repeat_days, week_ends, side="right")]
    births, count = np.unique(h.first, return_counts=True)
    elapsed = (week_ends[:, None] - births[None, :]).astype(np.float64) / btyd.WEEK
    expected = (btyd.expected_from_start(bgnbd, elapsed) * count[None, :]).sum(axis=1)
    return pd.DataFrame({"week": weeks, "week_end": week_ends.astype("datetime64[ns]"),
                         "actual": actual, "expected": expected})


def deciles(customers: pd.DataFrame) -> pd.DataFrame:
    """Mean predicted and actual holdout purchases by decile of the prediction."""
    rank = customers["predicted"].rank(method="first")
    decile = np.ceil(rank * 10 / len(customers)).clip(1, 10).astype(int)
    grouped = customers.groupby(decile.to_numpy())
    return pd.DataFrame({"decile": grouped.size().index, "customers": grouped.size().values,
                         "predicted": grouped["predicted"].mean().values,
                         "actual": grouped["actual"].mean().values})


def _trust(weeks: float, returning: int, held_purchases: int) -> tuple[str, ...]:
    out = []
    if weeks < MIN_HOLDOUT_WEEKS:
        out.append(f"The holdout is only {weeks:.0f} weeks (under {MIN_HOLDOUT_WEEKS}): too "
                   "short to judge the forecast.")
    if returning < MIN_RETURNING:
        out.append(f"Only {returning:,} customers bought more than once before the holdout "
                   f"(under {MIN_RETURNING}): the models learnt from few repeat buyers.")
    if held_purchases == 0:
        out.append("No customer bought again in the holdout, so the forecast cannot be "
                   "checked against anything.")
    return tuple(out)
