"""Did last period's actions work? Each segment's treatment group against its control
group over the days since the groups were drawn (model/control.py).

Per customer of last period's assignment: the revenue, whether they bought, and the
purchases since; a customer gone from the data counts as zero spend, a customer new
since is not in the test. Per segment and measure, the difference of the two groups'
means with Welch's 95% interval (unequal variances, Welch-Satterthwaite degrees of
freedom), and the relative lift (treatment over control, minus one) with its interval by
the delta method. The verdict reads the revenue: below MIN_GROUP customers in either
group it is "too few customers to tell", whatever the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from reportgen.model.control import CONTROL, TREATMENT

MIN_GROUP = 30  # customers in each group, below which a segment's lift is not judged
LEVEL = 0.95
MEASURES = ("revenue", "bought", "purchases")


@dataclass(frozen=True)
class Measure:
    """One measure per customer in the two groups: means, their difference and its
    interval, and the relative lift with its interval (None where control's mean is 0)."""

    treatment: float
    control: float
    difference: float
    low: float
    high: float
    relative: float | None
    relative_low: float | None
    relative_high: float | None


@dataclass(frozen=True)
class SegmentLift:
    id: int
    name: str
    actions: tuple[str, ...]
    treated: int
    held_out: int
    measures: dict[str, Measure]  # revenue, bought, purchases
    incremental_revenue: float  # the revenue difference x the treated customers
    incremental_low: float
    incremental_high: float
    verdict: str  # worked | hurt | no clear effect | too few customers to tell


def welch(treated: np.ndarray, control: np.ndarray, level: float = LEVEL) -> Measure:
    """Welch's interval on the difference of means, and the delta method's on the ratio."""
    n1, n0 = len(treated), len(control)
    m1, m0 = float(treated.mean()), float(control.mean())
    v1, v0 = float(treated.var(ddof=1)) / n1, float(control.var(ddof=1)) / n0
    se = np.sqrt(v1 + v0)
    if se == 0:
        low = high = m1 - m0
        critical = 0.0
    else:
        df = (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1))
        critical = float(stats.t.ppf(0.5 + level / 2, df))
        low, high = m1 - m0 - critical * se, m1 - m0 + critical * se
    if m0 <= 0:
        return Measure(m1, m0, m1 - m0, low, high, None, None, None)
    relative = m1 / m0 - 1
    relative_se = np.sqrt(v1 / m0 ** 2 + v0 * m1 ** 2 / m0 ** 4)
    return Measure(m1, m0, m1 - m0, low, high, relative, relative - critical * relative_se,
                   relative + critical * relative_se)


def segment_lifts(assignment: pd.DataFrame, outcomes: pd.DataFrame,
                  segments: list[dict[str, Any]]) -> list[SegmentLift]:
    """`assignment`: id, segment, group (last period's, checked); `outcomes`: id, revenue,
    purchases since the groups were drawn, for the customers in this period's data;
    `segments`: id, name, actions as last period recorded them."""
    joined = assignment.merge(outcomes, on="id", how="left")
    joined[["revenue", "purchases"]] = joined[["revenue", "purchases"]].fillna(0.0)
    joined["bought"] = (joined["purchases"] > 0).astype(float)
    out = []
    for segment in segments:
        members = joined[joined["segment"] == segment["id"]]
        treated = members[members["group"] == TREATMENT]
        held = members[members["group"] == CONTROL]
        out.append(_lift(segment, treated, held))
    return out


def _lift(segment: dict[str, Any], treated: pd.DataFrame, held: pd.DataFrame) -> SegmentLift:
    n1, n0 = len(treated), len(held)
    enough = n1 >= MIN_GROUP and n0 >= MIN_GROUP
    measures = ({m: welch(treated[m].to_numpy(float), held[m].to_numpy(float))
                 for m in MEASURES} if n1 >= 2 and n0 >= 2 else {})
    revenue = measures.get("revenue")
    if not enough or revenue is None:
        verdict = "too few customers to tell"
    elif revenue.low > 0:
        verdict = "worked"
    elif revenue.high < 0:
        verdict = "hurt"
    else:
        verdict = "no clear effect"
    return SegmentLift(
        id=int(segment["id"]), name=str(segment["name"]),
        actions=tuple(segment.get("actions", ())), treated=n1, held_out=n0,
        measures=measures,
        incremental_revenue=revenue.difference * n1 if revenue else 0.0,
        incremental_low=revenue.low * n1 if revenue else 0.0,
        incremental_high=revenue.high * n1 if revenue else 0.0, verdict=verdict)
