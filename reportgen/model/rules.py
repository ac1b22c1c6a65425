"""Rule conditions over a segment profile, shared by personas and recommendations.

A condition on a numeric column is a level (`high` also matches `very high`) or a
comparison of the segment mean (`"> 30"`); on a categorical column it is the segment's
most frequent value (or a list of accepted values); `share` and `size` compare the
segment's fraction and count of customers. Presets are written against roles (income,
spending, ...) that are bound to the data's columns by name.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reportgen.config.base import COMPARISON_RE, LEVELS
from reportgen.config.presets import Preset
from reportgen.config.roles import MEANINGS, Binding, bind_by_meaning
from reportgen.config.rules import Condition
from reportgen.errors import RuleError
from reportgen.model.profile import SegmentProfile
from reportgen.text import did_you_mean

LEVEL_MATCHES = {
    "very low": {"very low"},
    "low": {"low", "very low"},
    "average": {"average"},
    "high": {"high", "very high"},
    "very high": {"very high"},
}
OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
             "==": operator.eq, "!=": operator.ne}
SEGMENT_FIELDS = ("share", "size", "persona")


@dataclass(frozen=True)
class Rule:
    """A rule ready to match: its conditions use the data's real column names."""

    source: str
    when: Mapping[str, Condition]
    payload: Mapping[str, Any]

    @property
    def conditions(self) -> str:
        """The conditions as a reader says them: "income high, spending_score low"."""
        if not self.when:
            return "always"
        parts = []
        for column, test in self.when.items():
            shown = " or ".join(map(str, test)) if isinstance(test, list) else str(test)
            parts.append(f"{column} {shown}")
        return ", ".join(parts)


def matches(rule: Rule, profile: SegmentProfile, persona: str | None = None) -> bool:
    return all(condition_holds(col, test, profile, persona) for col, test in rule.when.items())


def condition_holds(column: str, test: Condition, profile: SegmentProfile,
                    persona: str | None = None) -> bool:
    accepted = test if isinstance(test, list) else [test]
    if column == "persona":
        return persona is not None and persona.lower() in {str(a).lower() for a in accepted}
    if column in ("share", "size"):
        return compare(profile.share if column == "share" else profile.size, str(test))
    if column in profile.numeric:
        stat = profile.numeric[column]
        if is_comparison(str(test)):
            return compare(stat.mean, str(test))
        return any(stat.level in LEVEL_MATCHES[str(a).lower()] for a in accepted)
    top = profile.top_value(column)
    return top is not None and top.lower() in {str(a).lower() for a in accepted}


def is_comparison(test: str) -> bool:
    """`> 30`, or several joined by `and`: `>= 2.5 and < 3.5`."""
    return all(COMPARISON_RE.match(part) for part in test.split(" and "))


def compare(value: float, test: str) -> bool:
    if not is_comparison(test):
        return False
    for part in test.split(" and "):
        found = COMPARISON_RE.match(part)
        assert found is not None
        if not OPERATORS[found.group(1)](value, float(found.group(2))):
            return False
    return True


def check_rule(when: Mapping[str, Condition], key: str, numeric: list[str],
               categorical: list[str]) -> None:
    """A user's rule must name real columns and real levels: say which and suggest."""
    known = [*numeric, *categorical, *SEGMENT_FIELDS]
    for column, test in when.items():
        where = f"{key}.when.{column}"
        if column not in known:
            raise RuleError(f"{where}: {column!r} is not a feature or profile column"
                            f"{did_you_mean(column, known)}")
        if column in numeric:
            for item in test if isinstance(test, list) else [test]:
                if not is_comparison(str(item)) and str(item).lower() not in LEVELS:
                    raise RuleError(
                        f"{where}: {item!r} is not a level ({', '.join(LEVELS)}) or a "
                        "comparison of the segment mean such as '> 30'"
                    )


def user_rules(rules: list[Any], key: str, numeric: list[str], categorical: list[str],
               payload_fields: tuple[str, ...]) -> list[Rule]:
    out = []
    for i, rule in enumerate(rules):
        source = f"{key}[{i}]"
        check_rule(rule.when, source, numeric, categorical)
        out.append(Rule(source, dict(rule.when), {f: getattr(rule, f) for f in payload_fields}))
    return out


def bind_roles(preset: Preset, numeric: list[str], explicit: Mapping[str, str | None],
               checked: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """Which column plays each of the preset's roles: the config's `roles` (and
    `personas.roles`, `checked` against the preset's roles), else by meaning
    (config/roles.py); unsure means unbound."""
    check_role_columns(explicit, numeric)
    return preset_roles(preset, bind_by_meaning(MEANINGS, numeric, explicit), checked)


def preset_roles(preset: Preset, bindings: Mapping[str, Binding],
                 checked: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The preset's roles out of every role's binding: the rules use exactly what the
    appendix's Roles table lists."""
    unknown = [r for r in (checked or {}) if r not in preset.roles]
    if unknown:
        raise RuleError(f"personas.roles.{unknown[0]}: the {preset.name} preset has no role "
                        f"{unknown[0]!r}{did_you_mean(unknown[0], list(preset.roles))}")
    return {role: column for role in preset.roles if (column := bindings[role].column)}


def check_role_columns(explicit: Mapping[str, str | None], numeric: list[str]) -> None:
    for role, column in explicit.items():
        if column is not None and column not in numeric:
            raise RuleError(f"roles.{role}: {column!r} is not a numeric feature or profile "
                            f"column{did_you_mean(column, numeric)}")


def normalise_name(column: str) -> str:
    """`MntWines` -> `mnt wines`, `Annual Income (k$)` -> `annual income k`."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column)
    return re.sub(r"[^a-z0-9]+", " ", spaced.lower()).strip()


def preset_rules(entries: list[dict[str, Any]], preset: str, kind: str,
                 roles: Mapping[str, str], columns: list[str]) -> list[Rule]:
    """Preset rules with roles replaced by columns; a rule needing a role or column the data
    does not have is left out. A rule is known by its `name`, its `label`, or else its
    number among the unlabelled ones (so adding a labelled rule renumbers nothing)."""
    out: list[Rule] = []
    numbered = 0
    for entry in entries:
        when = entry.get("when", {})
        numbered += "name" not in entry and "label" not in entry
        if all(r in roles or r in SEGMENT_FIELDS or r in columns for r in when):
            real = {roles.get(r, r): test for r, test in when.items()}
            payload = {k: v for k, v in entry.items() if k not in ("when", "label")}
            given = entry.get("label") or entry.get("name")  # a label tells apart two names
            label = f'"{given}"' if given else f"rule {numbered}"
            source = f"{preset} preset {kind} {label}"
            repeats = sum(r.source == source or r.source.startswith(f"{source} (") for r in out)
            out.append(Rule(f"{source} ({repeats + 1})" if repeats else source, real, payload))
    return out
