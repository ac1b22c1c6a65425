"""What a period keeps for later runs and other programs: summary.json and segments.csv.

summary.json is the contract DESIGN.md describes, declared once here as a typed model: the
report stage builds it, the deliver stage writes it (`summary_bytes`), and everything that
reads a period back (the next month's continuity and "what changed", the archive, email)
reads it through `read_summary`, never by string keys. Fields read back have defaults, so
a summary written by an earlier reportgen, which may lack a newer field, still reads.

segments.csv is opened in spreadsheets by the people the report is for, and its ids and
persona names come from customer data and configs: a value a spreadsheet would run as a
formula (= + - @, a tab or carriage return) is written with a leading apostrophe (CSV
injection), and stripped again when reportgen reads its own file back.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from reportgen.files import open_own_file, read_own_file

SUMMARY_FILE = "summary.json"
SEGMENTS_FILE = "segments.csv"
SUMMARY_BYTES = 64 * 2**20  # a summary is kilobytes (excluded ids at most a few MB)
FORMULA_MARKS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as a formula
PLAIN_NUMBER = r"[+-]?\d+(?:\.\d+)?"
MAX_SEGMENT_ID = 10_000


class _Part(BaseModel):
    """A part of summary.json: fields in the order they are written; unknown keys (from a
    newer reportgen) are ignored when reading."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Dropped(_Part):
    count: int = 0
    reasons: dict[str, int] = {}


class Transactions(_Part):
    lines_read: int = 0
    as_of: str = ""
    first_date: str = ""
    last_date: str = ""
    lines: dict[str, int] = {}
    customers_excluded: int = 0
    excluded_ids: list[str] = []
    revenue: float | None = None


class Dropping(_Part):
    reason: str = ""
    lines: int = 0


class Reconciliation(_Part):
    """Lines read -> each reason dropped -> lines used -> net revenue -> revenue
    segmented; each step a subtraction that adds up exactly (money in cents)."""

    lines_read: int = 0
    dropped: list[Dropping] = []
    lines_used: int = 0
    lines_netted: int = 0
    customers: int = 0
    net_revenue: float = 0.0
    customers_not_positive: int = 0
    not_positive_revenue: float = 0.0
    customers_segmented: int = 0
    segmented_revenue: float = 0.0


class RoleBinding(_Part):
    role: str = ""
    column: str | None = None
    reason: str = ""


class Features(_Part):
    numeric: list[str] = []
    categorical: list[str] = []
    profile: list[str] = []
    log: list[str] = []
    scale: str = ""
    missing: str = ""


class Selection(_Part):
    method: str = ""
    reason: str = ""
    knee: int | None = None
    best_silhouette: float | None = None
    weak_structure: bool = False
    natural_groups: bool = True
    min_share: float | None = None
    silhouette_rows: int = 0
    sweep_rows: int = 0


class KScores(_Part):
    k: int
    inertia: float
    silhouette: float
    calinski_harabasz: float
    davies_bouldin: float


class KStability(_Part):
    k: int
    ari: float
    weakest: float
    smallest_share: float
    stable: bool


class SegmentStability(_Part):
    id: int
    jaccard: float
    band: str


class Stability(_Part):
    method: str = ""
    resamples: int = 0
    rows: int = 0
    fraction: float = 0.0
    by_k: list[KStability] = []
    segments: list[SegmentStability] = []


class Stat(_Part):
    mean: float | None = None
    median: float | None = None
    z: float | None = None
    level: str = ""


class Action(_Part):
    action: str
    priority: str
    rule: str | None = None


class Segment(_Part):
    id: int
    name: str = ""
    description: str = ""
    size: int = 0
    share: float = 0.0
    revenue_share: float | None = None
    color: str = ""
    profile: dict[str, Stat] = {}
    mix: dict[str, dict[str, float]] = {}
    traits: list[str] = []
    recommendations: list[Action] = []
    rules_fired: list[str] = []


