"""The recommendations stage: every matching rule adds an action to a segment.

Actions are ordered by priority (high, medium, low), then by rule order, so the first one
is the segment's top recommendation in the executive summary. An action's text may name
the segment's figures in braces: `{size}`, `{share}`, `{column}` (the segment's mean of a
numeric column) and `{column_total}` (its sum), e.g. "{value_total} of predicted value".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reportgen.config.presets import Fallbacks, Preset, load_fallbacks
from reportgen.config.roles import role_of
from reportgen.config.rules import RecommendationsSection
from reportgen.config.value import PROBABILITY_COLUMNS
from reportgen.errors import RuleError
from reportgen.model.features import FeatureSet
from reportgen.model.personas import Persona
from reportgen.model.profile import Profiles, SegmentProfile, Trait
from reportgen.model.rules import Rule, matches, preset_rules, user_rules
from reportgen.text import did_you_mean, format_number, format_share

PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
TOTAL = "_total"


@dataclass(frozen=True)
class Recommendation:
    action: str = field(metadata={"help": "what to do, with its figures filled in"})
    priority: str = field(metadata={"help": "high, medium or low"})
    rule: str | None = field(metadata={
        "help": "the rule it came from, in words (none for a fallback)"})
    conditions: str = field(default="", metadata={"help": "that rule's conditions"})


def recommendation_rules(spec: RecommendationsSection, features: FeatureSet,
                         preset: Preset | None, roles: Mapping[str, str]) -> list[Rule]:
    rules = user_rules(spec.rules, "recommendations.rules", features.all_numeric,
                       features.all_categorical, ("action", "priority"))
    for rule in rules:
        check_placeholders(str(rule.payload["action"]), rule.source, features.all_numeric)
    if preset:
        rules += preset_rules(preset.recommendations, preset.name, "recommendations", roles,
                              features.all_numeric + features.all_categorical)
    return rules


def recommend(profiles: Profiles, rules: list[Rule],
              personas: Sequence[Persona]) -> dict[int, tuple[Recommendation, ...]]:
    """Actions per segment (by stable id); a rule may also ask for a persona
    (`persona: Champions`)."""
    names = {p.segment_id: p.name for p in personas}
    fallbacks = load_fallbacks()
    out = {}
    for profile in profiles.segments:
        fired = [r for r in rules if matches(r, profile, names[profile.id])]
        actions = [Recommendation(fill_action(str(r.payload["action"]), profile),
                                  str(r.payload.get("priority", "medium")), r.source,
                                  r.conditions)
                   for r in fired]
        actions.sort(key=lambda a: PRIORITY_ORDER[a.priority])
        out[profile.id] = tuple(actions) or (fallback(profile, fallbacks),)
    return out


def fallback(profile: SegmentProfile, fallbacks: Fallbacks) -> Recommendation:
    """An action grounded in the segment's strongest trait, when no rule gave one: the
    trait's column matched to a role by name (fallbacks.yaml), high or low."""
    if not profile.levelled:
        return Recommendation(str(fallbacks.actions["average"]), "low",
                              "fallback: close to the average on every feature")
    trait = grounding_trait(profile)
    short = trait.short[:1].lower() + trait.short[1:]
    if trait.column in profile.mix:
        role, direction = "category", "high"
    else:
        role = role_of(trait.column) or "other"
        direction = "high" if trait.level in ("high", "very high") else "low"
    action = str(fallbacks.actions[role][direction]).format(trait=short)
    return Recommendation(action, "medium",
                          f"fallback: its trait {trait.column} ({role}, {direction})")


def grounding_trait(profile: SegmentProfile) -> Trait:
    """The strongest trait on a column with a role (an action can be written for it),
    else the strongest numeric trait, else the strongest."""
    numeric = [t for t in profile.levelled if t.column not in profile.mix]
    with_role = [t for t in numeric if role_of(t.column)]
    return (with_role or numeric or list(profile.levelled))[0]


def placeholder_names(numeric: Sequence[str]) -> list[str]:
    return ["size", "share", *numeric, *(c + TOTAL for c in numeric)]


def check_placeholders(action: str, source: str, numeric: Sequence[str]) -> None:
    """A misspelt `{valeu_total}` would reach the stakeholder's page as it is: say so now."""
    known = placeholder_names(numeric)
    for name in PLACEHOLDER.findall(action):
        if name not in known:
            raise RuleError(f"{source}.action: {{{name}}} is not a segment figure; use "
                            f"{{size}}, {{share}}, a numeric column or a column{TOTAL}"
                            f"{did_you_mean(name, known)}")


def fill_action(action: str, profile: SegmentProfile) -> str:
    """The action with the segment's figures in place of its placeholders."""
    def figure(found: re.Match[str]) -> str:
        name = found.group(1)
        if name == "size":
            return f"{profile.size:,}"
        if name == "share":
            return format_share(profile.share)
        if name in PROBABILITY_COLUMNS:
            return format_probability(profile.numeric[name].mean)
        if name in profile.numeric:
            return format_number(profile.numeric[name].mean)
        column = name.removesuffix(TOTAL)
        if name.endswith(TOTAL) and column in profile.numeric:
            return format_number(profile.numeric[column].mean * profile.size)
        return found.group(0)

    return PLACEHOLDER.sub(figure, action)


def format_probability(p: float) -> str:
    return "under 0.01" if 0 < p < 0.005 else f"{p:.2f}"
