"""The backtest: how well each purchase model foresees purchases it has not seen, and the
choice between them.

BG/NBD, MBG/NBD and Pareto/NBD (or the one `value.model` fixes) are fitted on the history
up to `calibration_end` and asked what the customers of that period would buy between it
and the end of the data; then each forecast is set against what they did: repeat
purchases in total and per customer (mean absolute error), and, per P(alive) band at the
calibration end, the share who bought again beside the share the model expected to (the
reliability table: whether "lapsing" means anything). The rule that picks the model is
config/value.py's MODEL_RULE. For the chosen model the backtest also gives revenue, the
deciles of the prediction and the week-by-week tracking chart of the BTYD literature.
`auto` holds out the last quarter of the history. Too short a holdout (under 13 weeks) or
too few returning customers (under 500) is said plainly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reportgen.data.purchases import PurchaseHistories
from reportgen.errors import DataError
from reportgen.model import btyd
from reportgen.model.purchase_models import FITS, PurchaseModel

MIN_HOLDOUT_WEEKS = 13
MIN_RETURNING = 500
MIN_BAND = 200  # customers in a P(alive) band for it to count in the calibration check
CALIBRATED_WITHIN = 0.10  # expected and actual share who bought, in every such band
CLOSE_TOTALS = 0.02  # holdout totals this close are a tie, broken by the error a customer
FIT_CUSTOMERS = 20_000  # the purchase models are fitted on at most this many customers
NUMBERS = {2: "two", 3: "three"}
BANDS = ("One purchase only", "Below 0.25", "0.25 to 0.5", "0.5 to 0.75", "0.75 and above")


@dataclass(frozen=True)
class ModelScore:
    """One model's backtest: fitted on the calibration period, scored on the holdout."""

    model: PurchaseModel
    expected: float  # repeat purchases it expected of the calibration customers
    actual: int  # what they made
    mae: float  # mean absolute error a customer
    reliability: pd.DataFrame  # band, customers, p_alive, expected_share, actual_share

    @property
    def label(self) -> str:
        return self.model.label

    @property
    def error(self) -> float | None:
        """Expected over actual, minus 1; None when nobody bought in the holdout."""
        return self.expected / self.actual - 1 if self.actual else None

    @property
    def worst_gap(self) -> float | None:
        """The largest gap between the expected and actual share who bought, over the bands
        of MIN_BAND customers or more."""
        big = self.reliability[self.reliability["customers"] >= MIN_BAND]
        if big.empty:
            return None
        return float((big["expected_share"] - big["actual_share"]).abs().max())

    @property
    def calibrated(self) -> bool:
        gap = self.worst_gap
        return gap is None or gap <= CALIBRATED_WITHIN


@dataclass(frozen=True)
class Backtest:
    calibration_end: dt.date
    holdout_end: dt.date
    auto: bool  # calibration_end was chosen as the last quarter's start
    holdout_weeks: float
    purchases: PurchaseModel  # the chosen model, fitted on the calibration period
    gamma_gamma: btyd.GammaGamma
    scores: tuple[ModelScore, ...]  # every model fitted, in MODELS order
    reason: str  # why the chosen model was chosen, in a sentence
    customers: pd.DataFrame  # by id: predicted and actual repeat purchases and revenue
    tracking: pd.DataFrame  # week, actual (cumulative repeat purchases), expected
    deciles: pd.DataFrame  # decile, customers, predicted, actual (mean purchases)
    returning: int  # customers who bought more than once by calibration_end
    trust: tuple[str, ...] = field(default=())  # why to be careful with the forecast

    @property
    def chosen(self) -> ModelScore:
        return next(s for s in self.scores if s.model.key == self.purchases.key)

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


def backtest(days: PurchaseHistories, asked: str, order: np.ndarray) -> Backtest:
    """Fit the models `asked` names (auto: all three) up to calibration_end on at most
    FIT_CUSTOMERS customers (those first in `order`), score them, and choose."""
    end, last = days.calibration_end, days.end
    h = btyd.from_sums(days.calibration, end)
    if not (h.x > 0).any():
        raise DataError(
            f"value.backtest.calibration_end: no customer bought twice by {end.astype(dt.date)}"
            ", so there is nothing to calibrate the models on; choose a later date")
    weeks = float((last - end).astype(np.float64)) / btyd.WEEK
    actual = days.holdout_purchases[h.customer]
    fitting = h.for_fitting(order, FIT_CUSTOMERS)
    keys = tuple(FITS) if asked == "auto" else (asked,)
    scores = tuple(score(FITS[key](fitting), h, actual, weeks) for key in keys)
    best, reason = choose(scores)
    gamma_gamma = btyd.fit_gamma_gamma(h)
    customers = _scored(h, days, best.model, gamma_gamma, weeks)
    returning = int((h.x > 0).sum())
    return Backtest(
        calibration_end=end.astype(dt.date), holdout_end=last.astype(dt.date),
        auto=days.auto, holdout_weeks=weeks, purchases=best.model, gamma_gamma=gamma_gamma,
        scores=scores, reason=reason if asked == "auto" else
        f"{best.label}: fixed in the config (value.model: {asked}).",
        customers=customers, tracking=tracking(h, days, best.model), deciles=deciles(customers),
        returning=returning, trust=_trust(weeks, returning, int(actual.sum())))


