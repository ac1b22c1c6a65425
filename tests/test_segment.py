"""Segmentation: k chosen on hand-checkable data, determinism, and the reason sentence."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from reportgen.config.schema import SegmentationSection
from reportgen.errors import SegmentationError
from reportgen.model.segment import (
    Segmentation,
    choose_k,
    relabel,
    segment,
    silhouette_scores,
    size_order,
    sweep,
)
from reportgen.report.wording import selection_reason


def blobs(sizes=(40, 25, 10), spread=0.3, seed=0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [6, 0], [0, 6], [6, 6], [3, 10]])
    points = [rng.normal(centres[i], spread, size=(n, 2)) for i, n in enumerate(sizes)]
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return np.vstack(points), truth


def test_four_points_two_pairs_gives_the_obvious_split():
    matrix = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    result = segment(matrix, SegmentationSection(k=2))
    assert result.k == 2
    assert result.labels[0] == result.labels[1] != result.labels[2] == result.labels[3]
    assert result.score_for(2).inertia == pytest.approx(1.0)  # four points, 0.25 each


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_silhouette_finds_the_true_number_of_groups_for_any_seed(seed):
    matrix, truth = blobs(seed=seed)
    result = segment(matrix, SegmentationSection(k=[2, 6], random_state=seed, select="silhouette"))
    assert result.k == 3
    assert adjusted_rand_score(truth, result.labels) == pytest.approx(1.0)
    assert selection_reason(result).startswith("k=3: highest silhouette")


def test_segments_are_numbered_by_size_largest_first():
    matrix, _ = blobs(sizes=(10, 40, 25))
    result = segment(matrix, SegmentationSection(k=3))
    sizes = [int((result.labels == i).sum()) for i in (1, 2, 3)]
    assert sizes == [40, 25, 10]


def test_same_data_and_config_give_the_same_labels():
    matrix, _ = blobs(sizes=(50, 50, 50, 50), spread=1.5)
    first = segment(matrix, SegmentationSection(k=[2, 6]))
    second = segment(matrix, SegmentationSection(k=[2, 6]))
    assert np.array_equal(first.labels, second.labels)


def test_fixed_k_is_used_as_given():
    matrix, _ = blobs()
    result = segment(matrix, SegmentationSection(k=5))
    assert result.k == 5 and result.method == "fixed"
    assert "set in the config" in selection_reason(result)


def test_elbow_and_calinski_harabasz_selection():
    matrix, _ = blobs(sizes=(40, 40, 40, 40), spread=0.4)
    elbow = segment(matrix, SegmentationSection(k=[2, 9], select="elbow"))
    assert elbow.knee == 4 and elbow.k == 4
    reason = selection_reason(elbow)
    assert reason.startswith("k=4: the elbow") and "silhouette also peaks" in reason
    ch = segment(matrix, SegmentationSection(k=[2, 9], select="calinski_harabasz"))
    assert ch.k == 4 and "Calinski-Harabasz" in selection_reason(ch)


def test_every_k_is_scored():
    matrix, _ = blobs()
    result = segment(matrix, SegmentationSection(k=[2, 5]))
    assert [s.k for s in result.scores] == [2, 3, 4, 5]
    inertias = [s.inertia for s in result.scores]
    assert inertias == sorted(inertias, reverse=True)
    assert all(-1 <= s.silhouette <= 1 and s.davies_bouldin > 0 for s in result.scores)


def test_silhouette_uses_a_fixed_sample_on_large_data():
    matrix, _ = blobs(sizes=(1500, 1000, 600))
    result = segment(matrix, SegmentationSection(k=[2, 4], silhouette_sample=1000))
    assert result.silhouette_rows == 1000 and result.n_rows == 3100
    assert result.k == 3


def test_silhouettes_of_many_labelings_equal_sklearns():
    """One distance pass for every k must give exactly what silhouette_score gives, with
    labels that skip numbers, a customer alone in a segment, and a chunk edge mid-cluster."""
    from sklearn.metrics import silhouette_score

    matrix, truth = blobs(sizes=(300, 200, 90), spread=1.5)
    rng = np.random.default_rng(1)
    labelings = [truth, truth * 7 + 3, rng.integers(0, 5, len(truth)),
                 np.r_[np.zeros(len(truth) - 1, dtype=int), [1]]]
    expected = [silhouette_score(matrix, labels) for labels in labelings]
    got = silhouette_scores(matrix, labelings, chunk_rows=128)
    assert got == pytest.approx(expected, abs=1e-9)
    assert silhouette_scores(matrix, [np.zeros(len(truth), dtype=int)]) == [0.0]


def test_uniform_noise_is_flagged_as_weak_structure():
    matrix = np.random.default_rng(0).uniform(size=(400, 6))
    result = segment(matrix, SegmentationSection(k=[2, 6]))
    assert result.weak_structure and result.best_silhouette < 0.25


def test_fewer_distinct_rows_than_k_is_an_error():
    matrix = np.array([[0.0], [1.0], [2.0], [2.0]])
    with pytest.raises(SegmentationError, match="3 distinct customers"):
        segment(matrix, SegmentationSection(k=[2, 5]))


def test_relabel_maps_by_size_order():
    labels = np.array([2, 2, 2, 0, 1, 1])
    order = size_order(np.bincount(labels, minlength=3))
    assert order.tolist() == [2, 1, 0]
    assert relabel(labels, order).tolist() == [1, 1, 1, 3, 2, 2]


def test_reason_mentions_where_the_elbow_is_when_it_disagrees():
    from reportgen.model.segment import KScore

    scores = [KScore(k, 100 / k, sil, 1.0, 1.0) for k, sil in [(2, 0.3), (3, 0.5), (4, 0.4)]]
    k = choose_k(scores, "silhouette", knee=4)
    fit = Segmentation(k=k, labels=np.array([1, 2, 3]), centres=np.zeros((3, 1)),
                       order=np.arange(3), scores=tuple(scores), method="silhouette", knee=4,
                       silhouette_rows=3, n_rows=3, ids=(1, 2, 3), sweep_rows=3)
    assert k == 3 and selection_reason(fit) == ("k=3: highest silhouette (0.50); the elbow "
                                                 "is at 4.")


def test_k_chosen_on_a_sample_matches_the_full_sweep():
    """Above sweep_sample rows the sweep sees a random sample; the chosen k and the final
    labels agree with a sweep over every row, and every row is labelled."""
    matrix, truth = blobs(sizes=(2400, 1800, 1200, 600), spread=0.9, seed=7)
    full = segment(matrix, SegmentationSection(k=[2, 7], sweep_sample=100_000))
    sampled = segment(matrix, SegmentationSection(k=[2, 7], sweep_sample=1_500))
    assert sampled.sweep_rows == 1_500 and full.sweep_rows == len(matrix) == sampled.n_rows
    assert sampled.k == full.k == 4
    assert len(sampled.labels) == len(matrix)
    assert adjusted_rand_score(full.labels, sampled.labels) >= 0.98
    assert adjusted_rand_score(truth, sampled.labels) >= 0.95


def test_the_report_says_k_was_chosen_on_a_sample(tmp_path):
    import json

    from helpers import blobs_frame, write_config

    from reportgen import run_report

    blobs_frame(n_per_group=500).drop(columns="group").to_csv(tmp_path / "customers.csv",
                                                              index=False)
    config = write_config(tmp_path, """
