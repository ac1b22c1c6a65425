"""A period's files, written into a temporary sibling folder renamed into place at the end.

A failed or interrupted run therefore never leaves a half-written report, and a rerun of
a period replaces the previous report only once the new one is complete. The PDF is drawn
by its own process meanwhile (report/pdfworker.py); summary.json is written last, with
the timings of every stage including this one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from reportgen import record
from reportgen.deliver.archive import PageRenderer, index_pages, write_pages
from reportgen.deliver.audiences import write_audiences
from reportgen.errors import OutputError
from reportgen.files import remove_stale, temporary_prefix
from reportgen.folders import index_lock
from reportgen.model.savedmodel import FILE as MODEL_FILE
from reportgen.model.savedmodel import SavedModel, write_model
from reportgen.report.templating import Rendered
from reportgen.timing import StageTimer


def clear_leftovers(target: Path) -> None:
    """What killed runs left beside the period folder and in the output folder."""
    for folder in (target.parent, target.parent.parent):
        remove_stale(folder)


class StagedPeriod:
    """A period's files being written into its staging folder: the PDF drawn by its
    process while the HTML and the data files are written, summary.json last."""

    def __init__(self, folder: Path, rendered: Rendered, formats: Sequence[str],
                 timer: StageTimer) -> None:
        self.folder, self.rendered, self.timer = folder, rendered, timer
        self.outputs: list[str] = []
        if rendered.pdf is not None:
            with timer.more("pdf"):  # the PDF process draws while the files are written
                rendered.pdf.draw(folder / "report.pdf")
        if rendered.html is not None and "html" in formats:
            with timer.more("html"):
                (folder / "report.html").write_text(rendered.html, encoding="utf-8")
            self.outputs.append("report.html")

    def finish(self, model: SavedModel, segment_files: Sequence[str]) -> record.Summary:
        """The audiences, model.json, the PDF waited for, and summary.json;
        `segment_files`: what was written a row a customer (model/rows.py)."""
        rendered, timer, folder = self.rendered, self.timer, self.folder
        with timer.more("files"):
            audiences = write_audiences(rendered.audiences, folder)
            for path, data in rendered.records.items():
                (folder / path).write_bytes(data)
            audiences += list(rendered.records)
            model_file = write_model(model, folder / MODEL_FILE)
        if rendered.pdf is not None:
            with timer.more("pdf"):
                rendered.pdf.finish()
            self.outputs.append("report.pdf")
        self.outputs += [*segment_files, *audiences, MODEL_FILE, record.SUMMARY_FILE]
        summary = rendered.summary(timer.timings, self.outputs, model_file)
        (folder / record.SUMMARY_FILE).write_bytes(record.summary_bytes(summary))
        return summary


@contextlib.contextmanager
def staged_period(rendered: Rendered, formats: Sequence[str], target: Path,
                  timer: StageTimer) -> Iterator[StagedPeriod]:
    """The period's staging folder with the report stage's page written into it; on
    success it replaces `target` as a whole and the archive's index pages are rewritten,
    on failure it is removed (staged_folder)."""
    with staged_folder(target, rendered.pages, timer) as folder:
        yield StagedPeriod(folder, rendered, formats, timer)


@contextlib.contextmanager
def staged_folder(target: Path, render: PageRenderer,
                  timer: StageTimer | None = None) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces `target` as a whole, and the
    archive's index pages are rewritten (publish_with_indexes)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=temporary_prefix(target.name), dir=target.parent))
    staging.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700; reports are to be shared
    try:
        yield staging
        with timer("publish") if timer is not None else contextlib.nullcontext():
            publish_with_indexes(staging, target, render)
    except OSError as exc:  # disk full, file too large, permissions changed mid-run
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(
            f"writing the report to {target} failed ({exc.strerror or exc}); free some space "
            "or fix the folder and run again; the earlier report of this period, if any, is "
            "untouched") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish_with_indexes(staging: Path, target: Path, render: PageRenderer) -> None:
    """Everything that can fail is done before the rename: the index lock opened (a
    symbolic link there is refused), the index pages rendered in memory with the staged
    period in them. After it, only writing the pages can fail, and its line says that the
    report itself was written. The lock is held throughout, so the root index never
    misses a report published meanwhile."""
    out_root = target.parent.parent
    with index_lock(out_root):
        pages = index_pages(out_root, render, {target: staging})
        publish(staging, target)
        try:
            write_pages(pages)
        except OSError as exc:
            raise OutputError(f"the report was written to {target}, but the archive index "
                              f"could not be updated ({exc.strerror or exc}); the next run "
                              "rewrites it") from exc


def publish(staging: Path, target: Path) -> None:
    if not target.exists():
        staging.rename(target)
        return
    retired = target.parent / f".{target.name}.old-{os.getpid()}"
    target.rename(retired)
    try:
        staging.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


