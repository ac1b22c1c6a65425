"""The report stage: charts, the page context, and every output file of a period.

All files are written into a staging folder that replaces the period's folder only when
everything succeeded (see outputs.py). summary.json is written last, with the timings of
every stage including this one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.deliver.period import staged_folder, write_model, write_segments_csv, write_summary
from reportgen.model.profile import SCATTER_POINTS
from reportgen.model.savedmodel import FILE as MODEL_FILE
from reportgen.report.content import (
    Analysis,
    ChangesView,
    ChartSpec,
    FeatureRow,
    ScoreRow,
    SegmentView,
    build_charts,
    changes_view,
    config_text,
    data_warnings,
    feature_rows,
    findings,
    method_notes,
    score_rows,
    segment_views,
    versions,
)
from reportgen.report.render import logo_data_url, make_environment, start_pdf, write_html
from reportgen.report.summary import build_summary
from reportgen.text import period_label

if TYPE_CHECKING:
    from reportgen.api import StageTimer
    from reportgen.report.pdfworker import PdfWorker

DEFAULT_ACCENT = "#0072B2"


def publish_report(a: Analysis, target: Path, timer: StageTimer,
                   worker: PdfWorker | None) -> dict[str, Any]:
    """`worker`: the PDF process the run started (api.pdf_worker), None when no PDF is
    wanted. Each chart goes to it as soon as it is built, then the PDF page; it converts
    and draws while this process writes the HTML and the data files, and is waited for last.
    """
    config = a.config
    with timer("charts"):
        env = make_environment(config.report.templates)
        charts = build_charts(a, ready=worker.paint_chart if worker else None)
        context = vars(page_context(a, charts))
    with staged_folder(target) as folder:
        outputs = []
        if worker:
            with timer("pdf"):  # the PDF process draws while the files below are written
                roots = [a.loaded.source.parent, *filter(None, [config.report.templates])]
                start_pdf(env, context, charts, folder / "report.pdf", worker, roots)
        if "html" in config.output.formats:
            with timer("html"):
                write_html(env, context, charts, folder / "report.html")
            outputs.append("report.html")
        with timer("files"):
            write_segments_csv(a, folder / "segments.csv")
            model = write_model(a, folder / MODEL_FILE)
        if worker:
            started = time.perf_counter()
            worker.finish_pdf()
            timer.timings["pdf"] += time.perf_counter() - started
            outputs.append("report.pdf")
        outputs += ["segments.csv", MODEL_FILE, "summary.json"]
        summary = build_summary(a, timer.timings, outputs, model)
        write_summary(summary, folder / "summary.json")
    return summary


@dataclass(frozen=True)
class PageContext:
    """Everything the templates receive, besides `target` and the chart data the renderer
    adds. The README's template section documents each field (a test checks it)."""

    title: str
    company: str | None
    logo: str | None
    accent: str
    footer_text: str
    period: str
    period_label: str
    generated_at: str
    n_customers: str
    n_rows_read: str
    silhouette: str
    weak_structure: bool
    warnings: list[str]
    segments: list[SegmentView]
    findings: list[str]
    selection_reason: str
    scores: list[ScoreRow]
    charts: dict[str, ChartSpec]
    map_note: str
    source_name: str
    data_sha256: str
    dropped: list[tuple[str, str]]
    sales: dict[str, Any] | None
    changes: ChangesView | None
    feature_rows: list[FeatureRow]
    method_notes: list[str]
    config_text: str
    versions: dict[str, str]
    sections: list[dict[str, Any]]


def page_context(a: Analysis, charts: dict[str, ChartSpec]) -> PageContext:
    """The page context built from an analysis, numbers formatted for reading."""
    cfg, seg = a.config, a.segmentation
    views = segment_views(a)
    return PageContext(
        title=cfg.report.title,
        company=cfg.report.company,
        logo=logo_data_url(cfg.report.logo),
        accent=cfg.report.accent_color or DEFAULT_ACCENT,
        footer_text=cfg.report.footer or cfg.report.company or cfg.report.title,
        period=a.period,
        period_label=period_label(a.period),
        generated_at=a.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        n_customers=f"{len(a.features.frame):,}",
        n_rows_read=f"{a.table.n_rows_read:,}",
        silhouette=f"{seg.score_for(seg.k).silhouette:.2f}",
        weak_structure=seg.weak_structure,
        warnings=data_warnings(a, structure=False),
        segments=views,
        findings=findings(a),
        selection_reason=seg.reason,
        scores=score_rows(seg),
        charts=charts,
        map_note=map_note(a),
        source_name=a.table.source,
        data_sha256=a.table.sha256,
        dropped=[(reason, f"{n:,}") for reason, n in {**a.table.dropped,
                                                          **a.features.dropped}.items()],
        sales=sales_view(a),
        changes=changes_view(a),
        feature_rows=feature_rows(a),
        method_notes=method_notes(a),
        config_text=config_text(a),
        versions=versions(),
        sections=sections(a, views),
    )


def sections(a: Analysis, views: list[Any]) -> list[dict[str, Any]]:
    """The report's sections in order, for the HTML navigation and the PDF contents."""
    entries = [{"id": "summary", "title": "Executive summary", "short": "Summary", "parts": []}]
    if a.changes is not None:
        entries.append({"id": "changes", "title": f"What changed since "
                        f"{a.changes.previous_label}", "short": "What changed", "parts": []})
    if a.sales is not None:
        entries.append({"id": "revenue", "title": "Revenue and RFM", "short": "Revenue",
                        "parts": []})
    entries += [
        {"id": "segments", "title": "Segment profiles", "short": "Segments",
         "parts": [{"id": f"segment-{v.id}", "title": v.name} for v in views]},
        {"id": "map", "title": "Segment map", "short": "Map", "parts": []},
        {"id": "method", "title": "How k was chosen", "short": "How k was chosen", "parts": []},
        {"id": "appendix", "title": "Data appendix", "short": "Appendix", "parts": []},
    ]
    return entries


def sales_view(a: Analysis) -> dict[str, Any] | None:
    """What the report says about the sales lines, formatted; None for a customer table."""
    if a.sales is None:
        return None
    sales = a.sales
    return {"lines_read": f"{sales.lines_read:,}", "as_of": sales.as_of.isoformat(),
            "first_date": sales.first_date.isoformat(),
            "last_date": sales.last_date.isoformat(),
            "excluded": f"{len(sales.excluded):,}" if len(sales.excluded) else "",
            "line_counts": [(reason, f"{n:,}") for reason, n in sales.line_counts.items()]}


def map_note(a: Analysis) -> str:
    n = len(a.features.frame)
    shown = min(n, SCATTER_POINTS)
    sample = f"a random sample of {shown:,} of the {n:,} customers" if shown < n else (
        f"all {n:,} customers")
    return (f"Each dot is a customer ({sample}), placed by the two principal components of "
            "the clustering features. Segments that overlap here may still be separated "
            "along other directions.")
