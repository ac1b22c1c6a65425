"""`python -m reportgen.docs`: the README's generated tables (the config reference, what
templates receive) and the config's JSON Schema, rewritten from the code that defines
them. A test fails when any is out of date."""

from __future__ import annotations

import sys
from pathlib import Path

from reportgen.config.docs import SCHEMA_PATH, readme_with_table, replace_table, schema_text
from reportgen.report.page import CONTEXT_TABLE_START, context_reference

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_current(readme: str) -> str:
    """The README with both generated tables as the code defines them now."""
    return replace_table(readme_with_table(readme), CONTEXT_TABLE_START, context_reference())


def write_docs(readme: Path = README) -> list[Path]:
    """Rewrite what is out of date; return the files changed."""
    changed = []
    text = readme.read_text(encoding="utf-8")
    if readme_current(text) != text:
        readme.write_text(readme_current(text), encoding="utf-8")
        changed.append(readme)
    if not SCHEMA_PATH.is_file() or SCHEMA_PATH.read_text(encoding="utf-8") != schema_text():
        SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
        changed.append(SCHEMA_PATH)
    return changed


if __name__ == "__main__":
    for path in write_docs():
        print(f"updated {path}")
    sys.exit(0)
