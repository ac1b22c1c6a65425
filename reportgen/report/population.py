"""The whole customer table's figures when this process holds a seeded sample of it.

engine: spark keeps the customer table where Spark has it; the driver gets a sample in
row order (the k sweep's rows, the PCA map's points) and, from Spark, everything the
report counts over every customer: how many there are, the missing values, the
histograms' bins and the migration counts (the profiles' sums go to model/profile.py as
its Summaries; the rows left out, by reason, are the sample table's `dropped`). With
engine: pandas there is no Population: the rows are all here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reportgen.report.changes import MigrationCounts
from reportgen.report.chartdata import BinCounts


@dataclass(frozen=True)
class Population:
    n_rows: int  # the customer table's rows with an id, before missing: drop
    n_customers: int
    missing: Mapping[str, int]  # clustering column -> customers without a value (before fill)
    imputed: Mapping[str, int]  # the same after missing: drop, the values filled
    bins: Mapping[str, BinCounts]  # numeric clustering column -> bins by stable id
    migration: MigrationCounts | None = None  # with a previous period and customer ids
