"""Persona and recommendation rules as the config writes them: conditions on a segment's
profile (a level, a comparison of the mean, a category, the share or size)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from reportgen.config.base import COMPARISON_RE, LEVELS, Section

Condition = str | int | float | list[str]


def _check_conditions(when: dict[str, Condition]) -> dict[str, Condition]:
    """Catch condition typos at load time; column names are checked once data is read."""
    for column, test in when.items():
        if isinstance(test, bool):
            raise ValueError(f"condition on {column!r} must be a level or comparison, not {test}")
        if isinstance(test, int | float):
            raise ValueError(
                f"condition on {column!r} is the bare number {test}; write a comparison such "
                f"as '>= {test}' or a level ({', '.join(LEVELS)})"
            )
        if column in ("share", "size") and not (isinstance(test, str) and all(
                COMPARISON_RE.match(part) for part in test.split(" and "))):
            raise ValueError(
                f"condition on {column!r} must be a comparison like '< 0.1', got {test!r}")
    return when


class ConditionalRule(Section):
    """A rule that applies to the segments whose profile meets all its conditions."""

    when: dict[str, Condition] = Field(
        default_factory=dict,
        description="Conditions on the segment profile: a level, a comparison, or a category.",
    )

    _conditions = field_validator("when")(_check_conditions)


class PersonaRule(ConditionalRule):
    name: str = Field(min_length=1, description="Persona name given to a matching segment.")
    description: str = Field("", description="One sentence shown under the persona name.")


class PersonasSection(Section):
    preset: Literal["retail", "rfm"] | None = Field(
        None, description="Built-in persona rules added after your own: `retail` or `rfm`.")
    rules: list[PersonaRule] = Field(
        default_factory=list, description="Checked in order before the preset's rules."
    )
    roles: dict[str, str] = Field(
        default_factory=dict,
        description="Which column plays a preset role (retail: income, spending, frequency, "
        "age, tenure).",
    )


class RecommendationRule(ConditionalRule):
    action: str = Field(min_length=1, description="What marketing should do for the segment.")
    priority: Literal["high", "medium", "low"] = Field("medium", description="Sort order.")


class RecommendationsSection(Section):
    preset: Literal["retail", "rfm"] | None = Field(
        None, description="Built-in recommendation rules added to your own: `retail` or `rfm`.")
    rules: list[RecommendationRule] = Field(
        default_factory=list, description="Every matching rule adds its action."
    )