class Continuity(_Part):
    refit: bool = True
    match_distance: float = 0.5
    earlier_period: str | None = None
    carried_over: bool = False
    note: str | None = None


class Flow(_Part):
    from_id: int
    from_name: str
    to_id: int
    to_name: str
    customers: int
    share_of_from: float


class Migration(_Part):
    returning: int = 0
    stayed: int = 0
    new_customers: int = 0
    lost_customers: int = 0
    matrix: list[Flow] = []


class SegmentChange(_Part):
    id: int
    name: str
    status: str
    size_before: int | None = None
    size_now: int | None = None
    share_before: float | None = None
    share_now: float | None = None
    new_customers: int | None = None
    lost_customers: int | None = None
    share_change: float | None = None


class Shift(_Part):
    id: int
    name: str
    column: str
    label: str
    before: float | None = None
    now: float
    shift: float


class TrendPoint(_Part):
    period: str
    id: int
    name: str
    share: float


class Changes(_Part):
    previous_period: str = ""
    k_before: int = 0
    k_now: int = 0
    refit: bool = True
    segments: list[SegmentChange] = []
    profile_shifts: list[Shift] = []
    migration_note: str | None = None
    trend: list[TrendPoint] = []
    findings: list[str] = []


ValueParams = dict[str, float]  # the purchase model's (r, alpha, a, b or s, beta), p, q, gamma


class LogLikelihood(_Part):
    purchases: float | None = None  # the chosen purchase model's
    bgnbd: float | None = None  # what a summary before issue 29 has instead
    gamma_gamma: float


class ModelBacktest(_Part):
    model: str
    label: str
    params: dict[str, float]
    log_likelihood: float
    expected_transactions: float
    actual_transactions: int
    error: float | None = None  # expected / actual - 1
    mae_per_customer: float
    worst_band_gap: float | None = None
    calibrated: bool
    reliability: list[dict[str, Any]] = []


class Ridge(_Part):
    parameters: list[str]
    quantity: str
    value: float
    meaning: str


class Decile(_Part):
    decile: int
    customers: int
    predicted: float  # mean holdout repeat purchases the model expected
    actual: float


class Backtest(_Part):
    params: ValueParams
    log_likelihood: LogLikelihood
    models: list[ModelBacktest] = []
    calibration_end: str
    holdout_end: str
    auto: bool = False  # calibration_end: auto (the last quarter held out)
    holdout_weeks: float = 0.0
    customers: int = 0
    returning_customers: int = 0  # bought more than once by calibration_end
    actual_transactions: int = 0
    expected_transactions: float = 0.0
    actual_revenue: float = 0.0
    expected_revenue: float = 0.0
    mae_per_customer: float = 0.0
    deciles: list[Decile] = []
    trust: list[str] = []


class SegmentValue(_Part):
    id: int
    customers: int
    customer_share: float
    revenue_share: float | None = None
    total_value: float
    mean_value: float
    value_share: float
    expected_purchases: float
    mean_p_alive: float
    mean_p_alive_repeat: float | None = None
    one_time_buyers: int
    lapsing: int
    value_at_risk: float
    lapsing_last_year_spend: float
    holdout_actual: int | None = None
    holdout_expected: float | None = None
    expected_purchases_low: float | None = None  # 90% interval
    expected_purchases_high: float | None = None
    value_low: float | None = None
    value_high: float | None = None


class ValueTier(_Part):
    name: str
    lowest_value: float
    customers: int
    value_share: float
    segments: dict[str, int] = {}  # stable id -> customers


class Value(_Part):
    horizon_months: int
    discount_rate: float
    margin: float
    model: str = "bgnbd"  # bgnbd, mbgnbd or pnbd
    model_label: str = "BG/NBD"
    choice: str = ""  # why that model, in a sentence
    params: ValueParams
    log_likelihood: LogLikelihood
    fitted_customers: int | None = None
    ridges: list[Ridge] = []
    customers: int = 0
    total_value: float = 0.0
    one_time_buyers: int = 0
    backtest: Backtest
    segments: list[SegmentValue] = []
    tiers: list[ValueTier] = []
    notes: list[str] = []


