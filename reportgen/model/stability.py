"""How far to trust each segment: would it come back if the customers were drawn again?

K-Means is refitted on repeated seeded subsamples (80% of the rows, without replacement)
and each refit is compared with the fit on all rows, on the rows they share:

- per k, the mean adjusted Rand index (ARI) between the two labellings;
- per segment of a k, the mean Jaccard similarity of the segment with its best match in
  each refit (Hennig 2007, clusterboot), with Hennig's bands: below 0.6 unstable (the
  segment dissolves), 0.6-0.75 doubtful, 0.75-0.85 stable, above 0.85 highly stable.

Subsampling rather than the bootstrap: a bootstrap repeats rows, and K-Means puts a
centre on a heavily repeated point, which reads as instability that the data lack.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from reportgen.model.threads import each_on_one_thread

FRACTION = 0.8
RESAMPLES = 10  # 20 gave the same k and bands in bench_stability.py, at twice the cost
N_INIT = 4  # per refit: fewer lets K-Means' own local optima pass for instability
MAX_ROWS = 3_000  # stability is a property of the shape, not of every row: sample to this
STABLE = 0.75  # a segment whose mean Jaccard reaches this comes back on resampling
BANDS = ((0.6, "unstable"), (STABLE, "doubtful"), (0.85, "stable"), (np.inf, "highly stable"))


@dataclass(frozen=True)
class KStability:
    k: int
    ari: float  # mean ARI of the refits against the fit on all rows
    jaccard: tuple[float, ...]  # per cluster of the reference fit (its own index)

    @property
    def weakest(self) -> float:
        return min(self.jaccard)


@dataclass(frozen=True)
class Stability:
    by_k: tuple[KStability, ...]
    resamples: int
    rows: int  # rows resampled from

    def for_k(self, k: int) -> KStability:
        return next(s for s in self.by_k if s.k == k)


def band(jaccard: float) -> str:
    return next(name for limit, name in BANDS if jaccard < limit)


def measure(matrix: np.ndarray, references: Mapping[int, np.ndarray], seed: int,
            resamples: int = RESAMPLES, fraction: float = FRACTION,
            max_rows: int = MAX_ROWS) -> Stability:
    """Stability of each k's reference labelling (`references[k]`, aligned with `matrix`)."""
    rows = _rows(len(matrix), max_rows, seed)
    data = matrix[rows].astype(np.float32)
    rng = np.random.default_rng(seed)
    size = max(round(fraction * len(data)), 2)
    draws = [np.sort(rng.choice(len(data), size, replace=False)) for _ in range(resamples)]
    references_on_rows = {k: np.asarray(labels)[rows] for k, labels in references.items()}

    def compare(task: tuple[int, int]) -> tuple[float, np.ndarray]:
        k, b = task
        reference = references_on_rows[k][draws[b]]
        refit = _fit(data[draws[b]], k, seed + b)
        return adjusted_rand_score(reference, refit), best_jaccard(reference, refit, k)

    tasks = [(k, b) for k in sorted(references) for b in range(resamples)]
    compared = dict(zip(tasks, each_on_one_thread(compare, tasks, side_by_side=False),
                        strict=True))
    by_k = []
    for k in sorted(references):
        aris, jaccards = zip(*(compared[k, b] for b in range(resamples)), strict=True)
        by_k.append(KStability(k, float(np.mean(aris)),
                               tuple(float(j) for j in np.mean(jaccards, axis=0))))
    return Stability(tuple(by_k), resamples, len(rows))


def best_jaccard(reference: np.ndarray, refit: np.ndarray, k: int) -> np.ndarray:
    """For each reference cluster 0..k-1, the Jaccard similarity of its members with the
    refit's cluster that overlaps it most (0 for a cluster absent from the draw)."""
    both = np.zeros((k, int(refit.max()) + 1))
    np.add.at(both, (reference, refit), 1)
    union = both.sum(axis=1)[:, None] + both.sum(axis=0)[None, :] - both
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, both / union, 0.0)
    return np.asarray(jaccard.max(axis=1))


def _rows(n: int, limit: int, seed: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))


def _fit(data: np.ndarray, k: int, seed: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return np.asarray(KMeans(n_clusters=k, n_init=N_INIT, random_state=seed).fit(data).labels_)


def segment_bands(stability: KStability, order: Sequence[int]) -> list[tuple[float, str]]:
    """(Jaccard, band) of each segment position 1..k, from the model's cluster order."""
    return [(stability.jaccard[int(c)], band(stability.jaccard[int(c)])) for c in order]


def prediction_strength(matrix: np.ndarray, k: int, seed: int, repeats: int = 5,
                        max_rows: int = MAX_ROWS) -> float:
    """Tibshirani & Walther (2005): split the rows in two, cluster both halves, and ask
    how often two test rows that share a test cluster also share the nearest training
    centre; the worst cluster's share, averaged over `repeats` splits. Measured beside the
    Jaccard bands in benchmarks/bench_stability.py; the report uses the Jaccard."""
    data = matrix[_rows(len(matrix), max_rows, seed)].astype(np.float32)
    rng = np.random.default_rng(seed)
    out = []
    for r in range(repeats):
        order = rng.permutation(len(data))
        train, test = data[order[::2]], data[order[1::2]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            trained = KMeans(n_clusters=k, n_init=N_INIT, random_state=seed + r).fit(train)
        own = _fit(test, k, seed + r)
        predicted = trained.predict(test)
        worst = 1.0
        for cluster in range(k):
            members = predicted[own == cluster]
            n = len(members)
            if n < 2:
                continue
            counts = np.bincount(members)
            worst = min(worst, float((counts * (counts - 1)).sum() / (n * (n - 1))))
        out.append(worst)
    return float(np.mean(out))
