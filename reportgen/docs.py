"""The README's config reference, generated from the config models (one source of truth).

`python -m reportgen.docs` prints the table; a test fails when the README lacks a key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .config import Config, _section_type


def config_keys(model: type[BaseModel] = Config, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, field) for every key, sections before their keys."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        yield key, field
        section = _section_type(field.annotation)
        if section is not None and not _is_list_of_models(field.annotation):
            yield from config_keys(section, f"{key}.")
        elif section is not None:
            yield from config_keys(section, f"{key}[].")


def _is_list_of_models(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


def reference_table() -> str:
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, field in config_keys():
        if _section_type(field.annotation) is not None and not _is_list_of_models(
                field.annotation):
            lines.append(f"| **`{key}`** | | {field.description or 'section'} |")
            continue
        default = _default_text(field)
        lines.append(f"| `{key}` | {default} | {field.description or ''} |")
    return "\n".join(lines)


def _default_text(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()
    if value in (None, [], {}, ""):
        return ""
    if isinstance(value, tuple):
        value = list(value)
    return f"`{value}`"


if __name__ == "__main__":
    print(reference_table())