class ModelFile(_Part):
    file: str = ""
    format: str = ""
    version: int = 0
    sha256: str | None = None


class ControlSegment(_Part):
    id: int
    treatment: int
    control: int


class Control(_Part):
    """The audiences' control groups (audiences.control_share): who was held out of this
    period's campaign, by segment; audiences/assignment.json is the signed record."""
    share: float
    segments: list[ControlSegment] = []


class LiftMeasure(_Part):
    """One measure per customer (revenue, bought, purchases) in the two groups: the means,
    their difference with its interval, and the relative lift with its (None where the
    held-out group's mean is 0)."""
    treatment: float
    control: float
    difference: float
    low: float
    high: float
    relative: float | None = None
    relative_low: float | None = None
    relative_high: float | None = None


class LiftSegment(_Part):
    id: int
    name: str
    actions: list[str] = []
    treated: int
    held_out: int
    buyers: list[int] = []  # who bought since: treated, held out
    verdict: str
    unjudged: str | None = None  # why no interval: customers, buyers, uneven
    skew: float = 0.0  # of the difference of the mean revenues
    needed_share: float | None = None  # with uneven: the control share that would do
    means: dict[str, list[float]] = {}  # revenue, bought, purchases: treated, held out
    revenue: LiftMeasure | None = None  # with the intervals: a segment judged only
    bought: LiftMeasure | None = None
    purchases: LiftMeasure | None = None
    incremental_revenue: float | None = None
    incremental_low: float | None = None
    incremental_high: float | None = None


class Lift(_Part):
    """Last period's control groups measured (model/lift.py): the days since they were
    drawn, each interval's level (95% for the segments together) and each segment's
    figures; `used` false: the audiences were not used, and nothing is measured."""
    period: str
    since: str
    end: str
    days: int
    share: float
    used: bool
    level: float
    segments: list[LiftSegment] = []


class Summary(_Part):
    """summary.json. Fields written in this order; see DESIGN.md for the contract."""

    report: str = ""
    title: str = ""
    period: str = ""
    generated_at: str = ""
    source: str = ""
    n_rows: int = 0
    n_customers: int = 0
    dropped: Dropped = Dropped()
    transactions: Transactions | None = None
    reconciliation: Reconciliation | None = None
    imputed: dict[str, int] = {}
    features: Features = Features()
    k_selected: int = 0
    selection: Selection = Selection()
    k_scores: list[KScores] = []
    stability: Stability | None = None
    segments: list[Segment] = []
    findings: list[str] = []
    warnings: list[str] = []
    roles: dict[str, str] = {}
    role_bindings: list[RoleBinding] = []
    previous_period: str | None = None
    continuity: Continuity = Continuity()
    migration: Migration | None = None
    changes: Changes | None = None
    value: Value | None = None
    control: Control | None = None
    lift: Lift | None = None
    outputs: list[str] = []
    model: ModelFile | None = None
    timings: dict[str, float] = {}
    versions: dict[str, str] = {}
    config_sha256: str = ""
    data_sha256: str = ""

    def segment(self, segment_id: int) -> Segment | None:
        return next((s for s in self.segments if s.id == segment_id), None)


def summary_bytes(summary: Summary) -> bytes:
    return (json.dumps(summary.model_dump(mode="json"), indent=2, ensure_ascii=False)
            + "\n").encode("utf-8")


def read_summary(folder: Path) -> Summary | None:
    """A period's summary.json, or None when it is missing, damaged, not a file of ours
    (a link is not followed) or not a summary."""
    try:
        return Summary.model_validate_json(read_own_file(folder / SUMMARY_FILE, SUMMARY_BYTES))
    except (OSError, ValueError, ValidationError):
        return None


# ---- segments.csv --------------------------------------------------------------------------


