"""A value model that says when it cannot see churn (issue 28, item 7): on sales lines
where nobody leaves, BG/NBD's dropout is not identified; the page says so beside
P(alive), no lapsing figure is a finding, rules on P(alive) do not fire, and a segment
named for lapsing is reconciled with its P(alive) in a sentence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import page_texts, squash, write_config

from reportgen import run_report


def steady_buyers(folder: Path, seed: int = 5) -> Path:
    """800 customers who never leave: each buys at their own steady rate (from once a
    quarter to weekly) through 2025, so long gaps are only slow rhythms."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01")
    rows = []
    for c in range(800):
        rate = rng.gamma(1.5, 1 / 40)  # purchases a day
        first = int(rng.integers(0, 200))
        days = np.unique(first + np.cumsum(rng.exponential(1 / rate, 80)).astype(int))
        for n, day in enumerate(days[days < 365]):
            rows.append((f"{c}-{n}", f"K{c:04d}", (start + pd.Timedelta(days=int(day))).date(),
                         round(float(rng.gamma(4, 12)), 2)))
    frame = pd.DataFrame(rows, columns=["order", "customer", "date", "amount"])
    frame.to_csv(folder / "orders.csv", index=False)
    return write_config(folder, """
        report: {name: steady, title: Steady buyers}
        data: {path: orders.csv}
        transactions: {customer: customer, invoice: order, date: date, amount: amount}
        features: {numeric: [recency_days, frequency, monetary]}
        segmentation: {k: 4}
        personas: {preset: rfm}
        recommendations: {preset: rfm}
        value: {horizon_months: 12}
        output: {dir: out}
        """)


@pytest.fixture(scope="module")
def steady(tmp_path_factory):
    folder = tmp_path_factory.mktemp("steady")
    run = run_report(steady_buyers(folder), period="2026-01")
    return run, json.loads((run.folder / "summary.json").read_text())


def test_dropout_not_identified_is_said_beside_p_alive(steady):
    run, summary = steady
    params = summary["value"]["params"]
    assert params["a"] / (params["a"] + params["b"]) < 0.01  # the trap: nobody leaves
    blind = "The model cannot see customers leaving in this data"
    assert any(blind in w for w in summary["warnings"])
    assert summary["value"]["notes"][0].startswith(blind)
    text = squash(" ".join(page_texts(run.folder / "report.pdf")))
    assert squash("P(alive) cannot show who is lapsing in this data") in text
    assert squash("No repeat buyer has a P(alive) below") not in text


def test_no_lapsing_finding_and_no_rule_on_p_alive(steady):
    _, summary = steady
    assert not any("probably lapsing" in f for f in summary["findings"])
    assert any("cannot tell who is lapsing" in f for f in summary["findings"])
    for segment in summary["segments"]:
        for action in segment["recommendations"]:
            assert "p_alive" not in (action.get("rule") or "") and "P(still" not in action["action"]


def test_a_segment_named_for_lapsing_is_reconciled(steady):
    _, summary = steady
    lapsed = [s for s in summary["segments"]
              if any(w in s["name"].lower() for w in ("lost", "hibernat", "at risk", "sleep"))]
    assert lapsed, [s["name"] for s in summary["segments"]]
    for segment in lapsed:
        alive = next(v for v in summary["value"]["segments"] if v["id"] == segment["id"])
        said = [n for n in summary["value"]["notes"]
                if n.startswith(f"{segment['name']}: recency says these customers are gone")]
        recency = segment["profile"]["recency_days"]["mean"]
        longer = recency > everyone_recency(summary)
        if alive["mean_p_alive_repeat"] > 0.9 and longer:
            assert said and "cannot tell who has left" in said[0]
        if not longer:  # recency does not say they are gone: no sentence says it does
            assert not said, (said, recency)


def everyone_recency(summary: dict) -> float:
    """Everyone's mean days since the last purchase, from the segments' means and sizes."""
    return (sum(s["profile"]["recency_days"]["mean"] * s["size"] for s in summary["segments"])
            / sum(s["size"] for s in summary["segments"]))


def test_no_sentence_says_recency_calls_a_segment_gone_when_it_bought_more_recently():
    """Tableau's Superstore: "About to sleep" (named from its R score, a rank) had bought
    126 days ago on average against 147 for everyone, "Lost" 553: only Lost's note may
    say that recency calls its customers gone."""
    from types import SimpleNamespace

    from reportgen.report.worth import SegmentWorth
    from reportgen.report.worthwording import lapse_sentences

    def worth_of(segment_id: int) -> SegmentWorth:
        return SegmentWorth(segment_id, 100, 0.3, 0.1, 1e4, 100.0, 0.3, 50.0, 1.0, 1.0, 0, 0,
                            0.0, 0.0, None, None)

    worth = SimpleNamespace(segments=(worth_of(2), worth_of(3)), churn_visible=False)
    said = lapse_sentences(worth, {2: "About to sleep", 3: "Lost"},
                           {2: (126.0, 147.0), 3: (553.0, 147.0)})
    assert len(said) == 1 and said[0].startswith(
        "Lost: recency says these customers are gone (last purchase 553 days ago on average, "
        "against 147 for everyone)")


@pytest.mark.parametrize(("repeat_bands", "verdict"), [
    ({4: 737}, "cannot show that P(alive) tells those who come back"),
    ({3: 250, 4: 737}, "P(alive) can be read as it stands"),
])
def test_a_p_alive_check_with_one_band_of_repeat_buyers_vouches_for_nothing(repeat_bands,
                                                                          verdict):
    """Tableau's Superstore: all 737 repeat buyers in "0.75 and above", within 10 points
    of what the model expected; that is the average, not that P(alive) separates anyone."""
    from types import SimpleNamespace

    from reportgen.model.backtest import BANDS, ModelScore
    from reportgen.report.worthwording import reliability_note

    customers = [56 if band == 0 else repeat_bands.get(band, 0) for band in range(len(BANDS))]
    table = pd.DataFrame({"band": list(BANDS), "customers": customers,
                          "p_alive": [1.0] * len(BANDS), "expected_share": [0.77] * len(BANDS),
                          "actual_share": [0.85] * len(BANDS)})
    chosen = SimpleNamespace(reliability=table)
    chosen.worst_gap = ModelScore.worst_gap.fget(chosen)
    note = reliability_note(SimpleNamespace(backtest=SimpleNamespace(chosen=chosen)))
    assert "within 8 points" in note and verdict in note
