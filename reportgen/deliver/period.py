"""Writing a run's files: into a temporary sibling folder, renamed into place at the end.

A failed or interrupted run therefore never leaves a half-written report, and a rerun of
a period replaces the previous report only once the new one is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from reportgen.errors import OutputError
from reportgen.files import temporary_prefix
from reportgen.model.continuity import saved_model
from reportgen.model.savedmodel import write_model as write_model_file
from reportgen.record import neutralise_formulas
from reportgen.report.content import Analysis


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces `target` as a whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=temporary_prefix(target.name), dir=target.parent))
    staging.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700; reports are to be shared
    try:
        yield staging
        publish(staging, target)
    except OSError as exc:  # disk full, file too large, permissions changed mid-run
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputError(
            f"writing the report to {target} failed ({exc.strerror or exc}); free some space "
            "or fix the folder and run again; the earlier report of this period, if any, is "
            "untouched") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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


def write_segments_csv(a: Analysis, path: Path) -> None:
    """One row per customer. The persona column is categorical (k names, not a million
    strings): a third faster to build and write at a million customers."""
    codes, names = pd.factorize(neutralise_formulas(pd.Series(a.names)))
    frame = pd.DataFrame({
        "id": neutralise_formulas(a.features.ids.reset_index(drop=True)),
        "segment": a.segmentation.stable_labels,
        "persona": pd.Categorical.from_codes(codes[a.segmentation.labels - 1],
                                             categories=names),
    })
    frame.to_csv(path, index=False, lineterminator="\n")


def write_summary(summary: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_model(a: Analysis, path: Path) -> dict[str, Any]:
    """What the next period needs to score new data and keep segment ids, names and colours;
    returns what summary.json records of the file (its format and sha256)."""
    return write_model_file(saved_model(a.period, a.features, a.segmentation, a.names,
                                        a.colors, a.continuity), path)
