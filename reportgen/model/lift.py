"""Did last period's actions work? Each segment's treatment group against its control
group over the days since the groups were drawn (model/control.py).

Per customer of last period's assignment: the revenue, whether they bought, and the
purchases since; a customer gone from the data counts as zero spend, a customer new
since is not in the test. Per segment and measure, the difference of the two groups'
means with Welch's 95% interval (unequal variances, Welch-Satterthwaite degrees of
freedom), and the relative lift (treatment over control, minus one) with its interval by
the delta method. The page judges every segment at once, so the intervals are 95% for
all of them together (Bonferroni: each segment's at 1 - 0.05 / the segments judged);
one at 95% each would call some segment's campaign a success one month in four with five
segments and no effect anywhere.

The verdict reads the revenue, and only where Welch's interval can be trusted: it leans on
the difference of the means being about normal, which fails in three ways, each "too few
customers to tell", whatever the numbers:
- under MIN_GROUP customers in either group;
- under MIN_BUYERS who bought since in either group: a win-back segment whose held-out
  customers hold one buyer or none has an interval that looks certain and is not (a
  share's n x p >= 10, the usual rule);
- revenue so uneven (a few customers spend most of it) that the difference of the means
  is still skewed at these group sizes: Cochran's rule (n > 25 x skewness^2, a skewness of
  the mean under 0.2) taken to the difference of two means, whose skewness is
  g x |1/n1^2 - 1/n0^2| / (1/n1 + 1/n0)^1.5 for a segment whose revenue has skewness g.
  Equal groups cancel it; a 10% control group does not. On the UCI Online Retail lines
  (Sep to Nov 2011, skewness 4 to 21) 300 A/A splits each, with no campaign at all,
  called some segment's action a success or a harm in 10-15% of months at a 10% control
  share and 3-5% at 50%; with this rule, in 0-6% at any share.
A verdict says worked (or hurt) only when both the interval of the difference and that of
the relative lift are above (or below) zero, so no sentence contradicts its interval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from reportgen.data.purchases import Outcomes
from reportgen.model.control import CONTROL, TREATMENT, HeldOut

MIN_GROUP = 30  # customers in each group, below which a segment's lift is not judged
MIN_BUYERS = 10  # customers who bought since, in each group, likewise
MAX_SKEW = 0.2  # of the difference of the groups' mean revenues, above which it is not judged
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
    buyers: tuple[int, int]  # customers who bought since: treated, held out
    skew: float  # of the difference of the groups' mean revenues (0: symmetric)
    unjudged: str | None  # why not judged: customers, buyers, uneven (None: judged)
    needed_share: float | None  # with `uneven`: the control share that would do here
    means: dict[str, tuple[float, float]]  # revenue, bought, purchases: treated, held out
    measures: dict[str, Measure]  # the same with intervals: only for a segment judged
    incremental_revenue: float | None  # the revenue difference x the treated customers
    incremental_low: float | None
    incremental_high: float | None
    verdict: str  # worked | hurt | no clear effect | too few customers to tell
    level: float  # the intervals' level


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
                  segments: list[dict[str, Any]], level: float | None = None
                  ) -> list[SegmentLift]:
    """`assignment`: id, segment, group (last period's, checked); `outcomes`: id, revenue,
    purchases since the groups were drawn, for the customers in this period's data;
    `segments`: id, name, actions as last period recorded them. `level`: each interval's
    (default: 95% for the segments judged together, judged_level)."""
    joined = assignment.merge(outcomes, on="id", how="left")
    joined[["revenue", "purchases"]] = joined[["revenue", "purchases"]].fillna(0.0)
    joined["bought"] = (joined["purchases"] > 0).astype(float)
    groups = []
    for segment in segments:
        members = joined[joined["segment"] == segment["id"]]
        treated = members[members["group"] == TREATMENT]
        held = members[members["group"] == CONTROL]
        groups.append((segment, treated, held, judge(treated, held)))
    if level is None:
        level = judged_level(sum(why is None for *_, (why, _) in groups))
    return [_lift(segment, treated, held, judged, level)
            for segment, treated, held, judged in groups]


def judged_level(judged: int) -> float:
    """Each segment's interval level, so that the intervals of the `judged` segments
    hold together with 95% probability (Bonferroni)."""
    return 1 - (1 - LEVEL) / max(judged, 1)


def judge(treated: pd.DataFrame, held: pd.DataFrame) -> tuple[str | None, float]:
    """Why a segment's lift cannot be told from chance (see the module's docstring), or
    None when it can; and the skewness of the difference of its groups' means."""
    skew = difference_skew(treated, held)
    if min(len(treated), len(held)) < MIN_GROUP:
        return "customers", skew
    if min(_buyers(treated), _buyers(held)) < MIN_BUYERS:
        return "buyers", skew
    return ("uneven" if skew > MAX_SKEW else None), skew


