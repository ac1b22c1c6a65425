"""The default choice of k (`select: stable`) on the cases a marketer meets: sharp planted
groups, planted behaviour types in sales lines, a real continuum, and uniform noise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import ROOT, SHARED_DATA
from sklearn.metrics import adjusted_rand_score

from reportgen import data, model, run_report
from reportgen.config import load_config
from reportgen.config.schema import SegmentationSection
from reportgen.model.segment import segment
from reportgen.model.stability import STABLE

CAMPAIGN = SHARED_DATA / "marketing_campaign.csv"


def six_groups(n: int = 20_000, seed: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Six sharp groups of customers on five standardised measures, of unequal size and
    spread (the closest two centres 7.9 apart, spreads 0.6 to 1)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-8, 8, size=(6, 5))
    sizes = rng.dirichlet(np.full(6, 4.0))
    truth = rng.choice(6, size=n, p=sizes)
    spread = rng.uniform(0.6, 1.0, size=6)
    return centres[truth] + rng.normal(size=(n, 5)) * spread[truth, None], truth


def test_six_planted_groups_are_found_and_every_one_is_stable() -> None:
    matrix, truth = six_groups()
    fit = segment(matrix, SegmentationSection(k=[2, 10]))
    assert fit.method == "stable" and fit.k == 6
    assert adjusted_rand_score(truth, fit.labels) >= 0.95
    jaccards = fit.segment_jaccards
    assert jaccards is not None and min(jaccards) >= STABLE
    assert fit.natural_groups


def test_five_planted_behaviour_types_in_sales_lines() -> None:
    """The sample sales lines: each customer has one of five behaviours (sample.py)."""
    from reportgen.sample import generate_sales

    _, truth = generate_sales()
    config = load_config(ROOT / "configs" / "transactions.yaml", {}).config
    customers = data.load_customers(config, "2026-11")
    customers = model.with_value(customers, model.customer_value(customers, config.value))
    features = model.build_features(customers.table, customers.features,
                                    profile_log=customers.profile_log)
    fit = segment(features.matrix, config.segmentation)
    assert fit.k == 5
    known = truth.reindex(features.ids.astype(truth.index.dtype).to_numpy())
    assert adjusted_rand_score(known.to_numpy(), fit.labels) >= 0.9


def test_uniform_noise_is_said_to_have_no_natural_groups(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    columns = [f"m{i}" for i in range(5)]
    pd.DataFrame(rng.uniform(size=(10_000, 5)), columns=columns).to_csv(
        tmp_path / "noise.csv", index=False)
    (tmp_path / "noise.yaml").write_text(yaml.safe_dump({
        "report": {"name": "noise", "title": "Noise"}, "data": {"path": "noise.csv"},
        "features": {"numeric": columns}, "segmentation": {"k": [2, 8]},
        "output": {"dir": "out", "formats": ["html"]}}))
    result = run_report(tmp_path / "noise.yaml", period="2026-11")
    summary = json.loads((result.folder / "summary.json").read_text())
    assert summary["selection"]["natural_groups"] is False
    assert not any(k["stable"] for k in summary["stability"]["by_k"] if k["k"] >= 3)
    verdict = next(w for w in summary["warnings"] if w.startswith("No natural groups: "))
    assert "the segments are a convenient partition" in verdict
    assert verdict in (result.folder / "report.html").read_text()


@pytest.mark.skipif(not CAMPAIGN.is_file(), reason=f"shared dataset not present: {CAMPAIGN}")
def test_marketing_campaign_gets_a_usable_k_without_a_hand_switch(tmp_path: Path) -> None:
    """The example config has no `select:` any more: silhouette alone picks 2."""
    raw = yaml.safe_load((ROOT / "configs" / "marketing_campaign.yaml").read_text())
    assert "select" not in raw["segmentation"]
    result = run_report(ROOT / "configs" / "marketing_campaign.yaml", period="2026-11",
                        output={"dir": str(tmp_path), "formats": ["html"]})
    summary = json.loads((result.folder / "summary.json").read_text())
    assert 3 <= summary["k_selected"] <= 8
    assert min(s["share"] for s in summary["segments"]) >= 0.03
    assert {s["band"] for s in summary["stability"]["segments"]} <= {
        "doubtful", "stable", "highly stable"}
    best = max(summary["k_scores"], key=lambda s: s["silhouette"])
    assert best["k"] == 2  # what the old default would have chosen
