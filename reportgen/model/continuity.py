"""Continuity: this period's segments under the ids, names and colours of the last one.

The next run of a report finds the most recent earlier period in the output folder
(`find_previous`) and either

- refits (`segmentation.refit: true`, the default) and matches the new segments to the old
  ones: both sets of centres are placed in the *previous* model's feature space (its own
  scaling, log and category weights), and the Hungarian assignment pairs them so that the
  summed distance is smallest. A pair counts as the same segment only when the new centre
  lies within `segmentation.match_distance` (default 0.5) of the distance from the old
  centre to its nearest other old centre: at 0.5, within the ball that is closer to the old
  centre than to any other, so that a customer there would have been put in that segment
  last period too. A new segment without such a match gets a fresh id (never one used
  before); an old one without a match is retired.
- or labels the new data with the saved model unchanged (`refit: false`, `kept_model`),
  for a segmentation that must stay fixed across a year.

`segment_customers` is the stage: it fits (or scores) and gives every segment its stable
id; from here on a segment is only ever its stable id. What changed since the last period
is the report's to say (report/changes.py); the saved model's file is savedmodel.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from reportgen.config.schema import FeaturesSection, SegmentationSection
from reportgen.errors import ConfigError, ModelError
from reportgen.folders import listed_periods
from reportgen.model.features import FeatureSet
from reportgen.model.savedmodel import FILE as MODEL_FILE
from reportgen.model.savedmodel import LEGACY_FILE, SavedModel, read_model
from reportgen.model.segment import Segmentation, score_saved, with_ids
from reportgen.record import Summary, read_summary
from reportgen.text import period_label

# Colour-blind-safe: Okabe-Ito without yellow and black, then Paul Tol's muted colours.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
           "#882255", "#999933", "#332288", "#44AA99", "#AA4499", "#117733")
LEGACY_PROBLEM = (
    "its model is an old model.joblib, which reportgen no longer loads because unpickling a "
    "file runs any code it holds; if you trust that folder, run reportgen upgrade-models "
    "{out} --trust once to convert its models and keep the segment ids")


@dataclass(frozen=True)
class Previous:
    """The most recent earlier period of the same report, as far as it could be read."""

    period: str
    folder: Path
    model: SavedModel | None
    summary: Summary | None
    problem: str | None = None

    @property
    def label(self) -> str:
        return period_label(self.period)


def previous_folder(report_dir: Path, period: str) -> Path | None:
    """The folder of the latest period before `period` in the report's folder."""
    earlier = [p for p in listed_periods(report_dir) if p < period]
    return report_dir / earlier[-1] if earlier else None


def find_previous(report_dir: Path, period: str) -> Previous | None:
    """The latest period before `period` in the report's folder, or None for a first run."""
    folder = previous_folder(report_dir, period)
    if folder is None:
        return None
    summary = read_summary(folder)
    sha256 = summary.model.sha256 if summary and summary.model else None
    try:
        model = read_model(folder, sha256)
    except FileNotFoundError:
        problem = (LEGACY_PROBLEM.format(out=report_dir.parent)
                   if (folder / LEGACY_FILE).exists() else f"it has no {MODEL_FILE}")
        return Previous(folder.name, folder, None, summary, problem)
    except ModelError as exc:  # a damaged or foreign file must not stop the monthly run
        return Previous(folder.name, folder, None, summary, str(exc))
    return Previous(folder.name, folder, model, summary)


def kept_model(previous: Previous | None, features: FeaturesSection,
               spec: SegmentationSection) -> SavedModel | None:
    """The saved model that labels this period unchanged (`refit: false`), or None to fit
    afresh. A kept model needs this period's clustering features to be its own."""
    if spec.refit or previous is None or previous.model is None:
        return None
    difference = previous.model.feature_difference(features.numeric, features.categorical,
                                                    features.log or [])
    if difference is not None:
        raise ConfigError(
            f"segmentation.refit: false needs the clustering features of the saved model "
            f"of {previous.period}, but they changed ({difference}); set "
            "segmentation.refit: true to start a new segmentation")
    return previous.model


@dataclass(frozen=True)
class Matching:
    """How this period's segments relate to the previous period's."""

    previous: Previous
    refit: bool
    matched: Mapping[int, float]  # stable id -> distance between old and new centre
    new: tuple[int, ...]
    retired: tuple[int, ...]
    centroids: Mapping[int, np.ndarray]  # this period's centres in the previous model's space

    @property
    def model(self) -> SavedModel:
        assert self.previous.model is not None
        return self.previous.model


@dataclass(frozen=True)
class Continuity:
    """The previous period and how the segments carried over; `note` says why they did not."""

    previous: Previous | None = None
    matching: Matching | None = None
    note: str | None = None

    @property
    def kept_names(self) -> dict[int, str]:
        """Last period's names of the segments matched this period."""
        if self.matching is None:
            return {}
        return {sid: self.matching.model.names[sid] for sid in self.matching.matched}


@dataclass(frozen=True)
class Segments:
    """The segmentation stage's result in stable ids, as every later stage sees it."""

    ids: tuple[int, ...]  # in report order: ascending
    labels: np.ndarray  # each customer's stable id
    colors: Mapping[int, str]
    fit: Segmentation  # the K-Means fit and the scores that chose k
    continuity: Continuity = field(default_factory=Continuity)
    next_id: int = 1  # the id a segment that appears next period would get
    fitted_in: str | None = None  # the period the K-Means was fitted in, when kept

    @property
    def k(self) -> int:
        return len(self.ids)

    def members(self, segment_id: int) -> np.ndarray:
        return self.labels == segment_id