def difference_skew(treated: pd.DataFrame, held: pd.DataFrame) -> float:
    """The skewness of the difference of the groups' mean revenues, from the segment's."""
    n1, n0 = len(treated), len(held)
    revenue = np.concatenate([treated["revenue"].to_numpy(float),
                              held["revenue"].to_numpy(float)])
    if n1 == 0 or n0 == 0 or revenue.std() == 0:
        return 0.0
    return abs(float(stats.skew(revenue))) * _imbalance(n1, n0)


def _imbalance(n1: float, n0: float) -> float:
    return abs(1 / n1 ** 2 - 1 / n0 ** 2) / (1 / n1 + 1 / n0) ** 1.5


def needed_share(customers: int, skew_of_difference: float, treated: int, held: int) -> float:
    """The smallest control share, in steps of 5 points, at which a segment of this size
    and unevenness would be judged (0.5 always is: equal groups cancel the skewness)."""
    segment_skew = skew_of_difference / _imbalance(treated, held)
    for share in np.arange(0.05, 0.5, 0.05):
        if segment_skew * _imbalance((1 - share) * customers, share * customers) <= MAX_SKEW:
            return round(float(share), 2)
    return 0.5


def _buyers(group: pd.DataFrame) -> int:
    return int(group["bought"].sum())


def _lift(segment: dict[str, Any], treated: pd.DataFrame, held: pd.DataFrame,
          judged: tuple[str | None, float], level: float) -> SegmentLift:
    """A segment's figures; the intervals and the verdict only when it is judged (see the
    module's docstring): one not judged gets its groups' means and no interval, since
    such an interval looks certain and is not."""
    n1, n0 = len(treated), len(held)
    means = ({m: (float(treated[m].mean()), float(held[m].mean())) for m in MEASURES}
             if n1 and n0 else {})
    why, skew = judged
    measures = ({m: welch(treated[m].to_numpy(float), held[m].to_numpy(float), level)
                 for m in MEASURES} if why is None else {})
    revenue = measures.get("revenue")
    return SegmentLift(
        id=int(segment["id"]), name=str(segment["name"]),
        actions=tuple(segment.get("actions", ())), treated=n1, held_out=n0,
        buyers=(_buyers(treated), _buyers(held)), skew=skew, unjudged=why,
        needed_share=needed_share(n1 + n0, skew, n1, n0) if why == "uneven" else None,
        means=means, measures=measures,
        incremental_revenue=revenue.difference * n1 if revenue else None,
        incremental_low=revenue.low * n1 if revenue else None,
        incremental_high=revenue.high * n1 if revenue else None, verdict=verdict(revenue),
        level=level)


def verdict(revenue: Measure | None) -> str:
    """Worked or hurt only when the difference's interval and the relative lift's agree."""
    if revenue is None:
        return "too few customers to tell"
    above = revenue.low > 0 and (revenue.relative_low is None or revenue.relative_low > 0)
    below = revenue.high < 0 and (revenue.relative_high is None or revenue.relative_high < 0)
    return "worked" if above else "hurt" if below else "no clear effect"


@dataclass(frozen=True)
class Lift:
    """Last period's campaign measured: each segment's treated customers against those
    held out, from the day the groups were drawn (`since`) to this period's last day."""

    period: str  # the period that drew the groups
    since: dt.date
    end: dt.date
    share: float
    used: bool  # false (audiences.used): no figures, no evidence
    level: float  # each segment's interval's (95% for all together)
    segments: tuple[SegmentLift, ...]

    @property
    def days(self) -> int:
        return (self.end - self.since).days + 1


@dataclass(frozen=True)
class Campaign:
    """What this period can say about last period's actions: the lift, or why not (a
    sentence for the warnings), or neither when last period held nobody out."""

    lift: Lift | None = None
    problem: str | None = None  # the groups cannot be used
    not_yet: str | None = None  # the groups are fine, the sales since are not there yet


def measure_lift(held: HeldOut | None, problem: str | None, outcomes: Outcomes | None,
                 used: bool) -> Campaign:
    """The lift of last period's control groups (model/control.last_period_groups) on
    what their customers bought since (data.load_customers with `since`)."""
    if held is None:
        return Campaign(problem=problem)
    if outcomes is None:
        return Campaign(problem="this period's data are not sales lines, so what each "
                        f"customer bought since {held.since} cannot be measured")
    if outcomes.end < held.since:
        return Campaign(not_yet=f"this period's sales lines end on {outcomes.end}, before "
                        f"the day last period's groups are measured from ({held.since})")
    if not used:
        return Campaign(Lift(held.period, held.since, outcomes.end, held.share, False,
                             LEVEL, ()))
    bought = pd.DataFrame({"id": outcomes.ids, "revenue": outcomes.revenue,
                           "purchases": outcomes.purchases.astype(float)})
    lifts = segment_lifts(held.customers, bought, held.segments)
    level = lifts[0].level if lifts else LEVEL
    return Campaign(Lift(held.period, held.since, outcomes.end, held.share, True, level,
                         tuple(lifts)))
