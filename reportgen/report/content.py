"""What the report says: the stage results gathered into one Analysis, and from it the
charts and the plain view objects the templates render (numbers already formatted).

Templates only lay out what is built here, so wording and arithmetic live in Python,
where they are tested, and a user's template override cannot get a number wrong.
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
import yaml

from reportgen.config.schema import LoadedConfig
from reportgen.data.files import Table
from reportgen.data.transactions import SalesSummary
from reportgen.model.continuity import PROFILE_SHIFT, Changes, Continuity, SegmentChange
from reportgen.model.features import CATEGORY_VARIANCE_SHARE, FeatureSet
from reportgen.model.personas import Persona
from reportgen.model.profile import (
    Profiles,
    SegmentProfile,
    histograms,
    project_2d,
    quantiles,
    score_grid,
)
from reportgen.model.recommend import Recommendation
from reportgen.model.segment import WEAK_SILHOUETTE, Segmentation
from reportgen.report import charts
from reportgen.text import format_number, format_share

VERSIONED_PACKAGES = ("reportgen", "pandas", "numpy", "scikit-learn", "kneed", "altair",
                      "vl-convert-python", "jinja2", "weasyprint", "pydantic")


@dataclass
class Analysis:
    """Everything a run computed; the single input of charts, views and summary.json."""

    loaded: LoadedConfig
    period: str
    generated_at: dt.datetime
    table: Table
    features: FeatureSet
    segmentation: Segmentation
    profiles: Profiles
    personas: list[Persona]
    recommendations: dict[int, list[Recommendation]]
    roles: dict[str, str]
    sales: SalesSummary | None = None
    colors: list[str] = field(default_factory=list)
    continuity: Continuity = field(default_factory=Continuity)
    changes: Changes | None = None

    def __post_init__(self) -> None:
        self.colors = self.colors or charts.segment_colors(self.segmentation.k)

    @property
    def config(self) -> Any:
        return self.loaded.config

    def stable_id(self, position: int) -> int:
        return self.segmentation.ids[position - 1]

    def name_of(self, segment_id: int) -> str:
        return self.personas[segment_id - 1].name

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.personas]

    def named_by(self, segment_id: int) -> str:
        persona = self.personas[segment_id - 1]
        if persona.rule is None:
            return "no rule matched: named after its strongest traits"
        return f"{persona.rule} ({persona.conditions})"

    def advised_by(self, segment_id: int) -> list[str]:
        return [f"{r.rule} ({r.conditions})" for r in self.recommendations[segment_id] if r.rule]

    def dropped(self) -> dict[str, Any]:
        """Rows (or sales lines) left out and why: `count` and every reason with its count."""
        reasons = {**self.table.dropped, **self.features.dropped}
        removed = sum(reasons.values())
        if self.sales is not None:
            reasons = {**{k: n for k, n in self.sales.line_counts.items() if n}, **reasons}
            removed += self.sales.lines_dropped
        return {"count": removed, "reasons": reasons}

    def total_revenue(self) -> float | None:
        if self.sales is None:
            return None
        return float(self.features.frame["monetary"].sum())

    def revenue_share(self, segment_id: int) -> float | None:
        """The segment's share of net revenue (only for sales lines)."""
        total = self.total_revenue()
        if not total:
            return None
        mask = self.segmentation.labels == segment_id
        return float(self.features.frame["monetary"][mask].sum()) / total

    def rules_fired(self, segment_id: int) -> list[str]:
        fired = list(self.personas[segment_id - 1].fired)
        return fired + [r.rule for r in self.recommendations[segment_id] if r.rule]


@dataclass
class ChartSpec:
    """One chart, identified for the page, with the text a screen reader or PDF reader gets.

    `spec` is the Vega-Lite dict, made once: both outputs need it, and Altair's
    validation makes `to_dict()` cost tens of milliseconds per chart.
    """

    id: str
    chart: Any
    alt: str
    raster: bool = False
    spec: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.spec = self.chart.to_dict(validate=False)


