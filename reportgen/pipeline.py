"""The stages in the order of DESIGN.md, from a validated config to the report's content.

config -> data -> features -> segmentation -> profiles -> personas + recommendations;
`publish_report` then renders and writes the period's files.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .config import LoadedConfig
from .features import FeatureSet, build_features, clustered
from .personas import name_segments, persona_rules
from .profile import build_profiles
from .publish import publish_report
from .recommend import recommend, recommendation_rules
from .report import Analysis
from .rules import Preset, bind_roles, load_preset
from .segment import segment
from .sources import load_table

if TYPE_CHECKING:
    from .api import StageTimer

__all__ = ["analyse", "check_inputs", "publish_report"]


def analyse(loaded: LoadedConfig, period: str, generated_at: dt.datetime,
            timer: StageTimer) -> Analysis:
    """Every stage up to the report's content; nothing is written."""
    config = loaded.config
    with timer("data"):
        table = load_table(config.data, [*clustered(config.features), *config.features.profile])
    with timer("features"):
        features = build_features(table, config.features)
        preset, roles = resolve_preset(loaded, features)
        naming = persona_rules(config.personas, features, preset, roles)
        advice = recommendation_rules(config.recommendations, features, preset, roles)
    with timer("segmentation"):
        segmentation = segment(features.matrix, config.segmentation)
    with timer("profiles"):
        profiles = build_profiles(features, segmentation)
    with timer("personas"):
        personas = name_segments(profiles, naming, features)
    with timer("recommendations"):
        recommendations = recommend(profiles, advice)
    return Analysis(loaded=loaded, period=period, generated_at=generated_at,
                    table=table, features=features, segmentation=segmentation,
                    profiles=profiles, personas=personas, recommendations=recommendations,
                    roles=roles)


def resolve_preset(loaded: LoadedConfig, features: FeatureSet) -> tuple[Preset | None,
                                                                       dict[str, str]]:
    """The preset in use (personas or recommendations) and its roles bound to columns."""
    config = loaded.config
    name = config.personas.preset or config.recommendations.preset
    if name is None:
        return None, {}
    preset = load_preset(name)
    return preset, bind_roles(preset, features.all_numeric, config.personas.roles)


def check_inputs(loaded: LoadedConfig) -> dict[str, Any]:
    """What `reportgen validate` checks: columns, types and rules, without clustering."""
    config = loaded.config
    table = load_table(config.data, [*clustered(config.features), *config.features.profile])
    features = build_features(table, config.features)
    preset, roles = resolve_preset(loaded, features)
    persona_rules(config.personas, features, preset, roles)
    recommendation_rules(config.recommendations, features, preset, roles)
    return {"rows": table.n_rows_read, "customers": len(features.frame),
            "numeric": len(features.numeric), "categorical": len(features.categorical),
            "profile": len(config.features.profile), "k": config.segmentation.k,
            "roles": roles}
