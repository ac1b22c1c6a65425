"""History: what the previous period left behind, so that a segment keeps its id, name and
colour from month to month, and what changed since then.

Each period's folder keeps `model.json` (see `saved_model` and modelfile.py). The next run
of the same report finds the most recent earlier period in the output folder and either

- refits (`segmentation.refit: true`, the default) and matches the new segments to the old
  ones: both sets of centres are placed in the *previous* model's feature space (its own
  scaling, log and category weights), and the Hungarian assignment pairs them so that the
  summed distance is smallest. A pair counts as the same segment only when the new centre
  lies within `segmentation.match_distance` (default 0.5) of the distance from the old
  centre to its nearest other old centre: at 0.5, within the ball that is closer to the old
  centre than to any other, so that a customer there would have been put in that segment
  last period too. A new segment without such a match gets a fresh id (never one used
  before); an old one without a match is reported as retired.
- or scores the new data with the saved model unchanged (`refit: false`), for a
  segmentation that must stay fixed across a year.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from reportgen.config.schema import SegmentationSection
from reportgen.errors import ConfigError, ModelError
from reportgen.files import open_own_file, read_own_file
from reportgen.model.features import FeatureSet
from reportgen.model.personas import Persona
from reportgen.model.profile import Profiles
from reportgen.model.savedmodel import FILE as MODEL_FILE
from reportgen.model.savedmodel import LEGACY_FILE, SavedModel, read_model
from reportgen.model.segment import Segmentation, score_saved, with_ids
from reportgen.record import restore_formulas
from reportgen.report.charts import PALETTE
from reportgen.text import PERIOD_RE, format_number, format_share, period_label

PROFILE_SHIFT = 0.25  # a segment mean that moved by more than this many (scaled) units
TREND_PERIODS = 12
FLOW_SHARE = 0.05  # a movement is worth a sentence from 5% of the segment ...
FLOW_MIN_CUSTOMERS = 5  # ... and at least this many customers
SIZE_CHANGE = 0.01  # share changes under one point are not findings


# ---- what a period keeps ------------------------------------------------------------------


def saved_model(period: str, features: FeatureSet, seg: Segmentation, names: list[str],
                colors: list[str], continuity: Continuity) -> SavedModel:
    """What this period leaves for the next: preprocessing, centres, ids, names, colours.

    A model kept unchanged (`refit: false`) is saved with its own clusters and fitting
    period; this period's segments give the names, colours and centres.
    """
    kept = continuity.previous.model if seg.method == "saved" and continuity.previous else None
    return SavedModel(
        period=period, fitted_in=kept.fitted_in if kept else period,
        next_id=max(continuity.next_id, max(seg.ids) + 1),
        numeric=list(features.numeric), categorical=list(features.categorical),
        log=list(features.log), preprocessing=features.preprocessing, centres=seg.centres,
        cluster_ids=kept.cluster_ids if kept else seg.cluster_ids,
        names=dict(zip(seg.ids, names, strict=True)),
        colors=dict(zip(seg.ids, colors, strict=True)),
        centroids={sid: features.matrix[seg.labels == pos + 1].mean(axis=0)
                   for pos, sid in enumerate(seg.ids)})


@dataclass
class Previous:
    """The most recent earlier period of the same report, as far as it could be read."""

    period: str
    folder: Path
    model: SavedModel | None
    summary: dict[str, Any] | None
    problem: str | None = None

    @property
    def label(self) -> str:
        return period_label(self.period)


def find_previous(report_dir: Path, period: str) -> Previous | None:
    """The latest period before `period` in the report's folder, or None for a first run."""
    if not report_dir.is_dir():
        return None
    earlier = sorted((d for d in report_dir.iterdir()
                      if PERIOD_RE.match(d.name) and d.name < period and is_own_folder(d)),
                     key=lambda d: d.name)
    if not earlier:
        return None
    folder = earlier[-1]
    summary = read_summary(folder)
    try:
        model = read_model(folder, _recorded_sha256(summary))
    except FileNotFoundError:
        problem = (LEGACY_PROBLEM.format(out=report_dir.parent)
                   if (folder / LEGACY_FILE).exists() else f"it has no {MODEL_FILE}")
        return Previous(folder.name, folder, None, summary, problem)
    except ModelError as exc:  # a damaged or foreign file must not stop the monthly run
        return Previous(folder.name, folder, None, summary, str(exc))
    return Previous(folder.name, folder, model, summary)


