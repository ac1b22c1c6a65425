"""The value stage: what each customer is worth next, from their purchase days.

The backtest (backtest.py) fits BG/NBD, MBG/NBD and Pareto/NBD (purchase_models.py) on the
history up to `backtest.calibration_end`, scores each on what happened after it and
chooses one by config/value.py's MODEL_RULE (or takes the one `value.model` fixes); the
chosen model is refitted on the whole history up to the day before as_of, on at most
FIT_CUSTOMERS customers chosen at random with a fixed seed, and Gamma-Gamma on every
repeat buyer. Each customer then gets the expected purchases of the coming
`horizon_months`, P(alive), the expected spend per purchase and the discounted value
(margin x spend x the expected purchases of each month, discounted at the annual rate).
The per-customer figures become profile columns (`expected_purchases`, `p_alive`,
`value`), so persona and recommendation rules can use them, and go into segments.csv;
intervals.py gives the segments' 90% intervals from draws of the fitted parameters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reportgen.config.value import VALUE_COLUMNS, ValueSection
from reportgen.data import Customers
from reportgen.data.purchases import PurchaseHistories
from reportgen.errors import DataError
from reportgen.model import btyd
from reportgen.model.backtest import FIT_CUSTOMERS, Backtest, backtest
from reportgen.model.intervals import Draws, Ridge, parameter_draws, ridges
from reportgen.model.purchase_models import FITS, PurchaseModel

LAPSING = 0.5  # P(alive) below this: probably lapsing
# The model cannot see churn when its mean chance that a customer's next purchase never
# comes (BG/NBD's a / (a + b)) is below DROPOUT_FLOOR and fewer than SEEN_LAPSING of the
# repeat buyers have a P(alive) below LAPSING. On the UCI Online Retail export BG/NBD had
# a = 0.0029, b = 7.09 (one purchase in 2,445) and every repeat buyer got P(alive) 0.99+,
# a segment named "Lost" among them; CDNOW's published fit has 0.25. A small a / (a + b)
# alone is not enough: weekly buyers silent for four months are plainly gone even at
# 0.007 (a and b on a ridge, their ratio identified), and P(alive) shows it.
DROPOUT_FLOOR = 0.01
SEEN_LAPSING = 0.01
BLIND_COLUMNS = ("p_alive",)  # rules on these do not fire where churn is not seen
ORDER_SEED = 2029  # the random order that picks the customers the models are fitted on


def churn_visible(model: PurchaseModel, frame: pd.DataFrame) -> bool:
    if model.dropout_per_purchase >= DROPOUT_FLOOR:
        return True
    repeat = frame.loc[frame["repeat_purchases"] > 0, "p_alive"]
    return bool(len(repeat)) and float((repeat < LAPSING).mean()) >= SEEN_LAPSING


def blindness_note(model: PurchaseModel) -> str:
    one_in = 1 / model.dropout_per_purchase if model.dropout_per_purchase > 0 else np.inf
    return (f"The model cannot see customers leaving in this data: {model.label}'s dropout "
            f"is not identified (on average one purchase in {one_in:,.0f} is a customer's "
            f"last, and fewer than {SEEN_LAPSING:.0%} of repeat buyers have a P(alive) below "
            f"{LAPSING}), so P(alive) is close to 1 for almost every repeat buyer and says "
            "nothing about who is lapsing. Read recency (days since the last purchase) for "
            "that; rules on P(alive) did not fire.")


@dataclass(frozen=True)
class CustomerValue:
    """The value stage's result. `frame` is indexed by customer id (text) with columns
    expected_purchases, p_alive, spend (per purchase), value, last_year_spend (what they
    spent in the 365 days to the end) and repeat_purchases (x); its rows are `history`'s."""

    frame: pd.DataFrame
    purchases: PurchaseModel  # the chosen model, fitted on the whole history
    gamma_gamma: btyd.GammaGamma
    spec: ValueSection
    first_day: dt.date
    last_day: dt.date
    backtest: Backtest
    notes: tuple[str, ...]  # what the reader should know about the data the models saw
    history: btyd.History
    draws: Draws | None  # parameter draws for the segments' intervals
    ridges: tuple[Ridge, ...]  # parameters the data cannot pin down
    fitted_customers: int  # the customers the purchase model was fitted on
    churn_visible: bool = True  # whether P(alive) can tell anyone apart: see DROPOUT_FLOOR

    @property
    def blind_columns(self) -> tuple[str, ...]:
        return () if self.churn_visible else BLIND_COLUMNS


