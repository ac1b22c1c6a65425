"""A word only where its numbers agree (issue 28): a segment is high or low on a measure
only when its mean and its median are both on that side of everyone's, and every
comparing sentence is a typed claim checked before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import write_config

from reportgen import cli, run_report
from reportgen.model import profile
from reportgen.model.claims import Claim, Contradiction, check_claims
from reportgen.model.profile import NumericStat


def skewed_customers(folder: Path, seed: int = 0) -> Path:
    """Two kinds of customer, as on the public credit-card table: steady card users
    spending about 700, and light users spending about 100 of whom a quarter are accounts
    of 3,000. On the log scale the steady group is above everyone (its median too), while
    its mean is below everyone's (about 770), pulled up by the few large accounts."""
    rng = np.random.default_rng(seed)
    steady = rng.normal(700, 40, 240)
    light = np.where(rng.random(360) < 0.25, rng.normal(3_000, 200, 360),
                     rng.normal(100, 15, 360).clip(40))
    habits = {name: np.concatenate([rng.normal(high, 2, 240), rng.normal(4, 1, 360)]).round()
              for name, high in (("visits", 20), ("web_visits", 12), ("store_visits", 9))}
    frame = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(600)],
                          "purchases": np.concatenate([steady, light]).round(2), **habits})
    path = folder / "cards.csv"
    frame.to_csv(path, index=False)
    return write_config(folder, f"""
        report: {{name: cards, title: Card holders}}
        data: {{path: {path}, id: customer_id}}
        features: {{numeric: [purchases, visits, web_visits, store_visits], log: [purchases]}}
        segmentation: {{k: 2}}
        personas: {{preset: retail}}
        recommendations: {{preset: retail}}
        output: {{dir: out, formats: [html]}}
        """)


def test_a_log_level_against_its_own_mean_is_not_a_level(tmp_path: Path):
    run = run_report(skewed_customers(tmp_path), period="2026-11")
    summary = json.loads((run.folder / "summary.json").read_text())
    everyone = pd.read_csv(tmp_path / "cards.csv")["purchases"]
    steady = next(s for s in summary["segments"]
                  if s["profile"]["purchases"]["median"] > everyone.median())
    stat = steady["profile"]["purchases"]
    assert stat["z"] > 0.35 and stat["mean"] < everyone.mean()  # the trap is set
    assert stat["level"] == "mixed"
    assert "spend" not in steady["name"].lower()  # not "High spenders"
    assert any(t.startswith("Purchases: typical customer above everyone's (median")
               and "average below" in t for t in steady["traits"])


def test_every_level_on_the_page_agrees_with_mean_and_median(tmp_path: Path):
    run = run_report(skewed_customers(tmp_path, seed=1), period="2026-11")
    summary = json.loads((run.folder / "summary.json").read_text())
    frame = pd.read_csv(tmp_path / "cards.csv")
    labels = pd.read_csv(run.folder / "segments.csv").set_index("id")["segment"]
    members = frame.set_index("customer_id").join(labels)
    for segment in summary["segments"]:
        rows = members[members["segment"] == segment["id"]]
        for column, stat in segment["profile"].items():
            mean, median = rows[column].mean(), rows[column].median()
            assert stat["mean"] == pytest.approx(mean) and stat["median"] == pytest.approx(median)
            if stat["level"] in ("high", "very high"):
                assert mean > frame[column].mean() and median > frame[column].median()
            if stat["level"] in ("low", "very low"):
                assert mean < frame[column].mean() and median < frame[column].median()


def test_the_claim_check_stops_a_planted_contradiction(tmp_path: Path, monkeypatch, capsys):
    """Levels from the z-score alone (as before issue 28) would print "high" beside a
    mean below everyone's: the run stops as a bug, exit 1, and writes nothing."""
    config = skewed_customers(tmp_path)
    monkeypatch.setattr(profile, "agreeing_level", lambda z, *_: profile.level_of(z))
    assert cli.main(["run", str(config), "--period", "2026-11"]) == 1
    err = capsys.readouterr().err
    assert "contradict their numbers" in err and "purchases is above everyone's" in err
    assert not (tmp_path / "out" / "cards" / "2026-11").exists()


CARDS = (1003, 361)  # everyone's mean and median purchases on the credit-card table


