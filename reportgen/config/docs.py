"""The README's config reference and the config's JSON Schema, both generated from the
config models (one source of truth).

`python -m reportgen.config.docs` rewrites both; a test fails when either is out of date.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from reportgen.config.schema import Config, _section_type


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
            "description": "A reportgen report config; see the README's Config reference.",
            **schema}


def schema_text() -> str:
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


def readme_with_table(readme: str) -> str:
    """The README with its config table replaced by the generated one."""
    start = readme.index(TABLE_START)
    end = readme.find("\n\n", start)
    end = len(readme) if end < 0 else end
    return readme[:start] + reference_table() + readme[end:]


def write_docs(readme: Path) -> list[Path]:
    """Rewrite what is out of date; return the files changed."""
    changed = []
    text = readme.read_text(encoding="utf-8")
    if readme_with_table(text) != text:
        readme.write_text(readme_with_table(text), encoding="utf-8")
        changed.append(readme)
    if not SCHEMA_PATH.is_file() or SCHEMA_PATH.read_text(encoding="utf-8") != schema_text():
        SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
        changed.append(SCHEMA_PATH)
    return changed


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    for path in write_docs(root / "README.md"):
        print(f"updated {path}")
    sys.exit(0)
