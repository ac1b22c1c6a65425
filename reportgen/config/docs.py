"""The documentation's config reference and the config's JSON Schema, both generated from the
config models (one source of truth).

`python -m reportgen.docs` rewrites both; a test fails when either is out of date.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from reportgen.config.load import _section_type
from reportgen.config.schema import Config


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


SCHEMA_PATH = Path(__file__).with_name("config.schema.json")
TABLE_START = "| key | default | meaning |"


def config_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the config as written in YAML, for editors."""
    schema = Config.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "reportgen config",
            "description": "A reportgen report config; see docs/reference/config.md.",
            **schema}


def schema_text() -> str:
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


def replace_table(text: str, first_line: str, table: str) -> str:
    """`text` with the table that starts with `first_line` (up to a blank line) replaced."""
    start = text.index(first_line)
    end = text.find("\n\n", start)
    end = len(text) if end < 0 else end
    return text[:start] + table + text[end:]
