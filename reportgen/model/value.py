"""The value stage: what each customer is worth next, from their purchase days.

BG/NBD and Gamma-Gamma (btyd.py) are fitted on the whole history up to the day before
as_of; each customer then gets the expected purchases of the coming `horizon_months`,
P(alive), the expected spend per purchase and the discounted value (margin x spend x the
expected purchases of each month, discounted at the annual rate). The backtest
(backtest.py) refits on the history up to `backtest.calibration_end` and scores the
forecast on what happened after it. The per-customer figures become profile columns
(`expected_purchases`, `p_alive`, `value`), so persona and recommendation rules can use
them, and go into segments.csv.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pandas as pd

from reportgen.config.value import VALUE_COLUMNS, ValueSection
from reportgen.data import Customers
from reportgen.data.purchases import PurchaseHistories
from reportgen.errors import DataError
from reportgen.model import btyd
from reportgen.model.backtest import Backtest, backtest

LAPSING = 0.5  # P(alive) below this: probably lapsing
# The model cannot see churn when BG/NBD's mean chance that a purchase is the customer's
# last, a / (a + b), is below DROPOUT_FLOOR and fewer than SEEN_LAPSING of the repeat
# buyers have a P(alive) below LAPSING. On the UCI Online Retail export a = 0.0029,
# b = 7.09 (one purchase in 2,445) and every repeat buyer got P(alive) 0.99+, a segment
# named "Lost" among them; CDNOW's published fit has 0.25. A small a / (a + b) alone is
# not enough: weekly buyers silent for four months are plainly gone even at 0.007 (a and
# b on a ridge, their ratio identified), and P(alive) shows it.
DROPOUT_FLOOR = 0.01
SEEN_LAPSING = 0.01
BLIND_COLUMNS = ("p_alive",)  # rules on these do not fire where churn is not seen


def churn_visible(bgnbd: btyd.BgNbd, frame: pd.DataFrame) -> bool:
    if bgnbd.a / (bgnbd.a + bgnbd.b) >= DROPOUT_FLOOR:
        return True
    repeat = frame.loc[frame["repeat_purchases"] > 0, "p_alive"]
    return bool(len(repeat)) and float((repeat < LAPSING).mean()) >= SEEN_LAPSING


def blindness_note(bgnbd: btyd.BgNbd) -> str:
    one_in = (bgnbd.a + bgnbd.b) / bgnbd.a
    return (f"The model cannot see customers leaving in this data: BG/NBD's dropout is not "
            f"identified (a = {bgnbd.a:.2g}, b = {bgnbd.b:.3g}: on average one purchase in "
            f"{one_in:,.0f} is a customer's last, and fewer than {SEEN_LAPSING:.0%} of repeat "
            f"buyers have a P(alive) below {LAPSING}), so P(alive) is close to 1 for almost "
            "every repeat buyer and says nothing about who is lapsing. Read recency (days "
            "since the last purchase) for that; rules on P(alive) did not fire.")


@dataclass(frozen=True)
class CustomerValue:
    """The value stage's result. `frame` is indexed by customer id (text) with columns
    expected_purchases, p_alive, spend (per purchase), value, last_year_spend (what they
    spent in the 365 days to the end) and repeat_purchases (x)."""

    frame: pd.DataFrame
    bgnbd: btyd.BgNbd
    gamma_gamma: btyd.GammaGamma
    spec: ValueSection
    first_day: dt.date
    last_day: dt.date
    backtest: Backtest
    notes: tuple[str, ...]  # what the reader should know about the data the models saw
    churn_visible: bool = True  # whether P(alive) can tell anyone apart: see DROPOUT_FLOOR

    @property
    def blind_columns(self) -> tuple[str, ...]:
        return () if self.churn_visible else BLIND_COLUMNS


def customer_value(customers: Customers, spec: ValueSection | None) -> CustomerValue | None:
    """Fit the models on all history and predict every customer; None without `value:`."""
    if spec is None or customers.purchases is None or customers.sales is None:
        return None
    days = customers.purchases
    whole = btyd.from_sums(days.whole, days.end)
    check_repeats(whole)
    bgnbd, gamma_gamma = btyd.fit_bgnbd(whole), btyd.fit_gamma_gamma(whole)
    frame = predictions(whole, days, bgnbd, gamma_gamma, spec)
    visible = churn_visible(bgnbd, frame)
    return CustomerValue(
        frame=frame, bgnbd=bgnbd, gamma_gamma=gamma_gamma, spec=spec,
        first_day=days.first_day.astype(dt.date), last_day=days.end.astype(dt.date),
        backtest=backtest(days), notes=notes(days, bgnbd, gamma_gamma, visible),
        churn_visible=visible)


def check_repeats(h: btyd.History) -> None:
    if not (h.x > 0).any():
        raise DataError(
            "value: no customer bought on more than one day, so the value model cannot learn "
            "how often customers come back; it needs repeat purchases: use a longer history, "
            "or remove value:")


def predictions(h: btyd.History, days: PurchaseHistories, bgnbd: btyd.BgNbd,
                gamma_gamma: btyd.GammaGamma, spec: ValueSection) -> pd.DataFrame:
    spend = btyd.expected_spend(gamma_gamma, h)
    weeks = spec.horizon_months * btyd.MONTH_WEEKS
    return pd.DataFrame({
        "expected_purchases": btyd.expected_purchases(bgnbd, h, weeks),
        "p_alive": btyd.p_alive(bgnbd, h),
        "spend": spend,
        "value": btyd.discounted_value(bgnbd, spend, h, spec.horizon_months,
                                       spec.discount_rate, spec.margin),
        "last_year_spend": days.last_year_spend[h.customer],
        "repeat_purchases": h.x,
    }, index=pd.Index(days.ids[h.customer], name="id"))


def notes(days: PurchaseHistories, bgnbd: btyd.BgNbd, gamma_gamma: btyd.GammaGamma,
          visible: bool) -> tuple[str, ...]:
    out = [] if visible else [blindness_note(bgnbd)]
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