def segments_frame(ids: pd.Series, labels: np.ndarray, names: dict[int, str],
                   value: pd.DataFrame | None = None) -> pd.DataFrame:
    """segments.csv's rows: id, segment (stable id), persona, and with the value stage
    expected_purchases, p_alive and value (row-aligned `value`). The persona column is
    categorical (k names, not a million strings): a third faster to build and write."""
    order = list(names)
    codes, categories = pd.factorize(neutralise_formulas(pd.Series([names[i] for i in order])))
    code_of = np.zeros(max(order) + 1, dtype=np.int64)
    code_of[order] = codes
    frame = pd.DataFrame({
        "id": neutralise_formulas(ids.reset_index(drop=True)),
        "segment": labels,
        "persona": pd.Categorical.from_codes(code_of[labels], categories=categories),
    })
    if value is not None:
        for column, digits in VALUE_DIGITS.items():
            frame[column] = value[column].to_numpy().round(digits)
    return frame


VALUE_DIGITS = {"expected_purchases": 4, "p_alive": 4, "value": 2}


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A CSV the run writes (segments.csv, the audiences): \n line ends, quotes where
    needed. Python's csv module leaves a carriage return unquoted when lines end in \n, so
    an id holding one (quoted in the data) split its row in two for every reader: then
    every text value is quoted."""
    quoting = csv.QUOTE_NONNUMERIC if has_carriage_return(frame) else csv.QUOTE_MINIMAL
    frame.to_csv(path, index=False, lineterminator="\n", quoting=quoting)


def has_carriage_return(frame: pd.DataFrame) -> bool:
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = pd.Series(values.cat.categories)
        elif pd.api.types.is_numeric_dtype(values):
            continue
        if values.astype("string").str.contains("\r", regex=False).fillna(False).any():
            return True
    return False


def read_segments(folder: Path, limit: float = float("inf")) -> pd.DataFrame:
    """A period's segments.csv as (id, segment), ids as they were in the data. ValueError
    when it is longer than `limit` bytes (what this run's memory allows: the file lies in
    a folder others may write) or its segment column holds anything but segment ids."""
    with open_own_file(folder / SEGMENTS_FILE) as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limit:
            raise ValueError(f"it is {size:,} bytes, more than this run's memory allows")
        frame = pd.read_csv(stream, usecols=["id", "segment"], dtype={"id": "string",
                            "segment": "string"}, keep_default_na=False)
    segments = pd.to_numeric(frame["segment"], errors="coerce")
    bad = segments.isna() | (segments % 1 != 0) | (segments < 0) | (segments > MAX_SEGMENT_ID)
    if bad.any():
        raise ValueError(f"its segment column holds {frame['segment'][bad].iloc[0]!r:.40}, "
                         "which is not a segment id")
    frame["segment"] = segments.astype("int64")
    frame["id"] = restore_formulas(frame["id"])
    return frame


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Text that Excel or LibreOffice would run as a formula gets a leading apostrophe
    (shown as text, the OWASP advice for CSV injection). Numbers are left alone."""
    if pd.api.types.is_numeric_dtype(values):
        return values
    text = values.astype("string")
    risky = text.str.startswith(FORMULA_MARKS).fillna(False)
    if risky.any():  # a plain signed number (an id -17850) is a number to Excel, not a formula
        risky &= ~text.str.fullmatch(PLAIN_NUMBER).fillna(False)
    return text.where(~risky, "'" + text)


def restore_formulas(values: pd.Series) -> pd.Series:
    """The inverse of neutralise_formulas, for reading our own CSV back."""
    text = values.astype("string")
    marked = text.str.startswith(tuple("'" + m for m in FORMULA_MARKS)).fillna(False)
    marked &= ~text.str.slice(1).str.fullmatch(PLAIN_NUMBER).fillna(False)
    return text.where(~marked, text.str.slice(1))


def plain(value: Any) -> Any:
    """JSON has no NaN or numpy types: NaN becomes None, numpy scalars plain numbers."""
    import math

    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
