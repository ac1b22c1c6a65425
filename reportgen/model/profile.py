"""The profiles stage: what each segment looks like, in the data's own units.

For each segment (by stable id): size and share; for numeric columns the mean, median,
z-score against the whole population and its level (very low .. very high); for
categorical columns the mix of values; and its distinctive traits, strongest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reportgen.model.continuity import Segments
from reportgen.model.features import FeatureSet
from reportgen.text import format_number, format_share, without_units

TOP_CATEGORIES = 6


@dataclass(frozen=True)
class NumericStat:
    mean: float
    median: float
    z: float
    level: str


@dataclass(frozen=True)
class Trait:
    """A distinctive trait in plain words; `strength` ranks traits (|z| or its analogue)."""

    column: str
    text: str
    short: str
    phrase: str  # for names: "high income", "north region"
    strength: float
    level: str
    says: str = ""  # the comparison the text makes, for the claim check (model/claims.py)


@dataclass(frozen=True)
class SegmentProfile:
    id: int  # the stable id
    size: int
    share: float
    numeric: Mapping[str, NumericStat]
    mix: Mapping[str, Mapping[str, float]]
    traits: tuple[Trait, ...] = ()

    def top_value(self, column: str) -> str | None:
        values = self.mix.get(column) or {}
        return max(values, key=values.__getitem__) if values else None

    @property
    def key_traits(self) -> tuple[Trait, ...]:
        return self.traits[:3]

    @property
    def levelled(self) -> tuple[Trait, ...]:
        """The traits a name or an action may be built on: a mixed one says no direction."""
        return tuple(t for t in self.traits if t.level != MIXED)


@dataclass(frozen=True)
class Profiles:
    segments: tuple[SegmentProfile, ...]  # in report order
    population: Mapping[str, NumericStat]
    population_mix: Mapping[str, Mapping[str, float]]  # every value's share, none pooled
    n: int

    def of(self, segment_id: int) -> SegmentProfile:
        return next(p for p in self.segments if p.id == segment_id)


MIXED = "mixed"  # the z-score says high or low, but the mean and the median disagree
ABOVE, BELOW = "above", "below"  # a segment's mean and median both above (below) everyone's


LEVEL_Z = 0.35  # beyond this z-score a segment may be high or low on a measure


def level_of(z: float) -> str:
    """DESIGN.md's levels: very low z < -1, low z < -0.35, high z > 0.35, very high z > 1."""
    if z > 1:
        return "very high"
    if z > LEVEL_Z:
        return "high"
    if z >= -LEVEL_Z:
        return "average"
    return "low" if z >= -1 else "very low"


def side(value: float, reference: float) -> int:
    """+1 above, -1 below, 0 equal: which side of everyone's a segment's figure lies."""
    return int(np.sign(value - reference)) if np.isfinite(value - reference) else 0


def agreeing_level(z: float, mean: float, median: float, everyone_mean: float,
                   everyone_median: float) -> str:
    """The level a reader may be told: high (or low) only when the segment's mean and its
    median are both on that side of everyone's, on the data's own scale. The z-score is
    taken on log(1 + x) for a logged column, so without this check a segment whose
    typical customer spends more but whose mean is lower (740 against 1,003 on a public
    credit-card table) was called "High spenders" beside its own mean. Where the two
    disagree the segment is MIXED: not levelled on that measure. And a level needs means
    that differ as printed: a P(alive) of 0.99999999 against everyone's 0.9999999998 on
    a table where the model sees no one leave (Tableau's Superstore) had a z of -0.4 and
    read "Lower P(still a customer) (1 vs 1)"."""
    level = level_of(round(z, 2))  # as the profile table prints it: "-0.35" is not low
    if level == "average" or format_number(mean) == format_number(everyone_mean):
        return "average"
    direction = 1 if z > 0 else -1
    agree = side(mean, everyone_mean) == direction and side(median, everyone_median) == direction
    return level if agree else MIXED


@dataclass(frozen=True)
class ColumnSummary:
    """One numeric column in one group of customers (a segment, or everyone): what its
    profile needs. `scale_*` are on the scale z-scores are taken on (log(1 + x) for a
    logged column), `std` the population standard deviation."""

    mean: float
    median: float
    scale_mean: float
    scale_std: float


@dataclass(frozen=True)
class GroupSummary:
    size: int
    numeric: Mapping[str, ColumnSummary]
    counts: Mapping[str, Mapping[str, int]]  # categorical column -> value -> customers


