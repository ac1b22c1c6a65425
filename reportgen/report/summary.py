"""summary.json's content: the typed record (record.Summary) of a report, from its content."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportgen import record
from reportgen.model.btyd import GammaGamma
from reportgen.model.purchase_models import PurchaseModel
from reportgen.model.segment import Segmentation
from reportgen.model.stability import FRACTION, STABLE, band
from reportgen.report import wording
from reportgen.report.changes import Changes
from reportgen.report.content import ReportContent, SegmentFacts
from reportgen.report.page import versions
from reportgen.report.worth import Worth


def build_summary(content: ReportContent, timings: Mapping[str, float],
                  outputs: Sequence[str], model: Mapping[str, Any]) -> record.Summary:
    """`model`: the saved model file's record (name, format, sha256), checked next period."""
    fit, features, data = content.fit, content.features, content.data
    structure = wording.structure_warning(fit)
    return record.Summary.model_validate(record.plain({
        "report": content.report.name,
        "title": content.report.title,
        "period": content.period,
        "generated_at": content.generated_at.isoformat(timespec="seconds"),
        "source": data.source,
        "n_rows": data.n_rows_read,
        "n_customers": data.n_customers,
        "dropped": data.removed,
        "transactions": _transactions(content),
        "reconciliation": _reconciliation(content),
        "imputed": dict(features.imputed),
        "features": _features(content),
        "k_selected": fit.k,
        "selection": _selection(content),
        "k_scores": [vars(s) for s in fit.scores],
        "stability": _stability(fit),
        "segments": [_segment(s) for s in content.segments],
        "findings": content.findings,
        "warnings": [*content.warnings, *([structure] if structure else [])],
        "roles": dict(content.roles),
        "role_bindings": [{"role": r, "column": b.column, "reason": b.reason}
                          for r, b in content.role_bindings.items()],
        "previous_period": content.changes.previous_period if content.changes else None,
        "continuity": _continuity(content),
        "migration": _migration(content.changes),
        "changes": _changes(content.changes),
        "value": _value(content.worth),
        "control": _control(content),
        "lift": _lift(content),
        "outputs": list(outputs),
        "model": dict(model),
        "timings": {stage: round(seconds, 3) for stage, seconds in timings.items()},
        "versions": versions(),
        "config_sha256": content.config_sha256,
        "data_sha256": data.sha256,
    }))


def _features(content: ReportContent) -> dict[str, Any]:
    features = content.features
    return {"numeric": features.numeric, "categorical": features.categorical,
            "profile": features.profile_numeric + features.profile_categorical,
            "log": features.log, "scale": features.scale, "missing": features.missing}


def _selection(content: ReportContent) -> dict[str, Any]:
    fit = content.fit
    return {"method": fit.method, "reason": wording.selection_reason(fit), "knee": fit.knee,
            "best_silhouette": fit.best_silhouette, "weak_structure": fit.weak_structure,
            "natural_groups": fit.natural_groups,
            "min_share": fit.min_share if fit.method == "stable" else None,
            "silhouette_rows": fit.silhouette_rows, "sweep_rows": fit.sweep_rows}


def _continuity(content: ReportContent) -> dict[str, Any]:
    """Whether segment ids carry over from an earlier period, and how."""
    continuity, spec = content.continuity, content.method
    previous = continuity.previous
    return {"refit": spec.refit, "match_distance": spec.match_distance,
            "earlier_period": previous.period if previous else None,
            "carried_over": continuity.matching is not None, "note": continuity.note}


def _migration(changes: Changes | None) -> dict[str, Any] | None:
    if changes is None or changes.migration.returning is None:
        return None
    migration = changes.migration
    return {"returning": migration.returning, "stayed": migration.stayed,
            "new_customers": migration.new_customers,
            "lost_customers": migration.lost_customers,
            "matrix": [f.model_dump() for f in migration.flows]}


def _changes(changes: Changes | None) -> dict[str, Any] | None:
    if changes is None:
        return None
    return {"previous_period": changes.previous_period, "k_before": changes.k_before,
            "k_now": changes.k_now, "refit": changes.refit,
            "segments": [c.model_dump() for c in changes.segments],
            "profile_shifts": [s.model_dump() for s in changes.shifts],
            "migration_note": changes.migration.note, "trend": list(changes.trend),
            "findings": list(changes.findings)}


def _transactions(content: ReportContent) -> dict[str, Any] | None:
    sales = content.data.sales
    if sales is None:
        return None
    return {"lines_read": sales.lines_read, "as_of": sales.as_of.isoformat(),
            "first_date": sales.first_date.isoformat(),
            "last_date": sales.last_date.isoformat(), "lines": sales.line_counts,
            "customers_excluded": len(sales.excluded),
            "excluded_ids": sales.excluded["id"].astype(str).head(50).tolist(),
            "revenue": content.data.revenue}


def _reconciliation(content: ReportContent) -> dict[str, Any] | None:
    sales = content.data.sales
    if sales is None:
        return None
    done = sales.reconciliation()
    return {"lines_read": done.lines_read,
            "dropped": [{"reason": r, "lines": n} for r, n in done.dropped],
            "lines_used": done.lines_used, "lines_netted": done.lines_netted,
            "customers": done.customers, "net_revenue": done.net_revenue_cents / 100,
            "customers_not_positive": done.excluded,
            "not_positive_revenue": done.excluded_cents / 100,
            "customers_segmented": done.segmented,
            "segmented_revenue": done.segmented_cents / 100}