def build_charts(a: Analysis,
                 ready: Callable[[ChartSpec], None] | None = None) -> dict[str, ChartSpec]:
    """Every chart of the report. `ready` gets each one as soon as it is made, so the PDF
    process converts a chart while the next is being built."""
    seg, feats = a.segmentation, a.features
    out: dict[str, ChartSpec] = {}

    def add(key: str, chart: ChartSpec) -> None:
        out[key] = chart
        if ready is not None:
            ready(chart)

    scores = pd.DataFrame([vars(s) for s in seg.scores])
    add("sizes", ChartSpec("chart-sizes", charts.segment_sizes(_sizes_frame(a), a.colors),
                           "Share of customers in each segment."))
    add("elbow", ChartSpec("chart-elbow", charts.elbow(scores, seg.k, seg.knee),
                           "Inertia by number of segments, with the elbow marked."))
    add("scores", ChartSpec("chart-scores", charts.k_scores(scores, seg.k),
                            "Silhouette, Calinski-Harabasz and Davies-Bouldin scores by k."))
    if feats.all_numeric:
        add("heatmap", ChartSpec(
            "chart-heatmap", charts.zscore_heatmap(_heatmap_frame(a)),
            "How far each segment sits from the average on each feature."))
    points, explained = project_2d(feats.matrix, seg.labels, a.config.segmentation.random_state)
    points["name"] = [a.name_of(int(s)) for s in points["segment"]]
    add("map", ChartSpec("chart-map", charts.segment_map(
        points[["pc1", "pc2", "name"]].round(3), a.names, a.colors, explained),
        "A sample of customers on the two main axes of variation, coloured by segment.",
        raster=True))
    extra = {**(sales_charts(a) if a.sales is not None else {}),
             **(change_charts(a, a.changes) if a.changes is not None else {})}
    for key, chart in extra.items():
        add(key, chart)
    bins = histograms(feats, seg.labels, seg.k)
    labels = {c: feats.label(c) for c in feats.numeric}
    for profile in a.profiles.segments if feats.numeric else []:
        sid = a.stable_id(profile.id)
        add(f"dist-{sid}", ChartSpec(
            f"chart-dist-{sid}",
            charts.distributions(_segment_bins(bins, profile.id), labels, feats.log,
                                 a.colors[profile.id - 1]),
            f"Distributions of {a.name_of(profile.id)} against all customers."))
    return out


RFM_BOXES = ("recency_days", "frequency", "monetary")


def sales_charts(a: Analysis) -> dict[str, ChartSpec]:
    """Revenue against customers, R/F/M spread by segment, and the R x F score grid."""
    frame, labels, feats = a.features.frame, a.segmentation.labels, a.features
    shares = pd.DataFrame(
        [{"name": a.name_of(p.id), "measure": "Customers", "share": p.share}
         for p in a.profiles.segments]
        + [{"name": a.name_of(p.id), "measure": "Revenue", "share": a.revenue_share(p.id)}
           for p in a.profiles.segments])
    boxes = quantiles(frame, labels, list(RFM_BOXES), a.names)
    return {
        "revenue": ChartSpec("chart-revenue", charts.revenue_vs_customers(shares),
                             "Each segment's share of customers and of net revenue."),
        "rfm-boxes": ChartSpec("chart-rfm-boxes", charts.distribution_boxes(
            boxes, a.names, a.colors, {c: feats.label(c) for c in RFM_BOXES},
            logged=["frequency", "monetary"]),
            "Recency, frequency and monetary value by segment."),
        "rfm-grid": ChartSpec("chart-rfm-grid", charts.rfm_grid(
            score_grid(frame, labels, a.names)),
            "Customers by recency score and frequency score."),
    }


def change_charts(a: Analysis, changes: Changes) -> dict[str, ChartSpec]:
    """The share trend over kept periods and the migration heatmap of returning customers."""
    out = {}
    trend = pd.DataFrame([r for r in changes.trend if r["id"] in a.segmentation.ids])
    if not trend.empty:
        names = dict(zip(a.segmentation.ids, a.names, strict=True))
        trend["name"] = [names[i] for i in trend["id"]]
        out["trend"] = ChartSpec("chart-trend", charts.share_trend(
            trend[["period", "name", "share"]], a.names, a.colors),
            "Each segment's share of customers in every period since segment ids were kept.")
    if changes.flows:
        cells = pd.DataFrame([{
            "source": f.from_name, "target": f.to_name, "customers": f.customers,
            "share": round(f.share_of_from, 4),
            "label": f"{format_share(f.share_of_from)}\n{f.customers:,}"} for f in changes.flows])
        sources = list(dict.fromkeys(f.from_name for f in sorted(changes.flows,
                                                                  key=lambda f: f.from_id)))
        out["migration"] = ChartSpec("chart-migration", charts.migration_heatmap(
            cells, sources, a.names, f"In {changes.previous_label}", "Now"),
            f"Where the customers of {changes.previous_label} are now, by segment: the share of "
            "each old segment and the number of customers.")
    return out


