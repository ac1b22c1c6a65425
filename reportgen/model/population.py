"""What is counted where the rows are (model/rows.py): the histograms' bins, the
migration counts, and the whole customer table's figures.

An engine that keeps the customer table elsewhere gives this process a sample in row
order (the k sweep's rows, the PCA map's points) and, from where the rows are,
everything the report counts over every customer: how many there are, the missing
values, the histograms' bins and the migration counts (the profiles' sums go to
model/profile.py as its Summaries; the rows left out, by reason, are the sample table's
`dropped`). In this process the same figures come from the whole table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reportgen.model.continuity import Segments
from reportgen.model.features import FeatureSet

HISTOGRAM_BINS = 20


@dataclass(frozen=True)
class BinCounts:
    """One column's histogram bins and, per group (a segment's stable id, 0 for everyone),
    the customers in each bin: what an engine counts where the rows are."""

    edges: np.ndarray
    counts: Mapping[int, np.ndarray]


def count_bins(features: FeatureSet, segments: Segments) -> dict[str, BinCounts]:
    """The bin counts of each numeric clustering column, from the rows in this process.
    Values beyond the edges are counted in the end bins."""
    out = {}
    for column in features.numeric:
        values = features.frame[column].to_numpy(dtype=float)
        edges = bin_edges(values, column in features.log)
        clipped = np.clip(values, edges[0], edges[-1])
        counts = {}
        for group in (0, *segments.ids):
            chosen = clipped if group == 0 else clipped[segments.members(group)]
            counts[group] = np.histogram(chosen[~np.isnan(chosen)], bins=edges)[0]
        out[column] = BinCounts(edges, counts)
    return out


def bin_edges(values: np.ndarray, logged: bool) -> np.ndarray:
    """Bin edges over the 0.5th-99.5th percentiles, so one outlier cannot squash the rest."""
    low, high = np.nanpercentile(values, [0.5, 99.5])
    return edges_between(float(low), float(high), float(np.nanmin(values)),
                         float(np.nanmax(values)), logged)


def edges_between(low: float, high: float, smallest: float, largest: float,
                  logged: bool) -> np.ndarray:
    """The edges from the percentiles (and the extremes, for a column that barely varies)."""
    if high <= low:
        low, high = smallest, largest + 1
    if logged:
        return np.expm1(np.linspace(np.log1p(max(low, 0)), np.log1p(high), HISTOGRAM_BINS + 1))
    return np.linspace(low, high, HISTOGRAM_BINS + 1)


@dataclass(frozen=True)
class MigrationCounts:
    """Returning customers by (old segment, new segment), arrivals by new segment, leavers
    by old segment: what the migration matrix is made of, counted where the customers
    are. `note`: why there are no counts (last period's segments could not be read)."""

    flows: Mapping[tuple[int, int], int]
    arrived: Mapping[int, int]
    left: Mapping[int, int]
    movers: pd.DataFrame | None = None  # id, from_id, to_id; None where not collected
    note: str | None = None

    @classmethod
    def unread(cls, what: str, label: str, problem: Exception) -> MigrationCounts:
        """No counts: last period's segments (`what`: the file or files) would not read."""
        return cls({}, {}, {}, note=f"The {what} of {label} could not be read ({problem}).")


@dataclass(frozen=True)
class Population:
    n_rows: int  # the customer table's rows with an id, before missing: drop
    n_customers: int
    missing: Mapping[str, int]  # clustering column -> customers without a value (before fill)
    imputed: Mapping[str, int]  # the same after missing: drop, the values filled
    bins: Mapping[str, BinCounts]  # numeric clustering column -> bins by stable id
    migration: MigrationCounts | None = None  # with a previous period and customer ids
    method: str | None = None  # where the rows were, for the appendix; None: here
