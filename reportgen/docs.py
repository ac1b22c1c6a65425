"""`python -m reportgen.docs`: the documentation site's generated pages (the config
reference, what templates receive) and the config's JSON Schema, rewritten from the code
that defines them. A test fails when any is out of date."""

from __future__ import annotations

import sys
from pathlib import Path

from reportgen.config.docs import (
    SCHEMA_PATH,
    TABLE_START,
    reference_table,
    replace_table,
    schema_text,
)
from reportgen.report.page import CONTEXT_TABLE_START, context_reference

DOCS = Path(__file__).resolve().parent.parent / "docs"
CONFIG_PAGE = DOCS / "reference" / "config.md"
TEMPLATES_PAGE = DOCS / "templates.md"


def current(page: Path, text: str) -> str:
    """The page with its generated table as the code defines it now."""
    if page == CONFIG_PAGE:
        return replace_table(text, TABLE_START, reference_table())
    return replace_table(text, CONTEXT_TABLE_START, context_reference())


def write_docs() -> list[Path]:
    """Rewrite what is out of date; return the files changed."""
    changed = []
    for page in (CONFIG_PAGE, TEMPLATES_PAGE):
        text = page.read_text(encoding="utf-8")
        if current(page, text) != text:
            page.write_text(current(page, text), encoding="utf-8")
            changed.append(page)
    if not SCHEMA_PATH.is_file() or SCHEMA_PATH.read_text(encoding="utf-8") != schema_text():
        SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
        changed.append(SCHEMA_PATH)
    return changed


if __name__ == "__main__":
    for path in write_docs():
        print(f"updated {path}")
    sys.exit(0)
