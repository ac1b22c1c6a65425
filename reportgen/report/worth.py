"""What each segment is worth, from the value stage's per-customer figures and the segments:
predicted value and its share beside the share of customers and of past revenue, P(alive),
revenue at risk, value tiers over all customers, and the backtest by segment.

"Probably lapsing" is a repeat buyer with P(alive) below 0.5. A customer who bought on one
day only has P(alive) 1 by BG/NBD's definition (it lets a customer drop out only after a
repeat purchase), so, whatever the model, averages of P(alive) are also given over repeat
buyers, and the page shows one-time buyers apart. Each segment's expected purchases and
value carry a 90% interval from the fitted parameters' uncertainty (model/intervals.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reportgen.model.backtest import Backtest
from reportgen.model.btyd import GammaGamma
from reportgen.model.continuity import Segments
from reportgen.model.features import FeatureSet
from reportgen.model.intervals import Range, Ridge, segment_ranges
from reportgen.model.purchase_models import PurchaseModel
from reportgen.model.value import LAPSING, CustomerValue

# (name, the share of customers above its lower edge), most valuable first
TIERS = (("Top 1%", 0.01), ("1-5%", 0.05), ("5-10%", 0.10), ("10-25%", 0.25), ("The rest", 1.0))
P_ALIVE_BANDS = (("One purchase only", None), ("Below 0.25", 0.25), ("0.25 to 0.5", 0.5),
                 ("0.5 to 0.75", 0.75), ("0.75 and above", 1.0))


@dataclass(frozen=True)
class SegmentWorth:
    id: int
    customers: int
    customer_share: float
    revenue_share: float | None
    total_value: float
    mean_value: float
    value_share: float
    expected_purchases: float  # in the horizon, all its customers together
    mean_p_alive: float  # as the model defines it: one-time buyers count as 1
    mean_p_alive_repeat: float | None  # over its repeat buyers only
    one_time_buyers: int
    lapsing: int  # repeat buyers with P(alive) below 0.5
    value_at_risk: float  # the predicted value of those
    lapsing_last_year_spend: float  # what those spent in the last 12 months
    holdout_actual: int | None  # backtest: repeat purchases after calibration_end
    holdout_expected: float | None
    expected_purchases_low: float | None = None  # the 90% interval of expected_purchases
    expected_purchases_high: float | None = None
    value_low: float | None = None  # the 90% interval of total_value
    value_high: float | None = None


@dataclass(frozen=True)
class Tier:
    name: str
    lowest_value: float
    customers: int
    value_share: float
    by_segment: Mapping[int, int]


@dataclass(frozen=True)
class Worth:
    horizon_months: int
    discount_rate: float
    margin: float
    purchases: PurchaseModel  # the chosen model, fitted on all history
    gamma_gamma: GammaGamma
    backtest: Backtest
    first_day: str
    last_day: str
    total_value: float
    one_time_buyers: int
    segments: tuple[SegmentWorth, ...]
    tiers: tuple[Tier, ...]
    customers: pd.DataFrame  # row-aligned with the segmented customers: ids, labels, figures
    p_alive_bands: pd.DataFrame  # segment id, band, customers, share (of the segment)
    notes: tuple[str, ...]
    ridges: tuple[Ridge, ...]  # parameters the data cannot pin down
    fitted_customers: int  # the customers the purchase model was fitted on
    churn_visible: bool = True  # False: the model's dropout is not identified (model/value.py)

    def of(self, segment_id: int) -> SegmentWorth:
        return next(s for s in self.segments if s.id == segment_id)


def segment_worth(value: CustomerValue | None, features: FeatureSet, segments: Segments,
                  revenue_shares: Mapping[int, float | None]) -> Worth | None:
    if value is None:
        return None
    customers = value.frame.reindex(features.ids.to_numpy())
    customers.insert(0, "segment", segments.labels)
    total = float(customers["value"].sum())
    held = _holdout_by_segment(value.backtest, customers)
    ranges = _ranges(value, customers, segments.ids)
    return Worth(
        horizon_months=value.spec.horizon_months, discount_rate=value.spec.discount_rate,
        margin=value.spec.margin, purchases=value.purchases, gamma_gamma=value.gamma_gamma,
        backtest=value.backtest, first_day=value.first_day.isoformat(),
        last_day=value.last_day.isoformat(), total_value=total,
        one_time_buyers=int((customers["repeat_purchases"] == 0).sum()),
        segments=tuple(_one_segment(customers, sid, total, revenue_shares.get(sid), held,
                                    ranges.get(sid)) for sid in segments.ids),
        tiers=value_tiers(customers, segments.ids),
        customers=customers, p_alive_bands=p_alive_bands(customers, segments.ids),
        notes=value.notes, ridges=value.ridges, fitted_customers=value.fitted_customers,
        churn_visible=value.churn_visible)


def _ranges(value: CustomerValue, customers: pd.DataFrame,
            segment_ids: Sequence[int]) -> dict[int, tuple[Range, Range]]:
    """The segments' 90% intervals; none when the fit gave no parameter draws, or draws
    without a finite forecast (model/intervals.segment_ranges)."""
    if value.draws is None:
        return {}
    segment = customers["segment"].reindex(value.frame.index)  # ids are unique
    totals = customers.groupby("segment")[["expected_purchases", "value"]].sum().reindex(
        list(segment_ids)).fillna(0.0)
    spec = value.spec
    return segment_ranges(value.purchases, value.gamma_gamma, value.draws, value.history,
                          segment.fillna(-1).to_numpy(dtype=np.int64), totals,
                          spec.horizon_months, spec.discount_rate, spec.margin)


def _one_segment(customers: pd.DataFrame, sid: int, total: float, revenue_share: float | None,
                 held: pd.DataFrame | None,
                 ranges: tuple[Range, Range] | None) -> SegmentWorth:
    rows = customers[customers["segment"].to_numpy() == sid]
    repeat = rows[rows["repeat_purchases"] > 0]
    lapsing = repeat[repeat["p_alive"] < LAPSING]
    value = float(rows["value"].sum())
    return SegmentWorth(
        id=sid, customers=len(rows), customer_share=len(rows) / len(customers),
        revenue_share=revenue_share, total_value=value, mean_value=value / max(len(rows), 1),
        value_share=value / total if total > 0 else 0.0,
        expected_purchases=float(rows["expected_purchases"].sum()),
        mean_p_alive=float(rows["p_alive"].mean()),
        mean_p_alive_repeat=float(repeat["p_alive"].mean()) if len(repeat) else None,
        one_time_buyers=len(rows) - len(repeat), lapsing=len(lapsing),
        value_at_risk=float(lapsing["value"].sum()),
        lapsing_last_year_spend=float(lapsing["last_year_spend"].sum()),
        holdout_actual=int(held.loc[sid, "actual"]) if held is not None and sid in held.index
        else None,
        holdout_expected=float(held.loc[sid, "predicted"]) if held is not None
        and sid in held.index else None,
        expected_purchases_low=ranges[0].low if ranges else None,
        expected_purchases_high=ranges[0].high if ranges else None,
        value_low=ranges[1].low if ranges else None,
        value_high=ranges[1].high if ranges else None)


def _holdout_by_segment(test: Backtest, customers: pd.DataFrame) -> pd.DataFrame | None:
    """The backtest's customers by the segment they are in now."""
    scored = test.customers.join(customers[["segment"]], how="inner")
    if scored.empty:
        return None
    return scored.groupby("segment")[["actual", "predicted"]].sum()


