"""Segment stability by resampling (model/stability.py): real groups come back in every
refit, splits of a continuum do not."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans

from reportgen.model import stability


def labels(matrix: np.ndarray, k: int) -> np.ndarray:
    return KMeans(n_clusters=k, n_init=3, random_state=0).fit(matrix).labels_


def test_planted_groups_are_highly_stable_and_noise_splits_are_not() -> None:
    rng = np.random.default_rng(0)
    centres = rng.uniform(-10, 10, size=(4, 3))
    groups = np.vstack([rng.normal(c, 1.0, size=(300, 3)) for c in centres])
    noise = rng.uniform(size=(1200, 3))
    planted = stability.measure(groups, {4: labels(groups, 4)}, seed=1, resamples=8)
    uniform = stability.measure(noise, {4: labels(noise, 4)}, seed=1, resamples=8)
    assert planted.for_k(4).ari > 0.95
    assert [stability.band(j) for j in planted.for_k(4).jaccard] == ["highly stable"] * 4
    assert uniform.for_k(4).ari < 0.8
    assert stability.band(uniform.for_k(4).weakest) in ("unstable", "doubtful")


@pytest.mark.parametrize(("jaccard", "band"), [
    (0.59, "unstable"), (0.6, "doubtful"), (0.749, "doubtful"), (0.75, "stable"),
    (0.85, "highly stable"), (1.0, "highly stable")])
def test_hennigs_bands(jaccard: float, band: str) -> None:
    assert stability.band(jaccard) == band


def test_best_jaccard_matches_each_segment_with_its_closest_refit_cluster() -> None:
    reference = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    refit = np.array([2, 2, 2, 1, 1, 1, 1, 1])  # one member of segment 0 moved over
    np.testing.assert_allclose(stability.best_jaccard(reference, refit, 2), [3 / 4, 4 / 5])


def test_prediction_strength_is_high_for_real_groups_and_low_on_noise() -> None:
    rng = np.random.default_rng(2)
    centres = rng.uniform(-10, 10, size=(3, 3))
    groups = np.vstack([rng.normal(c, 1.0, size=(400, 3)) for c in centres])
    noise = rng.uniform(size=(1200, 3))
    assert stability.prediction_strength(groups, 3, seed=1, repeats=3) > 0.9
    assert stability.prediction_strength(noise, 4, seed=1, repeats=3) < 0.8