def score(model: PurchaseModel, h: btyd.History, actual: np.ndarray,
          weeks: float) -> ModelScore:
    expected = model.expected(h, weeks)
    return ModelScore(model=model, expected=float(expected.sum()), actual=int(actual.sum()),
                      mae=float(np.abs(expected - actual).mean()),
                      reliability=reliability(model, h, actual, weeks))


def reliability(model: PurchaseModel, h: btyd.History, actual: np.ndarray,
                weeks: float) -> pd.DataFrame:
    """Customers by P(alive) at the calibration end (one-time buyers in a band of their
    own), with the share the model expected to buy in the holdout and the share who did."""
    alive = model.p_alive(h)
    buys = alive * (1 - model.p_quiet_if_alive(h, weeks))
    band = np.select([h.x == 0, alive < 0.25, alive < 0.5, alive < 0.75], [0, 1, 2, 3],
                     default=4)
    frame = pd.DataFrame({"band": band, "p_alive": alive, "expected_share": buys,
                          "actual_share": (actual > 0).astype(np.float64)})
    grouped = frame.groupby("band")
    out = grouped[["p_alive", "expected_share", "actual_share"]].mean()
    out.insert(0, "customers", grouped.size())
    out = out.reindex(range(len(BANDS)))
    out["customers"] = out["customers"].fillna(0).astype(int)
    out.insert(0, "band", list(BANDS))
    return out.reset_index(drop=True)


def choose(scores: tuple[ModelScore, ...]) -> tuple[ModelScore, str]:
    """config/value.py's MODEL_RULE; the chosen score and why, in a sentence."""
    if len(scores) == 1:
        return scores[0], ""
    if scores[0].actual == 0:
        best = max(scores, key=lambda s: s.model.log_likelihood)
        return best, (f"{best.label}: nobody bought in the holdout, so the forecasts could "
                      "not be compared; it has the highest likelihood on the calibration "
                      "period.")
    pool = [s for s in scores if s.calibrated] or list(scores)
    nearest = min(abs(s.error or 0.0) for s in pool)
    close = [s for s in pool if abs(s.error or 0.0) <= nearest + CLOSE_TOTALS]
    best = min(close, key=lambda s: round(s.mae, 3))  # printed the same: the first is kept
    return best, _reason(best, scores, close, pool)


def _reason(best: ModelScore, scores: tuple[ModelScore, ...], close: list[ModelScore],
            pool: list[ModelScore]) -> str:
    others = [s for s in scores if s is not best]
    digits = _digits([s.error or 0.0 for s in scores])
    alike = [s for s in close if s is not best and _off(s, digits) == _off(best, digits)
             and f"{s.mae:.3f}" == f"{best.mae:.3f}"]
    if len(alike) == len(others):
        return (f"{best.label}: the {NUMBERS[len(scores)]} models forecast the holdout alike "
                f"({_off(best, _digits([best.error or 0.0]))}, {best.mae:.3f} purchases off a "
                "customer), so the "
                "first of them is kept.")
    against = " and ".join(f"{_off(s, digits)} for {s.label}" for s in others)
    out = f"{best.label}: its holdout forecast was {_off(best, digits)} against {against}"
    rivals = [s for s in close if s is not best and s not in alike]
    if rivals:
        out += (f"; {' and '.join(s.label for s in rivals)} came within "
                f"{CLOSE_TOTALS * 100:.0f} points of that, and {best.label}'s error a "
                "customer was smaller "
                f"({best.mae:.3f} against {', '.join(f'{s.mae:.3f}' for s in rivals)})")
    if alike:
        out += (f"; {' and '.join(s.label for s in alike)} forecast it alike, and the first "
                "of the models is kept")
    dropped = [s for s in scores if s not in pool]
    if dropped:
        out += "; " + " and ".join(
            f"{s.label}'s P(alive) bands were off by up to {(s.worst_gap or 0) * 100:.0f} "
            "points" for s in dropped)
    return out + "."


def _digits(errors: list[float]) -> int:
    """Whole percents, unless one is under 10% or two would print the same."""
    rounded = [round(abs(e) * 100) for e in errors]
    return 0 if len(set(rounded)) == len(rounded) and min(rounded) >= 10 else 1


def _off(s: ModelScore, digits: int) -> str:
    error = s.error or 0.0
    return f"{abs(error) * 100:.{digits}f}% {'high' if error > 0 else 'low'}"


def _scored(h: btyd.History, days: PurchaseHistories, model: PurchaseModel,
            gamma_gamma: btyd.GammaGamma, weeks: float) -> pd.DataFrame:
    """Each calibration customer's predicted and actual holdout purchases and revenue."""
    predicted = model.expected(h, weeks)
    return pd.DataFrame({
        "predicted": predicted, "actual": days.holdout_purchases[h.customer],
        "predicted_revenue": predicted * btyd.expected_spend(gamma_gamma, h),
        "actual_revenue": days.holdout_revenue[h.customer],
    }, index=pd.Index(days.ids[h.customer], name="id"))


def tracking(h: btyd.History, days: PurchaseHistories, model: PurchaseModel) -> pd.DataFrame:
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
    expected = (model.expected_from_start(elapsed) * count[None, :]).sum(axis=1)
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
