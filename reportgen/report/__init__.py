"""The report stage: what changed since the last period, what the page says (its content,
charts, HTML and PDF) and summary.json.

Exported lazily: the PDF process (`python -m reportgen.report.pdfworker`) imports this
package too, and must not pay for pandas and Altair to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reportgen.report.changes import Changes, Now, compare
    from reportgen.report.content import ReportContent, build_content
    from reportgen.report.preview import preview_page
    from reportgen.report.templating import Pages, Rendered, pages, render

__all__ = ["Changes", "Now", "Pages", "Rendered", "ReportContent", "build_content", "compare",
           "pages", "preview_page", "render"]
_HOMES = {"Changes": "changes", "Now": "changes", "compare": "changes",
          "ReportContent": "content", "build_content": "content", "preview_page": "preview",
          "Pages": "templating", "Rendered": "templating", "pages": "templating",
          "render": "templating"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module(f"reportgen.report.{_HOMES[name]}"), name)