@dataclass(frozen=True)
class Summaries:
    """Everything the profiles are made of, per segment (stable id) and for everyone (0):
    sums computed where the rows are (model/rows.py), so the profiles themselves are one
    code."""

    groups: Mapping[int, GroupSummary]

    @property
    def everyone(self) -> GroupSummary:
        return self.groups[0]


def summarize(features: FeatureSet, segments: Segments) -> Summaries:
    """The summaries from the rows in this process."""
    frame = features.frame
    groups = {0: _group_summary(frame, features)}
    for segment_id in segments.ids:
        groups[segment_id] = _group_summary(frame[segments.members(segment_id)], features)
    return Summaries(groups)


def _group_summary(rows: pd.DataFrame, features: FeatureSet) -> GroupSummary:
    numeric = {}
    for column in features.all_numeric:
        values = rows[column]
        scale = np.log1p(values) if features.described_on_log(column) else values
        numeric[column] = ColumnSummary(float(values.mean()), float(values.median()),
                                        float(scale.mean()), float(scale.std(ddof=0)))
    counts = {c: {str(k): int(v) for k, v in category_text(rows[c]).value_counts(
        dropna=True).items()} for c in features.all_categorical}
    return GroupSummary(len(rows), numeric, counts)


def category_text(values: pd.Series) -> pd.Series:
    """Categories as text; a code stored as a float (2.0, beside a blank) reads "2"."""
    if pd.api.types.is_float_dtype(values):
        present = values.dropna()
        if len(present) and bool((present % 1 == 0).all()):
            return values.astype("Int64").astype("string")
    return values.astype("string")


def build_profiles(features: FeatureSet, segments: Segments,
                   summaries: Summaries) -> Profiles:
    """Per-segment statistics from the sums where the rows are (`summaries`); z-scores of
    logged columns are computed on log(1 + x)."""
    everyone = summaries.everyone
    population = {c: NumericStat(s.mean, s.median, 0.0, "average")
                  for c, s in everyone.numeric.items()}
    population_mix = {c: category_shares(v) for c, v in everyone.counts.items()}
    profiles = []
    for segment_id in segments.ids:
        group = summaries.groups[segment_id]
        numeric = {c: numeric_stat(group.numeric[c], everyone.numeric[c])
                   for c in features.all_numeric}
        mix = {c: category_mix(group.counts[c]) for c in features.all_categorical}
        traits = describe_traits(numeric, mix, population, population_mix, features)
        profiles.append(SegmentProfile(segment_id, group.size, group.size / everyone.size,
                                       numeric, mix, tuple(traits)))
    return Profiles(tuple(profiles), population, population_mix, everyone.size)


def numeric_stat(segment: ColumnSummary, population: ColumnSummary) -> NumericStat:
    spread = population.scale_std
    z = (segment.scale_mean - population.scale_mean) / spread if spread > 0 else 0.0
    z = 0.0 if np.isnan(z) else z
    return NumericStat(segment.mean, segment.median, z,
                       agreeing_level(z, segment.mean, segment.median, population.mean,
                                      population.median))


def category_mix(counts: Mapping[str, int]) -> dict[str, float]:
    """Shares of the most frequent values; the rest are pooled under 'other'."""
    top = dict(list(category_shares(counts).items())[:TOP_CATEGORIES])
    rest = sum(n for value, n in counts.items() if value not in top)
    return {**top, "other": rest / sum(counts.values())} if rest > 0 else top


def category_shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Every value's share, most frequent first (ties keep their order)."""
    total = sum(counts.values())
    if not total:
        return {}
    return {value: n / total for value, n in sorted(counts.items(), key=lambda item: -item[1])}


def everyone_share(overall: Mapping[str, float], value: str, mix: Mapping[str, float]) -> float:
    """Everyone's share of a value of a segment's mix (`overall`: every value's share), and
    for the segment's "other", everyone's share of the same values. Everyone's mix used to
    be pooled too, so a value outside everyone's top six read 0%: Lost on Tableau's
    Superstore, "Appliances 9.7% vs 0.0%"."""
    if value == "other":
        return max(0.0, 1.0 - sum(overall.get(v, 0.0) for v in mix if v != "other"))
    return overall.get(value, 0.0)