def _sizes_frame(a: Analysis) -> pd.DataFrame:
    return pd.DataFrame({"name": a.names, "size": [p.size for p in a.profiles.segments],
                         "share": [p.share for p in a.profiles.segments]})


def _heatmap_frame(a: Analysis) -> pd.DataFrame:
    rows = []
    for profile in a.profiles.segments:
        for column in a.features.all_numeric:
            stat = profile.numeric[column]
            rows.append({"feature": a.features.label(column), "segment": a.name_of(profile.id),
                         "z": round(stat.z, 3), "label": signed(stat.z, 1),
                         "mean": format_number(stat.mean), "level": stat.level})
    return pd.DataFrame(rows)


def signed(value: float, digits: int) -> str:
    """+1.3, -0.4, and 0.0 rather than the "-0.0" a bare format gives for tiny negatives."""
    rounded = round(value, digits) + 0.0
    return f"{rounded:.{digits}f}" if rounded == 0 else f"{rounded:+.{digits}f}"


def _segment_bins(bins: pd.DataFrame, segment_id: int) -> pd.DataFrame:
    chosen = bins[bins["group"].isin([0, segment_id])].copy()
    chosen["who"] = np.where(chosen["group"] == 0, "Everyone", "Segment")
    return chosen.drop(columns="group").round({"start": 4, "end": 4, "share": 4})


# ---- views for the templates -------------------------------------------------------------


@dataclass(frozen=True)
class StatRow:
    label: str
    mean: str
    median: str
    average: str
    z: str
    level: str


@dataclass(frozen=True)
class MixRow:
    label: str
    values: list[tuple[str, str, str]]  # value, segment share, overall share


@dataclass(frozen=True)
class SegmentView:
    id: int
    name: str
    description: str
    color: str
    size: str
    share: str
    revenue_share: str | None
    traits: list[str]
    short_traits: list[str]
    recommendations: list[Recommendation]
    stats: list[StatRow]
    mix: list[MixRow]
    named_by: str
    advised_by: list[str]

    @property
    def top_action(self) -> str:
        return self.recommendations[0].action


def segment_views(a: Analysis) -> list[SegmentView]:
    return [_segment_view(a, p) for p in a.profiles.segments]


def _segment_view(a: Analysis, profile: SegmentProfile) -> SegmentView:
    persona = a.personas[profile.id - 1]
    traits = [t.text for t in profile.key_traits] or ["Close to the average on every feature"]
    short = [t.short for t in profile.key_traits] or ["Close to the average"]
    return SegmentView(
        id=a.stable_id(profile.id), name=persona.name, description=persona.description,
        color=a.colors[profile.id - 1], size=f"{profile.size:,}",
        share=format_share(profile.share), traits=traits,
        revenue_share=_share_or_none(a.revenue_share(profile.id)),
        short_traits=short,
        recommendations=a.recommendations[profile.id], stats=_stat_rows(a, profile),
        mix=_mix_rows(a, profile),
        named_by=a.named_by(profile.id), advised_by=a.advised_by(profile.id),
    )


def _share_or_none(share: float | None) -> str | None:
    return None if share is None else format_share(share)


def _stat_rows(a: Analysis, profile: SegmentProfile) -> list[StatRow]:
    rows = []
    for column in a.features.all_numeric:
        stat = profile.numeric[column]
        rows.append(StatRow(a.features.label(column), format_number(stat.mean),
                            format_number(stat.median),
                            format_number(a.profiles.population[column].mean),
                            signed(stat.z, 2), stat.level))
    return rows


def _mix_rows(a: Analysis, profile: SegmentProfile) -> list[MixRow]:
    rows = []
    for column, mix in profile.mix.items():
        overall = a.profiles.population_mix[column]
        top = sorted(mix.items(), key=lambda kv: (kv[0] == "other", -kv[1]))[:4]
        rows.append(MixRow(a.features.label(column), [
            (value, format_share(share), format_share(overall.get(value, 0.0)))
            for value, share in top]))
    return rows


