"""The value stage end to end: predicted value and churn risk per customer and segment,
the backtest, the audiences, the win-back rule and the errors, on order logs made here
(tests/orders.py) whose future the tests know."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import page_texts, squash
from helpers import run_cli as cli
from orders import buyers, slipping_spenders, write

from reportgen import run_report

PERIOD = "2026-11"
SLIPPING = {f"{n:05d}" for n in range(600, 720)}  # the big spenders who stopped buying


def config(folder: Path, **changes: object) -> Path:
    raw: dict = {
        "report": {"name": "shop", "title": "Order log"},
        "data": {"path": "orders.csv"},
        "transactions": {"customer": "customer_id", "date": "date", "amount": "dollars",
                         "as_of": "auto"},
        "features": {"numeric": ["recency_days", "frequency", "monetary",
                                 "avg_order_value"]},
        "value": {"horizon_months": 12, "backtest": {"calibration_end": "auto"}},
        "segmentation": {"k": 3},
        "personas": {"preset": "rfm"},
        "recommendations": {"preset": "rfm"},
        "output": {"dir": "out", "formats": ["html"]},
    }
    raw.update(changes)
    path = folder / "shop.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@dataclass
class Run:
    lines: pd.DataFrame
    folder: Path
    summary: dict
    segments: pd.DataFrame
    html: str
    pdf: str


@pytest.fixture(scope="module")
def slipping(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("value")
    lines = slipping_spenders(folder / "orders.csv")
    path = config(folder, output={"dir": "out", "formats": ["html", "pdf"]})
    result = run_report(path, period=PERIOD)
    return Run(lines, result.folder, json.loads((result.folder / "summary.json").read_text()),
               pd.read_csv(result.folder / "segments.csv", dtype={"id": str}),
               (result.folder / "report.html").read_text(),
               "".join(page_texts(result.folder / "report.pdf")))


def slipping_segment(run: Run) -> dict:
    ids = set(run.segments.loc[run.segments["id"].isin(SLIPPING), "segment"])
    assert len(ids) == 1, "the slipping spenders should be one segment"
    (segment_id,) = ids
    return next(s for s in run.summary["segments"] if s["id"] == segment_id)


def test_every_customer_gets_predictions_with_their_id_as_written(slipping):
    segments = slipping.segments
    assert list(segments.columns) == ["id", "segment", "persona", "expected_purchases",
                                      "p_alive", "value"]
    assert set(segments["id"]) == set(slipping.lines["customer_id"])
    assert segments["p_alive"].between(0, 1).all() and (segments["value"] >= 0).all()
    one_time = slipping.lines.groupby("customer_id")["date"].nunique() == 1
    alive = segments.set_index("id")["p_alive"]
    once = alive[one_time[one_time].index]
    if slipping.summary["value"]["model"] == "bgnbd":
        assert (once == 1).all()  # BG/NBD lets nobody leave before a repeat purchase
    else:  # MBG/NBD and Pareto/NBD do: recent one-time buyers are probably still customers
        assert once.between(0.5, 1).all() and (once < 1).all()
        assert "letsacustomerleavebeforebuyingagain" in squash(slipping.pdf)
    assert alive[sorted(SLIPPING)].max() < 0.05  # weekly buyers, silent for four months


def test_a_valuable_segment_slipping_away_is_won_back_first(slipping):
    segment = slipping_segment(slipping)
    assert segment["name"] == "Can't lose them"
    spent = slipping.lines.loc[slipping.lines["customer_id"].isin(SLIPPING), "dollars"].sum()
    top = segment["recommendations"][0]
    assert top["priority"] == "high"
    assert top["action"].startswith(f"Win them back first: 120 customers who spent "
                                    f"{spent / 1e6:.1f}M are slipping away (mean P(still a "
                                    "customer) under 0.01;")
    assert not any("low-cost channels" in r["action"] for r in segment["recommendations"])


def test_segment_worth_revenue_at_risk_and_tiers(slipping):
    value = slipping.summary["value"]
    rows = {s["id"]: s for s in value["segments"]}
    assert sum(s["value_share"] for s in rows.values()) == pytest.approx(1)
    by_segment = slipping.segments.groupby("segment")
    for segment_id, group in by_segment:
        row = rows[segment_id]
        assert row["customers"] == len(group)
        assert row["total_value"] == pytest.approx(group["value"].sum(), rel=1e-3)
        assert row["lapsing"] == int((group["p_alive"] < 0.5).sum())
    slipping_row = rows[slipping_segment(slipping)["id"]]
    assert slipping_row["lapsing"] == 120
    last_year = slipping.lines[(slipping.lines["date"] > "2025-10-31")
                               & slipping.lines["customer_id"].isin(SLIPPING)]
    assert slipping_row["lapsing_last_year_spend"] == pytest.approx(last_year["dollars"].sum())
    tiers = value["tiers"]
    assert [t["name"] for t in tiers] == ["Top 1%", "1-5%", "5-10%", "10-25%", "The rest"]
    assert sum(t["customers"] for t in tiers) == 720
    assert [t["customers"] for t in tiers[:4]] == [7, 29, 36, 108]
    for tier in tiers:
        assert sum(tier["segments"].values()) == tier["customers"]


def test_the_backtest_counts_what_really_happened_after_calibration(slipping):
    """Recount the holdout's repeat purchases from the order log itself."""
    test = slipping.summary["value"]["backtest"]
    end, last = test["calibration_end"], test["holdout_end"]
    days = slipping.lines.drop_duplicates(["customer_id", "date"])
    first = days.groupby("customer_id")["date"].min()
    cohort = first[first <= end].index
    held = days[(days["date"] > end) & (days["date"] <= last)
                & days["customer_id"].isin(cohort)]
    assert test["auto"] is True
    assert test["customers"] == len(cohort)
    assert test["actual_transactions"] == len(held)
    assert test["actual_revenue"] == pytest.approx(
        slipping.lines.loc[held.index.union(slipping.lines.index[
            (slipping.lines["date"] > end) & slipping.lines["customer_id"].isin(cohort)]),
            "dollars"].sum())
    assert len(test["deciles"]) == 10
    assert sum(d["customers"] for d in test["deciles"]) == len(cohort)


