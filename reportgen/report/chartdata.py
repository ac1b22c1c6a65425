"""The small aggregated tables the charts draw: histogram bins, scores by k, a 2-D projection
of at most 5,000 sampled customers, quantiles, the R x F grid, the share trend and the
migration cells. No chart ever receives the full data, so the HTML stays small and
Altair's row limit is never hit. Every table is keyed by segment name (or stable id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from reportgen.model.continuity import Segments
from reportgen.model.features import FeatureSet
from reportgen.model.population import BinCounts
from reportgen.model.profile import LEVEL_Z, MIXED
from reportgen.model.segment import Segmentation
from reportgen.report.changes import Changes
from reportgen.report.facts import SegmentFacts
from reportgen.report.worth import Worth
from reportgen.text import format_number, format_share, signed

SCATTER_POINTS = 5_000
RFM_BOXES = ("recency_days", "frequency", "monetary")


@dataclass(frozen=True)
class ChartData:
    """Columns are documented where each is made (and in the charts that draw them)."""

    sizes: pd.DataFrame  # name, size, share
    scores: pd.DataFrame  # k, inertia, silhouette, calinski_harabasz, davies_bouldin
    heatmap: pd.DataFrame | None  # feature, segment, z, label, mean, level
    map_points: pd.DataFrame  # pc1, pc2, name
    map_explained: float  # share of the variance the two components show
    distributions: Mapping[int, pd.DataFrame] = field(default_factory=dict)  # by stable id
    revenue: pd.DataFrame | None = None  # name, measure, share
    rfm_boxes: pd.DataFrame | None = None  # feature, name, q05 .. q95
    rfm_grid: pd.DataFrame | None = None  # r_score, f_score, customers, segment
    trend: pd.DataFrame | None = None  # period, name, share
    migration: pd.DataFrame | None = None  # source, target, customers, share, label
    migration_sources: tuple[str, ...] = ()


def chart_data(features: FeatureSet, segments: Segments, people: Sequence[SegmentFacts],
               changes: Changes | None, sales: bool, seed: int,
               counted: Mapping[str, BinCounts]) -> ChartData:
    """`counted`: the histograms' bins over every customer, counted where the rows are
    (the map and the box charts are drawn from the rows this process holds)."""
    names = {s.id: s.name for s in people}
    points, explained = project_2d(features.matrix, segments.labels, seed)
    points["name"] = [names[int(s)] for s in points["segment"]]
    bins = histograms(features, segments, counted)
    data = ChartData(
        sizes=pd.DataFrame({"name": [s.name for s in people], "size": [s.size for s in people],
                            "share": [s.share for s in people]}),
        scores=score_table(segments.fit),
        heatmap=heatmap_cells(people, features) if features.all_numeric else None,
        map_points=points[["pc1", "pc2", "name"]].round(3), map_explained=explained,
        distributions={s.id: segment_bins(bins, s.id) for s in people} if features.numeric
        else {})
    if sales:
        data = with_sales_tables(data, features, segments, people)
    return with_change_tables(data, changes, people) if changes is not None else data


def heatmap_cells(people: Sequence[SegmentFacts], features: FeatureSet) -> pd.DataFrame:
    """One cell a segment and measure. `shade`, what the colour shows, is the z-score where
    the profile gives the segment a level on the measure and 0 where it does not (mean and
    median on different sides of everyone's, or means equal as printed): a deep blue P(alive)
    of z -1.3 beside "1 vs 1" and "average" in the tables (Tableau's Superstore) is a colour
    that says what the figures do not."""
    rows = []
    for segment in people:
        for column in features.all_numeric:
            stat = segment.profile.numeric[column]
            levelled = stat.level not in ("average", MIXED) or abs(stat.z) <= LEVEL_Z
            rows.append({"feature": features.label(column), "segment": segment.name,
                         "z": round(stat.z, 3), "label": signed(stat.z, 2),
                         "shade": round(stat.z, 3) if levelled else 0.0,
                         "mean": format_number(stat.mean), "level": stat.level})
    return pd.DataFrame(rows)


def with_sales_tables(data: ChartData, features: FeatureSet, segments: Segments,
                      people: Sequence[SegmentFacts]) -> ChartData:
    """Revenue against customers, R/F/M spread by segment, and the R x F score grid."""
    frame, names = features.frame, {s.id: s.name for s in people}
    shares = pd.DataFrame(
        [{"name": s.name, "measure": "Customers", "share": s.share} for s in people]
        + [{"name": s.name, "measure": "Revenue", "share": s.revenue_share} for s in people])
    return replace(data, revenue=shares,
                   rfm_boxes=quantiles(frame, segments.labels, list(RFM_BOXES), names),
                   rfm_grid=score_grid(frame, segments.labels, names))


def with_change_tables(data: ChartData, changes: Changes,
                       people: Sequence[SegmentFacts]) -> ChartData:
    """The share trend over kept periods and the migration cells of returning customers."""
    names = {s.id: s.name for s in people}
    trend = pd.DataFrame([r for r in changes.trend if r["id"] in names])
    if not trend.empty:
        trend["name"] = [names[i] for i in trend["id"]]
        data = replace(data, trend=trend[["period", "name", "share"]])
    flows = changes.migration.flows
    if flows:
        data = replace(data, migration=pd.DataFrame([{
            "source": f.from_name, "target": f.to_name, "customers": f.customers,
            "share": round(f.share_of_from, 4),
            "label": f"{format_share(f.share_of_from)}\n{f.customers:,}"} for f in flows]),
            migration_sources=tuple(dict.fromkeys(
                f.from_name for f in sorted(flows, key=lambda f: f.from_id))))
    return data


def score_table(fit: Segmentation) -> pd.DataFrame:
    """k and its scores; with `stability` (the weakest segment's mean Jaccard) when the
    sweep was resampled."""
    table = pd.DataFrame([vars(s) for s in fit.scores])
    if fit.stability is not None:
        table["stability"] = [fit.stability.for_k(k).weakest for k in table["k"]]
    return table


def histograms(features: FeatureSet, segments: Segments,
               counted: Mapping[str, BinCounts]) -> pd.DataFrame:
    """Binned distributions, per segment and for everyone, of each numeric clustering column.

    Columns: feature, group (the segment's stable id, 0 for everyone), start, end, share.
    Logged columns get log-spaced bins so a skewed money column does not collapse into one
    bar (model/population.count_bins). `counted`: the counts, made where the rows are.
    """
    parts = [pd.DataFrame(columns=["feature", "group", "start", "end", "share"])]
    for column in features.numeric:
        bins = counted[column]
        for group in (0, *segments.ids):
            counts = bins.counts[group]
            share = counts / max(int(counts.sum()), 1)
            parts.append(pd.DataFrame({"feature": column, "group": group,
                                       "start": bins.edges[:-1], "end": bins.edges[1:],
                                       "share": share}))
    return pd.concat(parts, ignore_index=True)


def segment_bins(bins: pd.DataFrame, segment_id: int) -> pd.DataFrame:
    """One segment's bins beside everyone's. Columns: feature, who, start, end, share."""
    chosen = bins[bins["group"].isin([0, segment_id])].copy()
    chosen["who"] = np.where(chosen["group"] == 0, "Everyone", "Segment")
    return chosen.drop(columns="group").round({"start": 4, "end": 4, "share": 4})


def project_2d(matrix: np.ndarray, labels: np.ndarray, seed: int) -> tuple[pd.DataFrame, float]:
    """PCA of the clustering matrix for a fixed-seed sample; also the variance it shows.

    With a single clustering column there is no second axis: the map is then a strip.
    """
    from sklearn.decomposition import PCA

    pca = PCA(n_components=min(2, matrix.shape[1]), random_state=seed).fit(matrix)
    rows = np.arange(len(matrix))
    if len(rows) > SCATTER_POINTS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, SCATTER_POINTS, replace=False))
    coords = pca.transform(matrix[rows])
    second = coords[:, 1] if coords.shape[1] > 1 else np.zeros(len(rows))
    frame = pd.DataFrame({"pc1": coords[:, 0], "pc2": second, "segment": labels[rows],
                          "row": rows})
    return frame, float(pca.explained_variance_ratio_.sum())


def quantiles(frame: pd.DataFrame, labels: np.ndarray, columns: list[str],
              names: Mapping[int, str]) -> pd.DataFrame:
    """5/25/50/75/95th percentiles per segment of each column, for box charts."""
    rows = []
    for column in columns:
        for segment_id, name in names.items():
            values = frame[column][labels == segment_id].dropna()
            q = values.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).to_numpy()
            rows.append({"feature": column, "name": name, "q05": q[0], "q25": q[1],
                         "q50": q[2], "q75": q[3], "q95": q[4]})
    return pd.DataFrame(rows)


def score_grid(frame: pd.DataFrame, labels: np.ndarray, names: Mapping[int, str]) -> pd.DataFrame:
    """Customers per (R score, F score) cell and the segment most of them belong to."""
    cells = pd.DataFrame({"r_score": frame["r_score"].to_numpy(),
                          "f_score": frame["f_score"].to_numpy(),
                          "segment": pd.Series(labels).map(names).to_numpy()})
    counts = cells.groupby(["r_score", "f_score"]).size().rename("customers")
    top = (cells.groupby(["r_score", "f_score"])["segment"]
           .agg(lambda s: s.value_counts().index[0]))
    return pd.concat([counts, top], axis=1).reset_index()


def value_ranges(worth: Worth, names: Mapping[int, str]) -> pd.DataFrame:
    """Each segment's predicted value and its 90% interval (name, value, low, high); empty
    when the fit gave no intervals."""
    return pd.DataFrame(
        [{"name": names[s.id], "value": round(s.total_value, 2), "low": round(s.value_low, 2),
          "high": round(s.value_high, 2)}
         for s in worth.segments if s.value_low is not None and s.value_high is not None],
        columns=["name", "value", "low", "high"])


def value_tables(worth: Worth, names: Mapping[int, str]
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The value section's tables: shares of customers, revenue and predicted value (name,
    measure, share); P(alive) bands (name, band, customers, share); the backtest's weekly
    tracking (week_end, series "Actual" or "Model", purchases)."""
    shares = pd.DataFrame(
        [{"name": names[s.id], "measure": measure, "share": share}
         for measure, of in (("Customers", "customer_share"), ("Revenue", "revenue_share"),
                             ("Predicted value", "value_share"))
         for s in worth.segments for share in [getattr(s, of) or 0.0]])
    bands = worth.p_alive_bands.assign(name=lambda f: f["segment"].map(names))
    weeks = worth.backtest.tracking.melt(id_vars=["week_end"], value_vars=["actual", "expected"],
                                         var_name="series", value_name="purchases")
    weeks["series"] = weeks["series"].map({"actual": "Actual", "expected": "Model"})
    weeks["purchases"] = weeks["purchases"].round(1)
    return shares, bands[["name", "band", "customers", "share"]], weeks
