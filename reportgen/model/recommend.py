"""The recommendations stage: every matching rule adds an action to a segment.

Actions are ordered by priority (high, medium, low), then by rule order, so the first one
is the segment's top recommendation in the executive summary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reportgen.config.presets import Preset
from reportgen.config.rules import RecommendationsSection
from reportgen.model.features import FeatureSet
from reportgen.model.personas import Persona
from reportgen.model.profile import Profiles
from reportgen.model.rules import Rule, matches, preset_rules, user_rules

PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}
NO_RULE_ACTION = ("No recommendation rule matched this segment: review its profile and add "
                  "a rule under recommendations.rules.")


@dataclass(frozen=True)
class Recommendation:
    action: str
    priority: str
    rule: str | None
    conditions: str = ""


def recommendation_rules(spec: RecommendationsSection, features: FeatureSet,
                         preset: Preset | None, roles: Mapping[str, str]) -> list[Rule]:
    rules = user_rules(spec.rules, "recommendations.rules", features.all_numeric,
                       features.all_categorical, ("action", "priority"))
    if preset:
        rules += preset_rules(preset.recommendations, preset.name, "recommendations", roles,
                              features.all_numeric + features.all_categorical)
    return rules


def recommend(profiles: Profiles, rules: list[Rule],
              personas: Sequence[Persona]) -> dict[int, tuple[Recommendation, ...]]:
    """Actions per segment (by stable id); a rule may also ask for a persona
    (`persona: Champions`)."""
    names = {p.segment_id: p.name for p in personas}
    out = {}
    for profile in profiles.segments:
        fired = [r for r in rules if matches(r, profile, names[profile.id])]
        actions = [Recommendation(str(r.payload["action"]),
                                  str(r.payload.get("priority", "medium")), r.source,
                                  r.conditions)
                   for r in fired]
        actions.sort(key=lambda a: PRIORITY_ORDER[a.priority])
        out[profile.id] = tuple(actions) or (Recommendation(NO_RULE_ACTION, "low", None),)
    return out
