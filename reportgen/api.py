"""The Python API: `run_report(config)` reads as the flow of DESIGN.md, stage by stage.

config -> data -> features -> segmentation -> profiles -> personas + recommendations ->
report (HTML, PDF, segments.csv, summary.json, model.joblib). The CLI is a thin shell
over these functions.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import LoadedConfig, load_config
from .errors import ConfigError
from .features import FeatureSet, build_features, clustered
from .outputs import check_writable, report_folder
from .personas import name_segments, persona_rules
from .profile import build_profiles
from .publish import publish_report
from .recommend import recommend, recommendation_rules
from .report import Analysis
from .rules import Preset, bind_roles, load_preset
from .segment import segment
from .sources import load_table

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


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
    **overrides: Any,
) -> RunResult:
    """Render the report a config describes; keyword overrides as in `--set` (dots or dicts).

    `run_report("cfg.yaml", segmentation={"k": 4})` and
    `run_report("cfg.yaml", **{"segmentation.k": 4})` are the same.
    """
    timer = StageTimer(progress)
    with timer("config"):
        loaded = load_config(config_path, flatten(overrides))
        config = loaded.config
        period = resolve_period(period)
        target = report_folder(Path(out) if out else config.output.dir, config.report.name,
                               period)
        check_writable(target.parent)
    analysis = analyse(loaded, period, timer)
    summary = publish_report(analysis, target, timer)
    return RunResult(target, summary)


def analyse(loaded: LoadedConfig, period: str, timer: StageTimer) -> Analysis:
    """Every stage up to the report's content; nothing is written."""
    config = loaded.config
    with timer("data"):
        table = load_table(config.data, [*clustered(config.features), *config.features.profile])
    with timer("features"):
        features = build_features(table, config.features)
        preset, roles = resolve_preset(loaded, features)
        naming = persona_rules(config.personas, features, preset, roles)
        advice = recommendation_rules(config.recommendations, features, preset, roles)
    with timer("segmentation"):
        segmentation = segment(features.matrix, config.segmentation)
    with timer("profiles"):
        profiles = build_profiles(features, segmentation)
    with timer("personas"):
        personas = name_segments(profiles, naming, features)
    with timer("recommendations"):
        recommendations = recommend(profiles, advice)
    return Analysis(loaded=loaded, period=period, generated_at=generation_time(),
                    table=table, features=features, segmentation=segmentation,
                    profiles=profiles, personas=personas, recommendations=recommendations,
                    roles=roles)


def resolve_preset(loaded: LoadedConfig, features: FeatureSet) -> tuple[Preset | None,
                                                                       dict[str, str]]:
    """The preset in use (personas or recommendations) and its roles bound to columns."""
    config = loaded.config
    name = config.personas.preset or config.recommendations.preset
    if name is None:
        return None, {}
    preset = load_preset(name)
    return preset, bind_roles(preset, features.all_numeric, config.personas.roles)


def validate(config_path: str | Path, **overrides: Any) -> dict[str, Any]:
    """Check the config, the data's columns and types and the rules; render nothing."""
    loaded = load_config(config_path, flatten(overrides))
    config = loaded.config
    table = load_table(config.data, [*clustered(config.features), *config.features.profile])
    features = build_features(table, config.features)
    preset, roles = resolve_preset(loaded, features)
    persona_rules(config.personas, features, preset, roles)
    recommendation_rules(config.recommendations, features, preset, roles)
    low, high = config.segmentation.k
    return {"rows": table.n_rows_read, "customers": len(features.frame),
            "numeric": len(features.numeric), "categorical": len(features.categorical),
            "profile": len(config.features.profile), "k": (low, high), "roles": roles}


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
    if not sys.stderr.isatty():
        return None
    return lambda message: print(f"reportgen: {message}", file=sys.stderr, flush=True)
