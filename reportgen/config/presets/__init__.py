"""The presets (retail, rfm): rule sets written against roles (income, spending, ...)
that a config names by `personas.preset` and `recommendations.preset`, shipped as YAML.
The model stage binds their roles to a data's columns (model/rules.py); the data stage
reads which columns a preset logs by default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Preset:
    name: str
    roles: tuple[str, ...]  # the roles its rules name (config/roles.py binds them)
    personas: list[dict[str, Any]]
    recommendations: list[dict[str, Any]]
    log: list[str]  # columns the preset logs when features.log is not set


def load_preset(name: str) -> Preset:
    text = resources.files("reportgen.config.presets").joinpath(f"{name}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return Preset(name, tuple(data.get("roles", ())), data["personas"],
                  data["recommendations"], data.get("log", []))


@dataclass(frozen=True)
class Fallbacks:
    """Actions for a segment no rule advises, by the role of its strongest trait."""

    actions: Mapping[str, Any]


@cache  # read once a process, not once a run
def load_fallbacks() -> Fallbacks:
    text = resources.files("reportgen.config.presets").joinpath("fallbacks.yaml").read_text(
        "utf-8")
    data = yaml.safe_load(text)
    return Fallbacks(data["actions"])
