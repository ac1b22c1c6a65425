"""The archive: index pages over every period of every report in an output folder.

`<out>/<report>/index.html` lists the report's periods, newest first, with headline
numbers and links to each period's HTML and PDF; `<out>/index.html` lists the reports.
Links are relative, so the folder can be copied to any static web server or opened from
disk. Both are rebuilt from the period folders' summary.json files after every run and
written atomically; a period whose summary cannot be read is still listed, without
numbers, rather than failing the run. A run renders the pages before it publishes its
period (index_pages with the staging folder standing in for it), so a broken archive
template fails the run while the earlier report of the period is still in place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen.files import is_own_folder, write_atomically
from reportgen.folders import index_lock, listed_periods
from reportgen.record import Segment, Summary, read_summary

# A template's name and context to its text: the report stage's (report.Rendered.pages,
# report.pages), so that deliver never holds a template itself.
PageRenderer = Callable[[str, Mapping[str, Any]], str]


@dataclass(frozen=True)
class PeriodEntry:
    """A period as the index lists it; the numbers are none when its summary is unreadable."""

    period: str
    html: str | None  # relative link, or None when the period has no HTML
    pdf: str | None
    customers: int | None = None
    segments: int | None = None
    largest: Segment | None = None
    generated_at: dt.datetime | None = None


@dataclass
class ReportEntry:
    name: str
    title: str
    periods: list[PeriodEntry] = field(default_factory=list)

    @property
    def latest(self) -> PeriodEntry:
        return self.periods[0]


def rebuild_indexes(out_root: Path, render: PageRenderer) -> list[Path]:
    """Rewrite every report's index and the output folder's index; return their paths.

    Under the index lock (folders.py): the folders are read only once it is held, so a
    report that finished meanwhile is listed by whichever rebuild comes second.
    """
    with index_lock(out_root):
        return write_pages(index_pages(out_root, render))


Pages = list[tuple[Path, str]]


def index_pages(out_root: Path, render: PageRenderer,
                staged: Mapping[Path, Path] | None = None) -> Pages:
    """The index pages' paths and text, rendered in memory. `staged` maps a period folder
    about to be published to the staging folder that holds it, so the pages can be made
    (and a broken template found) before the period replaces an earlier one."""
    staged = dict(staged or {})
    folders = {d for d in out_root.iterdir() if is_own_folder(d) and not d.name.startswith(".")}
    folders |= {period.parent for period in staged}
    reports = [r for r in (read_report(d, staged) for d in sorted(folders)) if r is not None]
    pages = [(out_root / report.name / "index.html",
              render("archive_report.html.j2", {"report": report})) for report in reports]
    pages.append((out_root / "index.html", render("archive_root.html.j2", {"reports": reports})))
    return pages


def write_pages(pages: Pages) -> list[Path]:
    return [write_atomically(path, text) for path, text in pages]


def read_report(folder: Path, staged: Mapping[Path, Path] | None = None) -> ReportEntry | None:
    staged = staged or {}
    found = {folder / name for name in listed_periods(folder)}
    found |= {period for period in staged if period.parent == folder}
    periods = sorted(found, key=lambda d: d.name, reverse=True)
    if not periods:
        return None
    summaries = [read_summary(staged.get(d, d)) for d in periods]
    title = summaries[0].title if summaries[0] and summaries[0].title else folder.name
    return ReportEntry(folder.name, title, [read_period(d, s, staged.get(d, d))
                                            for d, s in zip(periods, summaries, strict=True)])


def read_period(folder: Path, summary: Summary | None, files: Path | None = None
                ) -> PeriodEntry:
    """`files`: where the period's files are now (its staging folder, before publishing)."""
    files = files or folder
    html = f"{folder.name}/report.html" if (files / "report.html").is_file() else None
    pdf = f"{folder.name}/report.pdf" if (files / "report.pdf").is_file() else None
    if summary is None:
        return PeriodEntry(folder.name, html, pdf)
    largest = max(summary.segments, key=lambda s: s.size) if summary.segments else None
    return PeriodEntry(period=folder.name, html=html, pdf=pdf, customers=summary.n_customers,
                       segments=summary.k_selected, largest=largest,
                       generated_at=_when(summary.generated_at))


def _when(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


__all__ = ["PageRenderer", "index_pages", "rebuild_indexes", "write_pages"]