def customer_value(customers: Customers, spec: ValueSection | None) -> CustomerValue | None:
    """Choose the model by the backtest, fit it on all history and predict every customer;
    None without `value:`."""
    if spec is None or customers.purchases is None or customers.sales is None:
        return None
    days = customers.purchases
    whole = btyd.from_sums(days.whole, days.end)
    check_repeats(whole)
    order = np.random.default_rng(ORDER_SEED).random(len(days.ids))
    test = backtest(days, spec.model, order)
    fitting = whole.for_fitting(order, FIT_CUSTOMERS)
    model = FITS[test.purchases.key](fitting)
    gamma_gamma = btyd.fit_gamma_gamma(whole)
    frame = predictions(whole, days, model, gamma_gamma, spec)
    visible = churn_visible(model, frame)
    flat = ridges(model, gamma_gamma)
    held = {name for ridge in flat for name in ridge.parameters}
    return CustomerValue(
        frame=frame, purchases=model, gamma_gamma=gamma_gamma, spec=spec,
        first_day=days.first_day.astype(dt.date), last_day=days.end.astype(dt.date),
        backtest=test, notes=notes(days, model, gamma_gamma, visible, len(fitting), len(whole)),
        history=whole, draws=parameter_draws(model, gamma_gamma, fitting, whole, held),
        ridges=flat, fitted_customers=len(fitting), churn_visible=visible)


def check_repeats(h: btyd.History) -> None:
    if not (h.x > 0).any():
        raise DataError(
            "value: no customer bought on more than one day, so the value model cannot learn "
            "how often customers come back; it needs repeat purchases: use a longer history, "
            "or remove value:")


def predictions(h: btyd.History, days: PurchaseHistories, model: PurchaseModel,
                gamma_gamma: btyd.GammaGamma, spec: ValueSection) -> pd.DataFrame:
    spend = btyd.expected_spend(gamma_gamma, h)
    weeks = spec.horizon_months * btyd.MONTH_WEEKS
    return pd.DataFrame({
        "expected_purchases": model.expected(h, weeks),
        "p_alive": model.p_alive(h),
        "spend": spend,
        "value": btyd.discounted_value(model, spend, h, spec.horizon_months,
                                       spec.discount_rate, spec.margin),
        "last_year_spend": days.last_year_spend[h.customer],
        "repeat_purchases": h.x,
    }, index=pd.Index(days.ids[h.customer], name="id"))


def notes(days: PurchaseHistories, model: PurchaseModel, gamma_gamma: btyd.GammaGamma,
          visible: bool, fitted: int, customers: int) -> tuple[str, ...]:
    out = [] if visible else [blindness_note(model)]
    if fitted < customers:
        out.append(f"{model.label} was fitted on {fitted:,} of the {customers:,} customers, "
                   "chosen at random with a fixed seed (the fit costs time by customer, and "
                   "its parameters settle well before); every customer is predicted.")
    if not gamma_gamma.has_mean:
        out.append(f"Spend per purchase is so uneven between customers (Gamma-Gamma q = "
                   f"{gamma_gamma.q:.2f}, not above 1) that it has no stable average: each "
                   "repeat buyer's value uses their own mean spend, and a one-time buyer's "
                   "the median of those.")
    if days.negative_days:
        out.append(f"{days.negative_days:,} customer-days whose returns outweighed their "
                   "purchases are not counted as purchases by the value model.")
    if days.zero_days:
        out.append(f"{days.zero_days:,} purchase days have a zero amount (free items); the "
                   "value model counts them as purchases that spent nothing.")
    return tuple(out)


def with_value(customers: Customers, value: CustomerValue | None) -> Customers:
    """The customer table with the value columns, for profiles, rules and segments.csv."""
    if value is None:
        return customers
    table = customers.table
    columns = value.frame.reindex(table.ids.to_numpy())[list(VALUE_COLUMNS)]
    frame = table.frame.copy()
    for column in VALUE_COLUMNS:
        frame[column] = columns[column].to_numpy()
    return dataclasses.replace(customers, table=dataclasses.replace(table, frame=frame))