def describe_traits(
    numeric: Mapping[str, NumericStat],
    mix: Mapping[str, Mapping[str, float]],
    population: Mapping[str, NumericStat],
    population_mix: Mapping[str, Mapping[str, float]],
    features: FeatureSet,
) -> list[Trait]:
    """Everything that sets the segment apart, strongest first."""
    traits = [
        numeric_trait(c, features.label(c), stat, population[c].mean,
                      ratios=c not in features.ranks)
        for c, stat in numeric.items() if stat.level not in ("average", MIXED)
    ]
    traits += [trait for c, stat in numeric.items() if stat.level == MIXED
               for trait in [mixed_trait(c, features.label(c), stat, population[c])] if trait]
    for column, shares in mix.items():
        trait = category_trait(column, features.label(column), shares, population_mix[column])
        if trait:
            traits.append(trait)
    return sorted(traits, key=lambda t: -t.strength)


def numeric_trait(column: str, label: str, stat: NumericStat, average: float,
                  ratios: bool = True) -> Trait:
    """"Income 1.8x the average (88k vs 61k)" or "Lower age (25 vs 39 average)".
    `ratios`: False for a rank (features.ordinal), whose multiples and percentages mean
    nothing (tier 3 is not "1.5x" tier 2): only higher or lower."""
    values = f"{format_number(stat.mean)} vs {format_number(average)}"
    ratio = (stat.mean / average if ratios and average > 0 and stat.mean >= 0
             else None)
    name = label[:1].upper() + label[1:]
    if ratio is not None and ratio >= 1.5:
        text = f"{name} {ratio:.1f}x the average ({values})"
        short = f"{name} {ratio:.1f}x avg"
        says = ABOVE
    elif ratio is not None and ratio <= 2 / 3:
        text = f"{name} {(1 - ratio) * 100:.0f}% below the average ({values})"
        short = f"{name} {(1 - ratio) * 100:.0f}% below avg"
        says = BELOW
    else:
        word = "Higher" if stat.z > 0 else "Lower"
        text = f"{word} {label} ({values} average)"
        short = f"{word} {label} ({values})"
        says = ABOVE if stat.z > 0 else BELOW
    return Trait(column, text, short, f"{stat.level} {without_units(label)}", abs(stat.z),
                 stat.level, says)


def mixed_trait(column: str, label: str, stat: NumericStat,
                everyone: NumericStat) -> Trait | None:
    """A segment whose typical customer sits on one side of everyone's and whose mean on
    the other, said as it is; none when one of them merely equals everyone's."""
    median_side, mean_side = side(stat.median, everyone.median), side(stat.mean, everyone.mean)
    if median_side == 0 or mean_side == 0 or median_side == mean_side:
        return None
    if abs(stat.median - everyone.median) < 0.05 * abs(everyone.median):
        return None  # "typical customer above (140 vs 139)" tells a reader nothing
    name = label[:1].upper() + label[1:]
    typical = "above" if median_side > 0 else "below"
    average = "above" if mean_side > 0 else "below"
    pulled = ("a few large accounts pull everyone's average up" if mean_side < 0
              else "a few large accounts pull its average up")
    text = (f"{name}: typical customer {typical} everyone's (median {format_number(stat.median)} "
            f"vs {format_number(everyone.median)}), average {average} "
            f"({format_number(stat.mean)} vs {format_number(everyone.mean)}): {pulled}")
    short = f"{name}: median {typical}, mean {average}"
    return Trait(column, text, short, f"mixed {without_units(label)}", abs(stat.z) / 2, MIXED,
                 f"median {typical}, mean {average}")


def category_trait(
    column: str, label: str, mix: Mapping[str, float], overall: Mapping[str, float]
) -> Trait | None:
    """"Mostly Female (72% vs 56% overall)" when a value is clearly over-represented."""
    candidates = {v: s for v, s in mix.items() if v != "other"}
    if not candidates:
        return None
    value = max(candidates, key=candidates.__getitem__)
    share, base = candidates[value], overall.get(value, 0.0)
    if share < 0.5 or base <= 0 or share < 1.25 * base or base >= 1:
        return None
    strength = (share - base) / np.sqrt(base * (1 - base))
    text = f"Mostly {value} {label} ({format_share(share)} vs {format_share(base)} overall)"
    return Trait(column, text, f"Mostly {value} ({format_share(share)})",
                 f"{value} {without_units(label)}", float(strength), "high")