def kept_fit(features: FeatureSet, spec: SegmentationSection, kept: SavedModel
             ) -> Segmentation:
    """The customers scored with last period's model, unchanged (`refit: false`)."""
    return score_saved(features.matrix, kept.centres, tuple(kept.cluster_ids), spec,
                       kept.fitted_in)


def carry_over(features: FeatureSet, spec: SegmentationSection, previous: Previous | None,
               kept: SavedModel | None, fit: Segmentation) -> Segments:
    """Give every segment of `fit` (segment.refitted, or kept_fit with a kept model) its
    stable id: matched to last period's where it has one, numbered afresh where not."""
    if kept is not None:
        return _carried(fit, _matching(previous, fit, features.matrix, refit=False), kept)
    if previous is None:
        return _numbered_afresh(fit, None)
    model = previous.model
    if model is None:
        return _numbered_afresh(fit, Continuity(previous, None, (
            f"The segments of {previous.label} could not be carried over ({previous.problem}); "
            "segment numbers start afresh.")))
    difference = model.feature_difference(features.numeric, features.categorical, features.log)
    if difference is not None:
        return _numbered_afresh(fit, Continuity(previous, None, (
            f"The clustering features changed since {previous.label} ({difference}), so "
            "segments cannot be compared; segment numbers start afresh.")))
    old_space = model.transform(features.frame)
    by_position = centres(old_space, fit)
    fit = with_ids(fit, match_ids(by_position, model, spec.match_distance))
    return _carried(fit, _matching(previous, fit, old_space, refit=True), None)


def _numbered_afresh(fit: Segmentation, continuity: Continuity | None) -> Segments:
    continuity = continuity or Continuity()
    next_id = continuity.previous.model.next_id if continuity.previous and \
        continuity.previous.model else 1
    colors = {sid: PALETTE[(sid - 1) % len(PALETTE)] for sid in fit.ids}
    return Segments(fit.ids, fit.stable_labels, colors, fit, continuity,
                    max(next_id, max(fit.ids) + 1))


def _matching(previous: Previous | None, fit: Segmentation, old_space: np.ndarray,
              refit: bool) -> Matching:
    assert previous is not None and previous.model is not None
    model = previous.model
    now = centres(old_space, fit)
    return Matching(
        previous=previous, refit=refit,
        matched={sid: float(np.linalg.norm(now[sid] - model.centroids[sid]))
                 for sid in fit.ids if sid in model.centroids},
        new=tuple(sid for sid in fit.ids if sid not in model.centroids),
        retired=tuple(sid for sid in sorted(model.centroids) if sid not in fit.ids),
        centroids=now)


def _carried(fit: Segmentation, matching: Matching, kept: SavedModel | None) -> Segments:
    model = matching.model
    return Segments(fit.ids, fit.stable_labels, carry_colors(fit.ids, model), fit,
                    Continuity(matching.previous, matching),
                    max([model.next_id, *(sid + 1 for sid in fit.ids)]),
                    kept.fitted_in if kept else None)


def centres(matrix: np.ndarray, fit: Segmentation) -> dict[int, np.ndarray]:
    """Each segment's mean row, by stable id (or by position before ids are given)."""
    return {sid: matrix[fit.labels == pos + 1].mean(axis=0) for pos, sid in enumerate(fit.ids)}


def match_ids(new_centres: Mapping[int, np.ndarray], model: SavedModel,
              match_distance: float) -> list[int]:
    """A stable id for each new segment (in position order): an old id or a fresh one."""
    old_ids = sorted(model.centroids)
    old = np.array([model.centroids[i] for i in old_ids])
    new = np.array(list(new_centres.values()))
    cost = np.linalg.norm(new[:, None, :] - old[None, :, :], axis=2)
    gaps = np.linalg.norm(old[:, None, :] - old[None, :, :], axis=2)
    np.fill_diagonal(gaps, np.inf)
    radius = match_distance * gaps.min(axis=1)
    ids: list[int | None] = [None] * len(new)
    for row, col in zip(*linear_sum_assignment(cost), strict=True):
        if cost[row, col] <= radius[col]:
            ids[row] = old_ids[col]
    fresh = model.next_id
    for row in range(len(ids)):  # positions are by size, so bigger new segments come first
        if ids[row] is None:
            ids[row] = fresh
            fresh += 1
    return [int(i) for i in ids if i is not None]


def carry_colors(ids: tuple[int, ...], model: SavedModel) -> dict[int, str]:
    """Kept colours for matched segments; unused palette colours for new ones."""
    kept = {sid: model.colors[sid] for sid in ids if sid in model.colors}
    spare = [c for c in PALETTE if c not in kept.values() and c not in model.colors.values()]
    spare += [c for c in PALETTE if c not in kept.values() and c not in spare]
    spare += list(PALETTE)
    return {sid: kept[sid] if sid in kept else spare.pop(0) for sid in ids}


def saved_model(period: str, features: FeatureSet, segments: Segments,
                names: Mapping[int, str]) -> SavedModel:
    """What this period leaves for the next: preprocessing, centres, ids, names, colours.

    A model kept unchanged (`refit: false`) is saved with its own clusters and fitting
    period; this period's segments give the names, colours and centres.
    """
    fit = segments.fit
    matching = segments.continuity.matching
    kept = matching.model if fit.method == "saved" and matching else None
    return SavedModel(
        period=period, fitted_in=segments.fitted_in or period, next_id=segments.next_id,
        numeric=list(features.numeric), categorical=list(features.categorical),
        log=list(features.log), preprocessing=features.preprocessing, centres=fit.centres,
        cluster_ids=list(kept.cluster_ids if kept else fit.cluster_ids),
        names={sid: names[sid] for sid in segments.ids},
        colors={sid: segments.colors[sid] for sid in segments.ids},
        centroids={sid: features.matrix[segments.members(sid)].mean(axis=0)
                   for sid in segments.ids})
