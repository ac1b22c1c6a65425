"""What the report says, gathered once from the stage results: `build_content` joins them
into a frozen ReportContent, and the page, the charts and summary.json are each built from
it alone, so each can be tested with a hand-made one (tests/test_report_content.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reportgen.config.load import LoadedConfig
from reportgen.config.roles import Binding
from reportgen.config.schema import FeaturesSection, ReportSection, SegmentationSection
from reportgen.data.customers import Customers
from reportgen.model.continuity import Continuity, Segments
from reportgen.model.control import Assignment
from reportgen.model.features import FeatureSet
from reportgen.model.lift import Campaign, Lift
from reportgen.model.personas import Persona
from reportgen.model.population import Population
from reportgen.model.profile import NumericStat, Profiles
from reportgen.model.recommend import Recommendation
from reportgen.model.segment import Segmentation
from reportgen.model.value import CustomerValue
from reportgen.report import chartdata, wording
from reportgen.report.changes import Changes
from reportgen.report.facts import DataFacts, FeatureFacts, SegmentFacts
from reportgen.report.liftwording import lift_finding
from reportgen.report.worth import Worth, segment_worth
from reportgen.report.worthwording import doubts, lapse_sentences, value_finding


@dataclass(frozen=True)
class ReportContent:
    """Everything the page, its charts and summary.json say."""

    report: ReportSection
    period: str
    generated_at: dt.datetime
    data: DataFacts
    features: FeatureFacts
    fit: Segmentation
    method: SegmentationSection
    segments: tuple[SegmentFacts, ...]
    population: Mapping[str, NumericStat]
    population_mix: Mapping[str, Mapping[str, float]]
    roles: Mapping[str, str]
    continuity: Continuity
    changes: Changes | None
    findings: tuple[str, ...]
    warnings: tuple[str, ...]  # weak structure aside: wording.structure_warning
    charts: chartdata.ChartData
    config_raw: Mapping[str, Any]
    config_sha256: str
    config_base: Path  # the config's folder: a template may read files from it for the PDF
    worth: Worth | None = None  # with `value:`: what each segment is worth, the backtest
    engine_note: str | None = None  # where the rows were, when not in this process
    control: Assignment | None = None  # the audiences' control groups (audiences:)
    lift: Lift | None = None  # last period's control groups measured
    role_bindings: Mapping[str, Binding] = field(default_factory=dict)  # every role, with why

    @property
    def names(self) -> dict[int, str]:
        return {s.id: s.name for s in self.segments}

    @property
    def colors(self) -> dict[int, str]:
        return {s.id: s.color for s in self.segments}


def build_content(*, loaded: LoadedConfig, period: str, generated_at: dt.datetime,
                  customers: Customers, features: FeatureSet, segments: Segments,
                  profiles: Profiles, personas: Sequence[Persona],
                  recommendations: Mapping[int, tuple[Recommendation, ...]],
                  roles: Mapping[str, str], changes: Changes | None, population: Population,
                  value: CustomerValue | None = None,
                  role_bindings: Mapping[str, Binding] | None = None,
                  control: Assignment | None = None,
                  campaign: Campaign | None = None) -> ReportContent:
    """The one join of the stage results: the report stage starts here. `population`: the
    counts over every customer, made where the rows are (`features` may hold a sample)."""
    config = loaded.config
    facts = feature_facts(features, config.features, population)
    data = data_facts(customers, features, population)
    people = segment_facts(segments, profiles, personas, recommendations, features, data)
    worth = segment_worth(value, features, segments, {s.id: s.revenue_share for s in people})
    if worth is not None:
        worth = replace(worth, notes=worth.notes + lapse_sentences(
            worth, {s.id: s.name for s in people}, _recency(people, profiles)))
    findings = wording.findings(people, segments.fit, data.sales is not None,
                                wording.value_column(roles, facts), facts, profiles.population)
    if worth is not None:
        findings.insert(1, value_finding(worth, {s.id: s.name for s in people}))
    lift = campaign.lift if campaign is not None else None
    if lift is not None:
        findings.insert(1, lift_finding(lift))
    return ReportContent(
        report=config.report, period=period, generated_at=generated_at, data=data,
        features=facts, fit=segments.fit, method=config.segmentation, segments=people,
        population=profiles.population, population_mix=profiles.population_mix, roles=roles,
        continuity=segments.continuity, changes=changes,
        findings=tuple(findings[:5]),
        warnings=tuple(wording.data_warnings(
            dict(population.missing), population.n_rows, config.features.missing == "drop",
            people, facts, segments.continuity)) + stability_warnings(segments.fit, people)
        + forecast_warnings(worth)
        + campaign_warnings(campaign),
        charts=chartdata.chart_data(features, segments, people, changes,
                                    data.sales is not None, config.segmentation.random_state,
                                    population.bins),
        config_raw=loaded.raw, config_sha256=loaded.sha256,
        config_base=loaded.source.parent, worth=worth,
        engine_note=population.method, control=control, lift=lift,
        role_bindings=dict(role_bindings or {}))


def campaign_warnings(campaign: Campaign | None) -> tuple[str, ...]:
    """Why last period's actions are not measured, when its groups were drawn."""
    if campaign is None:
        return ()
    return (((wording.control_warning(campaign.problem),) if campaign.problem else ())
            + ((wording.lift_pending(campaign.not_yet),) if campaign.not_yet else ()))