report: {name: small, title: Small}
data: {path: customers.csv, id: customer_id}
features: {numeric: [income, score]}
segmentation: {k: [2, 5], sweep_sample: 1000}
output: {dir: out, formats: [html]}
""")
    result = run_report(config, period="2026-11")
    summary = json.loads((result.folder / "summary.json").read_text())
    assert summary["selection"]["sweep_rows"] == 1000
    assert summary["k_selected"] == 3
    assert sum(s["size"] for s in summary["segments"]) == 1500
    html = result.html.read_text()
    assert ("k chosen on a 1,000-row random sample (segmentation.sweep_sample); all 1,500 "
            "customers labelled by the final model") in html


@pytest.mark.parametrize("rows", [2_000, 25_000])  # one fit after another; two side by side
def test_the_sweep_gives_the_same_figures_on_one_core_or_two(rows, monkeypatch):
    """Each fit runs on one thread whatever the machine offers (model/threads.py), so the
    inertias and the stability figures, which K-Means sums in single precision, are the
    same on a one-core and a two-core machine: before, they moved in the 4th digit. The
    scores of the 25,000-row sweep are worked out beside the stability resamples on two
    cores, one after the other on one (OMP_NUM_THREADS=1), with the same figures."""
    from threadpoolctl import threadpool_limits

    share = rows // 5
    matrix, _ = blobs(sizes=(2 * share, share, share, rows - 4 * share), spread=0.9, seed=3)
    matrix = np.hstack([matrix, np.random.default_rng(3).normal(size=(rows, 4))])
    spec = SegmentationSection(k=[2, 6])
    with threadpool_limits(limits=1):
        one = sweep(matrix, spec)
    with threadpool_limits(limits=2):
        two = sweep(matrix, spec)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    alone = sweep(matrix, spec)
    assert one.k == two.k == alone.k
    assert one.scores == two.scores == alone.scores
    assert one.stability == two.stability == alone.stability
