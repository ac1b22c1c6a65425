"""The segmentation stage: K-Means for every k in the range, choose k, label every row.

Segments are renumbered 1..k by size (largest first) so that the same data always gives
the same numbering, whatever order K-Means found the centres in.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from reportgen.config.schema import SegmentationSection
from reportgen.errors import SegmentationError
from reportgen.model.stability import STABLE, Stability, measure
from reportgen.model.threads import beside, each_on_one_thread

WEAK_SILHOUETTE = 0.25
SIDE_BY_SIDE_ROWS = 20_000  # the sweep's fits gain from running two at a time from about here



@dataclass(frozen=True)
class Refined:
    """The chosen k refitted on every customer: the final centres (by K-Means' own index),
    the customers nearest each, and the label of each row of the matrix the sweep saw."""

    centres: np.ndarray
    sizes: np.ndarray
    labels: np.ndarray


def refit(matrix: np.ndarray, start: np.ndarray, seed: int) -> Refined:
    """The refit when `matrix` holds every customer: scikit-learn's K-Means on it."""
    model = refit_on_all(matrix, start, seed)
    labels = model.labels_
    return Refined(model.cluster_centers_, np.bincount(labels, minlength=len(start)), labels)


@dataclass(frozen=True)
class KScore:
    k: int
    inertia: float
    silhouette: float
    calinski_harabasz: float
    davies_bouldin: float


@dataclass(frozen=True)
class Segmentation:
    """The chosen model and what chose it. `labels` are positions 1..k, aligned with the
    rows; `ids` the stable id of each position (continuity.py gives them), so outside this
    stage and continuity a segment is only ever its stable id."""

    k: int
    labels: np.ndarray
    centres: np.ndarray  # the final K-Means centres, by its own cluster index
    order: np.ndarray  # order[position - 1] = K-Means' own cluster index
    scores: tuple[KScore, ...]
    method: str  # silhouette | elbow | calinski_harabasz | fixed | saved
    knee: int | None
    silhouette_rows: int
    n_rows: int
    ids: tuple[int, ...]  # stable id of each position 1..k
    sweep_rows: int  # rows the k sweep was fitted on
    fitted_in: str | None = None  # with method "saved": the period the model was fitted in
    stability: Stability | None = None  # per k of the sweep; None for a saved model
    smallest_shares: tuple[float, ...] = ()  # per k of the sweep: its smallest segment's share
    min_share: float = 0.0  # with method "stable": the size rule

    @property
    def sampled_sweep(self) -> bool:
        return self.sweep_rows < self.n_rows

    @property
    def stable_labels(self) -> np.ndarray:
        """Each row's stable segment id (what segments.csv and summary.json call `segment`)."""
        return np.asarray(self.ids)[self.labels - 1]

    @property
    def cluster_ids(self) -> tuple[int, ...]:
        """The stable id of each of the model's own cluster indices."""
        ids = [0] * len(self.order)
        for position, cluster in enumerate(self.order):
            ids[int(cluster)] = self.ids[position]
        return tuple(ids)

    @property
    def best_silhouette(self) -> float:
        return max(s.silhouette for s in self.scores)

    @property
    def weak_structure(self) -> bool:
        return self.best_silhouette < WEAK_SILHOUETTE

    def score_for(self, k: int) -> KScore:
        return next(s for s in self.scores if s.k == k)

    @property
    def segment_jaccards(self) -> tuple[float, ...] | None:
        """Each position's mean Jaccard with its best match over the resamples (its
        stability), or None when the model was not refitted this period."""
        if self.stability is None:
            return None
        jaccard = self.stability.for_k(self.k).jaccard
        return tuple(jaccard[int(cluster)] for cluster in self.order)

    def jaccard_of(self) -> dict[int, float]:
        """Each segment's stability by its stable id (empty for a saved model)."""
        jaccards = self.segment_jaccards
        return dict(zip(self.ids, jaccards, strict=True)) if jaccards is not None else {}

    @property
    def stable_ks(self) -> tuple[int, ...]:
        """The k of the sweep whose every segment is at least stable."""
        if self.stability is None:
            return ()
        return tuple(s.k for s in self.stability.by_k if s.weakest >= STABLE)

    @property
    def eligible_ks(self) -> tuple[int, ...]:
        """The stable k whose smallest segment holds min_share: what select: stable
        chooses among (stable_k)."""
        shares = dict(zip((s.k for s in self.scores), self.smallest_shares, strict=False))
        return tuple(k for k in self.stable_ks if shares.get(k, 0.0) >= self.min_share)

    @property
    def natural_groups(self) -> bool:
        """False when no k of the range gives segments that come back on resampling (or
        silhouette says the data are a continuum): the segments are then a partition."""
        if self.weak_structure:
            return False
        return self.stability is None or bool(self.stable_ks)


@dataclass(frozen=True)
class Sweep:
    """The k sweep and the k it chose; `start`: that k's centres, where the refit on every
    customer begins (model/rows.Rows.refine, or `refit` here)."""

    k: int
    start: np.ndarray
    scores: tuple[KScore, ...]
    method: str
    knee: int | None
    silhouette_rows: int
    sweep_rows: int
    stability: Stability
    smallest_shares: tuple[float, ...]
    min_share: float


def segment(matrix: np.ndarray, spec: SegmentationSection) -> Segmentation:
    """Sweep k, choose one by the configured criterion, and label every row with it, when
    `matrix` holds every customer."""
    swept = sweep(matrix, spec)
    return refitted(swept, refit(matrix, swept.start, spec.random_state))


def sweep(matrix: np.ndarray, spec: SegmentationSection) -> Sweep:
    """K-Means for every k of the range on `matrix` (or a seeded sample of its rows), and
    the k the configured criterion chooses."""
    low, high = spec.k
    check_enough_rows(matrix, high, fixed=low == high)
    swept = rows_for_sweep(matrix, spec)
    single = swept.astype(np.float32)
    sample = silhouette_sample(len(swept), spec.silhouette_sample, spec.random_state)
    ks = range(low, high + 1)
    large = len(single) >= SIDE_BY_SIDE_ROWS
    fits = each_on_one_thread(lambda k: fit_kmeans(single, k, spec), ks, side_by_side=large)
    models = dict(zip(ks, fits, strict=True))
    scores, measured = beside(
        lambda: score_models(swept, list(models.values()), sample),
        lambda: measure(swept, {k: m.labels_ for k, m in models.items()}, spec.random_state),
        side_by_side=large)
    knee = find_knee(scores)
    method = spec.select if low != high else "fixed"
    smallest = tuple(float(np.bincount(m.labels_).min() / len(swept)) for m in models.values())
    k = choose_k(scores, method, knee, measured, dict(zip(models, smallest, strict=True)),
                 spec.min_share)
    return Sweep(k=k, start=models[k].cluster_centers_.astype(np.float64),
                 scores=tuple(scores), method=method, knee=knee,
                 silhouette_rows=len(sample) if sample is not None else len(swept),
                 sweep_rows=len(swept), stability=measured, smallest_shares=smallest,
                 min_share=spec.min_share)


def refitted(swept: Sweep, refined: Refined) -> Segmentation:
    """The sweep's k refitted on every customer: positions 1..k by size, largest first;
    when the sweep saw a sample, the sizes and the row count are the refit's."""
    order = size_order(refined.sizes)
    return Segmentation(
        k=swept.k, labels=relabel(refined.labels, order), centres=refined.centres,
        order=order, scores=swept.scores, method=swept.method, knee=swept.knee,
        silhouette_rows=swept.silhouette_rows, n_rows=int(np.sum(refined.sizes)),
        ids=tuple(range(1, swept.k + 1)), sweep_rows=swept.sweep_rows,
        stability=swept.stability, smallest_shares=swept.smallest_shares,
        min_share=swept.min_share)


def rows_for_sweep(matrix: np.ndarray, spec: SegmentationSection) -> np.ndarray:
    """The rows the k sweep is fitted on: all of them, or a seeded random sample.

    Choosing k needs the shape of the data, not every row: on well-mixed samples of 100k
    rows the scores by k and the chosen k match a sweep over all rows (benchmarks/), at a
    fraction of the cost, which grows with rows x k x n_init.
    """
    if len(matrix) <= spec.sweep_sample:
        return matrix
    rows = np.random.default_rng(spec.random_state).choice(len(matrix), spec.sweep_sample,
                                                           replace=False)
    return matrix[np.sort(rows)]


def refit_on_all(matrix: np.ndarray, start: np.ndarray, seed: int) -> KMeans:
    """The chosen k on every row in double precision, started from the sweep's centres.

    The sweep runs in single precision on at most `sweep_sample` rows (K-Means is bound
    by memory traffic, and float32 halves it: the 1M-customer sweep went from 12.7 s to
    7.7 s with the same scores to two decimals); one run from its centres converges in a
    few iterations because they are already nearly right.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return KMeans(n_clusters=len(start), init=start.astype(matrix.dtype), n_init=1,
                      random_state=seed).fit(matrix)


def with_ids(seg: Segmentation, ids: list[int]) -> Segmentation:
    """The same segmentation with stable ids (one per current position), positions re-sorted
    by id so that a segment keeps its place in the report from one period to the next."""
    perm = np.argsort(ids, kind="stable")  # perm[new_position - 1] = old position - 1
    rank = np.empty_like(perm)
    rank[perm] = np.arange(len(perm))
    return replace(seg, labels=rank[seg.labels - 1] + 1, order=seg.order[perm],
                   ids=tuple(ids[i] for i in perm))


def score_saved(matrix: np.ndarray, centres: np.ndarray, cluster_ids: tuple[int, ...],
                spec: SegmentationSection, fitted_in: str) -> Segmentation:
    """Label rows with a model fitted in an earlier period, unchanged (`refit: false`).

    Clusters that get no customers this period are left out; positions follow the ids.
    """
    clusters = nearest_centre(matrix, centres)
    present = sorted((c for c in np.unique(clusters)), key=lambda c: cluster_ids[c])
    if len(present) < 2:
        raise SegmentationError(
            "segmentation.refit: false: the saved model puts every customer into one segment; "
            "set segmentation.refit: true to fit a new model")
    position = np.zeros(len(cluster_ids), dtype=int)
    position[present] = np.arange(1, len(present) + 1)
    labels = position[clusters]
    sample = silhouette_sample(len(matrix), spec.silhouette_sample, spec.random_state)
    rows, sample_labels = (matrix, labels) if sample is None else (matrix[sample], labels[sample])
    inertia = float(((matrix - centres[clusters]) ** 2).sum())
    score = KScore(k=len(present), inertia=inertia,
                   silhouette=silhouette_scores(rows, [sample_labels])[0],
                   calinski_harabasz=float(calinski_harabasz_score(matrix, labels)),
                   davies_bouldin=float(davies_bouldin_score(matrix, labels)))
    return Segmentation(
        k=len(present), labels=labels, centres=centres, order=np.array(present),
        scores=(score,), method="saved", knee=None,
        silhouette_rows=len(sample) if sample is not None else len(matrix),
        n_rows=len(matrix), ids=tuple(cluster_ids[c] for c in present),
        sweep_rows=len(matrix), fitted_in=fitted_in)


def nearest_centre(matrix: np.ndarray, centres: np.ndarray,
                   chunk_rows: int = 65_536) -> np.ndarray:
    """Each row's nearest centre (K-Means' predict), a chunk of rows at a time."""
    out = np.empty(len(matrix), dtype=np.intp)
    for start in range(0, len(matrix), chunk_rows):
        block = matrix[start:start + chunk_rows]
        distances = np.stack([((block - centre) ** 2).sum(axis=1) for centre in centres], axis=1)
        out[start:start + chunk_rows] = distances.argmin(axis=1)
    return out


def check_enough_rows(matrix: np.ndarray, k_max: int, fixed: bool = False) -> None:
    """K-Means needs more distinct rows than segments (and one more for a silhouette)."""
    distinct = len(np.unique(matrix, axis=0)) if len(matrix) <= 200_000 else len(matrix)
    if distinct < k_max + 1:
        fix = (f"set segmentation.k below {distinct}" if fixed
               else f"lower the top of segmentation.k below {distinct}")
        raise SegmentationError(
            f"segmentation.k: the data have {distinct} distinct customers (rows), too few for "
            f"{'' if fixed else 'up to '}{k_max} segments; {fix}"
        )


def silhouette_sample(n: int, limit: int, seed: int) -> np.ndarray | None:
    """One fixed row sample shared by every k: silhouette is O(n^2) and must stay cheap."""
    if n <= limit:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def fit_kmeans(matrix: np.ndarray, k: int, spec: SegmentationSection) -> KMeans:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return KMeans(n_clusters=k, n_init=spec.n_init, random_state=spec.random_state).fit(matrix)


def score_models(matrix: np.ndarray, models: list[KMeans],
                 sample: np.ndarray | None) -> list[KScore]:
    """Every k's scores; the silhouettes share one pass over the sample's distances."""
    rows = matrix if sample is None else matrix[sample]
    label_sets = [m.labels_ if sample is None else m.labels_[sample] for m in models]
    silhouettes = silhouette_scores(rows, label_sets)
    return [KScore(k=int(m.n_clusters), inertia=float(m.inertia_), silhouette=sil,
                   calinski_harabasz=float(calinski_harabasz_score(matrix, m.labels_)),
                   davies_bouldin=float(davies_bouldin_score(matrix, m.labels_)))
            for m, sil in zip(models, silhouettes, strict=True)]


def silhouette_scores(rows: np.ndarray, label_sets: list[np.ndarray],
                      chunk_rows: int = 1_000) -> list[float]:
    """sklearn's silhouette_score for several labelings of the same rows at once.

    The pairwise distances, which are almost all of the cost, depend only on the rows:
    they are computed once, a chunk of rows at a time (chunk_rows x n floats), and each
    labeling's per-cluster distance sums come from one matrix product with its one-hot
    membership. Scoring k = 2..10 on 10,000 rows took 12 s as nine silhouette_score
    calls and takes about one second this way.
    """
    from sklearn.metrics.pairwise import euclidean_distances

    codes = [np.unique(labels, return_inverse=True)[1].ravel() for labels in label_sets]
    widths = [int(c.max()) + 1 for c in codes]
    starts = np.concatenate([[0], np.cumsum(widths)])
    membership = np.zeros((len(rows), starts[-1]))
    for code, start in zip(codes, starts, strict=False):
        membership[np.arange(len(rows)), start + code] = 1.0
    sizes = membership.sum(axis=0)
    squared = np.einsum("ij,ij->i", rows, rows)[np.newaxis, :]
    totals = np.zeros(len(label_sets))
    for begin in range(0, len(rows), chunk_rows):
        block = slice(begin, begin + chunk_rows)
        distances = euclidean_distances(rows[block], rows, Y_norm_squared=squared)
        sums = distances @ membership  # chunk x (sum of k): distance to each cluster
        for index, (code, start, width) in enumerate(zip(codes, starts, widths, strict=False)):
            totals[index] += _silhouette_sum(sums[:, start:start + width],
                                             sizes[start:start + width], code[block])
    return [float(total / len(rows)) if width > 1 else 0.0
            for total, width in zip(totals, widths, strict=True)]


def _silhouette_sum(sums: np.ndarray, sizes: np.ndarray, own: np.ndarray) -> float:
    """The summed silhouette of a chunk of rows (0 for a row alone in its cluster)."""
    rows = np.arange(len(own))
    own_size = sizes[own]
    inside = sums[rows, own] / np.maximum(own_size - 1, 1)
    means = sums / sizes
    means[rows, own] = np.inf
    nearest = means.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (nearest - inside) / np.maximum(inside, nearest)
    values[(own_size <= 1) | ~np.isfinite(values)] = 0.0
    return float(values.sum())


def find_knee(scores: list[KScore]) -> int | None:
    """The elbow of inertia by k (kneed's Kneedle), when the range has one."""
    if len(scores) < 3:
        return None
    with _without_module("matplotlib"):
        from kneed import KneeLocator

    ks = [s.k for s in scores]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        knee = KneeLocator(ks, [s.inertia for s in scores], curve="convex",
                           direction="decreasing").knee
    return int(knee) if knee is not None else None


@contextmanager
def _without_module(name: str) -> Iterator[None]:
    """Import what follows as if `name` were not installed, unless it is already loaded.

    kneed imports matplotlib.pyplot, when it is there, for a plot reportgen never draws:
    0.5 s of a sample run on a machine with matplotlib, as an analyst's usually has.
    """
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not here"
    try:
        yield
    finally:
        del sys.modules[name]


def choose_k(scores: list[KScore], method: str, knee: int | None,
             measured: Stability | None = None, smallest: Mapping[int, float] | None = None,
             min_share: float = 0.0) -> int:
    """The k the configured criterion picks (a fixed k is the only one scored). The
    sentence that tells a reader why is the report's (report/wording.py)."""
    if method == "fixed":
        return scores[0].k
    if method == "stable" and measured is not None and smallest is not None:
        return stable_k(scores, measured, smallest, min_share)
    if method == "elbow" and knee is not None:
        return knee
    if method == "calinski_harabasz":
        return max(scores, key=lambda s: (s.calinski_harabasz, -s.k)).k
    return best_silhouette_score(scores).k


def stable_k(scores: list[KScore], measured: Stability, smallest: Mapping[int, float],
             min_share: float) -> int:
    """Among the k whose segments all come back on resampling (mean Jaccard >= 0.75) and
    each hold `min_share` of customers, the best silhouette, preferring 3 or more segments
    over a two-way split that only says high against low. Without such a k, the best
    silhouette among the k big enough (or all): the report then says the data have no
    natural groups."""
    big = [s for s in scores if smallest[s.k] >= min_share] or scores
    stable = [s for s in big if measured.for_k(s.k).weakest >= STABLE]
    several = [s for s in stable if s.k >= 3]
    return best_silhouette_score(several or stable or big).k


def best_silhouette_score(scores: Sequence[KScore]) -> KScore:
    """The highest silhouette, the smaller k on a tie."""
    return max(scores, key=lambda s: (s.silhouette, -s.k))


def size_order(sizes: np.ndarray) -> np.ndarray:
    """K-Means cluster indices from largest to smallest (ties: lower index first)."""
    return np.array(sorted(range(len(sizes)), key=lambda c: (-sizes[c], c)))


def relabel(labels: np.ndarray, order: np.ndarray) -> np.ndarray:
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[labels] + 1
