"""The report's sentences about the segmentation as a whole, built in one place from typed
results: the findings of the executive summary, the warnings, why this k, the method notes
and how the segments are numbered. (What changed has its own, in changes.py; a segment's
name, description and traits are the persona stage's.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reportgen.config.schema import SegmentationSection
from reportgen.model.continuity import Continuity
from reportgen.model.profile import NumericStat
from reportgen.model.segment import WEAK_SILHOUETTE, KScore, Segmentation, best_silhouette_score
from reportgen.model.stability import FRACTION, STABLE, band
from reportgen.report.facts import FeatureFacts, SegmentFacts
from reportgen.text import format_number, format_share

MISSING_WARNING = 0.30   # a clustering feature missing for more customers than this
SMALL_SEGMENT = 0.01     # a segment holding fewer customers than this share


# ---- why this k -----------------------------------------------------------------------------


def selection_reason(fit: Segmentation) -> str:
    """The sentence that tells a reader why the report has k segments."""
    scores = list(fit.scores)
    if fit.method == "saved":
        silhouette = scores[0].silhouette
        return (f"k={fit.k}: the segmentation fitted in {fit.fitted_in} is kept unchanged "
                f"(segmentation.refit: false); silhouette {silhouette:.2f} on this period's "
                "data.")
    if fit.method == "fixed":
        return f"k={fit.k}: set in the config (silhouette {scores[0].silhouette:.2f})."
    best = best_silhouette_score(scores)
    if fit.method == "stable" and fit.stability is not None:
        return _stable_reason(fit) + _second_opinion("silhouette", fit.k, fit.knee, best) + "."
    if fit.method == "elbow" and fit.knee is not None:
        lead = f"k={fit.k}: the elbow of the inertia curve"
    elif fit.method == "calinski_harabasz":
        score = fit.score_for(fit.k).calinski_harabasz
        lead = f"k={fit.k}: highest Calinski-Harabasz score ({score:,.0f})"
    else:
        lead = f"k={fit.k}: highest silhouette ({best.silhouette:.2f})"
        if fit.method == "elbow":
            lead += " (the inertia curve has no clear elbow)"
    return lead + _second_opinion(fit.method, fit.k, fit.knee, best) + "."


def _stable_reason(fit: Segmentation) -> str:
    """select: stable, in the words of its rule (segment.stable_k)."""
    stable = list(fit.eligible_ks)
    rule = (f"whose segments all come back when the customers are resampled and hold at "
            f"least {format_share(fit.min_share)} each")
    silhouette = fit.score_for(fit.k).silhouette
    if not stable:
        return (f"k={fit.k}: no k from {fit.scores[0].k} to {fit.scores[-1].k} has segments "
                f"{rule.removeprefix('whose segments ')}, so k has the best silhouette "
                f"({silhouette:.2f}); the data have no natural groups")
    if fit.k == 2 and stable == [2]:
        return f"k=2: the only k {rule}"
    listed = ", ".join(str(k) for k in stable)
    more = "; 3 or more segments are preferred to a two-way split" if 2 in stable else ""
    return (f"k={fit.k}: the best silhouette ({silhouette:.2f}) among the k {rule} (k = "
            f"{listed}){more}")


def _second_opinion(method: str, chosen: int, knee: int | None, best: KScore) -> str:
    if method == "silhouette":
        if knee is None:
            return "; the inertia curve has no clear elbow"
        return f"; the elbow is {'also ' if knee == chosen else ''}at {knee}"
    if best.k == chosen:
        return f"; silhouette also peaks there ({best.silhouette:.2f})"
    return f"; silhouette peaks at k={best.k} ({best.silhouette:.2f})"


def unstable(fit: Segmentation) -> bool:
    """Resampled, and no k of the range gave segments that all come back."""
    return fit.stability is not None and not fit.stable_ks


def structure_warning(fit: Segmentation) -> str | None:
    """The verdict when the data have no natural groups: silhouette says the customers
    form a continuum, or no k gives segments that come back when they are resampled."""
    if not fit.weak_structure and not unstable(fit):
        return None
    reasons = []
    if fit.weak_structure:
        reasons.append(f"the best silhouette is {fit.best_silhouette:.2f} (below "
                       f"{WEAK_SILHOUETTE})")
    if unstable(fit):
        reasons.append(f"no k from {fit.scores[0].k} to {fit.scores[-1].k} gives segments "
                       "that come back when the customers are resampled")
    return (f"No natural groups: {' and '.join(reasons)}. The customers form a continuum; "
            "the segments are a convenient partition of it, not groups that exist in the "
            "data.")


# ---- findings -------------------------------------------------------------------------------


def stability_warning(fit: Segmentation, names: Mapping[int, str]) -> str | None:
    """The executive summary's sentence when a segment might not come back next time."""
    weak = [(names[i], j) for i, j in fit.jaccard_of().items() if j < STABLE]
    if not weak:
        return None
    listed = ", ".join(f"{name} ({band(j)}, {j:.2f})" for name, j in weak)
    return (f"Not every segment is stable: {listed}. When the customers are resampled "
            "these come back only partly (mean Jaccard below 0.75); check them before "
            "acting on them.")