LEGACY_PROBLEM = (
    "its model is an old model.joblib, which reportgen no longer loads because unpickling a "
    "file runs any code it holds; if you trust that folder, run reportgen upgrade-models "
    "{out} --trust once to convert its models and keep the segment ids")


def is_own_folder(path: Path) -> bool:
    """A real folder of the reports tree: a symbolic link may point anywhere, so it is not
    read from, listed or written into."""
    return path.is_dir() and not path.is_symlink()


def _recorded_sha256(summary: dict[str, Any] | None) -> str | None:
    record = (summary or {}).get("model")
    sha = record.get("sha256") if isinstance(record, dict) else None
    return sha if isinstance(sha, str) else None


def read_summary(folder: Path) -> dict[str, Any] | None:
    """A period's summary.json, or None when it is missing, damaged or not a file of ours."""
    try:
        summary = json.loads(read_own_file(folder / "summary.json", SUMMARY_BYTES))
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


SUMMARY_BYTES = 256 * 2**20


# ---- carrying segments over ---------------------------------------------------------------


@dataclass
class Matching:
    """How this period's segments relate to the previous period's."""

    previous: Previous
    refit: bool
    matched: dict[int, float]  # stable id -> distance between old and new centre
    new: list[int]
    retired: list[int]
    centroids: dict[int, np.ndarray]  # this period's centres in the previous model's space
    next_id: int


@dataclass
class Continuity:
    """The history side of a run: the previous period and how segments carried over."""

    previous: Previous | None = None
    matching: Matching | None = None
    note: str | None = None  # why segments were numbered afresh despite an earlier period

    @property
    def next_id(self) -> int:
        if self.matching is not None:
            return self.matching.next_id
        model = self.previous.model if self.previous else None
        return model.next_id if model else 1


def carry_over(seg: Segmentation | None, features: FeatureSet, previous: Previous | None,
               spec: SegmentationSection) -> tuple[Segmentation | None, FeatureSet, Continuity]:
    """Give this period's segments the previous period's ids, or say why that is impossible.

    With `refit: false` and a usable saved model, `seg` is None and the saved model labels
    the rows; the features are then re-expressed in that model's space.
    """
    if previous is None:
        return seg, features, Continuity()
    model = previous.model
    if model is None:
        return seg, features, Continuity(previous, None, (
            f"The segments of {previous.label} could not be carried over ({previous.problem}); "
            "segment numbers start afresh."))
    difference = model.feature_difference(features)
    if difference is not None:
        if not spec.refit:
            raise ConfigError(
                f"segmentation.refit: false needs the clustering features of the saved model "
                f"of {previous.period}, but they changed ({difference}); set "
                "segmentation.refit: true to start a new segmentation")
        return seg, features, Continuity(previous, None, (
            f"The clustering features changed since {previous.label} ({difference}), so "
            "segments cannot be compared; segment numbers start afresh."))
    old_space = model.transform(features.frame)
    if not spec.refit:
        features = reuse_model(features, model, old_space)
        seg = score_saved(old_space, model.centres, model.cluster_ids, spec, model.fitted_in)
        now = centres(old_space, seg)
    else:
        assert seg is not None
        by_position = centres(old_space, seg)
        ids = match_ids(by_position, model, spec.match_distance)
        now = dict(zip(ids, by_position.values(), strict=True))
        seg = with_ids(seg, ids)
    matched = {sid: float(np.linalg.norm(now[sid] - model.centroids[sid]))
               for sid in seg.ids if sid in model.centroids}
    matching = Matching(
        previous=previous, refit=spec.refit, matched=matched,
        new=[sid for sid in seg.ids if sid not in model.centroids],
        retired=[sid for sid in sorted(model.centroids) if sid not in seg.ids],
        centroids=now, next_id=max([model.next_id, *(sid + 1 for sid in seg.ids)]))
    return seg, features, Continuity(previous, matching)


