"""What every config section shares: unknown keys are errors, values are immutable, paths
resolve against the config file's folder, and text with {placeholders} is checked."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationInfo

LEVELS = ("very low", "low", "average", "high", "very high")
COMPARISON_RE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """Relative paths mean "next to the config file", wherever the command runs from."""
    if value is None:
        return None
    base = (info.context or {}).get("base_dir")
    path = Path(value).expanduser()
    return path if path.is_absolute() or base is None else (Path(base) / path).resolve()


def check_placeholders(template: str, known: Sequence[str]) -> None:
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion
                  in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"{template!r:.80}: {exc}; write {{{{ and }}}} for literal braces"
                         ) from exc
    for name, spec, conversion in fields:
        if spec or conversion:  # a width of 10**10 would fill the memory; nothing needs one
            shown = f"{{{name}{'!' + conversion if conversion else ''}:{spec}}}"
            raise ValueError(f"{shown:.60} in {template!r:.80}: placeholders take no format "
                             f"or conversion; write {{{name}}}")
        if name not in known:
            raise ValueError(f"unknown placeholder {{{name}}} in {template!r}; use "
                             + ", ".join(f"{{{k}}}" for k in known))