MISSING_WARNING = 0.30   # a clustering feature missing for more customers than this
SMALL_SEGMENT = 0.01     # a segment holding fewer customers than this share


def data_warnings(a: Analysis, structure: bool = True) -> list[str]:
    """What the reader should know before trusting the segments; the run still goes on.

    `structure=False` leaves out weak structure, which the page shows in its own callout.
    """
    out = []
    rows = len(a.table.frame)
    for column in a.features.numeric + a.features.categorical:
        missing = int(a.table.frame[column].isna().sum()) if column in a.table.frame else 0
        if rows and missing / rows > MISSING_WARNING:
            treated = ("those customers were left out" if a.config.features.missing == "drop"
                       else "they were given the median (or most common value), which pulls "
                       "them toward the middle")
            out.append(f"{a.features.label(column)} is missing for {format_share(missing / rows)}"
                       f" of customers ({missing:,} of {rows:,}); {treated}. Fill it in or "
                       "move it to features.profile.")
    total = sum(p.size for p in a.profiles.segments)
    for p in a.profiles.segments:
        if total and p.size / total < SMALL_SEGMENT:
            out.append(f"Segment {a.name_of(p.id)} holds only {format_share(p.size / total)} "
                       f"of customers ({p.size:,}): too small to act on alone; a smaller "
                       "segmentation.k may fold it into a neighbour.")
    if a.continuity.note:
        out.append(a.continuity.note)
    if structure and a.segmentation.weak_structure:
        out.append(f"No strong cluster structure: the best silhouette is "
                   f"{a.segmentation.best_silhouette:.2f} (below {WEAK_SILHOUETTE}); the "
                   "segments are a useful partition, not natural groups.")
    return out


def findings(a: Analysis) -> list[str]:
    """Three to five plain sentences a stakeholder can repeat in a meeting."""
    segments = a.profiles.segments
    largest = max(segments, key=lambda p: p.size)
    out = [f"{a.name_of(largest.id)} is the largest segment: {largest.size:,} customers "
           f"({format_share(largest.share)})."]
    value = _revenue_finding(a) if a.sales is not None else _value_finding(a)
    if value:
        out.append(value)
    out.append(_structure_finding(a.segmentation))
    standout = _standout_finding(a, exclude={largest.id})
    if standout:
        out.append(standout)
    smallest = min(segments, key=lambda p: p.size)
    if smallest.share < 0.05:
        out.append(f"{a.name_of(smallest.id)} is small ({format_share(smallest.share)} of "
                   "customers): test offers on it before rolling them out.")
    return out[:5]


def value_column(a: Analysis) -> str | None:
    """The column that stands for customer value: spending, monetary, or a logged column."""
    if "spending" in a.roles and a.roles["spending"] in a.features.numeric:
        return a.roles["spending"]
    if "monetary" in a.features.numeric:
        return "monetary"
    return a.features.log[0] if a.features.log else None


def _revenue_finding(a: Analysis) -> str:
    """Where the money is: the segment with the largest share of net revenue."""
    best = max(a.profiles.segments, key=lambda p: a.revenue_share(p.id) or 0.0)
    revenue = a.revenue_share(best.id) or 0.0
    return (f"{a.name_of(best.id)} bring {format_share(revenue)} of net revenue from "
            f"{format_share(best.share)} of customers.")


def _value_finding(a: Analysis) -> str | None:
    column = value_column(a)
    if column is None:
        return None
    segments = a.profiles.segments
    best = max(segments, key=lambda p: p.numeric[column].mean)
    average = a.profiles.population[column].mean
    label = a.features.label(column)
    ratio = best.numeric[column].mean / average if average > 0 else None
    amount = (f"{ratio:.1f}x the average" if ratio and ratio >= 1.1 else
              f"{format_number(best.numeric[column].mean)} against {format_number(average)}")
    rank_by_size = sorted(segments, key=lambda p: p.size).index(best)
    if rank_by_size < len(segments) / 2:
        return (f"{a.name_of(best.id)} is only {format_share(best.share)} of customers but has "
                f"the highest {label}: {amount}.")
    return f"{a.name_of(best.id)} has the highest {label}: {amount}."


