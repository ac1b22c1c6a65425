"""The profiles stage: what each segment looks like, in the data's own units.

For each segment: size and share; for numeric columns the mean, median, z-score against
the whole population and its level (very low .. very high); for categorical columns the
mix of values. Also the small aggregated tables that charts draw (histograms, a 2-D
projection of a sample), so no chart ever receives the full data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA

from reportgen.model.features import FeatureSet
from reportgen.model.segment import Segmentation
from reportgen.text import format_number, format_share

HISTOGRAM_BINS = 20
TOP_CATEGORIES = 6
SCATTER_POINTS = 5_000


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


@dataclass
class SegmentProfile:
    id: int
    size: int
    share: float
    numeric: dict[str, NumericStat]
    mix: dict[str, dict[str, float]]
    traits: list[Trait] = field(default_factory=list)

    def top_value(self, column: str) -> str | None:
        values = self.mix.get(column) or {}
        return max(values, key=values.__getitem__) if values else None

    @property
    def key_traits(self) -> list[Trait]:
        return self.traits[:3]


@dataclass
class Profiles:
    segments: list[SegmentProfile]
    population: dict[str, NumericStat]
    population_mix: dict[str, dict[str, float]]
    n: int


def level_of(z: float) -> str:
    """DESIGN.md's levels: very low z < -1, low z < -0.35, high z > 0.35, very high z > 1."""
    if z > 1:
        return "very high"
    if z > 0.35:
        return "high"
    if z >= -0.35:
        return "average"
    return "low" if z >= -1 else "very low"


def build_profiles(features: FeatureSet, seg: Segmentation) -> Profiles:
    """Per-segment statistics; z-scores of logged columns are computed on log(1 + x)."""
    frame, labels = features.frame, seg.labels
    population = {c: _population_stat(frame[c]) for c in features.all_numeric}
    population_mix = {c: category_mix(frame[c]) for c in features.all_categorical}
    segments = []
    for seg_id in range(1, seg.k + 1):
        rows = frame[labels == seg_id]
        numeric = {c: numeric_stat(rows[c], frame[c], c in features.log)
                   for c in features.all_numeric}
        mix = {c: category_mix(rows[c]) for c in features.all_categorical}
        profile = SegmentProfile(seg_id, len(rows), len(rows) / len(frame), numeric, mix)
        profile.traits = describe_traits(profile, population, population_mix, features)
        segments.append(profile)
    return Profiles(segments, population, population_mix, len(frame))


def _population_stat(values: pd.Series) -> NumericStat:
    return NumericStat(float(values.mean()), float(values.median()), 0.0, "average")


def numeric_stat(segment: pd.Series, population: pd.Series, logged: bool) -> NumericStat:
    seg_scale, pop_scale = (np.log1p(segment), np.log1p(population)) if logged else (
        segment, population)
    spread = float(pop_scale.std(ddof=0))
    z = (float(seg_scale.mean()) - float(pop_scale.mean())) / spread if spread > 0 else 0.0
    z = 0.0 if np.isnan(z) else z
    return NumericStat(float(segment.mean()), float(segment.median()), z, level_of(z))


def category_mix(values: pd.Series) -> dict[str, float]:
    """Shares of the most frequent values; the rest are pooled under 'other'."""
    shares = values.astype("string").value_counts(normalize=True, dropna=True)
    top = {str(k): float(v) for k, v in shares.head(TOP_CATEGORIES).items()}
    rest = float(shares.iloc[TOP_CATEGORIES:].sum())
    return {**top, "other": rest} if rest > 0 else top


def describe_traits(
    profile: SegmentProfile,
    population: dict[str, NumericStat],
    population_mix: dict[str, dict[str, float]],
    features: FeatureSet,
) -> list[Trait]:
    """Everything that sets the segment apart, strongest first."""
    traits = [
        numeric_trait(c, features.label(c), stat, population[c].mean)
        for c, stat in profile.numeric.items() if stat.level != "average"
    ]
    for column, mix in profile.mix.items():
        trait = category_trait(column, features.label(column), mix, population_mix[column])
        if trait:
            traits.append(trait)
    return sorted(traits, key=lambda t: -t.strength)


