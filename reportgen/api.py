"""The Python API: `run_report(config)`, the one orchestrator, and `validate`, `send_report`.

`run_report` reads as the flow of DESIGN.md: config -> data -> model -> report -> deliver,
each stage a function of its own package that takes the previous stages' typed results.
The config is read and validated before the heavy stages (pandas, scikit-learn, Altair,
WeasyPrint) are even imported, so a typo in the config is reported at once. The CLI is a
thin shell over these functions.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.config import LoadedConfig, load_config
from reportgen.errors import ConfigError
from reportgen.folders import (
    check_report_folder,
    control_key,
    listed_periods,
    report_lock,
    saved_control_key,
)
from reportgen.text import PERIOD_RE
from reportgen.timing import StageTimer

if TYPE_CHECKING:
    from reportgen.config.schema import Config
    from reportgen.data.customers import Customers
    from reportgen.model.continuity import Previous, Segments
    from reportgen.model.control import Assignment, HeldOut
    from reportgen.model.features import FeatureSet
    from reportgen.model.lift import Campaign
    from reportgen.model.population import Population
    from reportgen.model.profile import Profiles
    from reportgen.model.rows import Rows
    from reportgen.model.savedmodel import SavedModel
    from reportgen.model.value import CustomerValue
    from reportgen.record import Summary
    from reportgen.report.content import ReportContent
    from reportgen.report.pdfworker import PdfWorker


@dataclass(frozen=True)
class RunResult:
    folder: Path
    summary: dict[str, Any]  # summary.json as written

    @property
    def html(self) -> Path:
        return self.folder / "report.html"

    @property
    def pdf(self) -> Path:
        return self.folder / "report.pdf"


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

    `run_report("cfg.yaml", segmentation={"k": 4})` and
    `run_report("cfg.yaml", **{"segmentation.k": 4})` are the same. Another run of the same
    report in progress is waited for up to `wait` seconds, then OutputError (folders.py).
    """
    timer = StageTimer(progress)
    with timer("config"):
        loaded = load_config(config_path, flatten(overrides))
        period = resolve_period(period)
    config = loaded.config
    report_dir = Path(out or config.output.dir) / config.report.name
    target = report_dir / period
    with report_lock(report_dir, config.report.name, wait):
        summary = render_period(loaded, period, target, timer)
        if config.email is not None and config.email.send_after_run:
            from reportgen.deliver import build_message, send
            from reportgen.report import pages

            retry = retry_command(loaded.source, period, out)
            send(build_message(config, target, retry, pages(config.report.templates)),
                 config.email, retry)
    return RunResult(target, summary.model_dump(mode="json"))


def render_period(loaded: LoadedConfig, period: str, target: Path,
                  timer: StageTimer) -> Summary:
    """The stages, in order, under the report's lock; the PDF is drawn by its own process
    meanwhile (started before the heavy imports, see pdf_process)."""
    config = loaded.config
    check_report_folder(target.parent, period)
    with pdf_process(config.output.formats) as pdf:
        with timer("imports"):  # the heavy stages load only once the config is valid
            from reportgen import data, deliver, engines, model, report  # noqa: F401
        with timer.more("data"):
            before = look_back(config, period, target.parent)
        with engines.open_rows(config, period, since=before.since) as rows:
            deliver.clear_leftovers(target)
            prepared = prepare_data(config, before, timer, rows)
            fitted = fit_segments(config, prepared, timer, rows)
            described = describe_segments(loaded, period, prepared, fitted, timer, before.key)
            return _publish(config, prepared, fitted, described, target, timer, pdf, rows)


def _publish(config: Config, prepared: Prepared, fitted: Fitted, described: Described,
             target: Path, timer: StageTimer, pdf: PdfWorker | None, rows: Rows) -> Summary:
    """The report stage's page and files, then deliver's writing; `rows` writes a row a
    customer where they are, and moves what it wrote elsewhere into place once published."""
    from reportgen import deliver, report

    rendered = report.render(described.content, fitted.features.ids, config.output.formats,
                             pdf, timer)
    with deliver.staged_period(rendered, config.output.formats, target, timer) as staged:
        with timer("files"):
            written = rows.write_segments(staged.folder, fitted.features, fitted.segments,
                                          described.saved.names, target.name, prepared.value)
        summary = staged.finish(described.saved, written)
    rows.commit()
    return summary


