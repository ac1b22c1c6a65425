"""The facts the report's parts share, by stable id: one segment as the page and
summary.json show it, the features as the report describes them, the data read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reportgen.data.transactions import SalesSummary
from reportgen.model.profile import SegmentProfile, Trait
from reportgen.model.recommend import Recommendation
from reportgen.text import humanize


def doc(text: str) -> dict[str, str]:
    """A field's metadata that documents it, as datasette's template contexts do."""
    return {"help": text}


@dataclass(frozen=True)
class FeatureFacts:
    """The features as the report describes them (not the matrix they were clustered on)."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    log: tuple[str, ...]
    profile_numeric: tuple[str, ...]
    profile_categorical: tuple[str, ...]
    labels: Mapping[str, str]
    imputed: Mapping[str, int]
    scale: str
    missing: str

    @property
    def all_numeric(self) -> tuple[str, ...]:
        return self.numeric + self.profile_numeric

    def label(self, column: str) -> str:
        return self.labels.get(column) or humanize(column)


@dataclass(frozen=True)
class SegmentFacts:
    """One segment as the report and summary.json show it, by stable id."""

    id: int
    name: str
    description: str
    color: str
    profile: SegmentProfile
    revenue_share: float | None
    recommendations: tuple[Recommendation, ...]
    named_by: str  # which rule named it, in words
    advised_by: tuple[str, ...]  # the rules its actions came from
    rules_fired: tuple[str, ...]

    @property
    def size(self) -> int:
        return self.profile.size

    @property
    def share(self) -> float:
        return self.profile.share

    @property
    def traits(self) -> tuple[Trait, ...]:
        return self.profile.traits


@dataclass(frozen=True)
class DataFacts:
    source: str  # a file's name or "SQL query on <url>"
    sha256: str
    n_rows_read: int  # rows, or sales lines, read
    n_customers: int
    dropped: Mapping[str, int]  # rows left out before clustering, by reason
    sales: SalesSummary | None
    revenue: float | None  # total net revenue of the segmented customers (sales lines)

    @property
    def removed(self) -> dict[str, Any]:
        """Rows (or sales lines) left out and why: `count` and every reason with its count."""
        reasons = dict(self.dropped)
        removed = sum(reasons.values())
        if self.sales is not None:
            reasons = {**{k: n for k, n in self.sales.line_counts.items() if n}, **reasons}
            removed += self.sales.lines_dropped
        return {"count": removed, "reasons": reasons}
