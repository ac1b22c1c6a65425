"""The customers' rows in this process (engine: pandas, and every engine that brings the
customer table to this process): each step of model/rows.Rows done with pandas and
scikit-learn on the whole table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from reportgen.data.customers import Customers
from reportgen.data.memory import text_budget
from reportgen.model.continuity import Previous, Segments
from reportgen.model.features import FeatureSet, Preprocessing, build_features
from reportgen.model.population import MigrationCounts, Population, count_bins
from reportgen.model.profile import summarize
from reportgen.model.rows import Summarized
from reportgen.model.savedmodel import SavedModel
from reportgen.model.segment import Refined, refit
from reportgen.model.value import CustomerValue
from reportgen.record import SEGMENTS_FILE, read_segments, segments_frame, write_csv


class PandasRows:
    """The rows read here by `read` (data.load_customers with the run's config and
    period). An engine that reads or aggregates them elsewhere and brings one row a
    customer here overrides `load` instead of giving a reader (a call from here into
    engines/ would climb the layers), and says so in `method`, its sentence for the
    appendix (None: everything ran here)."""

    method: str | None = None

    def __init__(self, read: Callable[[], Customers] | None = None) -> None:
        self.read = read

    def load(self) -> Customers:
        if self.read is None:
            raise TypeError(f"{type(self).__name__} has no reader and no load of its own")
        return self.read()

    def counted(self, features: FeatureSet) -> int:
        return len(features.frame)

    def features(self, customers: Customers, fitted: Preprocessing | None) -> FeatureSet:
        return build_features(customers.table, customers.features, fitted,
                              profile_log=customers.profile_log)

    def refine(self, matrix: np.ndarray, start: np.ndarray, seed: int) -> Refined:
        return refit(matrix, start, seed)

    def label(self, segments: Segments, features: FeatureSet,
              kept: SavedModel | None) -> Segments:
        return segments  # every customer is in `features` and labelled already

    def summarize(self, features: FeatureSet, segments: Segments) -> Summarized:
        return Summarized(summarize(features, segments), count_bins(features, segments))

    def migration(self, previous: Previous, features: FeatureSet,
                  segments: Segments) -> MigrationCounts:
        return count_migration(previous, features, segments)

    def population(self, customers: Customers, features: FeatureSet,
                   summarized: Summarized, migration: MigrationCounts | None) -> Population:
        table = customers.table.frame
        missing = {c: int(table[c].isna().sum()) if c in table else 0
                   for c in features.numeric + features.categorical}
        return Population(n_rows=len(table), n_customers=len(features.frame), missing=missing,
                          imputed=dict(features.imputed), bins=summarized.bins,
                          migration=migration, method=self.method)

    def write_segments(self, folder: Path, features: FeatureSet, segments: Segments,
                       names: Mapping[int, str], period: str,
                       value: CustomerValue | None) -> Sequence[str]:
        figures = value.frame.reindex(features.ids.to_numpy()) if value is not None else None
        write_csv(segments_frame(features.ids, segments.labels, dict(names), figures),
                  folder / SEGMENTS_FILE)
        return [SEGMENTS_FILE]

    def commit(self) -> None:
        """Everything was written into the period's folder."""


def count_migration(previous: Previous, features: FeatureSet,
                    segments: Segments) -> MigrationCounts:
    """Last period's segments.csv joined to this one's by id."""
    try:
        old = read_segments(previous.folder, text_budget(1.0))
    except (OSError, ValueError) as exc:
        return MigrationCounts.unread(SEGMENTS_FILE, previous.label, exc)
    current = pd.DataFrame({"id": features.ids.astype("string").to_numpy(),
                            "now": segments.labels})
    joined = old.merge(current, on="id", how="outer", indicator=True)
    returning = joined[joined["_merge"] == "both"]
    arrived = joined[joined["_merge"] == "right_only"]
    left = joined[joined["_merge"] == "left_only"]
    return MigrationCounts(
        flows={(int(f), int(t)): int(n)
               for (f, t), n in returning.groupby(["segment", "now"]).size().items()},
        arrived={int(k): int(v) for k, v in arrived.groupby("now").size().items()},
        left={int(k): int(v) for k, v in left.groupby("segment").size().items()},
        movers=returning.loc[returning["segment"] != returning["now"], ["id", "segment", "now"]]
        .rename(columns={"segment": "from_id", "now": "to_id"}).reset_index(drop=True))