def reuse_model(features: FeatureSet, model: SavedModel, matrix: np.ndarray) -> FeatureSet:
    """The features as the saved model sees them: its preprocessing, its matrix."""
    return replace(features, matrix=matrix, preprocessing=model.preprocessing,
                   column_names=model.preprocessing.names)


def centres(matrix: np.ndarray, seg: Segmentation) -> dict[int, np.ndarray]:
    """Each segment's mean row, by stable id (or by position before ids are given)."""
    return {sid: matrix[seg.labels == pos + 1].mean(axis=0) for pos, sid in enumerate(seg.ids)}


def match_ids(new_centres: dict[int, np.ndarray], model: SavedModel,
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


def carry_names(personas: list[Persona], seg: Segmentation, continuity: Continuity,
                profiles: Profiles) -> None:
    """Matched segments keep last period's name; the name the rules give now is remembered.

    A new segment whose name is taken (typically half of a segment that split) is told
    apart by its strongest trait.
    """
    matching = continuity.matching
    if matching is None or matching.previous.model is None:
        return
    names = matching.previous.model.names
    kept = {pos + 1: names[sid] for pos, sid in enumerate(seg.ids) if sid in matching.matched}
    for persona in personas:
        if persona.segment_id in kept and persona.name != kept[persona.segment_id]:
            persona.rule_name = persona.name
            persona.name = kept[persona.segment_id]
    taken = set(kept.values())
    for persona in personas:
        if persona.segment_id not in kept and persona.name in taken:
            traits = profiles.segments[persona.segment_id - 1].traits
            qualified = f"{persona.name} ({traits[0].phrase})" if traits else ""
            persona.name = qualified if qualified and qualified not in taken else (
                f"{persona.name} (segment {seg.ids[persona.segment_id - 1]})")
        taken.add(persona.name)


def carry_colors(seg: Segmentation, continuity: Continuity) -> list[str]:
    """Kept colours for matched segments; unused palette colours for new ones."""
    model = continuity.previous.model if continuity.matching and continuity.previous else None
    if model is None:
        return [PALETTE[(sid - 1) % len(PALETTE)] for sid in seg.ids]
    kept = {sid: model.colors[sid] for sid in seg.ids if sid in model.colors}
    spare = [c for c in PALETTE if c not in kept.values() and c not in model.colors.values()]
    spare += [c for c in PALETTE if c not in kept.values() and c not in spare]
    spare += list(PALETTE)
    colors = []
    for sid in seg.ids:
        colors.append(kept[sid] if sid in kept else spare.pop(0))
    return colors


# ---- what changed -------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentChange:
    id: int
    name: str
    status: str  # kept | new | retired
    size_before: int | None
    size_now: int | None
    share_before: float | None
    share_now: float | None
    new_customers: int | None
    lost_customers: int | None

    @property
    def share_change(self) -> float | None:
        if self.share_before is None or self.share_now is None:
            return None
        return self.share_now - self.share_before


@dataclass(frozen=True)
class Flow:
    from_id: int
    from_name: str
    to_id: int
    to_name: str
    customers: int
    share_of_from: float


@dataclass(frozen=True)
class Shift:
    id: int
    name: str
    column: str
    label: str
    before: float | None
    now: float
    shift: float  # in the previous model's scaled units (standard deviations for `standard`)


@dataclass
class Changes:
    previous_period: str
    previous_label: str
    k_before: int
    k_now: int
    refit: bool
    segments: list[SegmentChange]
    flows: list[Flow] = field(default_factory=list)
    returning: int | None = None
    stayed: int | None = None
    new_customers: int | None = None
    lost_customers: int | None = None
    migration_note: str | None = None
    shifts: list[Shift] = field(default_factory=list)
    trend: list[dict[str, Any]] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Current:
    """This period as the comparison needs it, in stable ids."""

    period: str
    ids: list[int]
    names: list[str]
    rule_names: list[str | None]  # what the rules call a segment that kept an older name
    profiles: Profiles
    features: FeatureSet
    stable_labels: np.ndarray
    identified: bool  # customers carry their own ids (data.id or transactions)


def compare(continuity: Continuity, now: Current) -> Changes | None:
    """Sizes, movements of returning customers, profile shifts and findings since last time."""
    matching, previous = continuity.matching, continuity.previous
    if matching is None or previous is None:
        return None
    before = _segments_before(previous)
    changes = Changes(
        previous_period=previous.period, previous_label=previous.label,
        k_before=len(matching.previous.model.centroids) if matching.previous.model else 0,
        k_now=len(now.ids), refit=matching.refit,
        segments=[])
    moves = _migration(previous, now, changes)
    for pos, sid in enumerate(now.ids):
        old = before.get(sid)
        profile = now.profiles.segments[pos]
        changes.segments.append(SegmentChange(
            id=sid, name=now.names[pos], status="kept" if sid in matching.matched else "new",
            size_before=old["size"] if old and sid in matching.matched else None,
            size_now=profile.size,
            share_before=old["share"] if old and sid in matching.matched else None,
            share_now=profile.share,
            new_customers=moves["new"].get(sid, 0) if moves else None,
            lost_customers=moves["lost"].get(sid, 0) if moves else None))
    for sid in matching.retired:
        old = before.get(sid, {})
        changes.segments.append(SegmentChange(
            id=sid, name=_old_name(previous, sid), status="retired",
            size_before=old.get("size"), size_now=None, share_before=old.get("share"),
            share_now=None, new_customers=None,
            lost_customers=moves["lost"].get(sid, 0) if moves else None))
    changes.shifts = _shifts(matching, previous, now, before)
    changes.trend = _trend(previous, now)
    changes.findings = change_findings(changes, now)
    return changes


def _segments_before(previous: Previous) -> dict[int, dict[str, Any]]:
    segments = (previous.summary or {}).get("segments") or []
    return {int(s["id"]): s for s in segments if "id" in s}


def _old_name(previous: Previous, sid: int) -> str:
    model = previous.model
    return model.names.get(sid, f"Segment {sid}") if model else f"Segment {sid}"


def _migration(previous: Previous, now: Current, changes: Changes) -> dict[str, Any] | None:
    """Counts of returning customers by (old segment, new segment); new and lost by segment."""
    if not now.identified:
        changes.migration_note = ("Customers have no id column (data.id), so movements between "
                                  "segments cannot be followed; set data.id to see them.")
        return None
    try:
        with open_own_file(previous.folder / "segments.csv") as stream:
            old = pd.read_csv(stream, usecols=["id", "segment"], dtype={"id": "string"},
                              keep_default_na=False)
        old["id"] = restore_formulas(old["id"])
    except (OSError, ValueError) as exc:
        changes.migration_note = f"The segments.csv of {previous.label} could not be read ({exc})."
        return None
    current = pd.DataFrame({"id": now.features.ids.astype("string").to_numpy(),
                            "now": now.stable_labels})
    joined = old.merge(current, on="id", how="outer", indicator=True)
    returning = joined[joined["_merge"] == "both"]
    counts = returning.groupby(["segment", "now"]).size()
    from_sizes = returning.groupby("segment").size()
    names_now = dict(zip(now.ids, now.names, strict=True))
    changes.flows = [
        Flow(int(f), names_now.get(int(f)) or _old_name(previous, int(f)), int(t),
             names_now[int(t)], int(n), float(n) / float(from_sizes[f]))
        for (f, t), n in counts.items()]
    changes.returning = len(returning)
    changes.stayed = int((returning["segment"] == returning["now"]).sum())
    arrived = joined[joined["_merge"] == "right_only"]
    left = joined[joined["_merge"] == "left_only"]
    changes.new_customers, changes.lost_customers = len(arrived), len(left)
    return {"new": {int(k): int(v) for k, v in arrived.groupby("now").size().items()},
            "lost": {int(k): int(v) for k, v in left.groupby("segment").size().items()}}


def _shifts(matching: Matching, previous: Previous, now: Current,
            before: dict[int, dict[str, Any]]) -> list[Shift]:
    """Numeric clustering features whose segment mean moved by more than PROFILE_SHIFT."""
    model = previous.model
    if model is None:
        return []
    names = model.preprocessing.names
    out = []
    for pos, sid in enumerate(now.ids):
        if sid not in matching.matched:
            continue
        delta = matching.centroids[sid] - model.centroids[sid]
        profile = now.profiles.segments[pos]
        for column in model.numeric:
            moved = float(delta[names.index(column)])
            if abs(moved) <= PROFILE_SHIFT or column not in profile.numeric:
                continue
            old_mean = ((before.get(sid) or {}).get("profile") or {}).get(column, {}).get("mean")
            out.append(Shift(sid, now.names[pos], column, now.features.label(column),
                             old_mean, profile.numeric[column].mean, moved))
    return sorted(out, key=lambda s: -abs(s.shift))


def _trend(previous: Previous, now: Current) -> list[dict[str, Any]]:
    """Share per segment over the chain of periods that carried ids over, oldest first."""
    rows = [{"period": now.period, "id": sid, "name": name, "share": p.share}
            for sid, name, p in zip(now.ids, now.names, now.profiles.segments, strict=True)]
    names = dict(zip(now.ids, now.names, strict=True))
    report_dir, summary, seen = previous.folder.parent, previous.summary, 1
    while summary and seen < TREND_PERIODS:
        rows += [{"period": summary["period"], "id": int(s["id"]),
                  "name": names.get(int(s["id"]), s["name"]), "share": s["share"]}
                 for s in summary.get("segments", [])]
        seen += 1
        earlier = summary.get("previous_period")
        summary = read_summary(report_dir / earlier) if earlier else None
    return sorted(rows, key=lambda r: (r["period"], r["id"]))


def change_findings(changes: Changes, now: Current) -> list[str]:
    """Plain sentences: segment count, growth, movements, arrivals, profile shifts."""
    out: list[str] = []
    since = changes.previous_label
    if changes.k_before != changes.k_now:
        out.append(f"There are {changes.k_now} segments now against {changes.k_before} in "
                   f"{since}.")
    for change in changes.segments:
        if change.status == "new":
            out.append(f"New segment: {change.name} ({format_share(change.share_now or 0)} of "
                       "customers) has no counterpart in " + since + ".")
        elif change.status == "retired":
            out.append(f"{change.name} ({format_share(change.share_before or 0)} in {since}) "
                       "has no counterpart this period.")
    for name, rule_name in zip(now.names, now.rule_names, strict=True):
        if rule_name:
            out.append(f"{name} keeps its name from {since}, but its profile now fits "
                       f"\u201c{rule_name}\u201d (see its profile shifts).")
    moved = sorted((c for c in changes.segments if c.share_change is not None
                    and abs(c.share_change) >= SIZE_CHANGE), key=lambda c: -abs(c.share_change))
    for change in moved[:2]:
        verb = "grew" if change.share_change > 0 else "shrank"
        out.append(f"{change.name} {verb} from {format_share(change.share_before)} to "
                   f"{format_share(change.share_now)} of customers "
                   f"({change.share_change * 100:+.1f} points).")
    if changes.returning:
        out.append(f"{format_share(changes.stayed / changes.returning)} of the "
                   f"{changes.returning:,} returning customers stayed in their segment.")
    moves = sorted((f for f in changes.flows if f.from_id != f.to_id
                    and f.customers >= FLOW_MIN_CUSTOMERS), key=lambda f: -f.customers)
    notable = [f for f in moves if f.share_of_from >= FLOW_SHARE]
    for flow in notable[:2]:
        out.append(f"{format_share(flow.share_of_from)} of {flow.from_name} "
                   f"({flow.customers:,} customers) moved to {flow.to_name}.")
    if moves and not notable:
        flow = moves[0]
        out.append(f"No segment lost more than {FLOW_SHARE:.0%} of its customers to another; "
                   f"the largest movement was {flow.customers:,} customers "
                   f"({format_share(flow.share_of_from)}) from {flow.from_name} to "
                   f"{flow.to_name}.")
    if changes.new_customers:
        out.append(f"{changes.new_customers:,} new customers arrived and "
                   f"{changes.lost_customers:,} from {since} are gone.")
    if changes.shifts:
        shift = changes.shifts[0]
        direction = "rose" if shift.shift > 0 else "fell"
        before = f" from {format_number(shift.before)}" if shift.before is not None else ""
        out.append(f"In {shift.name}, the average {shift.label} {direction}{before} to "
                   f"{format_number(shift.now)}.")
    return out
