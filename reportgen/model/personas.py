"""The personas stage: give each segment a name and a one-line description.

The first matching rule (the config's own rules, then the preset's) names a segment. A
segment no rule names is named after its two most distinctive traits. Two segments never
share a name: when a rule fits several, the best fit keeps the plain name and the others
are told apart by their strongest trait the rule did not mention.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reportgen.config.schema import PersonasSection
from reportgen.model.features import FeatureSet
from reportgen.model.profile import Profiles, SegmentProfile
from reportgen.model.rules import Preset, Rule, matches, preset_rules, user_rules


@dataclass
class Persona:
    segment_id: int
    name: str
    description: str
    rule: str | None
    fired: list[str] = field(default_factory=list)
    conditions: str = ""
    rule_name: str | None = None  # the rules' name when an earlier period's name was kept


def persona_rules(spec: PersonasSection, features: FeatureSet, preset: Preset | None,
                  roles: dict[str, str]) -> list[Rule]:
    rules = user_rules(spec.rules, "personas.rules", features.all_numeric,
                       features.all_categorical, ("name", "description"))
    if preset:
        rules += preset_rules(preset.personas, preset.name, "personas", roles,
                              features.all_numeric + features.all_categorical)
    return rules


def name_segments(profiles: Profiles, rules: list[Rule], features: FeatureSet) -> list[Persona]:
    personas = [first_match(p, rules, features) for p in profiles.segments]
    make_unique(personas, profiles, rules, features)
    return personas


def first_match(profile: SegmentProfile, rules: list[Rule], features: FeatureSet) -> Persona:
    fired = [r for r in rules if matches(r, profile)]
    if fired:
        rule = fired[0]
        description = rule.payload.get("description") or traits_sentence(profile)
        return Persona(profile.id, str(rule.payload["name"]), description, rule.source,
                       [r.source for r in fired], rule.conditions)
    return Persona(profile.id, trait_name(profile, features), traits_sentence(profile), None)


def trait_name(profile: SegmentProfile, features: FeatureSet) -> str:
    """"High income, low spending score" from the two strongest traits."""
    if not profile.traits:
        return "Typical customers"
    text = ", ".join(t.phrase for t in profile.traits[:2])
    return text[:1].upper() + text[1:]


def traits_sentence(profile: SegmentProfile) -> str:
    if not profile.key_traits:
        return "Close to the average customer on every feature."
    return "; ".join(t.text for t in profile.key_traits) + "."


def make_unique(personas: list[Persona], profiles: Profiles, rules: list[Rule],
                features: FeatureSet) -> None:
    by_name: dict[str, list[Persona]] = {}
    for persona in personas:
        by_name.setdefault(persona.name, []).append(persona)
    for name, group in by_name.items():
        if len(group) < 2:
            continue
        ranked = sorted(group, key=lambda p: -fit_strength(p, profiles, rules))
        for persona in ranked[1:]:
            persona.name = f"{name} ({qualifier(persona, profiles, rules, features)})"
    _number_leftovers(personas)


def fit_strength(persona: Persona, profiles: Profiles, rules: list[Rule]) -> float:
    """How strongly a segment shows the traits its naming rule asks for (sum of |z|)."""
    profile = profiles.segments[persona.segment_id - 1]
    rule = next((r for r in rules if r.source == persona.rule), None)
    columns = rule.when if rule else [t.column for t in profile.traits[:2]]
    return sum(abs(profile.numeric[c].z) for c in columns if c in profile.numeric)


def qualifier(persona: Persona, profiles: Profiles, rules: list[Rule],
              features: FeatureSet) -> str:
    profile = profiles.segments[persona.segment_id - 1]
    rule = next((r for r in rules if r.source == persona.rule), None)
    used = set(rule.when) if rule else set()
    extra = [t for t in profile.traits if t.column not in used]
    return extra[0].phrase if extra else f"segment {persona.segment_id}"


def _number_leftovers(personas: list[Persona]) -> None:
    seen: set[str] = set()
    for persona in personas:
        if persona.name in seen:
            persona.name = f"{persona.name} - segment {persona.segment_id}"
        seen.add(persona.name)