def stability_warnings(fit: Segmentation, people: Sequence[SegmentFacts]) -> tuple[str, ...]:
    warning = wording.stability_warning(fit, {s.id: s.name for s in people})
    return (warning,) if warning else ()


def forecast_warnings(worth: Worth | None) -> tuple[str, ...]:
    """The backtest's doubts, also on stderr: predicted value the holdout could not
    confirm must not reach a stakeholder unremarked."""
    return () if worth is None else doubts(worth)


def feature_facts(features: FeatureSet, spec: FeaturesSection,
                  population: Population) -> FeatureFacts:
    imputed = population.imputed
    return FeatureFacts(
        numeric=tuple(features.numeric), categorical=tuple(features.categorical),
        log=tuple(features.log), profile_numeric=tuple(features.profile_numeric),
        profile_categorical=tuple(features.profile_categorical), labels=dict(features.labels),
        imputed=dict(imputed), scale=spec.scale, missing=spec.missing)


def data_facts(customers: Customers, features: FeatureSet,
               population: Population) -> DataFacts:
    table, sales = customers.table, customers.sales
    revenue = float(features.frame["monetary"].sum()) if sales is not None else None
    n_customers = population.n_customers
    return DataFacts(source=table.source, sha256=table.sha256, n_rows_read=table.n_rows_read,
                     n_customers=n_customers, dropped={**table.dropped, **features.dropped},
                     sales=sales, revenue=revenue)


def segment_facts(segments: Segments, profiles: Profiles, personas: Sequence[Persona],
                  recommendations: Mapping[int, tuple[Recommendation, ...]],
                  features: FeatureSet, data: DataFacts) -> tuple[SegmentFacts, ...]:
    by_id = {p.segment_id: p for p in personas}
    out = []
    for profile in profiles.segments:
        persona, actions = by_id[profile.id], recommendations[profile.id]
        out.append(SegmentFacts(
            id=profile.id, name=persona.name, description=persona.description,
            color=segments.colors[profile.id], profile=profile,
            revenue_share=_revenue_share(features, segments, profile.id, data.revenue),
            recommendations=actions, named_by=_named_by(persona),
            advised_by=tuple(f"{r.rule} ({r.conditions})" for r in actions if r.rule),
            rules_fired=tuple(persona.fired) + tuple(r.rule for r in actions if r.rule)))
    return tuple(out)


def _recency(people: Sequence[SegmentFacts], profiles: Profiles) -> dict[int, tuple[float, float]]:
    if "recency_days" not in profiles.population:
        return {}
    everyone = profiles.population["recency_days"].mean
    return {s.id: (s.profile.numeric["recency_days"].mean, everyone) for s in people}


def _named_by(persona: Persona) -> str:
    if persona.rule is None:
        return "no rule matched: named after its strongest traits"
    return f"{persona.rule} ({persona.conditions})"


def _revenue_share(features: FeatureSet, segments: Segments, segment_id: int,
                   total: float | None) -> float | None:
    """The segment's share of net revenue (only for sales lines)."""
    if not total:
        return None
    return float(features.frame["monetary"][segments.members(segment_id)].sum()) / total
