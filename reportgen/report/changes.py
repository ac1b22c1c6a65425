"""What changed since the last period, and the sentences that say it.

From the continuity of the segments (model/continuity.py) and last period's files (its
summary.json and segments.csv): each segment's size and share then and now, where the
returning customers went (the migration matrix, by customer id), new and lost customers,
profile shifts of matched segments, and the share trend over the periods that kept their
ids. All of it is by stable id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from reportgen.folders import listed_periods
from reportgen.model.continuity import Continuity, Matching, Previous, Segments
from reportgen.model.features import FeatureSet
from reportgen.model.personas import Persona
from reportgen.model.population import MigrationCounts
from reportgen.model.profile import Profiles
from reportgen.record import Flow, Segment, SegmentChange, Shift, read_summary
from reportgen.text import format_number, format_share

PROFILE_SHIFT = 0.25  # a segment mean that moved by more than this many (scaled) units
TREND_PERIODS = 12
FLOW_SHARE = 0.05  # a movement is worth a sentence from 5% of the segment ...
FLOW_MIN_CUSTOMERS = 5  # ... and at least this many customers
SIZE_CHANGE = 0.01  # share changes under one point are not findings


@dataclass(frozen=True)
class Migration:
    """Where last period's customers are now, followed by their ids."""

    flows: tuple[Flow, ...] = ()
    returning: int | None = None
    stayed: int | None = None
    new_customers: int | None = None
    lost_customers: int | None = None
    note: str | None = None  # why there is no matrix
    new_by_segment: Mapping[int, int] | None = None
    lost_by_segment: Mapping[int, int] | None = None
    movers: pd.DataFrame | None = None  # id, from_id, to_id: returning, in another segment


@dataclass(frozen=True)
class Changes:
    previous_period: str
    previous_label: str
    previous_customers: int | None
    k_before: int
    k_now: int
    refit: bool
    segments: tuple[SegmentChange, ...]
    migration: Migration
    shifts: tuple[Shift, ...]
    trend: tuple[dict[str, Any], ...]
    findings: tuple[str, ...]


@dataclass(frozen=True)
class Now:
    """This period as the comparison needs it, by stable id. `counted`: the migration
    counts made where the customers are (model/rows.py), when they carry ids."""

    period: str
    segments: Segments
    profiles: Profiles
    personas: Sequence[Persona]
    features: FeatureSet
    identified: bool  # customers carry their own ids (data.id or transactions)
    counted: MigrationCounts | None = None

    @property
    def names(self) -> dict[int, str]:
        return {p.segment_id: p.name for p in self.personas}


def compare(continuity: Continuity, now: Now) -> Changes | None:
    """Sizes, movements of returning customers, profile shifts and findings since last time."""
    matching, previous = continuity.matching, continuity.previous
    if matching is None or previous is None:
        return None
    before = _segments_before(previous)
    migration = _migration(previous, now)
    changes = Changes(
        previous_period=previous.period, previous_label=previous.label,
        previous_customers=previous.summary.n_customers if previous.summary else None,
        k_before=len(matching.model.centroids), k_now=now.segments.k, refit=matching.refit,
        segments=_segment_changes(matching, before, now, migration), migration=migration,
        shifts=tuple(_shifts(matching, now, before)), trend=tuple(_trend(previous, now)),
        findings=())
    return _with_findings(changes, now)


def _with_findings(changes: Changes, now: Now) -> Changes:
    rule_names = [(p.name, p.rule_name) for p in now.personas]
    return replace(changes, findings=tuple(change_findings(changes, rule_names)))


def _segment_changes(matching: Matching, before: Mapping[int, Segment], now: Now,
                     migration: Migration) -> tuple[SegmentChange, ...]:
    new, lost = migration.new_by_segment, migration.lost_by_segment
    out = []
    for profile in now.profiles.segments:
        sid = profile.id
        old = before.get(sid) if sid in matching.matched else None
        out.append(SegmentChange(
            id=sid, name=now.names[sid], status="kept" if sid in matching.matched else "new",
            size_before=old.size if old else None, size_now=profile.size,
            share_before=old.share if old else None, share_now=profile.share,
            new_customers=new.get(sid, 0) if new is not None else None,
            lost_customers=lost.get(sid, 0) if lost is not None else None,
            share_change=profile.share - old.share if old else None))
    for sid in matching.retired:
        old = before.get(sid)
        out.append(SegmentChange(
            id=sid, name=matching.model.names.get(sid, f"Segment {sid}"), status="retired",
            size_before=old.size if old else None, size_now=None,
            share_before=old.share if old else None, share_now=None, new_customers=None,
            lost_customers=lost.get(sid, 0) if lost is not None else None))
    return tuple(out)


def _segments_before(previous: Previous) -> dict[int, Segment]:
    return {s.id: s for s in previous.summary.segments} if previous.summary else {}


def _old_name(previous: Previous, sid: int) -> str:
    model = previous.model
    return model.names.get(sid, f"Segment {sid}") if model else f"Segment {sid}"


