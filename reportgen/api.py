"""The Python API: `run_report(config)` and `validate(config)`.

The config is read and validated before the heavy stages (pandas, scikit-learn, Altair,
WeasyPrint) are even imported, so a typo in the config is reported at once. The stages
themselves, in the order of DESIGN.md, are in pipeline.py. The CLI is a thin shell over
these functions.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.config.schema import LoadedConfig, load_config
from reportgen.errors import ConfigError, OutputError
from reportgen.text import PERIOD_RE

if TYPE_CHECKING:
    from reportgen.report.pdfworker import PdfWorker


@dataclass(frozen=True)
class RunResult:
    folder: Path
    summary: dict[str, Any]

    @property
    def html(self) -> Path:
        return self.folder / "report.html"

    @property
    def pdf(self) -> Path:
        return self.folder / "report.pdf"


class StageTimer:
    """Seconds per stage, for summary.json; reports progress when someone is watching."""

    def __init__(self, progress: Callable[[str], None] | None = None) -> None:
        self.timings: dict[str, float] = {}
        self.progress = progress

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        if self.progress:
            self.progress(f"{stage} ...")
        start = time.perf_counter()
        yield
        self.timings[stage] = time.perf_counter() - start


def run_report(
    config_path: str | Path,
    *,
    out: str | Path | None = None,
    period: str | None = None,
    progress: Callable[[str], None] | None = None,
    wait: float = 0.0,
    **overrides: Any,
) -> RunResult:
    """Render the report a config describes; keyword overrides as in `--set` (dots or dicts).

    Another run of the same report in progress is waited for up to `wait` seconds, then
    OutputError (see folders.py).

    `run_report("cfg.yaml", segmentation={"k": 4})` and
    `run_report("cfg.yaml", **{"segmentation.k": 4})` are the same.
    """
    timer = StageTimer(progress)
    with timer("config"):
        loaded = load_config(config_path, flatten(overrides))
        config = loaded.config
        period = resolve_period(period)
        report_dir = Path(out or config.output.dir) / config.report.name
        target = report_dir / period
    from reportgen.deliver.folders import report_lock

    with report_lock(report_dir, config.report.name, wait):
        summary = _analyse_and_publish(loaded, period, target, timer)
        with timer("archive"):
            rebuild_archive(report_dir.parent, target, config.report.templates)
        if config.email is not None and config.email.send_after_run:
            from reportgen.deliver.email import build_message, send

            retry = retry_command(loaded.source, period, out)
            send(build_message(config, target, retry), config.email, retry)
    return RunResult(target, summary)


def rebuild_archive(out_root: Path, target: Path, templates: Path | None) -> None:
    from reportgen.deliver.archive import rebuild_indexes

    try:
        rebuild_indexes(out_root, templates)
    except OSError as exc:
        raise OutputError(f"the report was written to {target}, but the archive index could "
                          f"not be updated ({exc.strerror or exc}); the next run rewrites it"
                          ) from exc


def pdf_worker(formats: Sequence[str]) -> PdfWorker | None:
    """The PDF process, started before the heavy imports so that it loads WeasyPrint and
    vl-convert while this one loads pandas and scikit-learn (see pdfworker.py)."""
    if "pdf" not in formats:
        return None
    from reportgen.report.pdfworker import PdfWorker

    return PdfWorker()


def _analyse_and_publish(loaded: LoadedConfig, period: str, target: Path,
                         timer: StageTimer) -> dict[str, Any]:
    """Under the report's lock: the stages, then the period's files, the PDF drawn by its
    own process meanwhile (started before the heavy imports, see pdf_worker)."""
    from reportgen.deliver.folders import check_report_folder

    check_report_folder(target.parent, period)
    worker = pdf_worker(loaded.config.output.formats)
    try:
        with timer("imports"):  # the heavy stages load only once the config is valid
            from reportgen.files import remove_stale
            from reportgen.pipeline import analyse, publish_report
        for folder in (target.parent, target.parent.parent):
            remove_stale(folder)
        from reportgen.model.continuity import find_previous

        previous = find_previous(target.parent, period)
        analysis = analyse(loaded, period, generation_time(), timer, previous)
        return publish_report(analysis, target, timer, worker)
    finally:
        if worker is not None:
            worker.close()


def send_report(config_path: str | Path, *, out: str | Path | None = None,
                period: str | None = None, dry_run: bool = False,
                **overrides: Any) -> Path:
    """Email a period's PDF (default: the latest period written); return the period folder,
    or with `dry_run` the .eml file written instead of sending."""
    loaded = load_config(config_path, flatten(overrides))
    config = loaded.config
    from reportgen.deliver.email import build_message, email_section, send, write_eml

    spec = email_section(config)
    report_dir = Path(out or config.output.dir) / config.report.name
    period = resolve_period(period) if period else latest_period(report_dir)
    folder = report_dir / period
    from reportgen.deliver.folders import check_report_folder

    check_report_folder(report_dir, period)
    retry = retry_command(loaded.source, period, out)
    outgoing = build_message(config, folder, retry)
    if dry_run:
        return write_eml(outgoing, folder)
    send(outgoing, spec, retry)
    return folder


def latest_period(report_dir: Path) -> str:
    periods = sorted(d.name for d in report_dir.glob("*") if PERIOD_RE.match(d.name)
                     and d.is_dir() and not d.is_symlink()) if report_dir.is_dir() else []
    if not periods:
        raise ConfigError(f"no report periods in {report_dir}; run `reportgen run` first, or "
                          "pass --out where the reports are")
    return periods[-1]


def retry_command(config: Path, period: str, out: str | Path | None) -> str:
    return f"reportgen send {config} --period {period}" + (f" --out {out}" if out else "")


def validate(config_path: str | Path, period: str | None = None,
             **overrides: Any) -> dict[str, Any]:
    """Check the config, the data's columns and types and the rules; render nothing.

    `period` matters only to a SQL query's {period_start}, {period_end} and {as_of}.
    """
    loaded = load_config(config_path, flatten(overrides))
    from reportgen.pipeline import check_inputs

    return check_inputs(loaded, resolve_period(period))


def flatten(overrides: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested keyword overrides as dotted keys, so they merge into sections, not replace them."""
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def resolve_period(period: str | None) -> str:
    if period is None:
        return generation_time().astimezone().strftime("%Y-%m")
    if not PERIOD_RE.match(period):
        raise ConfigError(f"--period: expected YYYY-MM such as 2026-11, found {period!r}")
    return period


def generation_time() -> dt.datetime:
    """Now, or SOURCE_DATE_EPOCH when set, so that a build can be reproduced exactly."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def terminal_progress() -> Callable[[str], None] | None:
    """Progress lines on stderr when a person is watching; silence under cron and in CI."""
    return stderr_progress if sys.stderr.isatty() else None


def stderr_progress(message: str) -> None:
    print(f"reportgen: {message}", file=sys.stderr, flush=True)
