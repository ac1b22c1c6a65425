"""model.json: a period's segment model, in a form that cannot run code when it is read.

What the next period needs is a handful of names and numbers: the clustering features,
the fitted preprocessing (fills, log, scaling, category levels and weights), the K-Means
centres, and each segment's stable id, name, colour and centre. They are written as JSON
and read back with `json.loads`, then checked field by field (types, finite numbers, the
shape of every array, the names against the feature lists) before anything uses them:
reading a model never imports or calls anything named in the file. The reports folder is
often shared or served, so a file there must be data, never a program; the pickle that
`joblib.load` read until format 2 was one (`upgrade-models` converts those, once, for a
folder the user vouches for).

The file's sha256 is recorded in summary.json (`model`); the next run uses a model only
when it is the one its period's summary records.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reportgen.errors import ModelError
from reportgen.files import read_own_file
from reportgen.model.features import CategoricalStep, NumericStep, Preprocessing
from reportgen.text import PERIOD_RE

FILE = "model.json"
LEGACY_FILE = "model.joblib"
FORMAT = "reportgen-segment-model"
VERSION = 1
MAX_BYTES = 64 * 2**20  # a model is kilobytes; anything this big is not one of ours
COLOR = r"^#[0-9a-fA-F]{6}$"


@dataclass(frozen=True)
class SavedModel:
    """A period's model: enough to score new data and to recognise its segments."""

    period: str
    fitted_in: str  # the period whose data the K-Means was fitted on
    next_id: int
    numeric: list[str]
    categorical: list[str]
    log: list[str]
    preprocessing: Preprocessing
    centres: np.ndarray  # the K-Means centres, by the model's own cluster index
    cluster_ids: list[int]  # the stable id of each cluster index
    names: dict[int, str]
    colors: dict[int, str]
    centroids: dict[int, np.ndarray]  # each segment's mean in this model's feature space

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.preprocessing.transform(frame)

    def feature_difference(self, numeric: list[str], categorical: list[str],
                           log: list[str]) -> str | None:
        """Why this model cannot read data clustered on these features, or None."""
        before = (set(self.numeric), set(self.categorical), set(self.log))
        now = (set(numeric), set(categorical), set(log))
        if before == now:
            return None
        added = sorted((now[0] | now[1]) - (before[0] | before[1]))
        removed = sorted((before[0] | before[1]) - (now[0] | now[1]))
        parts = [f"added {', '.join(added)}" if added else "",
                 f"removed {', '.join(removed)}" if removed else ""]
        return "; ".join(p for p in parts if p) or "the log or categorical settings changed"


# ---- writing ------------------------------------------------------------------------------


def model_json(model: SavedModel) -> bytes:
    """The file's bytes. Floats are written with repr, so they read back bit for bit."""
    record = {
        "format": FORMAT, "version": VERSION, "period": model.period,
        "fitted_in": model.fitted_in, "next_id": model.next_id,
        "features": {"numeric": model.numeric, "categorical": model.categorical,
                     "log": model.log},
        "preprocessing": {
            "numeric": [vars(step) for step in model.preprocessing.numeric],
            "categorical": [{**vars(step), "categories": list(step.categories)}
                            for step in model.preprocessing.categorical]},
        "kmeans": {"centres": model.centres.tolist(), "cluster_ids": model.cluster_ids},
        "segments": [{"id": sid, "name": model.names[sid], "color": model.colors[sid],
                      "centroid": model.centroids[sid].tolist()} for sid in model.names],
    }
    return (json.dumps(record, indent=1, ensure_ascii=False, allow_nan=False)
            + "\n").encode("utf-8")


def write_model(model: SavedModel, path: Path) -> dict[str, Any]:
    """Write model.json; return what summary.json records of it."""
    content = model_json(model)
    path.write_bytes(content)
    return file_record(content)


def file_record(content: bytes) -> dict[str, Any]:
    return {"file": FILE, "format": FORMAT, "version": VERSION,
            "sha256": hashlib.sha256(content).hexdigest()}


# ---- reading ------------------------------------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


Name = Annotated[str, Field(min_length=1, max_length=1000)]
Id = Annotated[int, Field(ge=1, le=10**9)]
Number = float  # finite: allow_inf_nan=False


class _Features(_Record):
    numeric: list[Name]
    categorical: list[Name]
    log: list[Name]


class _Numeric(_Record):
    column: Name
    fill: Number
    log1p: bool
    subtract: Number
    divide: Number
    multiply: Number
    add: Number


class _Categorical(_Record):
    column: Name
    fill: str
    categories: Annotated[list[str], Field(min_length=1)]
    weight: Annotated[float, Field(gt=0)]


class _Preprocessing(_Record):
    numeric: list[_Numeric]
    categorical: list[_Categorical]


class _KMeans(_Record):
    centres: Annotated[list[list[Number]], Field(min_length=2)]
    cluster_ids: list[Id]


