"""The personas stage: give each segment a name and a one-line description.

The first matching rule (the config's own rules, then the preset's) names a segment. A
segment no rule names is named after its two most distinctive traits. Two segments never
share a name: when a rule fits several, the best fit keeps the plain name and the others
are told apart by their strongest trait the rule did not mention.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from reportgen.config.presets import Preset
from reportgen.config.rules import PersonasSection
from reportgen.model.features import FeatureSet
from reportgen.model.profile import Profiles, SegmentProfile
from reportgen.model.rules import Rule, matches, preset_rules, user_rules


@dataclass(frozen=True)
class Persona:
    segment_id: int  # the stable id
    name: str
    description: str
    rule: str | None
    fired: tuple[str, ...] = ()
    conditions: str = ""
    rule_name: str | None = None  # the rules' name when an earlier period's name was kept


def persona_rules(spec: PersonasSection, features: FeatureSet, preset: Preset | None,
                  roles: Mapping[str, str]) -> list[Rule]:
    rules = user_rules(spec.rules, "personas.rules", features.all_numeric,
                       features.all_categorical, ("name", "description"))
    if preset:
        rules += preset_rules(preset.personas, preset.name, "personas", roles,
                              features.all_numeric + features.all_categorical)
    return rules


def name_segments(profiles: Profiles, rules: list[Rule], features: FeatureSet,
                  kept_names: Mapping[int, str] | None = None) -> tuple[Persona, ...]:
    """A persona per segment. `kept_names`: last period's names of the segments matched
    this period, which they keep (see keep_earlier_names)."""
    personas = [first_match(p, rules, features) for p in profiles.segments]
    personas = unique_names(personas, profiles, rules)
    return tuple(keep_earlier_names(personas, profiles, kept_names or {}))


def first_match(profile: SegmentProfile, rules: list[Rule], features: FeatureSet) -> Persona:
    fired = [r for r in rules if matches(r, profile)]
    if fired:
        rule = fired[0]
        description = rule.payload.get("description") or traits_sentence(profile)
        return Persona(profile.id, str(rule.payload["name"]), description, rule.source,
                       tuple(r.source for r in fired), rule.conditions)
    return Persona(profile.id, trait_name(profile, features), traits_sentence(profile), None)


def trait_name(profile: SegmentProfile, features: FeatureSet) -> str:
    """"High income, low spending score" from the two strongest traits."""
    if not profile.levelled:
        return "Typical customers"
    text = ", ".join(t.phrase for t in profile.levelled[:2])
    return text[:1].upper() + text[1:]


def traits_sentence(profile: SegmentProfile) -> str:
    if not profile.key_traits:
        return "Close to the average customer on every feature."
    return "; ".join(t.text for t in profile.key_traits) + "."


def unique_names(personas: list[Persona], profiles: Profiles,
                 rules: list[Rule]) -> list[Persona]:
    """When a rule names several segments, the best fit keeps the plain name and the others
    are told apart by their strongest trait the rule did not mention."""
    by_name: dict[str, list[Persona]] = {}
    for persona in personas:
        by_name.setdefault(persona.name, []).append(persona)
    renamed: dict[int, str] = {}
    for name, group in by_name.items():
        ranked = sorted(group, key=lambda p: -fit_strength(p, profiles, rules))
        for persona in ranked[1:]:
            renamed[persona.segment_id] = f"{name} ({qualifier(persona, profiles, rules)})"
    return _number_leftovers([replace(p, name=renamed.get(p.segment_id, p.name))
                              for p in personas])


def fit_strength(persona: Persona, profiles: Profiles, rules: list[Rule]) -> float:
    """How strongly a segment shows the traits its naming rule asks for (sum of |z|)."""
    profile = profiles.of(persona.segment_id)
    rule = next((r for r in rules if r.source == persona.rule), None)
    columns = rule.when if rule else [t.column for t in profile.traits[:2]]
    return sum(abs(profile.numeric[c].z) for c in columns if c in profile.numeric)


def qualifier(persona: Persona, profiles: Profiles, rules: list[Rule]) -> str:
    profile = profiles.of(persona.segment_id)
    rule = next((r for r in rules if r.source == persona.rule), None)
    used = set(rule.when) if rule else set()
    extra = [t for t in profile.levelled if t.column not in used]
    return extra[0].phrase if extra else f"segment {persona.segment_id}"


def _number_leftovers(personas: list[Persona]) -> list[Persona]:
    seen: set[str] = set()
    out = []
    for persona in personas:
        name = (f"{persona.name} - segment {persona.segment_id}" if persona.name in seen
                else persona.name)
        seen.add(name)
        out.append(replace(persona, name=name))
    return out


def keep_earlier_names(personas: list[Persona], profiles: Profiles,
                       kept: Mapping[int, str]) -> list[Persona]:
    """Matched segments keep last period's name; the name the rules give now is remembered.

    A new segment whose name is taken (typically half of a segment that split) is told
    apart by its strongest trait.
    """
    personas = [replace(p, name=kept[p.segment_id], rule_name=p.name)
                if p.segment_id in kept and p.name != kept[p.segment_id] else p
                for p in personas]
    taken = set(kept.values())
    out = []
    for persona in personas:
        if persona.segment_id not in kept and persona.name in taken:
            traits = profiles.of(persona.segment_id).levelled
            qualified = f"{persona.name} ({traits[0].phrase})" if traits else ""
            persona = replace(persona, name=qualified if qualified and qualified not in taken
                              else f"{persona.name} (segment {persona.segment_id})")
        taken.add(persona.name)
        out.append(persona)
    return out
