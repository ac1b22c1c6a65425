"""Every sentence that compares a segment with everyone is a typed claim, checked against
its numbers before anything is written (DESIGN.md's truth rules).

A claim names the measure, the segment's mean and median, everyone's, and what the words
say: `above` (mean and median both above everyone's), `below`, or a mixed statement
("median above, mean below"). The traits, the level words of the profile tables, the
persona names and descriptions (through the level conditions of the rule that named the
segment) and the actions grounded in a trait are all built from the levels and traits
checked here. A contradiction is a bug in reportgen, not in the data: the run stops with
exit 1 and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reportgen.model.personas import Persona
from reportgen.model.profile import ABOVE, BELOW, NumericStat, Profiles, side
from reportgen.model.rules import LEVEL_MATCHES, Rule

HIGH_LEVELS = LEVEL_MATCHES["high"]
LOW_LEVELS = LEVEL_MATCHES["low"]


class Contradiction(Exception):
    """A sentence the report would print says what its own numbers do not (exit 1)."""


@dataclass(frozen=True)
class Claim:
    where: str  # which sentence, for the error: "segment 3, trait 'Higher income ...'"
    measure: str
    says: str  # ABOVE, BELOW, or "median above, mean below" (and its mirror)
    segment: NumericStat
    everyone: NumericStat

    def holds(self) -> bool:
        median = side(self.segment.median, self.everyone.median)
        mean = side(self.segment.mean, self.everyone.mean)
        if self.says == ABOVE:
            return median > 0 and mean > 0
        if self.says == BELOW:
            return median < 0 and mean < 0
        wanted = {f"median {m}, mean {a}": (1 if m == ABOVE else -1, 1 if a == ABOVE else -1)
                  for m in (ABOVE, BELOW) for a in (ABOVE, BELOW)}
        return (median, mean) == wanted.get(self.says)

    def __str__(self) -> str:
        return (f"{self.where} says {self.measure} is {self.says} everyone's, but its mean is "
                f"{self.segment.mean:.6g} against {self.everyone.mean:.6g} and its median "
                f"{self.segment.median:.6g} against {self.everyone.median:.6g}")


def level_says(level: str) -> str | None:
    if level in HIGH_LEVELS:
        return ABOVE
    if level in LOW_LEVELS:
        return BELOW
    return None


def profile_claims(profiles: Profiles) -> list[Claim]:
    """The level words of the profile tables and the traits' sentences."""
    out = []
    for profile in profiles.segments:
        for column, stat in profile.numeric.items():
            says = level_says(stat.level)
            if says:
                out.append(Claim(f"segment {profile.id}'s level {stat.level!r}", column, says,
                                 stat, profiles.population[column]))
        for trait in profile.traits:
            if trait.says and trait.column in profile.numeric:
                out.append(Claim(f"segment {profile.id}'s trait {trait.text!r}", trait.column,
                                 trait.says, profile.numeric[trait.column],
                                 profiles.population[trait.column]))
    return out


def persona_claims(profiles: Profiles, personas: Sequence[Persona],
                   rules: Iterable[Rule]) -> list[Claim]:
    """A persona's name and description speak for the level conditions of its rule."""
    by_source = {rule.source: rule for rule in rules}
    out = []
    for persona in personas:
        rule = by_source.get(persona.rule or "")
        if rule is None:
            continue
        profile = profiles.of(persona.segment_id)
        for column, test in rule.when.items():
            if column not in profile.numeric:
                continue
            tests = test if isinstance(test, list) else [test]
            says = level_says(str(tests[0]).lower()) if len(tests) == 1 else None
            if says:  # a list of levels ("low or average") claims no side
                out.append(Claim(f"persona {persona.name!r} (segment {persona.segment_id})",
                                 column, says, profile.numeric[column],
                                 profiles.population[column]))
    return out


def check_claims(claims: Iterable[Claim]) -> int:
    """How many claims were checked; a Contradiction naming each that fails."""
    checked = list(claims)
    failed = [str(c) for c in checked if not c.holds()]
    if failed:
        raise Contradiction(f"{len(failed)} sentence(s) contradict their numbers: "
                            + "; ".join(failed))
    return len(checked)


def verify_segments(profiles: Profiles, personas: Sequence[Persona],
                    rules: Iterable[Rule]) -> int:
    return check_claims([*profile_claims(profiles), *persona_claims(profiles, personas, rules)])


