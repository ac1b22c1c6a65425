"""The rules a run names and advises segments by: the config's own, then each preset's,
with the presets' roles (income, spending, ...) bound to this data's columns."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from reportgen.config.presets import Preset, load_preset
from reportgen.config.roles import MEANINGS, Binding, bind_by_meaning
from reportgen.config.schema import Config
from reportgen.model.features import FeatureSet
from reportgen.model.personas import persona_rules
from reportgen.model.recommend import recommendation_rules
from reportgen.model.rules import Rule, check_role_columns, preset_roles


@dataclass(frozen=True)
class RuleSets:
    naming: list[Rule]
    advice: list[Rule]
    roles: Mapping[str, str]  # preset role -> the column that plays it
    bindings: Mapping[str, Binding]  # every role, bound or not, with why


def rule_sets(config: Config, features: FeatureSet, blind: Collection[str] = ()) -> RuleSets:
    """Persona and recommendation rules (the config's, then each preset's), and the roles.
    Rules with a condition on a `blind` column (P(alive) where the value model cannot see
    churn) are left out, as a preset rule on a column the data lacks is."""
    explicit = explicit_roles(config)
    check_role_columns(explicit, features.all_numeric)
    bindings = bind_by_meaning(MEANINGS, features.all_numeric, explicit)
    persona_preset, persona_roles = resolve_preset(config.personas.preset, config, bindings)
    advice_preset, advice_roles = resolve_preset(config.recommendations.preset, config,
                                                 bindings)
    naming = persona_rules(config.personas, features, persona_preset, persona_roles)
    advice = recommendation_rules(config.recommendations, features, advice_preset,
                                  advice_roles)
    return RuleSets(seeing(naming, blind), seeing(advice, blind), persona_roles or advice_roles,
                    bindings)


def explicit_roles(config: Config) -> dict[str, str | None]:
    """The config's `roles:`, and the older `personas.roles` beside it."""
    explicit: dict[str, str | None] = dict(config.personas.roles)
    explicit.update({str(role): column for role, column in config.roles.items()})
    return explicit


def seeing(rules: list[Rule], blind: Collection[str]) -> list[Rule]:
    return [r for r in rules if not any(column in blind for column in r.when)]


def resolve_preset(name: str | None, config: Config, bindings: Mapping[str, Binding]
                   ) -> tuple[Preset | None, dict[str, str]]:
    """A preset and its roles bound to this data's columns."""
    if name is None:
        return None, {}
    preset = load_preset(name)
    return preset, preset_roles(preset, bindings, checked=config.personas.roles)
