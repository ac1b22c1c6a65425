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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from jinja2 import Environment

from reportgen import record
from reportgen.deliver.archive import index_pages, write_pages
from reportgen.deliver.audiences import write_audiences
from reportgen.errors import OutputError
from reportgen.files import remove_stale, temporary_prefix
from reportgen.folders import index_lock
from reportgen.model.savedmodel import FILE as MODEL_FILE
from reportgen.model.savedmodel import SavedModel, write_model
from reportgen.report.tables import CustomerFiles
from reportgen.report.templating import Rendered, make_environment
from reportgen.timing import StageTimer


def clear_leftovers(target: Path) -> None:
    """What killed runs left beside the period folder and in the output folder."""
    for folder in (target.parent, target.parent.parent):
        remove_stale(folder)


SegmentsWriter = Callable[[Path], Sequence[str]]


def publish_period(rendered: Rendered, files: CustomerFiles, model: SavedModel,
                   formats: Sequence[str], target: Path, timer: StageTimer,
                   write_segments: SegmentsWriter) -> record.Summary:
    """Write the period's files from the report stage's `rendered` page: the PDF is drawn
    by its process while this one writes the HTML and the data files, and waited for
    last. `write_segments`: the writer of a row a customer into the staging folder, where
    the customers are (model/rows.py); it returns the names it wrote."""
    with staged_folder(target, rendered.env, timer) as folder:
        outputs = []
        if rendered.pdf is not None:
            with timer.more("pdf"):  # the PDF process draws while the files below are written
                rendered.pdf.draw(folder / "report.pdf")
        if rendered.html is not None and "html" in formats:
            with timer.more("html"):
                (folder / "report.html").write_text(rendered.html, encoding="utf-8")
            outputs.append("report.html")
        with timer("files"):
            segment_files = list(write_segments(folder))
            audiences = write_audiences(files.audiences, folder)
            model_file = write_model(model, folder / MODEL_FILE)
        if rendered.pdf is not None:
            with timer.more("pdf"):
                rendered.pdf.finish()
            outputs.append("report.pdf")
        outputs += [*segment_files, *audiences, MODEL_FILE, record.SUMMARY_FILE]
        summary = rendered.summary(timer.timings, outputs, model_file)
        (folder / record.SUMMARY_FILE).write_bytes(record.summary_bytes(summary))
    return summary


@contextlib.contextmanager
def staged_folder(target: Path, env: Environment | None = None,
                  timer: StageTimer | None = None) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces `target` as a whole, and the
    archive's index pages are rewritten (publish_with_indexes)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=temporary_prefix(target.name), dir=target.parent))
    staging.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700; reports are to be shared
    try:
        yield staging
        with timer("publish") if timer is not None else contextlib.nullcontext():
            publish_with_indexes(staging, target, env or make_environment(None))
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


def publish_with_indexes(staging: Path, target: Path, env: Environment) -> None:
    """Everything that can fail is done before the rename: the index lock opened (a
    symbolic link there is refused), the index pages rendered in memory with the staged
    period in them. After it, only writing the pages can fail, and its line says that the
    report itself was written. The lock is held throughout, so the root index never
    misses a report published meanwhile."""
    out_root = target.parent.parent
    with index_lock(out_root):
        pages = index_pages(out_root, env, {target: staging})
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