def value_tiers(customers: pd.DataFrame, segment_ids: Sequence[int]) -> tuple[Tier, ...]:
    """Customers ranked by predicted value (ties by id order, so the tiers are repeatable)."""
    order = np.argsort(-customers["value"].to_numpy(), kind="stable")
    n, total = len(customers), float(customers["value"].sum())
    labels, values = customers["segment"].to_numpy()[order], customers["value"].to_numpy()[order]
    out, start = [], 0
    for name, upper in TIERS:
        end = max(start, min(n, round(upper * n)))
        chosen = slice(start, end)
        counts = np.bincount(labels[chosen], minlength=max(segment_ids) + 1)
        out.append(Tier(name=name, lowest_value=float(values[end - 1]) if end > start else 0.0,
                        customers=end - start,
                        value_share=float(values[chosen].sum()) / total if total > 0 else 0.0,
                        by_segment={sid: int(counts[sid]) for sid in segment_ids}))
        start = end
    return tuple(out)


def p_alive_bands(customers: pd.DataFrame, segment_ids: Sequence[int]) -> pd.DataFrame:
    """Each segment's customers by P(alive) band, one-time buyers in a band of their own."""
    p = customers["p_alive"].to_numpy()
    one_time = customers["repeat_purchases"].to_numpy() == 0
    band = np.select([one_time, p < 0.25, p < 0.5, p < 0.75], [0, 1, 2, 3], default=4)
    labels = customers["segment"].to_numpy()
    rows = []
    for sid in segment_ids:
        mine = band[labels == sid]
        counts = np.bincount(mine, minlength=len(P_ALIVE_BANDS))
        for index, (name, _) in enumerate(P_ALIVE_BANDS):
            rows.append({"segment": sid, "band": name, "customers": int(counts[index]),
                         "share": float(counts[index]) / max(len(mine), 1)})
    return pd.DataFrame(rows)
