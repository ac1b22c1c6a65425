"""The HTML page as a string, for `reportgen serve`: the same page report.html holds,
made from the same content by the same functions, and never written to a file."""

from __future__ import annotations

from reportgen.report.chartset import build_charts
from reportgen.report.content import ReportContent
from reportgen.report.page import page_context
from reportgen.report.templating import html_page, logo_data_url, make_environment


def preview_page(content: ReportContent) -> str:
    env = make_environment(content.report.templates)
    charts = build_charts(content)
    context = vars(page_context(content, charts, logo_data_url(content.report.logo)))
    return html_page(env, context, charts)