def test_audiences_list_every_customer_by_value(slipping):
    folder = slipping.folder / "audiences"
    files = sorted(p.name for p in folder.iterdir())
    names = {s["id"]: s["name"] for s in slipping.summary["segments"]}
    assert "movers.csv" in files and len(files) == len(names) + 1
    seen: set[str] = set()
    for segment_id, name in names.items():
        slug = name.lower().replace("'", "").replace(" ", "-")
        audience = pd.read_csv(folder / f"{segment_id}-{slug}.csv", dtype={"id": str})
        assert list(audience.columns) == ["id", "persona", "value", "p_alive"]
        assert (audience["persona"] == name).all()
        assert audience["value"].is_monotonic_decreasing
        seen |= set(audience["id"])
    assert seen == set(slipping.lines["customer_id"])
    assert pd.read_csv(folder / "movers.csv").empty  # no earlier period


def test_the_page_says_what_segments_are_worth_and_how_far_to_trust_it(slipping):
    test = slipping.summary["value"]["backtest"]
    for text in (squash(slipping.html), slipping.pdf):  # the PDF's text comes squashed
        for line in ("What each segment is worth", "How far to trust the forecast",
                     "Predicted against actual, by decile of the prediction",
                     f"customers made {test['actual_transactions']:,}"):
            assert squash(line) in text
    for chart in ("chart-value-share", "chart-p-alive", "chart-tracking"):
        assert f'id="{chart}"' in slipping.html


def test_customers_who_move_segment_are_listed_with_their_spend_at_risk(tmp_path):
    lines = slipping_spenders(tmp_path / "all.csv")
    earlier = lines[lines["date"] <= "2026-06-30"]
    earlier.to_csv(tmp_path / "orders.csv", index=False)
    path = config(tmp_path)
    first = run_report(path, period="2026-07")
    (tmp_path / "all.csv").replace(tmp_path / "orders.csv")
    second = run_report(path, period=PERIOD)
    before = pd.read_csv(first.folder / "segments.csv", dtype={"id": str}).set_index("id")
    after = pd.read_csv(second.folder / "segments.csv", dtype={"id": str}).set_index("id")
    both = before.index.intersection(after.index)
    moved = both[before.loc[both, "segment"] != after.loc[both, "segment"]]
    movers = pd.read_csv(second.folder / "audiences" / "movers.csv", dtype={"id": str})
    assert len(moved) > 0
    assert set(movers["id"]) == set(moved)
    movers = movers.set_index("id")
    assert (movers["from_segment"] == before.loc[movers.index, "segment"]).all()
    assert (movers["to_segment"] == after.loc[movers.index, "segment"]).all()
    assert np.allclose(movers["spend_at_risk"],
                       movers["last_year_spend"] * (1 - movers["p_alive"]), atol=0.01)


def test_a_holdout_without_purchases_is_said_on_the_page_and_on_stderr(tmp_path):
    """Everyone stopped buying in 2025 and the report is as of December 2026: the auto
    holdout (the last quarter) holds no purchase, so the forecast cannot be checked."""
    rng = np.random.default_rng(5)
    write(tmp_path / "orders.csv", buyers(rng, 0, 300, 10, 40,
                                          until=pd.Timestamp("2025-12-31")))
    config(tmp_path, transactions={"customer": "customer_id", "date": "date",
                                   "amount": "dollars", "as_of": "2026-12-01"})
    done = cli("run", "shop.yaml", "--period", PERIOD, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = ("warning: Predicted value: No customer bought again in the holdout, so the "
            "forecast cannot be checked against anything.")
    assert line in done.stderr.splitlines()
    folder = tmp_path / "out" / "shop" / PERIOD
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["value"]["backtest"]["actual_transactions"] == 0
    html = squash((folder / "report.html").read_text())
    assert squash("Nobody bought again in the holdout, so the forecast could not be "
                  "checked; treat predicted value as unproven.") in html
