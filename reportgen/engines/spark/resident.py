"""engine: spark with a customer table: the table stays on Spark from reading to writing.

The driver never holds the customers. It gets from Spark what the shared stages need:
- the checks over every row (ids missing or repeated, text in a numeric column, a column
  empty, constant or not loggable) and the rows missing: drop leaves out, counted as the
  pandas engine counts them;
- the features' fitted numbers over every row (features.fit_preprocessing);
- a seeded sample in row order, the rows the pandas engine's k sweep takes
  (model/segment.rows_for_sweep: the same seed, the same row numbers), on which the
  existing sweep chooses k; the chosen k is then refined on every row in Spark
  (kmeans.refine) and every customer labelled there with its stable id;
- the profiles' and histograms' sums (summaries.py) and the migration counts, a join of
  last period's segments with this one's;
and Spark writes the per-customer files: segments.parquet/ (partitioned by segment) and,
below CSV_LIMIT customers, segments.csv in row order. SparkRows is model/rows.Rows: api.py
calls its steps in the order it calls model/pandasrows.PandasRows'.

Derived columns (`derive:`) are Spark expressions over every row (derive.py). Sales lines
(`transactions:`) still bring the customer table to the driver (customers.py): a few
million customers where the lines are billions.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from reportgen.config.schema import Config, FeaturesSection
from reportgen.data.customers import Customers, effective_features, required_columns
from reportgen.data.files import INTEGRAL_FLOAT_RE, Table, repeated_id
from reportgen.engines.spark.columns import column as column_of
from reportgen.engines.spark.columns import number
from reportgen.engines.spark.customers import data_fingerprint
from reportgen.engines.spark.derive import with_derived, with_ranks
from reportgen.engines.spark.features import fit_preprocessing, matrix_columns
from reportgen.engines.spark.kmeans import nearest, refine
from reportgen.engines.spark.read import read_rows
from reportgen.engines.spark.session import spark_session
from reportgen.engines.spark.summaries import summarize
from reportgen.engines.spark.wording import resident_note
from reportgen.errors import DataError, OutputError
from reportgen.model.continuity import Previous, Segments
from reportgen.model.features import (
    MAX_BAD_VALUES_SHOWN,
    MAX_CATEGORIES,
    MAX_MAGNITUDE,
    FeatureSet,
    Preprocessing,
    no_values,
    not_loggable,
    not_scalable,
    plain,
    same_value,
    sample_features,
    text_in_numeric,
    too_many_categories,
)
from reportgen.model.population import MigrationCounts, Population
from reportgen.model.rows import Summarized
from reportgen.model.savedmodel import SavedModel
from reportgen.model.segment import Refined, nearest_centre
from reportgen.model.value import CustomerValue
from reportgen.record import FORMULA_MARKS, MAX_SEGMENT_ID, PLAIN_NUMBER, SEGMENTS_FILE

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

ID = "__id"
ROW = "__row"
SEGMENT = "__segment"
PARQUET = "segments.parquet"
CSV_LIMIT = 5_000_000  # segments.csv beside the parquet below this many customers


class SparkRows:
    """One run's customer table on Spark, open for the run's stages (model/rows.Rows; the
    session lives as long as the `open_customers` block)."""

    def __init__(self, spark: SparkSession, config: Config) -> None:
        self.spark, self.config = spark, config
        self.spec = effective_features(config)
        self._rows: DataFrame | None = None
        self._labelled: DataFrame | None = None
        self._matrix: DataFrame | None = None
        self._n = 0
        self._missing: dict[str, int] = {}
        self._dropped: dict[str, int] = {}
        self._n_with_id = 0
        self._persisted: list[DataFrame] = []
        self._incoming: tuple[str, str] | None = None  # segments.parquet written, not moved

    # ---- data ------------------------------------------------------------------------

    def load(self) -> Customers:
        """Read, check and index the table on Spark; the Customers the driver gets hold the
        sweep's sample as their table (with every customer's counts). The source is read
        once for every count and check, then once more to persist the typed rows."""
        from pyspark.sql import functions as F

        config, spec = self.config, self.spec
        column = config.data.id
        present = _has_id(column)
        rows = with_ranks(read_rows(self.spark, config.data, self._wanted()), spec.ordinal,
                          present)
        raw = with_derived(self.spark, rows, config, present)
        facts = _column_facts(raw, spec, present, column, derived=config.derive)
        self._n_with_id = facts.with_id
        if facts.with_id < facts.rows:
            self._dropped["missing customer id"] = facts.rows - facts.with_id
        with_ids = raw.where(present).withColumn(ID, _id_text(column, facts.float_ids))
        if column is not None:  # a repeated id comes first, as data/files.split_ids says it
            _check_unique(with_ids, column)
        profile_numeric = _check_columns(facts, spec, with_ids)
        ranked = sorted(facts.culprits.items(), key=lambda item: -item[1])  # value_counts'
        self._dropped.update({f"missing {c}": n for c, n in ranked if n})
        typed = self._keep(with_ids.select(F.col(ID), *_typed_columns(spec, profile_numeric)))
        numbered = column is None
        if numbered and spec.missing == "drop":  # ids are the row numbers before the drop
            first, _ = _indexed(typed)
            typed = first.withColumn(ID, (F.col(ROW) + 1).cast("string")).drop(ROW)
        complete = typed.where(_complete(spec)) if spec.missing == "drop" else typed
        self._rows, self._n = _indexed(self._keep(complete))
        if numbered and spec.missing == "drop":
            self._release(typed)  # the second cache is made; the first is no longer read
        if numbered and spec.missing != "drop":
            self._rows = self._rows.withColumn(ID, (F.col(ROW) + 1).cast("string"))
        self._missing = {c: facts.missing[c] for c in spec.numeric + spec.categorical}
        sample = self._sample(profile_numeric)
        table = Table(frame=sample.drop(columns=[ID, ROW]), ids=sample[ID].rename("id"),
                      source=config.data.source_name, sha256=data_fingerprint(config),
                      n_rows_read=facts.rows, dropped=dict(self._dropped))
        return Customers(table, spec, None, identified=column is not None)

    def counted(self, features: FeatureSet) -> int:
        """Every customer load() kept (the driver's table holds a sample of them)."""
        return self._n

    def _wanted(self) -> dict[str, str]:
        needed = required_columns(self.config, self.spec)
        column = self.config.data.id
        return {**needed, column: "data.id"} if column and column not in needed else needed

    def _keep(self, frame: DataFrame) -> DataFrame:
        """Persisted for this run only: close() releases what this run cached, and nothing
        of a notebook's own session."""
        kept = frame.persist()
        self._persisted.append(kept)
        return kept

    def _only_cache(self, frame: DataFrame) -> DataFrame:
        """`frame` persisted and counted, and this run's earlier caches released: the
        labelled rows are read a dozen times (profiles, files, migration), and each read
        of unlabelled rows would find every row's nearest centre again."""
        earlier = list(self._persisted)
        kept = self._keep(frame)
        kept.count()
        for cached in earlier:
            self._release(cached)
        return kept

    def _release(self, frame: DataFrame) -> None:
        frame.unpersist()
        self._persisted = [f for f in self._persisted if f is not frame]

    def _sample(self, profile_numeric: set[str]) -> pd.DataFrame:
        """The rows the pandas engine's sweep takes (model/segment.rows_for_sweep): all of
        them up to sweep_sample, else the same seeded row numbers, in row order."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import LongType, StructField, StructType

        assert self._rows is not None
        seg = self.config.segmentation
        rows = self._rows
        if self._n > seg.sweep_sample:
            picked = np.sort(np.random.default_rng(seg.random_state).choice(
                self._n, seg.sweep_sample, replace=False))
            chosen = self.spark.createDataFrame(
                [(int(i),) for i in picked], StructType([StructField(ROW, LongType())]))
            rows = rows.join(F.broadcast(chosen), ROW)
        collected = rows.orderBy(ROW).collect()
        frame = pd.DataFrame([tuple(r) for r in collected], columns=rows.columns)
        return _as_pandas(frame, self.spec, profile_numeric)

    # ---- model -----------------------------------------------------------------------

    def features(self, customers: Customers, fitted: Preprocessing | None) -> FeatureSet:
        """The preprocessing fitted over every row on Spark (or a kept model's); the
        driver's sample transformed with it."""
        assert self._rows is not None
        preprocessing = fitted or fit_preprocessing(self._rows, customers.features)
        self._matrix = self._rows.select(*[c.alias(f"f{j}") for j, c in
                                           enumerate(matrix_columns(preprocessing))])
        return sample_features(customers.table, customers.features, preprocessing,
                               customers.profile_log)

    def refine(self, matrix: np.ndarray, start: np.ndarray, seed: int) -> Refined:
        """Lloyd's iterations over every row on Spark; the sample labelled with the result."""
        assert self._matrix is not None
        done = refine(self._matrix, start)
        return Refined(done.centres, done.sizes, nearest_centre(matrix, done.centres))

    def label(self, segments: Segments, features: FeatureSet,
              kept: SavedModel | None) -> Segments:
        """Every row labelled with its stable id on Spark, and cached: the labelled rows
        are read a dozen times (profiles, files, migration)."""
        assert self._rows is not None
        self._labelled = self._only_cache(self._rows.withColumn(SEGMENT, _stable_id(
            features.preprocessing, segments, kept)))
        return replace(segments, fit=replace(segments.fit, n_rows=self._n))

    def summarize(self, features: FeatureSet, segments: Segments) -> Summarized:
        assert self._labelled is not None
        logged = [*features.log, *features.profile_log]
        summaries, bins = summarize(self._labelled, SEGMENT, features.all_numeric,
                                    features.all_categorical, logged, features.numeric,
                                    self._n)
        return Summarized(summaries, bins)

    def population(self, customers: Customers, features: FeatureSet,
                   summarized: Summarized, migration: MigrationCounts | None) -> Population:
        imputed = {} if customers.features.missing == "drop" else {
            c: n for c, n in self._missing.items() if n}
        return Population(n_rows=self._n_with_id, n_customers=self._n,
                          missing=self._missing, imputed=imputed, bins=summarized.bins,
                          migration=migration, method=resident_note(self.config.engine.master))

    def migration(self, previous: Previous, features: FeatureSet,
                  segments: Segments) -> MigrationCounts:
        """Last period's segments joined to this period's by id, on Spark."""
        from pyspark.sql import functions as F

        assert self._labelled is not None
        try:
            old = _checked_segments(_previous_segments(
                self.spark, previous, self.config.engine.segments_path, self.config.report.name))
        except (OSError, ValueError) as exc:
            return MigrationCounts.unread("segments", previous.label, exc)
        now = self._labelled.select(F.col(ID).alias("id"), F.col(SEGMENT).alias("now"))
        counted = old.join(now, "id", "full_outer").groupBy("segment", "now").count().collect()
        flows, arrived, left = {}, {}, {}
        for row in counted:
            before, after, n = row["segment"], row["now"], int(row["count"])
            if before is None:
                arrived[int(after)] = n
            elif after is None:
                left[int(before)] = n
            else:
                flows[(int(before), int(after))] = n
        return MigrationCounts(flows, arrived, left)

    # ---- deliver ---------------------------------------------------------------------

    def write_segments(self, folder: Path, features: FeatureSet, segments: Segments,
                       names: Mapping[int, str], period: str,
                       value: CustomerValue | None) -> Sequence[str]:
        """segments.parquet/ by segment (ids exact) and, below CSV_LIMIT customers,
        segments.csv in row order as the pandas engine writes it (formulas neutralised).
        With engine.segments_path the parquet is written beside its place there, and moved
        in by commit_segments once the report's folder is published."""
        from pyspark.sql import functions as F

        assert self._labelled is not None
        persona = F.create_map(*[x for sid, name in names.items()
                                 for x in (F.lit(sid), F.lit(name))])[F.col(SEGMENT)]
        rows = self._labelled.select(F.col(ID).alias("id"), F.col(SEGMENT).alias("segment"),
                                     persona.alias("persona"), ROW)
        written = [PARQUET]
        if self.config.engine.segments_path is None:
            rows.drop(ROW).write.partitionBy("segment").parquet(str(folder / PARQUET))
        else:
            place = "/".join([self.config.engine.segments_path, self.config.report.name,
                              period, PARQUET])
            self._incoming = (f"{place}.incoming-{uuid.uuid4().hex}", place)
            rows.drop(ROW).write.partitionBy("segment").parquet(self._incoming[0])
            written = [place]
        if self._n < CSV_LIMIT:
            _write_csv(rows.orderBy(ROW).select(
                _neutralised(F.col("id")).alias("id"), "segment",
                _neutralised(F.col("persona")).alias("persona")), folder / SEGMENTS_FILE)
            written.insert(0, SEGMENTS_FILE)
        return written

    def commit(self) -> None:
        """The period's segments.parquet moved into its place under engine.segments_path,
        replacing the one of an earlier run of the period: only once the report it belongs
        to is published, so a failed run leaves the earlier one whole."""
        if self._incoming is None:
            return
        incoming, place = self._incoming
        fs, target = _filesystem(self.spark, place)
        try:
            if fs.exists(target):
                fs.delete(target, True)
            moved = fs.rename(_filesystem(self.spark, incoming)[1], target)
        except Exception as exc:  # py4j's errors: the storage refused
            moved, problem = False, str(exc).strip().splitlines()[0]
        else:
            problem = "the storage refused the rename"
        if not moved:
            raise OutputError(f"engine.segments_path: the segments could not be moved to "
                              f"{place} ({problem}); the report was written, and its "
                              f"segments are at {incoming}; fix the storage and run again")
        self._incoming = None

    def close(self) -> None:
        """The run's caches released; a segments.parquet not moved in (the run failed)
        removed."""
        for frame in self._persisted:
            frame.unpersist()
        self._persisted = []
        if self._incoming is not None:
            with contextlib.suppress(Exception):
                fs, incoming = _filesystem(self.spark, self._incoming[0])
                fs.delete(incoming, True)
            self._incoming = None


@contextlib.contextmanager
def open_customers(config: Config) -> Iterator[SparkRows]:
    with spark_session(config.engine, config.report.name) as spark:
        customers = SparkRows(spark, config)
        try:
            yield customers
        finally:
            customers.close()


# ---- the checks over every row ---------------------------------------------------------


def _has_id(column: str | None) -> Column:
    """A row's id is there: not missing, not only blanks (data/files.missing_ids)."""
    from pyspark.sql import functions as F

    if column is None:
        return F.lit(True)
    text = column_of(column).cast("string")
    return text.isNotNull() & (F.trim(text) != "")


def _id_text(column: str | None, float_ids: bool) -> Column:
    """The id as text, exactly as written; ids a spreadsheet stored as floats (17850.0,
    the whole column so) lose the '.0', as data/files.as_text_ids does. Without data.id
    the row numbers are given once the rows are numbered."""
    from pyspark.sql import functions as F

    if column is None:
        return F.lit(None).cast("string")
    text = column_of(column).cast("string")
    return F.regexp_replace(text, r"\.0+$", "") if float_ids else text


def _value(column: str, spec: FeaturesSection) -> Column:
    """A clustering column as K-Means' input reads it: a number, or a category's text."""
    return number(column) if column in spec.numeric else column_of(column)


def _culprit(spec: FeaturesSection) -> Column:
    """The first clustering column a row lacks (model/features.drop_incomplete's count)."""
    from pyspark.sql import functions as F

    return F.coalesce(*[F.when(_value(c, spec).isNull(), F.lit(c))
                        for c in [*spec.numeric, *spec.categorical]])


def _complete(spec: FeaturesSection) -> Column:
    from pyspark.sql import functions as F

    complete = F.lit(True)
    for c in [*spec.numeric, *spec.categorical]:
        complete = complete & _value(c, spec).isNotNull()
    return complete



@dataclass(frozen=True)
class ColumnFacts:
    """What the checks need, over the rows with an id, from one pass over the source."""

    rows: int  # rows read
    with_id: int  # of them with an id
    float_ids: bool  # every id is written as an integral float (17850.0)
    culprits: Mapping[str, int]  # missing: drop's rows left out, by first column missing
    missing: Mapping[str, int]  # no value
    not_numbers: Mapping[str, int]  # values present that are no number
    extreme: Mapping[str, int]  # inf or beyond MAX_MAGNITUDE
    lowest: Mapping[str, float | None]  # as numbers
    highest: Mapping[str, float | None]
    only_value: Mapping[str, str]  # a categorical column's one value, as text, where every
    # row holding a value holds the same
    distinct: Mapping[str, int]  # categorical columns near MAX_CATEGORIES: values, up to one
    # past it
    typed_numbers: Mapping[str, bool]  # the source stores it as numbers
    typed: bool  # the source has types (parquet, a table); CSV is text, typed as pandas does
    # (the derived columns, numbers whatever the source, do not count)

    def has_values(self, column: str) -> bool:
        """Some row with an id holds a value in `column`."""
        return self.missing[column] < self.with_id


def _column_facts(raw: DataFrame, spec: FeaturesSection, present: Column,
                  id_column: str | None, derived: Collection[str] = ()) -> ColumnFacts:
    """One pass for the ids and every check of model/features.py that needs all rows (each
    count over the rows with an id, `present`). Text is turned into numbers only where a
    number is expected (a failed parse costs a Java exception: on 50M rows of categories
    that was minutes), and numbers never into text. A categorical column's sameness is
    seen from the least and greatest hash of its values, numbers that keep the pass a
    hash aggregation (the least and greatest text made it a slower sort-based one); the
    one value is then read where the two hashes agree."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType, StringType

    kinds = {f.name: f.dataType for f in raw.schema.fields}
    typed = not all(isinstance(k, StringType) for c, k in kinds.items() if c not in derived)
    columns = list(dict.fromkeys([*spec.numeric, *spec.categorical, *spec.profile]))
    numbers = {c for c in columns if isinstance(kinds[c], NumericType)}

    def count(condition: Column, name: str) -> Column:
        return F.count(F.when(present & condition, 1)).alias(name)

    def among(value: Column) -> Column:
        return F.when(present, value)

    aggregates = [F.count(F.lit(1)).alias("rows"), count(F.lit(True), "with_id")]
    if id_column is not None:
        aggregates.append(count(~column_of(id_column).cast("string").rlike(
            f"^{INTEGRAL_FLOAT_RE}$"), "not_float"))
    if spec.missing == "drop":
        culprit = _culprit(spec)
        aggregates += [count(culprit == c, f"culprit:{c}")
                       for c in [*spec.numeric, *spec.categorical]]
    for c in columns:
        raw_value, value = column_of(c), number(c)
        aggregates.append(count(raw_value.isNull(), f"null:{c}"))
        if c in spec.numeric:
            aggregates += [count(F.abs(value) > MAX_MAGNITUDE, f"big:{c}"),
                           F.min(among(value)).alias(f"min:{c}"),
                           F.max(among(value)).alias(f"max:{c}")]
        if c not in numbers and (c in spec.numeric or (c in spec.profile and not typed)):
            aggregates.append(count(raw_value.isNotNull() & ~F.trim(raw_value).rlike(
                NUMBER_TEXT), f"text:{c}"))
        if c in spec.categorical:
            hashed = F.when(present & raw_value.isNotNull(), F.xxhash64(raw_value))
            aggregates += [F.min(hashed).alias(f"lo:{c}"), F.max(hashed).alias(f"hi:{c}"),
                           F.approx_count_distinct(hashed, 0.05).alias(f"distinct:{c}")]
    row = raw.agg(*aggregates).first()
    assert row is not None
    found = row.asDict()

    def of(prefix: str, default: Any = None, names: Sequence[str] = columns
           ) -> dict[str, Any]:
        return {c: found.get(f"{prefix}:{c}", default) for c in names}

    return ColumnFacts(
        rows=int(found["rows"]), with_id=int(found["with_id"]),
        float_ids=id_column is not None and found["not_float"] == 0,
        culprits={c: int(n) for c, n in of("culprit", 0, [*spec.numeric,
                                                          *spec.categorical]).items()},
        typed_numbers={c: c in numbers for c in columns}, typed=typed,
        missing={c: int(n) for c, n in of("null", 0).items()},
        not_numbers={c: int(n) for c, n in of("text", 0).items()},
        extreme={c: int(n) for c, n in of("big", 0).items()},
        lowest=of("min"), highest=of("max"),
        only_value={c: only for c in spec.categorical if found[f"lo:{c}"] is not None
                    and found[f"lo:{c}"] == found[f"hi:{c}"]
                    and (only := _only_value(raw, present, c)) is not None},
        distinct={c: _distinct(raw, present, c) for c in spec.categorical
                  if found[f"distinct:{c}"] > 0.8 * MAX_CATEGORIES})


def _distinct(raw: DataFrame, present: Column, column: str) -> int:
    """The exact count of a categorical column's values, where the estimate comes near
    MAX_CATEGORIES (counted no further than one past it)."""
    value = column_of(column)
    return int(raw.where(present & value.isNotNull()).select(value.cast("string")).distinct(
        ).limit(MAX_CATEGORIES + 1).count())


def _only_value(raw: DataFrame, present: Column, column: str) -> str | None:
    """The column's one value, as text, if its rows with a value all hold the same (their
    hashes all agree: read to be sure, since two values may share a hash)."""
    value = column_of(column)
    found = raw.where(present & value.isNotNull()).select(value.cast("string")).distinct(
        ).limit(2).collect()
    return str(found[0][0]) if len(found) == 1 else None


# What pandas' reader and to_numeric take for a number (inf and nan included).
NUMBER_TEXT = (r"^[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|inf|Inf|INF|infinity|Infinity"
               r"|nan|NaN)$")


def _check_columns(facts: ColumnFacts, spec: FeaturesSection, rows: DataFrame) -> set[str]:
    """model/features.py's refusals, in its words; the profile columns that are numbers."""
    for column in spec.numeric:
        if facts.not_numbers[column]:
            raise DataError(_text_in_numeric(rows, column, facts.not_numbers[column]))
        if facts.extreme[column]:
            raise not_scalable("features.numeric", column,
                               f"{facts.extreme[column]:,} such values")
    for column, distinct in facts.distinct.items():
        if distinct > MAX_CATEGORIES:
            raise too_many_categories(column)
    for column in [*spec.numeric, *spec.categorical]:
        numeric = column in spec.numeric
        low = facts.lowest[column] if numeric else facts.only_value.get(column)
        if not facts.has_values(column) or (numeric and low is None):
            raise no_values(column)
        if low is not None and (not numeric or low == facts.highest[column]):
            raise same_value(column, plain(low))
    for column in spec.log or []:
        lowest = facts.lowest[column]
        if lowest is not None and lowest <= -1:
            raise not_loggable(column, lowest)
    return {c for c in spec.profile if facts.typed_numbers[c] or (
        not facts.typed and not facts.not_numbers[c] and facts.has_values(c))}


def _text_in_numeric(rows: DataFrame, column: str, count: int) -> str:
    shown = [r[0] for r in rows.where(column_of(column).isNotNull() & number(column).isNull())
             .select(column_of(column).cast("string")).limit(MAX_BAD_VALUES_SHOWN).collect()]
    return text_in_numeric("features.numeric", column, [repr(s) for s in shown], count)


def _check_unique(rows: DataFrame, column: str) -> None:
    """Ids are grouped by their 64-bit hash (10M ids: 14 s against 23 s grouped as text);
    only where a hash repeats are the ids themselves counted, so a hash collision is
    never taken for a repeated id."""
    from pyspark.sql import functions as F

    hashed = rows.select(F.xxhash64(ID).alias("__hash"), ID)
    suspects = hashed.groupBy("__hash").count().where(F.col("count") > 1).select("__hash")
    if suspects.first() is None:
        return
    repeated = hashed.join(suspects, "__hash").groupBy(ID).count().where(F.col("count") > 1)
    first = repeated.orderBy(F.col("count").desc(), ID).first()
    if first is None:
        return
    raise repeated_id(first[ID], first["count"], column, repeated.count())


# ---- typed rows, their order and the sample --------------------------------------------


def _typed_columns(spec: FeaturesSection, profile_numeric: set[str]) -> list[Column]:
    columns = list(dict.fromkeys([*spec.numeric, *spec.categorical, *spec.profile]))
    numeric = set(spec.numeric) | profile_numeric
    return [(number(c) if c in numeric else column_of(c).cast("string")).alias(c)
            for c in columns]


def _indexed(rows: DataFrame) -> tuple[DataFrame, int]:
    """Each row's number in Spark's order of the source (a file's order, for one file),
    0-based and dense: monotonically_increasing_id is per partition, so each partition's
    rows are shifted by the rows before it. `rows` is persisted, so the ids hold."""
    from pyspark.sql import functions as F

    with_id = rows.withColumn("__mid", F.monotonically_increasing_id())
    partition = F.shiftright(F.col("__mid"), 33)
    counts = sorted((int(r["p"]), int(r["count"])) for r in
                    with_id.groupBy(partition.alias("p")).count().collect())
    offsets, total = {}, 0
    for part, count in counts:
        offsets[part] = total
        total += count
    start = F.create_map(*[x for p, o in offsets.items() for x in (F.lit(p), F.lit(o))])
    within = F.col("__mid") - F.shiftleft(partition, 33)
    indexed = with_id.withColumn(ROW, (start[partition] + within).cast("long")).drop("__mid")
    return indexed, total


def _as_pandas(frame: pd.DataFrame, spec: FeaturesSection,
               profile_numeric: set[str]) -> pd.DataFrame:
    """The collected rows typed as the pandas reader types them."""
    numeric = set(spec.numeric) | profile_numeric
    for column in frame.columns:
        if column != ROW:
            frame[column] = (frame[column].astype("float64") if column in numeric
                             else frame[column].astype("string"))
    return frame


# ---- segments on Spark -----------------------------------------------------------------


def _stable_id(preprocessing: Preprocessing, segments: Segments,
               kept: SavedModel | None) -> Column:
    """Each row's stable segment id: its nearest centre's (model/segment.cluster_ids)."""
    from pyspark.sql import functions as F

    fit = segments.fit
    ids: Sequence[int] = kept.cluster_ids if kept is not None else fit.cluster_ids
    label = nearest(matrix_columns(preprocessing), np.asarray(fit.centres))
    return F.element_at(F.array(*[F.lit(int(i)) for i in ids]), label + 1)


def _filesystem(spark: SparkSession, url: str) -> tuple[Any, Any]:
    """Hadoop's FileSystem for `url` (s3a://, hdfs://, file://) and the path in it."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(url)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _checked_segments(old: DataFrame) -> DataFrame:
    """Last period's (id, segment) with segment ids as numbers; ValueError, in
    record.read_segments' words, when one is not (text, inf, a fraction, out of range)."""
    from pyspark.sql import functions as F

    number = F.col("segment").cast("double")
    bad = old.where(F.col("segment").isNull() | number.isNull() | (number % 1 != 0)
                    | (number < 0) | (number > MAX_SEGMENT_ID)).select("segment").first()
    if bad is not None:
        raise ValueError(f"its segment column holds {bad[0]!r:.40}, which is not a segment id")
    return old.select("id", number.cast("int").alias("segment"))


def _previous_segments(spark: SparkSession, previous: Previous, segments_path: str | None,
                       report: str) -> DataFrame:
    """Last period's (id, segment): its segments.parquet/ where its summary.json says it
    went, if that is where this config's engine.segments_path puts that period's (a
    summary.json lies in a folder others may write: it must not point Spark at any other
    URL), else in its folder, else its segments.csv (ids un-neutralised, as
    record.read_segments reads them). Never through a link."""
    from pyspark.sql import functions as F

    place = ("/".join([segments_path, report, previous.period, PARQUET])
             if segments_path is not None else None)
    elsewhere = [o for o in (previous.summary.outputs if previous.summary else [])
                 if o == place]
    if elsewhere:
        fs, path = _filesystem(spark, elsewhere[0])
        if not fs.exists(path):
            raise OSError(f"{elsewhere[0]} is gone")
        return _as_text(spark.read.parquet(elsewhere[0]))
    folder = previous.folder
    parquet, csv = folder / PARQUET, folder / SEGMENTS_FILE
    if parquet.is_dir() and not parquet.is_symlink():
        if any(p.is_symlink() for p in parquet.rglob("*")):
            raise OSError(f"{PARQUET} holds a symbolic link")
        return _as_text(spark.read.parquet(str(parquet)))
    if csv.is_symlink() or not csv.is_file():
        raise OSError(f"{SEGMENTS_FILE} is not a regular file")
    frame = (spark.read.option("header", True).option("quote", '"').option("escape", '"')
             .option("mode", "FAILFAST").csv(str(csv)))
    text = F.col("id")
    marks = "".join("\\" + m if m in "+-" else m for m in FORMULA_MARKS)
    marked = text.rlike(f"^'[{marks}]") & ~F.substring(text, 2, 1 << 30).rlike(
        f"^{PLAIN_NUMBER}$")
    return _as_text(frame.withColumn("id", F.when(marked, F.substring(text, 2, 1 << 30))
                                     .otherwise(text)))


def _as_text(frame: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return frame.select(*(F.col(c).cast("string").alias(c) for c in ("id", "segment")))


def _neutralised(text: Column) -> Column:
    """record.neutralise_formulas on Spark: a leading apostrophe on what a spreadsheet would
    run as a formula; a plain signed number stays a number."""
    from pyspark.sql import functions as F

    risky = F.lit(False)
    for mark in FORMULA_MARKS:
        risky = risky | text.startswith(mark)
    risky = risky & ~text.rlike(f"^{PLAIN_NUMBER}$")
    return F.when(risky, F.concat(F.lit("'"), text)).otherwise(text)


def _write_csv(rows: DataFrame, target: Path) -> None:
    """One CSV file as pandas' to_csv writes it: a header, quotes only where needed, a
    doubled quote inside one, \\n line ends, spaces kept."""
    from pyspark.sql import functions as F

    parts = target.with_name(target.name + ".parts")
    carriage = rows.where(F.col("id").contains("\r") | F.col("persona").contains("\r")
                          ).limit(1).count() > 0  # quoted everywhere, as record.write_csv does
    (rows.coalesce(1).write.option("header", True).option("quote", '"').option("escape", '"')
     .option("quoteAll", carriage)
     .option("lineSep", "\n").option("ignoreLeadingWhiteSpace", False)
     .option("ignoreTrailingWhiteSpace", False).option("emptyValue", "")
     .csv(str(parts)))
    (written,) = [p for p in parts.iterdir() if p.name.startswith("part-")]
    written.rename(target)
    shutil.rmtree(parts)


__all__ = ["CSV_LIMIT", "SparkRows", "open_customers"]
