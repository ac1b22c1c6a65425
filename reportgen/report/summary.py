"""summary.json: the machine-readable record of a run (contract in DESIGN.md)."""

from __future__ import annotations

import math
from typing import Any

from reportgen.model.continuity import Changes
from reportgen.report.content import Analysis, data_warnings, findings, versions


def build_summary(a: Analysis, timings: dict[str, float], outputs: list[str],
                  model: dict[str, Any]) -> dict[str, Any]:
    """`model`: the saved model file's record (name, format, sha256), checked next period."""
    cfg, seg, feats = a.config, a.segmentation, a.features
    return clean({
        "report": cfg.report.name,
        "title": cfg.report.title,
        "period": a.period,
        "generated_at": a.generated_at.isoformat(timespec="seconds"),
        "source": a.table.source,
        "n_rows": a.table.n_rows_read,
        "n_customers": len(feats.frame),
        "dropped": a.dropped(),
        "transactions": _transactions(a),
        "imputed": dict(feats.imputed),
        "features": {"numeric": feats.numeric, "categorical": feats.categorical,
                     "profile": feats.profile_numeric + feats.profile_categorical,
                     "log": feats.log, "scale": cfg.features.scale,
                     "missing": cfg.features.missing},
        "k_selected": seg.k,
        "selection": {"method": seg.method, "reason": seg.reason, "knee": seg.knee,
                      "best_silhouette": seg.best_silhouette,
                      "weak_structure": seg.weak_structure,
                      "silhouette_rows": seg.silhouette_rows,
                      "sweep_rows": seg.sweep_rows},
        "k_scores": [vars(s) for s in seg.scores],
        "segments": [_segment(a, p.id) for p in a.profiles.segments],
        "findings": findings(a),
        "warnings": data_warnings(a),
        "roles": a.roles,
        "previous_period": a.changes.previous_period if a.changes else None,
        "continuity": _continuity(a),
        "migration": _migration(a.changes),
        "changes": _changes(a.changes),
        "outputs": outputs,
        "model": model,
        "timings": {stage: round(seconds, 3) for stage, seconds in timings.items()},
        "versions": versions(),
        "config_sha256": a.loaded.sha256,
        "data_sha256": a.table.sha256,
    })


def _continuity(a: Analysis) -> dict[str, Any]:
    """Whether segment ids carry over from an earlier period, and how."""
    continuity, spec = a.continuity, a.config.segmentation
    previous = continuity.previous
    return {"refit": spec.refit, "match_distance": spec.match_distance,
            "earlier_period": previous.period if previous else None,
            "carried_over": continuity.matching is not None, "note": continuity.note}


def _migration(changes: Changes | None) -> dict[str, Any] | None:
    if changes is None or changes.returning is None:
        return None
    return {"returning": changes.returning, "stayed": changes.stayed,
            "new_customers": changes.new_customers, "lost_customers": changes.lost_customers,
            "matrix": [vars(f) for f in changes.flows]}


def _changes(changes: Changes | None) -> dict[str, Any] | None:
    if changes is None:
        return None
    return {"previous_period": changes.previous_period, "k_before": changes.k_before,
            "k_now": changes.k_now, "refit": changes.refit,
            "segments": [{**vars(c), "share_change": c.share_change} for c in changes.segments],
            "profile_shifts": [vars(s) for s in changes.shifts],
            "migration_note": changes.migration_note, "trend": changes.trend,
            "findings": changes.findings}


def _transactions(a: Analysis) -> dict[str, Any] | None:
    if a.sales is None:
        return None
    sales = a.sales
    return {"lines_read": sales.lines_read, "as_of": sales.as_of.isoformat(),
            "first_date": sales.first_date.isoformat(),
            "last_date": sales.last_date.isoformat(), "lines": sales.line_counts,
            "customers_excluded": len(sales.excluded),
            "excluded_ids": sales.excluded["id"].astype(str).head(50).tolist(),
            "revenue": a.total_revenue()}


def _segment(a: Analysis, segment_id: int) -> dict[str, Any]:
    profile = a.profiles.segments[segment_id - 1]
    persona = a.personas[segment_id - 1]
    return {
        "id": a.stable_id(segment_id),
        "name": persona.name,
        "description": persona.description,
        "size": profile.size,
        "share": profile.share,
        "revenue_share": a.revenue_share(segment_id),
        "color": a.colors[segment_id - 1],
        "profile": {c: {"mean": s.mean, "median": s.median, "z": s.z, "level": s.level}
                    for c, s in profile.numeric.items()},
        "mix": profile.mix,
        "traits": [t.text for t in profile.traits],
        "recommendations": [{"action": r.action, "priority": r.priority, "rule": r.rule}
                            for r in a.recommendations[segment_id]],
        "rules_fired": a.rules_fired(segment_id),
    }


def clean(value: Any) -> Any:
    """JSON has no NaN or numpy types: NaN becomes null, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