def findings(segments: Sequence[SegmentFacts], fit: Segmentation, sales: bool,
             value: str | None, features: FeatureFacts,
             population: Mapping[str, NumericStat]) -> list[str]:
    """Three to five plain sentences a stakeholder can repeat in a meeting."""
    largest = max(segments, key=lambda s: s.size)
    out = [f"{largest.name} is the largest segment: {largest.size:,} customers "
           f"({format_share(largest.share)})."]
    money = (_revenue_finding(segments) if sales
             else _value_finding(segments, value, features, population))
    if money:
        out.append(money)
    out.append(_structure_finding(fit))
    standout = _standout_finding(segments, exclude={largest.id})
    if standout:
        out.append(standout)
    smallest = min(segments, key=lambda s: s.size)
    if smallest.share < 0.05:
        out.append(f"{smallest.name} is small ({format_share(smallest.share)} of customers): "
                   "test offers on it before rolling them out.")
    return out[:5]


def value_column(roles: Mapping[str, str], features: FeatureFacts) -> str | None:
    """The column that stands for customer value: spending, monetary, or a logged column."""
    if "spending" in roles and roles["spending"] in features.numeric:
        return roles["spending"]
    if "monetary" in features.numeric:
        return "monetary"
    return features.log[0] if features.log else None


def _revenue_finding(segments: Sequence[SegmentFacts]) -> str:
    """Where the money is: the segment with the largest share of net revenue."""
    best = max(segments, key=lambda s: s.revenue_share or 0.0)
    return (f"{best.name} bring {format_share(best.revenue_share or 0.0)} of net revenue from "
            f"{format_share(best.share)} of customers.")


def _value_finding(segments: Sequence[SegmentFacts], column: str | None,
                   features: FeatureFacts, population: Mapping[str, NumericStat]) -> str | None:
    if column is None:
        return None
    best = max(segments, key=lambda s: s.profile.numeric[column].mean)
    mean, average = best.profile.numeric[column].mean, population[column].mean
    ratio = mean / average if average > 0 else None
    amount = (f"{ratio:.1f}x the average" if ratio and ratio >= 1.1 else
              f"{format_number(mean)} against {format_number(average)}")
    label = features.label(column)
    rank_by_size = sorted(segments, key=lambda s: s.size).index(best)
    if rank_by_size < len(segments) / 2:
        return (f"{best.name} is only {format_share(best.share)} of customers but has the "
                f"highest {label}: {amount}.")
    return f"{best.name} has the highest {label}: {amount}."


def _structure_finding(fit: Segmentation) -> str:
    """How separated the chosen segments are, in words that match the silhouette."""
    if not fit.natural_groups:
        return (f"The data show no natural groups (best silhouette "
                f"{fit.best_silhouette:.2f}{', no stable k' if unstable(fit) else ''}): "
                "treat the segments as a useful partition of a continuum.")
    chosen = fit.score_for(fit.k).silhouette
    strength = ("clearly" if chosen >= 0.5 else "reasonably" if chosen >= 0.35
                else "only loosely")
    return (f"The {fit.k} segments are {strength} separated (silhouette {chosen:.2f} on a "
            "scale of -1 to 1).")


def _standout_finding(segments: Sequence[SegmentFacts], exclude: set[int]) -> str | None:
    candidates = [(s.profile.levelled[0], s) for s in segments
                  if s.profile.levelled and s.id not in exclude]
    if not candidates:
        return None
    trait, segment = max(candidates, key=lambda ts: ts[0].strength)
    return f"{segment.name} stands apart most: {trait.text}."


# ---- warnings -------------------------------------------------------------------------------


def data_warnings(missing: Mapping[str, int], rows: int, drop_missing: bool,
                  segments: Sequence[SegmentFacts], features: FeatureFacts,
                  continuity: Continuity) -> list[str]:
    """What the reader should know before trusting the segments; the run still goes on.
    (Weak structure is structure_warning: the page shows it in its own callout.)"""
    out = []
    for column, count in missing.items():
        if rows and count / rows > MISSING_WARNING:
            treated = ("those customers were left out" if drop_missing
                       else "they were given the median (or most common value), which pulls "
                       "them toward the middle")
            out.append(f"{features.label(column)} is missing for {format_share(count / rows)}"
                       f" of customers ({count:,} of {rows:,}); {treated}. Fill it in or "
                       "move it to features.profile.")
    total = sum(s.size for s in segments)
    for s in segments:
        if total and s.size / total < SMALL_SEGMENT:
            out.append(f"Segment {s.name} holds only {format_share(s.size / total)} of "
                       f"customers ({s.size:,}): too small to act on alone; a smaller "
                       "segmentation.k may fold it into a neighbour.")
    if continuity.note:
        out.append(continuity.note)
    return out