def _stability(fit: Segmentation) -> dict[str, Any] | None:
    """Per k, and per segment with its band; none when the model was not refitted."""
    measured = fit.stability
    if measured is None:
        return None
    return {
        "method": f"K-Means refitted on {measured.resamples} subsamples of {FRACTION:.0%}, "
                  "mean Jaccard of each segment with its closest refit segment",
        "resamples": measured.resamples, "rows": measured.rows, "fraction": FRACTION,
        "by_k": [{"k": s.k, "ari": s.ari, "weakest": s.weakest,
                  "smallest_share": fit.smallest_shares[i], "stable": s.weakest >= STABLE}
                 for i, s in enumerate(measured.by_k)],
        "segments": [{"id": i, "jaccard": j, "band": band(j)}
                     for i, j in sorted(fit.jaccard_of().items())],
    }


def _segment(s: SegmentFacts) -> dict[str, Any]:
    profile = s.profile
    return {
        "id": s.id, "name": s.name, "description": s.description, "size": s.size,
        "share": s.share, "revenue_share": s.revenue_share, "color": s.color,
        "profile": {c: {"mean": v.mean, "median": v.median, "z": v.z, "level": v.level}
                    for c, v in profile.numeric.items()},
        "mix": profile.mix,
        "traits": [t.text for t in profile.traits],
        "recommendations": [{"action": r.action, "priority": r.priority, "rule": r.rule}
                            for r in s.recommendations],
        "rules_fired": list(s.rules_fired),
    }


def _value(worth: Worth | None) -> dict[str, Any] | None:
    if worth is None:
        return None
    test = worth.backtest
    return {
        "horizon_months": worth.horizon_months, "discount_rate": worth.discount_rate,
        "margin": worth.margin, "model": worth.purchases.key,
        "model_label": worth.purchases.label, "choice": test.reason,
        **_fit(worth.purchases, worth.gamma_gamma),
        "fitted_customers": worth.fitted_customers,
        "ridges": [{"parameters": list(r.parameters), "quantity": r.quantity,
                    "value": r.value, "meaning": r.meaning} for r in worth.ridges],
        "customers": len(worth.customers), "total_value": worth.total_value,
        "one_time_buyers": worth.one_time_buyers,
        "backtest": {
            **_fit(test.purchases, test.gamma_gamma),
            "models": [{"model": s.model.key, "label": s.label,
                        "params": dict(zip(s.model.names, s.model.values, strict=True)),
                        "log_likelihood": s.model.log_likelihood,
                        "expected_transactions": s.expected, "actual_transactions": s.actual,
                        "error": s.error, "mae_per_customer": s.mae,
                        "worst_band_gap": s.worst_gap, "calibrated": s.calibrated,
                        "reliability": s.reliability.to_dict("records")}
                       for s in test.scores],
            "calibration_end": test.calibration_end.isoformat(),
            "holdout_end": test.holdout_end.isoformat(), "auto": test.auto,
            "holdout_weeks": test.holdout_weeks, "customers": len(test.customers),
            "returning_customers": test.returning, "actual_transactions":
            test.actual_transactions, "expected_transactions": test.expected_transactions,
            "actual_revenue": test.actual_revenue, "expected_revenue": test.expected_revenue,
            "mae_per_customer": test.mae_per_customer,
            "deciles": test.deciles.to_dict("records"), "trust": list(test.trust)},
        "segments": [vars(s) for s in worth.segments],
        "tiers": [{"name": t.name, "lowest_value": t.lowest_value, "customers": t.customers,
                   "value_share": t.value_share, "segments": dict(t.by_segment)}
                  for t in worth.tiers],
        "notes": list(worth.notes),
    }


def _fit(model: PurchaseModel, gamma_gamma: GammaGamma) -> dict[str, Any]:
    """Alpha and beta in weeks and gamma in the currency, as the literature gives them."""
    return {"params": {**dict(zip(model.names, model.values, strict=True)),
                       "p": gamma_gamma.p, "q": gamma_gamma.q, "gamma": gamma_gamma.gamma},
            "log_likelihood": {"purchases": model.log_likelihood,
                               "gamma_gamma": gamma_gamma.log_likelihood}}


def _control(content: ReportContent) -> dict[str, Any] | None:
    control = content.control
    if control is None:
        return None
    return {"share": control.share,
            "segments": [{"id": sid, "treatment": t, "control": c}
                         for sid, (t, c) in sorted(control.counts.items())]}


def _lift(content: ReportContent) -> dict[str, Any] | None:
    lift = content.lift
    if lift is None:
        return None
    return {"period": lift.period, "since": lift.since.isoformat(),
            "end": lift.end.isoformat(), "days": lift.days, "share": lift.share,
            "used": lift.used, "level": lift.level,
            "segments": [{"id": s.id, "name": s.name, "actions": list(s.actions),
                          "treated": s.treated, "held_out": s.held_out,
                          "buyers": list(s.buyers), "verdict": s.verdict,
                          "unjudged": s.unjudged, "skew": s.skew,
                          "needed_share": s.needed_share,
                          "means": {m: list(pair) for m, pair in s.means.items()},
                          **{m: vars(s.measures[m]) if m in s.measures else None
                             for m in ("revenue", "bought", "purchases")},
                          "incremental_revenue": s.incremental_revenue,
                          "incremental_low": s.incremental_low,
                          "incremental_high": s.incremental_high}
                         for s in lift.segments]}
