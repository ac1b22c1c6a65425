"""Where the customers' rows are: the one seam between the stages and an engine.

api.py sequences the stages and never asks which engine runs them: every step that
touches each customer's row goes through a `Rows`. `PandasRows` (model/pandasrows.py)
holds the rows in this process; an engine that keeps them elsewhere (engines/) answers the
same questions from there and gives this process a seeded sample of the customers in row
order, on which the k sweep, the PCA map and the personas' rules work unchanged.

A step that needs every row is here; a step that needs only the sample, the fitted
numbers or the per-segment sums is not, and is the same code whatever the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from reportgen.data.customers import Customers
from reportgen.model.continuity import Previous, Segments
from reportgen.model.features import FeatureSet, Preprocessing
from reportgen.model.population import BinCounts, MigrationCounts, Population
from reportgen.model.profile import Summaries
from reportgen.model.savedmodel import SavedModel
from reportgen.model.segment import Refined
from reportgen.model.value import CustomerValue


@dataclass(frozen=True)
class Summarized:
    """The per-segment sums the profiles are made of, and the histograms' bins: counted in
    one pass where the rows are."""

    summaries: Summaries
    bins: Mapping[str, BinCounts]


class Rows(Protocol):
    """The row-touching steps, in the order api.py calls them."""

    def load(self) -> Customers:
        """Read and check every row; the table returned holds every customer, or the
        sample of them this process works on (with the counts of all of them)."""
        ...

    def counted(self, features: FeatureSet) -> int:
        """Every customer load() kept (`features` may hold a sample of them)."""
        ...

    def features(self, customers: Customers, fitted: Preprocessing | None) -> FeatureSet:
        """The clustering matrix of the customers this process holds, with the
        preprocessing fitted on every row (or `fitted`, a kept model's, as it is)."""
        ...

    def refine(self, matrix: np.ndarray, start: np.ndarray, seed: int) -> Refined:
        """The sweep's k refitted on every row from its centres (`start`); `matrix` (the
        rows this process holds) labelled with the result."""
        ...

    def label(self, segments: Segments, features: FeatureSet,
              kept: SavedModel | None) -> Segments:
        """Every customer given its stable segment id; the segments with every customer's
        count."""
        ...

    def summarize(self, features: FeatureSet, segments: Segments) -> Summarized:
        """Per segment and for everyone: sums, medians, category counts and histograms."""
        ...

    def migration(self, previous: Previous, features: FeatureSet,
                  segments: Segments) -> MigrationCounts:
        """Last period's segments joined to this period's by customer id."""
        ...

    def population(self, customers: Customers, features: FeatureSet,
                   summarized: Summarized, migration: MigrationCounts | None) -> Population:
        """The whole table's counts the report prints, and how it was computed."""
        ...

    def write_segments(self, folder: Path, features: FeatureSet, segments: Segments,
                       names: Mapping[int, str], period: str,
                       value: CustomerValue | None) -> Sequence[str]:
        """A row a customer into the period's staging folder; the names written."""
        ...

    def commit(self) -> None:
        """What write_segments put outside the period's folder moved into place, once the
        report it belongs to is published."""
        ...