# ---- the method -----------------------------------------------------------------------------


def method_notes(fit: Segmentation, spec: SegmentationSection, logged: bool,
                 roles: Mapping[str, str], continuity: Continuity) -> list[str]:
    low, high = spec.k
    sampled = (f"on a fixed random sample of {fit.silhouette_rows:,} customers"
               if fit.silhouette_rows < fit.n_rows else "on all customers")
    notes = [
        f"K-Means (scikit-learn) with {spec.n_init} initialisations for every k from {low} to "
        f"{high}, random seed {spec.random_state}, in single precision (float32); the final "
        f"model for k={fit.k} is refitted in double precision from the best of those "
        "centres, and labels every customer.",
        f"Silhouette computed {sampled}; Calinski-Harabasz and Davies-Bouldin on "
        f"{'the same rows as the sweep' if fit.sampled_sweep else 'all customers'}. The "
        "elbow is found with the Kneedle method (kneed).",
        "Segment levels come from z-scores of the segment mean against all customers, to "
        "two decimals as printed: very low below -1, low below -0.35, high above 0.35, very "
        "high above 1"
        + (" (on log(1 + x) for logged columns)" if logged else "")
        + "; a level is given only where the segment's mean and median both lie on that "
        "side of everyone's and its mean differs from everyone's as printed.",
        numbering_note(continuity, spec.match_distance),
    ]
    if fit.sampled_sweep:
        notes.insert(1, f"k chosen on a {fit.sweep_rows:,}-row random sample "
                     f"(segmentation.sweep_sample); all {fit.n_rows:,} customers labelled by "
                     f"the final model, fitted on all of them from the sample's centres.")
    if fit.stability is not None:
        notes.insert(2, stability_note(fit))
    if roles:
        bound = ", ".join(f"{role} = {column}" for role, column in roles.items())
        notes.append(f"Preset roles bound to columns: {bound}.")
    return notes


def stability_note(fit: Segmentation) -> str:
    measured = fit.stability
    assert measured is not None
    return (f"Stability: for every k, K-Means refitted on {measured.resamples} seeded random "
            f"subsamples of {FRACTION:.0%} of {measured.rows:,} customers and compared with "
            "the fit on all of them; a segment's stability is its mean Jaccard similarity "
            "with its closest refit segment (Hennig's clusterboot): below 0.6 unstable, "
            "0.6-0.75 doubtful, 0.75-0.85 stable, above 0.85 highly stable.")


def numbering_note(continuity: Continuity, match_distance: float) -> str:
    matching = continuity.matching
    if matching is None:
        return "Segments are numbered by size, largest first." + (
            f" {continuity.note}" if continuity.note else "")
    label = matching.previous.label
    if not matching.refit:
        return (f"Segments keep their numbers, names and colours from {label}: the saved "
                "model labels this period's customers unchanged (segmentation.refit: "
                "false).")
    return (f"Segments keep their numbers, names and colours from {label}: the new "
            "segment centres were matched to the previous ones (Hungarian assignment in the "
            "previous model's feature space); a centre counts as the same segment within "
            f"{match_distance:g} of the distance from the old centre to its nearest neighbour. "
            "New segments take the next unused number.")


NO_TRAITS = "Close to the average on every feature"  # a segment without a key trait
NO_TRAITS_SHORT = "Close to the average"


def map_note(n: int, shown: int) -> str:
    """The segment map's caption: `shown` of the `n` customers are drawn."""
    sample = f"a random sample of {shown:,} of the {n:,} customers" if shown < n else (
        f"all {n:,} customers")
    return (f"Each dot is a customer ({sample}), placed by the two principal components of "
            "the clustering features. Segments that overlap here may still be separated "
            "along other directions.")


def control_warning(problem: str) -> str:
    """Last period's control groups cannot be trusted: no lift is measured from them."""
    return (f"Last period's control groups cannot be used: {problem}. Whether last "
            "period's actions worked is not measured this period.")


def lift_pending(reason: str) -> str:
    """Last period's groups are sound, but nothing has been bought since they were drawn."""
    return (f"Last period's actions cannot be measured yet: {reason}. Run this period "
            "again once its sales lines reach past that day.")