def _migration(previous: Previous, now: Now) -> Migration:
    """Counts of returning customers by (old segment, new segment); new and lost by segment."""
    if not now.identified:
        return Migration(note="Customers have no id column (data.id), so movements between "
                              "segments cannot be followed; set data.id to see them.")
    counted = now.counted
    assert counted is not None, "customers with ids and a matched period have their counts"
    if counted.note is not None:
        return Migration(note=counted.note)
    names_now = now.names
    from_sizes: dict[int, int] = {}
    for (old, _), n in counted.flows.items():
        from_sizes[old] = from_sizes.get(old, 0) + n
    returning = sum(from_sizes.values())
    return Migration(
        flows=tuple(Flow(from_id=f, from_name=names_now.get(f) or _old_name(previous, f),
                         to_id=t, to_name=names_now[t], customers=n,
                         share_of_from=n / from_sizes[f])
                    for (f, t), n in sorted(counted.flows.items())),
        returning=returning,
        stayed=sum(n for (f, t), n in counted.flows.items() if f == t),
        new_customers=sum(counted.arrived.values()), lost_customers=sum(counted.left.values()),
        new_by_segment=dict(sorted(counted.arrived.items())),
        lost_by_segment=dict(sorted(counted.left.items())), movers=counted.movers)


def _shifts(matching: Matching, now: Now, before: Mapping[int, Segment]) -> list[Shift]:
    """Numeric clustering features whose segment mean moved by more than PROFILE_SHIFT."""
    model = matching.model
    names = model.preprocessing.names
    out = []
    for profile in now.profiles.segments:
        sid = profile.id
        if sid not in matching.matched:
            continue
        delta = matching.centroids[sid] - model.centroids[sid]
        for column in model.numeric:
            moved = float(delta[names.index(column)])
            if abs(moved) <= PROFILE_SHIFT or column not in profile.numeric:
                continue
            old = before.get(sid)
            old_stat = old.profile.get(column) if old else None
            out.append(Shift(id=sid, name=now.names[sid], column=column,
                             label=now.features.label(column),
                             before=old_stat.mean if old_stat else None,
                             now=profile.numeric[column].mean, shift=moved))
    return sorted(out, key=lambda s: -abs(s.shift))


def _trend(previous: Previous, now: Now) -> list[dict[str, Any]]:
    """Share per segment over the chain of periods that carried ids over, oldest first."""
    names = now.names
    rows: list[dict[str, Any]] = [
        {"period": now.period, "id": p.id, "name": names[p.id], "share": p.share}
        for p in now.profiles.segments]
    report_dir, summary, seen = previous.folder.parent, previous.summary, 1
    listed = listed_periods(report_dir)
    period = previous.period
    while summary and seen < TREND_PERIODS:
        rows += [{"period": period, "id": s.id, "name": names.get(s.id, s.name),
                  "share": s.share} for s in summary.segments]
        seen += 1
        earlier = summary.previous_period  # written by an earlier run: trusted only as far
        if earlier not in listed or earlier >= period:  # as it names a period listed here
            break
        period, summary = earlier, read_summary(report_dir / earlier)
    return sorted(rows, key=lambda r: (r["period"], r["id"]))


def changes_intro(changes: Changes, customers_now: int) -> str:
    """How this period relates to the last: counts, and how the segments carried over."""
    since = changes.previous_label
    before = changes.previous_customers
    counts = f"{before:,} customers then, {customers_now:,} now. " if before is not None else ""
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


def returning_sentence(changes: Changes) -> str | None:
    migration = changes.migration
    if not migration.returning:
        return None
    return (f"{migration.returning:,} customers were here in both periods; "
            f"{format_share((migration.stayed or 0) / migration.returning)} of them stayed in "
            "their segment.")


def change_findings(changes: Changes, rule_names: Sequence[tuple[str, str | None]]) -> list[str]:
    """Plain sentences: segment count, growth, movements, arrivals, profile shifts."""
    since = changes.previous_label
    out = _count_findings(changes, since)
    for name, rule_name in rule_names:
        if rule_name:
            out.append(f"{name} keeps its name from {since}, but its profile now fits "
                       f"\u201c{rule_name}\u201d (see its profile shifts).")
    out += _growth_findings(changes)
    out += _movement_findings(changes.migration)
    migration = changes.migration
    if migration.new_customers:
        out.append(f"{migration.new_customers:,} new customers arrived and "
                   f"{migration.lost_customers:,} from {since} are gone.")
    if changes.shifts:
        shift = changes.shifts[0]
        direction = "rose" if shift.shift > 0 else "fell"
        before = f" from {format_number(shift.before)}" if shift.before is not None else ""
        out.append(f"In {shift.name}, the average {shift.label} {direction}{before} to "
                   f"{format_number(shift.now)}.")
    return out


def _count_findings(changes: Changes, since: str) -> list[str]:
    out = []
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
    return out


def _growth_findings(changes: Changes) -> list[str]:
    moved = sorted((c for c in changes.segments if c.share_change is not None
                    and abs(c.share_change) >= SIZE_CHANGE),
                   key=lambda c: -abs(c.share_change or 0.0))
    out = []
    for change in moved[:2]:
        delta = change.share_change or 0.0
        verb = "grew" if delta > 0 else "shrank"
        out.append(f"{change.name} {verb} from {format_share(change.share_before or 0.0)} to "
                   f"{format_share(change.share_now or 0.0)} of customers "
                   f"({delta * 100:+.1f} points).")
    return out


def _movement_findings(migration: Migration) -> list[str]:
    out = []
    if migration.returning:
        out.append(f"{format_share((migration.stayed or 0) / migration.returning)} of the "
                   f"{migration.returning:,} returning customers stayed in their segment.")
    moves = sorted((f for f in migration.flows if f.from_id != f.to_id
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
    return out