def _structure_finding(seg: Segmentation) -> str:
    """How separated the chosen segments are, in words that match the silhouette."""
    if seg.best_silhouette < WEAK_SILHOUETTE:
        return (f"The data show no strong cluster structure (best silhouette "
                f"{seg.best_silhouette:.2f}): treat the segments as a useful partition of a "
                "continuum, not as natural groups.")
    chosen = seg.score_for(seg.k).silhouette
    strength = ("clearly" if chosen >= 0.5 else "reasonably" if chosen >= 0.35
                else "only loosely")
    return (f"The {seg.k} segments are {strength} separated (silhouette {chosen:.2f} on a "
            "scale of -1 to 1).")


def _standout_finding(a: Analysis, exclude: set[int]) -> str | None:
    candidates = [(p.traits[0], p) for p in a.profiles.segments
                  if p.traits and p.id not in exclude]
    if not candidates:
        return None
    trait, profile = max(candidates, key=lambda tp: tp[0].strength)
    return f"{a.name_of(profile.id)} stands apart most: {trait.text}."


@dataclass(frozen=True)
class ChangeRow:
    name: str
    color: str
    status: str
    before: str
    now: str
    change: str
    new: str
    lost: str


@dataclass(frozen=True)
class ShiftRow:
    segment: str
    feature: str
    before: str
    now: str
    moved: str


@dataclass(frozen=True)
class ChangesView:
    """The "What changed" section, formatted."""

    previous_label: str
    intro: str
    findings: list[str]
    rows: list[ChangeRow]
    shifts: list[ShiftRow]
    returning: str | None
    migration_note: str | None
    shift_threshold: str


def changes_view(a: Analysis) -> ChangesView | None:
    changes = a.changes
    if changes is None:
        return None
    colors = dict(zip(a.segmentation.ids, a.colors, strict=True))
    return ChangesView(
        previous_label=changes.previous_label, intro=_changes_intro(a, changes),
        findings=changes.findings,
        rows=[_change_row(c, colors.get(c.id, "#BBBBBB")) for c in changes.segments],
        shifts=[ShiftRow(s.name, s.label, format_number(s.before) if s.before is not None
                         else "n/a", format_number(s.now), signed(s.shift, 2))
                for s in changes.shifts],
        returning=(f"{changes.returning:,} customers were here in both periods; "
                   f"{format_share(changes.stayed / changes.returning)} of them stayed in their "
                   "segment." if changes.returning else None),
        migration_note=changes.migration_note,
        shift_threshold=f"{PROFILE_SHIFT:g}")


def _changes_intro(a: Analysis, changes: Changes) -> str:
    since = changes.previous_label
    summary = a.continuity.previous.summary if a.continuity.previous else None
    before = summary.get("n_customers") if summary else None
    counts = (f"{before:,} customers then, {len(a.features.frame):,} now. "
              if isinstance(before, int) else "")
    kept = sum(c.status == "kept" for c in changes.segments)
    new = sum(c.status == "new" for c in changes.segments)
    retired = sum(c.status == "retired" for c in changes.segments)
    if changes.refit:
        how = (f"This period's segments were fitted afresh and matched to those of {since} "
               f"by their centres: {kept} kept their number, name and colour")
        how += f", {new} {'is' if new == 1 else 'are'} new" if new else ""
        how += f", {retired} retired" if retired else ""
        how += "."
    else:
        how = (f"The model of {since} labelled this period's customers unchanged "
               "(segmentation.refit: false).")
    if changes.k_before != changes.k_now:
        how += f" The number of segments changed from {changes.k_before} to {changes.k_now}."
    return f"Compared with {since}: {counts}{how}"


STATUS_TEXT = {"kept": "", "new": "new", "retired": "retired"}


def _change_row(change: SegmentChange, color: str) -> ChangeRow:
    def size(n: int | None, share: float | None) -> str:
        return "-" if n is None or share is None else f"{n:,} ({format_share(share)})"

    delta = change.share_change
    return ChangeRow(
        name=change.name, color=color, status=STATUS_TEXT[change.status],
        before=size(change.size_before, change.share_before),
        now=size(change.size_now, change.share_now),
        change="-" if delta is None else f"{delta * 100:+.1f} pts",
        new="-" if change.new_customers is None else f"{change.new_customers:,}",
        lost="-" if change.lost_customers is None else f"{change.lost_customers:,}")