@pytest.mark.parametrize(("says", "mean", "median", "base", "holds"), [
    ("above", 740, 469, CARDS, False),  # the credit-card segment: median above, mean below
    ("above", 1200, 469, CARDS, True),
    ("below", 2.2, 2.0, (4.3, 2.0), False),  # "Need attention": median = everyone's 2
    ("median above, mean below", 740, 469, CARDS, True),
    ("median below, mean above", 740, 469, CARDS, False),
])
def test_a_claim_holds_only_where_both_figures_agree(says, mean, median, base, holds):
    everyone = NumericStat(base[0], base[1], 0.0, "average")
    claim = Claim("test", "purchases", says, NumericStat(mean, median, 0.5, "high"), everyone)
    assert claim.holds() is holds
    if not holds:
        with pytest.raises(Contradiction, match="purchases"):
            check_claims([claim])


def test_a_level_needs_means_that_differ_as_printed():
    """Tableau's Superstore through BG/NBD: no customer is seen leaving, every P(alive)
    is 1 to nine digits, yet the spread is so small that a segment's 0.99999999 against
    0.9999999998 is a z of -0.4; the page read "Lower P(still a customer) (1 vs 1)"."""
    segment = profile.ColumnSummary(mean=0.99999999, median=0.999999995,
                                    scale_mean=0.99999999, scale_std=2e-8)
    everyone = profile.ColumnSummary(mean=0.9999999998, median=0.9999999999,
                                     scale_mean=0.9999999998, scale_std=2e-8)
    stat = profile.numeric_stat(segment, everyone)
    assert stat.z < -0.35 and stat.level == "average"
    apart = profile.numeric_stat(profile.ColumnSummary(0.8, 0.85, 0.8, 0.1), everyone)
    assert apart.level == "very low"  # printed 0.8 vs 1: a level


def test_the_heatmap_colours_only_the_levels_the_tables_print():
    """A z of -1.3 beside "1 vs 1" and "average" (P(alive) on Tableau's Superstore) is a
    pale cell with its figure; a levelled one keeps its colour, a small z its tint."""
    from types import SimpleNamespace

    from reportgen.report.chartdata import heatmap_cells

    stats = {"p_alive": NumericStat(0.99999999, 0.99999999, -1.3, "average"),
             "recency_days": NumericStat(553.0, 540.0, 2.2, "very high"),
             "tenure_days": NumericStat(1121.0, 1130.0, -0.1, "average"),
             "monetary": NumericStat(1875.0, 1200.0, 0.6, profile.MIXED)}
    segment = SimpleNamespace(name="Lost", profile=SimpleNamespace(numeric=stats))
    features = SimpleNamespace(all_numeric=list(stats), label=lambda column: column)
    cells = heatmap_cells([segment], features).set_index("feature")
    assert cells["shade"].to_dict() == {"p_alive": 0.0, "recency_days": 2.2,
                                        "tenure_days": -0.1, "monetary": 0.0}
    assert cells.loc["p_alive", "label"] == "-1.30"  # the figure is still printed


def test_a_segments_category_is_set_against_everyones_share_of_it():
    """Everyone's mix was pooled to its top six like a segment's, so a value outside them
    read 0%: Lost on Tableau's Superstore printed "Appliances 9.7% vs 0.0%". And a
    segment's "other" is set against everyone's share of the same values."""
    counts = {f"sub{i}": 100 - 5 * i for i in range(10)} | {"Appliances": 12}
    overall = profile.category_shares(counts)
    assert sum(overall.values()) == pytest.approx(1.0) and len(overall) == 11
    segment = profile.category_mix({"sub0": 40, "Appliances": 9, "sub1": 30, "sub2": 5,
                                    "sub3": 3, "sub4": 2, "sub5": 2, "sub9": 2})
    assert profile.everyone_share(overall, "Appliances", segment) == pytest.approx(
        12 / sum(counts.values()))
    named = [v for v in segment if v != "other"]
    assert segment["other"] == pytest.approx(4 / 93)  # sub5 and sub9: beyond its six
    assert profile.everyone_share(overall, "other", segment) == pytest.approx(
        1 - sum(counts[v] for v in named) / sum(counts.values()))


@pytest.mark.parametrize(("z", "level"), [(-1.0049, "low"), (-1.006, "very low"),
                                          (-0.3548, "average"), (0.356, "high"),
                                          (1.004, "high")])
def test_a_level_follows_the_z_score_as_printed(z, level):
    """The profile table prints z to two decimals beside its level, and the appendix says
    "very low below -1": the marketing golden printed "-1.00 very low"."""
    everyone = profile.ColumnSummary(mean=10.0, median=10.0, scale_mean=10.0, scale_std=1.0)
    segment = profile.ColumnSummary(mean=10.0 + 3 * z, median=10.0 + 3 * z,
                                    scale_mean=10.0 + z, scale_std=1.0)
    assert profile.numeric_stat(segment, everyone).level == level
