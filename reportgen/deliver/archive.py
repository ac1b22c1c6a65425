"""The archive: index pages over every period of every report in an output folder.

`<out>/<report>/index.html` lists the report's periods, newest first, with headline
numbers and links to each period's HTML and PDF; `<out>/index.html` lists the reports.
Links are relative, so the folder can be copied to any static web server or opened from
disk. Both are rebuilt from the period folders' summary.json files after every run and
written atomically; a period whose summary cannot be read is still listed, without
numbers, rather than failing the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment

from reportgen.deliver.folders import index_lock
from reportgen.files import write_atomically
from reportgen.model.continuity import is_own_folder, read_summary
from reportgen.report.render import make_environment
from reportgen.text import PERIOD_RE, format_share


@dataclass(frozen=True)
class PeriodEntry:
    period: str
    html: str | None  # relative link, or None when the period has no HTML
    pdf: str | None
    customers: str = ""
    segments: str = ""
    largest: str = ""
    generated_at: str = ""


@dataclass
class ReportEntry:
    name: str
    title: str
    periods: list[PeriodEntry] = field(default_factory=list)

    @property
    def latest(self) -> PeriodEntry:
        return self.periods[0]


def rebuild_indexes(out_root: Path, templates: Path | None = None) -> list[Path]:
    """Rewrite every report's index and the output folder's index; return their paths.

    Under the index lock (folders.py): the folders are read only once it is held, so a
    report that finished meanwhile is listed by whichever rebuild comes second.
    """
    env = make_environment(templates)
    with index_lock(out_root):
        return _write_indexes(out_root, env)


def _write_indexes(out_root: Path, env: Environment) -> list[Path]:
    reports = [r for r in (read_report(d) for d in sorted(out_root.iterdir())
                           if is_own_folder(d) and not d.name.startswith("."))
               if r is not None]
    written = []
    for report in reports:
        page = env.get_template("archive_report.html.j2").render(report=report)
        written.append(write_atomically(out_root / report.name / "index.html", page))
    page = env.get_template("archive_root.html.j2").render(reports=reports)
    written.append(write_atomically(out_root / "index.html", page))
    return written


def read_report(folder: Path) -> ReportEntry | None:
    periods = sorted((d for d in folder.iterdir() if PERIOD_RE.match(d.name)
                      and is_own_folder(d)),
                     key=lambda d: d.name, reverse=True)
    entries = [read_period(d) for d in periods]
    if not entries:
        return None
    title = _title(periods[0]) or folder.name
    return ReportEntry(folder.name, title, entries)


def read_period(folder: Path) -> PeriodEntry:
    html = f"{folder.name}/report.html" if (folder / "report.html").is_file() else None
    pdf = f"{folder.name}/report.pdf" if (folder / "report.pdf").is_file() else None
    summary = read_summary(folder)
    if not summary:
        return PeriodEntry(folder.name, html, pdf)
    segments = summary.get("segments") or []
    largest = max(segments, key=lambda s: s.get("size", 0)) if segments else None
    return PeriodEntry(
        period=folder.name, html=html, pdf=pdf,
        customers=f"{summary.get('n_customers', 0):,}",
        segments=str(summary.get("k_selected", "")),
        largest=f"{largest['name']} ({format_share(largest['share'])})" if largest else "",
        generated_at=str(summary.get("generated_at", "")).replace("T", " ")[:16],
    )


def _title(folder: Path) -> str | None:
    summary = read_summary(folder)
    return str(summary["title"]) if summary and "title" in summary else None


__all__ = ["rebuild_indexes"]
