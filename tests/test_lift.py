"""The lift of last period's actions (issue 31): Welch's interval on seeded customers
with a planted effect, and the verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from reportgen.model.control import assign
from reportgen.model.lift import MIN_BUYERS, MIN_GROUP, judged_level, segment_lifts, welch

SEGMENTS = [{"id": 1, "name": "Loyal customers", "actions": ["Upsell"]},
            {"id": 2, "name": "At risk", "actions": ["Win back"]}]


def planted(seed: int, n: int = 20_000, effect: float = 0.15):
    """Two segments of n customers, 10% held out by the keyed split; 40% buy again, each
    buyer 1-4 purchases of lognormal spend. Treated customers of segment 1 spend
    `effect` more; segment 2's actions do nothing."""
    rng = np.random.default_rng(seed)
    ids = pd.Series([f"C{i:06d}" for i in range(2 * n)])
    labels = np.repeat([1, 2], n)
    groups = assign(ids, labels, 0.1, rng.bytes(32), "shop", "2026-10").groups()
    purchases = rng.binomial(1, 0.4, 2 * n) * rng.integers(1, 5, 2 * n)
    revenue = purchases * rng.lognormal(3.5, 0.8, 2 * n)
    revenue = np.where((labels == 1) & (groups == "treatment"), revenue * (1 + effect),
                       revenue)
    assignment = pd.DataFrame({"id": ids, "segment": labels, "group": groups})
    bought = revenue > 0
    outcomes = pd.DataFrame({"id": ids[bought], "revenue": revenue[bought],
                             "purchases": purchases[bought].astype(float)})
    return assignment, outcomes


def test_the_planted_lift_is_found_and_the_null_one_is_not_on_nine_seeds_of_ten():
    """Each interval at 95% on its own (the report widens them for several segments)."""
    found = no_effect = 0
    for seed in range(10):
        loyal, at_risk = segment_lifts(*planted(seed), SEGMENTS, level=0.95)
        revenue = loyal.measures["revenue"]
        found += revenue.relative_low > 0 and revenue.relative_low <= 0.15 <= (
            revenue.relative_high) and revenue.low > 0
        other = at_risk.measures["revenue"]
        no_effect += other.low <= 0 <= other.high and other.relative_low <= 0 <= (
            other.relative_high)
    assert found >= 9 and no_effect >= 9


def test_the_verdicts():
    loyal, at_risk = segment_lifts(*planted(0), SEGMENTS)
    assert loyal.verdict == "worked" and at_risk.verdict == "no clear effect"
    assert loyal.incremental_low < loyal.incremental_revenue < loyal.incremental_high
    assert loyal.incremental_revenue == pytest.approx(
        loyal.measures["revenue"].difference * loyal.treated)
    small = segment_lifts(*planted(0, n=200), SEGMENTS)
    assert [s.verdict for s in small] == ["too few customers to tell"] * 2  # 20 held out
    assert all(s.held_out < MIN_GROUP for s in small)


def test_customers_gone_from_the_data_count_as_zero_and_new_ones_are_not_tested():
    assignment, outcomes = planted(1, n=1_000)
    gone = assignment["id"].iloc[:50]
    newcomers = pd.DataFrame({"id": ["N1", "N2"], "revenue": [1e9, 1e9],
                              "purchases": [1.0, 1.0]})
    kept = pd.concat([outcomes[~outcomes["id"].isin(gone)], newcomers])
    lifts = segment_lifts(assignment, kept, SEGMENTS)
    assert sum(s.treated + s.held_out for s in lifts) == len(assignment)
    assert max(s.means["revenue"][0] for s in lifts) < 1e6


def test_welch_matches_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(10, 3, 400), rng.normal(9, 5, 60)
    ours = welch(a, b)
    theirs = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (ours.low, ours.high) == pytest.approx((theirs.low, theirs.high), rel=1e-10)


def test_the_intervals_hold_together_for_the_segments_judged():
    """Two segments judged: each interval at 97.5%, so both hold with 95%; a segment
    whose held-out customers include too few buyers is not judged, nor counted."""
    assert judged_level(1) == 0.95 and judged_level(4) == pytest.approx(0.9875)
    assignment, outcomes = planted(0)
    loyal, at_risk = segment_lifts(assignment, outcomes, SEGMENTS)
    assert loyal.level == at_risk.level == pytest.approx(0.975)
    wide, narrow = (welch(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 1.5, 2.0]), level)
                    for level in (0.975, 0.95))
    assert wide.high - wide.low > narrow.high - narrow.low
    held = assignment[(assignment["segment"] == 2) & (assignment["group"] == "control")]
    held_buyers = outcomes[outcomes["id"].isin(held["id"])]["id"]
    gone = held_buyers.iloc[MIN_BUYERS - 1:]  # nine of them still bought
    loyal, at_risk = segment_lifts(assignment, outcomes[~outcomes["id"].isin(gone)], SEGMENTS)
    assert at_risk.buyers[1] == MIN_BUYERS - 1 and at_risk.verdict == "too few customers to tell"
    assert loyal.level == 0.95  # one segment judged


def test_revenue_too_uneven_for_a_small_control_group_is_not_judged():
    """A few customers spend most of the revenue (lognormal, sigma 2): with 10% held out
    the difference of the means is still skewed, and no interval is given; with half held
    out the skewness cancels and the segment is judged."""
    rng = np.random.default_rng(4)
    n = 3_000
    ids = pd.Series([f"C{i:05d}" for i in range(n)])
    revenue = rng.lognormal(3.0, 2.0, n) * (rng.random(n) < 0.5)
    outcomes = pd.DataFrame({"id": ids, "revenue": revenue,
                             "purchases": (revenue > 0).astype(float)})
    labels = np.ones(n, dtype=int)
    segment = [{"id": 1, "name": "Big spenders", "actions": []}]
    for share, judged in ((0.1, False), (0.5, True)):
        groups = assign(ids, labels, share, b"k" * 32, "r", "2026-10").groups()
        (lift,) = segment_lifts(pd.DataFrame({"id": ids, "segment": labels, "group": groups}),
                                outcomes, segment)
        assert (lift.unjudged is None) == judged, (share, lift.skew)
        if not judged:
            assert lift.unjudged == "uneven" and lift.measures == {}
            assert lift.verdict == "too few customers to tell" and 0.1 < lift.needed_share <= 0.5