@dataclass(frozen=True)
class ScoreRow:
    k: int
    inertia: str
    silhouette: str
    calinski_harabasz: str
    davies_bouldin: str
    chosen: bool


def score_rows(seg: Segmentation) -> list[ScoreRow]:
    return [ScoreRow(s.k, f"{s.inertia:,.1f}", f"{s.silhouette:.3f}",
                     f"{s.calinski_harabasz:,.1f}", f"{s.davies_bouldin:.3f}", s.k == seg.k)
            for s in seg.scores]


@dataclass(frozen=True)
class FeatureRow:
    column: str
    use: str
    treatment: str


def feature_rows(a: Analysis) -> list[FeatureRow]:
    f, scale = a.features, a.config.features.scale
    rows = []
    for column in f.numeric:
        steps = (["log(1 + x)"] if column in f.log else []) + [f"{scale} scaling"]
        rows.append(FeatureRow(column, "clustering, numeric", _with_imputed(f, column, steps)))
    for column in f.categorical:
        steps = [f"one-hot, weighted to {CATEGORY_VARIANCE_SHARE:.3g} of a numeric "
                 "column's variance"]
        rows.append(FeatureRow(column, "clustering, categorical", _with_imputed(f, column, steps)))
    for column in f.profile_numeric + f.profile_categorical:
        kind = "numeric" if column in f.profile_numeric else "categorical"
        rows.append(FeatureRow(column, f"profile only, {kind}", "described, not clustered on"))
    return rows


def _with_imputed(f: FeatureSet, column: str, steps: list[str]) -> str:
    if f.imputed.get(column):
        how = "median" if column in f.numeric else "most frequent value"
        steps = [f"{f.imputed[column]:,} missing values filled with the {how}", *steps]
    return "; ".join(steps)


def method_notes(a: Analysis) -> list[str]:
    seg, spec = a.segmentation, a.config.segmentation
    low, high = spec.k
    sampled = (f"on a fixed random sample of {seg.silhouette_rows:,} customers"
               if seg.silhouette_rows < seg.n_rows else "on all customers")
    notes = [
        f"K-Means (scikit-learn) with {spec.n_init} initialisations for every k from {low} to "
        f"{high}, random seed {spec.random_state}, in single precision (float32); the final "
        f"model for k={seg.k} is refitted in double precision from the best of those "
        "centres, and labels every customer.",
        f"Silhouette computed {sampled}; Calinski-Harabasz and Davies-Bouldin on "
        f"{'the same rows as the sweep' if seg.sampled_sweep else 'all customers'}. The "
        "elbow is found with the Kneedle method (kneed).",
        "Segment levels come from z-scores of the segment mean against all customers: very "
        "low below -1, low below -0.35, high above 0.35, very high above 1"
        + (" (on log(1 + x) for logged columns)." if a.features.log else "."),
        numbering_note(a),
    ]
    if seg.sampled_sweep:
        notes.insert(1, f"k chosen on a {seg.sweep_rows:,}-row random sample "
                     f"(segmentation.sweep_sample); all {seg.n_rows:,} customers labelled by "
                     f"the final model, fitted on all of them from the sample's centres.")
    if a.roles:
        bound = ", ".join(f"{role} = {column}" for role, column in a.roles.items())
        notes.append(f"Preset roles bound to columns: {bound}.")
    return notes



def numbering_note(a: Analysis) -> str:
    continuity = a.continuity
    if continuity.matching is None:
        return "Segments are numbered by size, largest first." + (
            f" {continuity.note}" if continuity.note else "")
    previous = continuity.matching.previous
    if not continuity.matching.refit:
        return (f"Segments keep their numbers, names and colours from {previous.label}: the "
                "saved model labels this period's customers unchanged (segmentation.refit: "
                "false).")
    distance = a.config.segmentation.match_distance
    return (f"Segments keep their numbers, names and colours from {previous.label}: the new "
            "segment centres were matched to the previous ones (Hungarian assignment in the "
            "previous model's feature space); a centre counts as the same segment within "
            f"{distance:g} of the distance from the old centre to its nearest neighbour. New "
            "segments take the next unused number.")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def config_text(a: Analysis) -> str:
    return yaml.safe_dump(a.loaded.raw, sort_keys=False, allow_unicode=True).strip()