class _Segment(_Record):
    id: Id
    name: Name
    color: Annotated[str, Field(pattern=COLOR)]
    centroid: list[Number]


class _Model(_Record):
    format: str
    version: int
    period: Annotated[str, Field(pattern=f"^{PERIOD_RE.pattern}$")]
    fitted_in: Annotated[str, Field(pattern=f"^{PERIOD_RE.pattern}$")]
    next_id: Id
    features: _Features
    preprocessing: _Preprocessing
    kmeans: _KMeans
    segments: Annotated[list[_Segment], Field(min_length=1)]


def read_model(folder: Path, expected_sha256: str | None) -> SavedModel:
    """The model of a period folder, checked; ModelError says in a phrase why it is unusable.

    `expected_sha256` is what the period's summary.json records; a file that differs was
    changed after its run and is not used.
    """
    try:
        content = read_own_file(folder / FILE, MAX_BYTES)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ModelError(f"its {FILE} cannot be opened ({exc.strerror or exc}; a symbolic "
                         "link is not followed)") from exc
    if expected_sha256 is None:
        raise ModelError(f"its summary.json records no {FILE}, so the file cannot be checked")
    if hashlib.sha256(content).hexdigest() != expected_sha256:
        raise ModelError(f"its {FILE} is not the one its summary.json records (changed after "
                         "the run)")
    return parse_model(content)


def parse_model(content: bytes) -> SavedModel:
    try:
        raw = json.loads(content.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"its {FILE} is not valid JSON ({exc})") from exc
    _check_format(raw)
    try:
        record = _Model.model_validate(raw)
    except ValidationError as exc:
        raise ModelError(f"its {FILE} is malformed ({_first_problem(exc)})") from exc
    return _checked(record)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def _check_format(raw: Any) -> None:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ModelError(f"its {FILE} is not a reportgen segment model")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelError(f"its {FILE} has no valid format version")
    if version > VERSION:
        raise ModelError(f"its {FILE} was written by a newer reportgen (model format version "
                         f"{version}; this one reads up to {VERSION}); upgrade reportgen")


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]


def _checked(record: _Model) -> SavedModel:
    """Shapes and names must agree before any of it is used."""
    preprocessing = Preprocessing(
        tuple(NumericStep(**s.model_dump()) for s in record.preprocessing.numeric),
        tuple(CategoricalStep(s.column, s.fill, tuple(s.categories), s.weight)
              for s in record.preprocessing.categorical))
    _check_features(record, preprocessing)
    width = len(preprocessing.names)
    centres = _matrix(record.kmeans.centres, width, "kmeans.centres")
    ids = record.kmeans.cluster_ids
    if len(ids) != len(centres) or len(set(ids)) != len(ids):
        raise ModelError(f"its {FILE} gives {len(ids)} cluster ids for {len(centres)} centres "
                         "(one distinct id a centre expected)")
    segments = record.segments
    if len({s.id for s in segments}) != len(segments) or not {s.id for s in segments} <= set(ids):
        raise ModelError(f"its {FILE} names segments that are not its clusters")
    if record.next_id <= max(ids):
        raise ModelError(f"its {FILE} has next_id {record.next_id}, not above its ids")
    return SavedModel(
        period=record.period, fitted_in=record.fitted_in, next_id=record.next_id,
        numeric=list(record.features.numeric), categorical=list(record.features.categorical),
        log=list(record.features.log), preprocessing=preprocessing, centres=centres,
        cluster_ids=list(ids), names={s.id: s.name for s in segments},
        colors={s.id: s.color for s in segments},
        centroids={s.id: _matrix([s.centroid], width, f"segment {s.id}'s centroid")[0]
                   for s in segments})


def _check_features(record: _Model, preprocessing: Preprocessing) -> None:
    features = record.features
    numeric = [s.column for s in preprocessing.numeric]
    logged = {s.column for s in preprocessing.numeric if s.log1p}
    categorical = [s.column for s in preprocessing.categorical]
    if (sorted(numeric) != sorted(features.numeric) or categorical != features.categorical
            or logged != set(features.log) or len(set(numeric)) != len(numeric)):
        listed = ", ".join(features.numeric + features.categorical)
        raise ModelError(f"its {FILE} lists features ({listed}) that do not match its "
                         f"preprocessing ({', '.join(numeric + categorical)})")
    if any(s.divide == 0 for s in preprocessing.numeric):
        raise ModelError(f"its {FILE} divides a feature by zero")
    for step in preprocessing.categorical:
        if len(set(step.categories)) != len(step.categories):
            raise ModelError(f"its {FILE} repeats a category of {step.column}")


def _matrix(rows: list[list[float]], width: int, what: str) -> np.ndarray:
    bad = next((i for i, row in enumerate(rows) if len(row) != width), None)
    if bad is not None:
        raise ModelError(f"its {FILE}: {what} row {bad + 1} has {len(rows[bad])} numbers, "
                         f"expected {width} (one per feature column)")
    return np.array(rows, dtype=np.float64).reshape(len(rows), width)