def publish_described(loaded: LoadedConfig, period: str, out: str | Path | None,
                      prepared: Prepared, fitted: Fitted, described: Described,
                      timer: StageTimer) -> Path:
    """Write a period already computed (`reportgen serve --write`) as `run_report` writes
    it: under the report's lock, staged, the PDF drawn, the archive rebuilt. Its customers
    are in this process (serve's rows, engines.in_process)."""
    from reportgen import deliver, engines

    config = loaded.config
    report_dir = Path(out or config.output.dir) / config.report.name
    target = report_dir / period
    with report_lock(report_dir, config.report.name):
        check_report_folder(report_dir, period)
        with pdf_process(config.output.formats) as pdf:
            deliver.clear_leftovers(target)
            _publish(config, prepared, fitted, described, target, timer, pdf,
                     engines.in_process(config, period))
    return target


@dataclass(frozen=True)
class LookBack:
    """What this period reads of the report's earlier ones before its data: the previous
    period, its control groups (checked), and the report's key (made when this period
    holds customers out; None when it has none)."""
    previous: Previous | None
    key: bytes | None
    held: HeldOut | None
    problem: str | None  # why last period's control groups cannot be used

    @property
    def since(self) -> dt.date | None:
        """The day from which the customers' purchases are measured against the groups."""
        return self.held.since if self.held is not None else None


def look_back(config: Config, period: str, report_dir: Path) -> LookBack:
    from reportgen import model

    previous = model.find_previous(report_dir, period)
    key = (control_key(report_dir) if config.audiences.control_share
           else saved_control_key(report_dir))
    held, problem = model.last_period_groups(previous, key, config.report.name)
    return LookBack(previous, key, held, problem)


@dataclass(frozen=True)
class Prepared:
    """The data stage: the period's customers (with their value, when `value:` asks), the
    report's previous period, if any, and what last period's actions did."""
    customers: Customers
    value: CustomerValue | None
    previous: Previous | None
    campaign: Campaign


@dataclass(frozen=True)
class Fitted:
    """Features, segments and their profiles: what a rule or wording edit leaves alone.
    `features` holds the customers in this process (all, or a sample of those kept where
    they are) and `population` the counts over all of them."""
    features: FeatureSet
    segments: Segments
    profiles: Profiles
    population: Population


@dataclass(frozen=True)
class Described:
    content: ReportContent
    saved: SavedModel


def prepare_data(config: Config, before: LookBack, timer: StageTimer,
                 rows: Rows) -> Prepared:
    from reportgen import model

    with timer("data"):
        customers = rows.load()
    with timer("value"):
        value = model.customer_value(customers, config.value)
        customers = model.with_value(customers, value)
    with timer("lift"):
        campaign = model.measure_lift(before.held, before.problem, customers.outcomes,
                                      config.audiences.used)
    return Prepared(customers, value, before.previous, campaign)


def fit_segments(config: Config, prepared: Prepared, timer: StageTimer, rows: Rows) -> Fitted:
    """Features, the segmentation and the profiles, each step that needs every customer
    done by `rows` where they are."""
    from reportgen import model

    customers, previous = prepared.customers, prepared.previous
    with timer("features"):
        kept = model.kept_model(previous, customers.features, config.segmentation)
        features = rows.features(customers, kept.preprocessing if kept else None)
    with timer("segmentation"):
        spec = config.segmentation
        if kept is not None:  # refit: false, and last period's model still fits
            fit = model.kept_fit(features, spec, kept)
        else:
            swept = model.sweep(features.matrix, spec)
            fit = model.refitted(swept, rows.refine(features.matrix, swept.start,
                                                    spec.random_state))
        segments = rows.label(model.carry_over(features, spec, previous, kept, fit),
                              features, kept)
    with timer("profiles"):
        summarized = rows.summarize(features, segments)
        profiles = model.build_profiles(features, segments, summarized.summaries)
    with timer("changes"):  # what report.compare follows customers between periods by
        earlier, matched = segments.continuity.previous, segments.continuity.matching
        migration = (rows.migration(earlier, features, segments) if customers.identified
                     and earlier is not None and matched is not None else None)
    population = rows.population(customers, features, summarized, migration)
    return Fitted(features, segments, profiles, population)


