"""The stages in the order of DESIGN.md, from a validated config to the report's content.

config -> data -> features -> segmentation -> profiles -> personas + recommendations;
`publish_report` then renders and writes the period's files.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from reportgen.config.schema import Config, LoadedConfig
from reportgen.data.customers import load_customers
from reportgen.model.continuity import (
    Current,
    Previous,
    carry_colors,
    carry_names,
    carry_over,
    compare,
)
from reportgen.model.features import FeatureSet, build_features
from reportgen.model.personas import name_segments, persona_rules
from reportgen.model.profile import build_profiles
from reportgen.model.recommend import recommend, recommendation_rules
from reportgen.model.rules import Preset, Rule, bind_roles, load_preset
from reportgen.model.segment import segment
from reportgen.publish import publish_report
from reportgen.report.content import Analysis

if TYPE_CHECKING:
    from reportgen.api import StageTimer

__all__ = ["analyse", "check_inputs", "publish_report"]


def analyse(loaded: LoadedConfig, period: str, generated_at: dt.datetime,
            timer: StageTimer, previous: Previous | None = None) -> Analysis:
    """Every stage up to the report's content; nothing is written.

    `previous` is the report's latest earlier period: its segments keep their ids, names
    and colours, and the report says what changed since.
    """
    config, spec = loaded.config, loaded.config.segmentation
    with timer("data"):
        customers = load_customers(config, period)
    with timer("features"):
        features = build_features(customers.table, customers.features)
        naming, advice, roles = rule_sets(config, features)
    with timer("segmentation"):
        keep_model = previous is not None and previous.model is not None and not spec.refit
        fitted = None if keep_model else segment(features.matrix, spec)
        segmentation, features, continuity = carry_over(fitted, features, previous, spec)
    with timer("profiles"):
        profiles = build_profiles(features, segmentation)
    with timer("personas"):
        personas = name_segments(profiles, naming, features)
        carry_names(personas, segmentation, continuity, profiles)
    with timer("recommendations"):
        recommendations = recommend(profiles, advice, [p.name for p in personas])
    with timer("changes"):
        changes = compare(continuity, Current(
            period=period, ids=segmentation.ids, names=[p.name for p in personas],
            rule_names=[p.rule_name for p in personas],
            profiles=profiles, features=features, stable_labels=segmentation.stable_labels,
            identified=config.data.id is not None or config.transactions is not None))
    return Analysis(loaded=loaded, period=period, generated_at=generated_at,
                    table=customers.table, features=features, segmentation=segmentation,
                    profiles=profiles, personas=personas, recommendations=recommendations,
                    roles=roles, sales=customers.sales,
                    colors=carry_colors(segmentation, continuity), continuity=continuity,
                    changes=changes)


def rule_sets(config: Config, features: FeatureSet) -> tuple[list[Rule], list[Rule],
                                                             dict[str, str]]:
    """Persona and recommendation rules (the config's, then each preset's), and the roles."""
    persona_preset, persona_roles = resolve_preset(config.personas.preset, config, features)
    advice_preset, advice_roles = resolve_preset(config.recommendations.preset, config,
                                                 features)
    naming = persona_rules(config.personas, features, persona_preset, persona_roles)
    advice = recommendation_rules(config.recommendations, features, advice_preset,
                                  advice_roles)
    return naming, advice, persona_roles or advice_roles


def resolve_preset(name: str | None, config: Config,
                   features: FeatureSet) -> tuple[Preset | None, dict[str, str]]:
    """A preset and its roles bound to this data's columns."""
    if name is None:
        return None, {}
    preset = load_preset(name)
    return preset, bind_roles(preset, features.all_numeric, config.personas.roles)


def check_inputs(loaded: LoadedConfig, period: str) -> dict[str, Any]:
    """What `reportgen validate` checks: columns, types and rules, without clustering."""
    config = loaded.config
    customers = load_customers(config, period)
    features = build_features(customers.table, customers.features)
    _, _, roles = rule_sets(config, features)
    return {"rows": customers.table.n_rows_read, "customers": len(features.frame),
            "numeric": len(features.numeric), "categorical": len(features.categorical),
            "profile": len(customers.features.profile), "k": config.segmentation.k,
            "roles": roles}
