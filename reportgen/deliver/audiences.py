"""Writes the audiences for activation (report/tables.py makes them): one CSV per segment
and movers.csv, in the period's staging folder. Ids and names get the same
spreadsheet-formula protection as segments.csv.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from reportgen.record import neutralise_formulas, write_csv

PROTECTED = ("id", "persona", "from_persona", "to_persona")


def write_audiences(tables: Mapping[str, pd.DataFrame], folder: Path) -> list[str]:
    """Write each table at its path under the staging folder; the paths written."""
    for path, frame in tables.items():
        target = folder / path
        target.parent.mkdir(exist_ok=True)
        _write(frame, target)
    return list(tables)


def _write(frame: pd.DataFrame, path: Path) -> None:
    safe = frame.copy()
    for column in PROTECTED:
        if column in safe:
            safe[column] = neutralise_formulas(safe[column])
    write_csv(safe, path)