def numeric_trait(column: str, label: str, stat: NumericStat, average: float) -> Trait:
    """"Income 1.8x the average (88k vs 61k)" or "Lower age (25 vs 39 average)"."""
    values = f"{format_number(stat.mean)} vs {format_number(average)}"
    ratio = stat.mean / average if average > 0 and stat.mean >= 0 else None
    name = label[:1].upper() + label[1:]
    if ratio is not None and ratio >= 1.5:
        text = f"{name} {ratio:.1f}x the average ({values})"
        short = f"{name} {ratio:.1f}x avg"
    elif ratio is not None and ratio <= 2 / 3:
        text = f"{name} {(1 - ratio) * 100:.0f}% below the average ({values})"
        short = f"{name} {(1 - ratio) * 100:.0f}% below avg"
    else:
        word = "Higher" if stat.z > 0 else "Lower"
        text = f"{word} {label} ({values} average)"
        short = f"{word} {label} ({values})"
    return Trait(column, text, short, f"{stat.level} {label}", abs(stat.z), stat.level)


def category_trait(
    column: str, label: str, mix: dict[str, float], overall: dict[str, float]
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
    return Trait(column, text, f"Mostly {value} ({format_share(share)})", f"{value} {label}",
                 float(strength), "high")


def histograms(features: FeatureSet, labels: np.ndarray, k: int) -> pd.DataFrame:
    """Binned distributions, per segment and for everyone, of each numeric clustering column.

    Columns: feature, group (segment id, 0 for everyone), start, end, share. Logged columns
    get log-spaced bins so a skewed money column does not collapse into one bar.
    """
    parts = [pd.DataFrame(columns=["feature", "group", "start", "end", "share"])]
    for column in features.numeric:
        values = features.frame[column].to_numpy(dtype=float)
        edges = bin_edges(values, column in features.log)
        clipped = np.clip(values, edges[0], edges[-1])
        for group in range(0, k + 1):
            chosen = clipped if group == 0 else clipped[labels == group]
            chosen = chosen[~np.isnan(chosen)]
            counts, _ = np.histogram(chosen, bins=edges)
            share = counts / max(len(chosen), 1)
            parts.append(pd.DataFrame({"feature": column, "group": group, "start": edges[:-1],
                                       "end": edges[1:], "share": share}))
    return pd.concat(parts, ignore_index=True)


def bin_edges(values: np.ndarray, logged: bool) -> np.ndarray:
    """Bin edges over the 0.5th-99.5th percentiles, so one outlier cannot squash the rest."""
    low, high = np.nanpercentile(values, [0.5, 99.5])
    if high <= low:
        low, high = float(np.nanmin(values)), float(np.nanmax(values)) + 1
    if logged:
        return np.expm1(np.linspace(np.log1p(max(low, 0)), np.log1p(high), HISTOGRAM_BINS + 1))
    return np.linspace(low, high, HISTOGRAM_BINS + 1)


def project_2d(matrix: np.ndarray, labels: np.ndarray, seed: int) -> tuple[pd.DataFrame, float]:
    """PCA of the clustering matrix for a fixed-seed sample; also the variance it shows.

    With a single clustering column there is no second axis: the map is then a strip.
    """
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
              names: list[str]) -> pd.DataFrame:
    """5/25/50/75/95th percentiles per segment of each column, for box charts."""
    rows = []
    for column in columns:
        for segment_id, name in enumerate(names, start=1):
            values = frame[column][labels == segment_id].dropna()
            q = values.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).to_numpy()
            rows.append({"feature": column, "name": name, "q05": q[0], "q25": q[1],
                         "q50": q[2], "q75": q[3], "q95": q[4]})
    return pd.DataFrame(rows)


def score_grid(frame: pd.DataFrame, labels: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Customers per (R score, F score) cell and the segment most of them belong to."""
    cells = pd.DataFrame({"r_score": frame["r_score"].to_numpy(),
                          "f_score": frame["f_score"].to_numpy(),
                          "segment": [names[i - 1] for i in labels]})
    counts = cells.groupby(["r_score", "f_score"]).size().rename("customers")
    top = (cells.groupby(["r_score", "f_score"])["segment"]
           .agg(lambda s: s.value_counts().index[0]))
    return pd.concat([counts, top], axis=1).reset_index()
