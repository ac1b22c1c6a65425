"""`reportgen upgrade-models OUT --trust`: the old pickled models of a folder, converted once.

Until model format 2 each period kept `model.joblib`, a pickle: loading it runs whatever
code the file holds, so a run no longer loads one (it starts the segment numbering afresh
and says so). A user who vouches for a folder (nobody else could have written into it)
converts its models here, and keeps the segment ids, names and colours: each
`model.joblib` is loaded, rewritten as `model.json` with its hash in that period's
summary.json, and removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reportgen.errors import ConfigError, ModelError
from reportgen.files import is_own_folder, write_atomically
from reportgen.folders import listed_periods, report_lock
from reportgen.model.features import Preprocessing
from reportgen.model.savedmodel import (
    FILE,
    LEGACY_FILE,
    SavedModel,
    file_record,
    model_json,
    parse_model,
)
from reportgen.record import ModelFile, read_summary, summary_bytes

LEGACY_FORMAT = 2


@dataclass(frozen=True)
class Converted:
    report: str
    period: str


def upgrade_models(out: Path, trust: bool) -> list[Converted]:
    """Convert every model.joblib under `out` (an output folder, or one report's folder)."""
    if not trust:
        raise ConfigError(
            f"upgrade-models loads the model.joblib files under {out} with pickle, which runs "
            "any code a file holds; pass --trust only if nobody else can write into that "
            "folder (otherwise delete the model.joblib files: the next run starts the "
            "segment numbering afresh)")
    if not out.is_dir():
        raise ConfigError(f"upgrade-models: {out} is not a folder; give the output folder "
                          "(output.dir) or one report's folder in it")
    converted: list[Converted] = []
    for report_dir in report_folders(out):
        with report_lock(report_dir, report_dir.name):
            for period in periods(report_dir):
                if (period / LEGACY_FILE).is_file() and not (period / LEGACY_FILE).is_symlink():
                    convert_period(period)
                    converted.append(Converted(report_dir.name, period.name))
    return converted


def report_folders(out: Path) -> list[Path]:
    if periods(out):
        return [out]
    return [d for d in sorted(out.iterdir()) if is_own_folder(d) and not d.name.startswith(".")
            and periods(d)]


def periods(folder: Path) -> list[Path]:
    return [folder / name for name in listed_periods(folder)]


def convert_period(folder: Path) -> None:
    """model.joblib -> model.json (checked by reading it back), its hash into summary.json."""
    import joblib

    try:
        record = joblib.load(folder / LEGACY_FILE)  # the user vouched for this folder
        model = from_legacy(record)
    except (KeyError, TypeError, ValueError, AttributeError, EOFError, OSError) as exc:
        raise ModelError(f"upgrade-models: {folder / LEGACY_FILE} is not a reportgen model "
                         f"of format {LEGACY_FORMAT} ({type(exc).__name__}: {exc}); rerun that "
                         "period instead, or delete the file") from exc
    content = model_json(model)
    parse_model(content)
    summary = read_summary(folder)
    if summary is None:
        raise ModelError(f"upgrade-models: {folder} has no readable summary.json to record the "
                         "model's hash in; rerun that period instead")
    outputs = [FILE if name == LEGACY_FILE else name for name in summary.outputs]
    write_atomically(folder / FILE, content)
    write_atomically(folder / "summary.json", summary_bytes(summary.model_copy(update={
        "outputs": outputs, "model": ModelFile(**file_record(content))})))
    (folder / LEGACY_FILE).unlink()


def from_legacy(record: Any) -> SavedModel:
    """A format-2 record: scikit-learn's fitted transformer and K-Means, and plain fields."""
    if not isinstance(record, dict) or record.get("format") != LEGACY_FORMAT:
        raise ValueError(f"not a format-{LEGACY_FORMAT} record")
    features = record["features"]
    return SavedModel(
        period=str(record["period"]), fitted_in=str(record["fitted_in"]),
        next_id=int(record["next_id"]), numeric=list(features["numeric"]),
        categorical=list(features["categorical"]), log=list(features["log"]),
        preprocessing=Preprocessing.from_fitted(record["transformer"]),
        centres=np.asarray(record["kmeans"].cluster_centers_, dtype=np.float64),
        cluster_ids=[int(i) for i in record["cluster_ids"]],
        names={int(k): str(v) for k, v in record["names"].items()},
        colors={int(k): str(v) for k, v in record["colors"].items()},
        centroids={int(k): np.asarray(v, dtype=np.float64)
                   for k, v in record["centroids"].items()})