def describe_segments(loaded: LoadedConfig, period: str, prepared: Prepared, fitted: Fitted,
                      timer: StageTimer, key: bytes | None = None) -> Described:
    """Rules, personas, recommendations, changes, the audiences' control groups (`key`:
    the report's, folders.control_key, when audiences.control_share asks for them) and the
    page's content: the stages a rule or wording edit re-runs (serve.py)."""
    from reportgen import model, report

    config = loaded.config
    features, segments, profiles = fitted.features, fitted.segments, fitted.profiles
    with timer("personas"):
        value = prepared.value
        rules = model.rule_sets(config, features, value.blind_columns if value else ())
        personas = model.name_segments(profiles, rules.naming, features,
                                       segments.continuity.kept_names)
    with timer("recommendations"):
        actions = model.recommend(profiles, rules.advice, personas)
        model.verify_segments(profiles, personas, rules.naming)  # a contradiction: exit 1
    with timer("changes"):
        changes = report.compare(segments.continuity, report.Now(
            period, segments, profiles, personas, features,
            identified=prepared.customers.identified, counted=fitted.population.migration))
    content = report.build_content(
        loaded=loaded, period=period, generated_at=generation_time(),
        customers=prepared.customers, features=features, segments=segments,
        profiles=profiles, personas=personas, recommendations=actions, roles=rules.roles,
        changes=changes, population=fitted.population, value=prepared.value,
        role_bindings=rules.bindings, control=control_groups(config, period, fitted, key),
        campaign=prepared.campaign)
    saved = model.saved_model(period, features, segments,
                              {p.segment_id: p.name for p in personas})
    return Described(content, saved)


def control_groups(config: Config, period: str, fitted: Fitted, key: bytes | None
                   ) -> Assignment | None:
    """Who each segment's audience holds out of the campaign (model/control.py); none
    without audiences (value:) or a control share."""
    from reportgen import model

    if not config.audiences.control_share or key is None or config.value is None:
        return None
    return model.assign_control(fitted.features.ids, fitted.segments.labels,
                                config.audiences.control_share, key, config.report.name,
                                period)


@contextmanager
def pdf_process(formats: Sequence[str]) -> Iterator[PdfWorker | None]:
    """The PDF process, started before the heavy imports so that it loads WeasyPrint and
    vl-convert while this one loads pandas and scikit-learn (see report/pdfworker.py); None
    when no PDF is wanted. Closed whatever happens."""
    if "pdf" not in formats:
        yield None
        return
    from reportgen.report.pdfworker import PdfWorker

    worker = PdfWorker()
    try:
        yield worker
    finally:
        worker.close()


def send_report(config_path: str | Path, *, out: str | Path | None = None,
                period: str | None = None, dry_run: bool = False,
                **overrides: Any) -> Path:
    """Email a period's PDF (default: the latest period written); return the period folder,
    or with `dry_run` the .eml file written instead of sending."""
    loaded = load_config(config_path, flatten(overrides))
    config = loaded.config
    from reportgen.deliver import build_message, email_section, send, write_eml
    from reportgen.report import pages

    spec = email_section(config)
    report_dir = Path(out or config.output.dir) / config.report.name
    check_report_folder(report_dir)
    period = resolve_period(period) if period else latest_period(report_dir)
    check_report_folder(report_dir, period)
    folder = report_dir / period
    retry = retry_command(loaded.source, period, out)
    outgoing = build_message(config, folder, retry, pages(config.report.templates))
    if dry_run:
        return write_eml(outgoing, folder)
    send(outgoing, spec, retry)
    return folder


def latest_period(report_dir: Path) -> str:
    periods = listed_periods(report_dir)
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
    config = loaded.config
    from reportgen import engines, model

    with engines.open_rows(config, resolve_period(period)) as rows:  # every row checked
        customers = rows.load()  # where it is
        value = model.customer_value(customers, config.value)  # a bad calibration_end
        customers = model.with_value(customers, value)
        features = model.build_features(customers.table, customers.features,
                                        profile_log=customers.profile_log)
        counted = rows.counted(features)
    rules = model.rule_sets(config, features)
    return {"rows": customers.table.n_rows_read,
            "customers": counted,
            "numeric": len(features.numeric), "categorical": len(features.categorical),
            "profile": len(customers.features.profile), "k": config.segmentation.k,
            "roles": dict(rules.roles)}


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
    if not PERIOD_RE.fullmatch(period):
        raise ConfigError(f"--period: expected YYYY-MM such as 2026-11 (a year from 1900 to "
                          f"2999), found {period!r:.40}")
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
