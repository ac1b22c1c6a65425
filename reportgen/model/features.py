"""The features stage: from the customer table to the matrix K-Means sees.

Everything numeric about the transformation is kept as plain numbers (Preprocessing), so
the next period can apply exactly the same preprocessing; the scalers that find them are
scikit-learn's, and make_transformer's ColumnTransformer (what format-2 models pickled)
gives the same matrix to the bit. The frame of original values travels alongside:
profiles are described in the data's own units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)

from reportgen.config.roles import is_code
from reportgen.config.schema import FeaturesSection
from reportgen.data.files import Table
from reportgen.errors import DataError
from reportgen.text import humanize

SCALERS = {"standard": StandardScaler, "robust": RobustScaler, "minmax": MinMaxScaler}
MAX_BAD_VALUES_SHOWN = 3
# A categorical feature gets a one-hot column a value: past this, the matrix outgrows the
# memory (20,000 values x 1M rows is 160 GB) and the segments become the categories.
MAX_CATEGORIES = 50


@dataclass(frozen=True)
class FeatureSet:
    """What segmentation and profiles need, row-aligned: `matrix`, `frame` and `ids`."""

    matrix: np.ndarray
    frame: pd.DataFrame
    ids: pd.Series
    numeric: list[str]
    categorical: list[str]
    log: list[str]
    profile_numeric: list[str]
    profile_categorical: list[str]
    preprocessing: Preprocessing  # the fitted transformation, as plain numbers
    column_names: list[str]
    labels: dict[str, str]
    dropped: dict[str, int] = field(default_factory=dict)
    imputed: dict[str, int] = field(default_factory=dict)
    profile_log: list[str] = field(default_factory=list)  # profile columns seen on log1p
    ranks: list[str] = field(default_factory=list)  # features.ordinal: a rank, not an amount

    def described_on_log(self, column: str) -> bool:
        return column in self.log or column in self.profile_log

    @property
    def all_numeric(self) -> list[str]:
        return self.numeric + self.profile_numeric

    @property
    def all_categorical(self) -> list[str]:
        return self.categorical + self.profile_categorical

    def label(self, column: str) -> str:
        return self.labels.get(column) or humanize(column)


def build_features(table: Table, spec: FeaturesSection,
                   fitted: Preprocessing | None = None,
                   profile_log: Sequence[str] = ()) -> FeatureSet:
    """Check, clean and transform the clustering columns; keep profile columns as they are.

    `fitted`: a saved model's preprocessing, applied as it is instead of fitting one (a
    model kept unchanged, `segmentation.refit: false`, clusters in its own space).
    """
    frame = coerce_numeric(table.frame, spec.numeric, "features.numeric")
    check_informative(frame, spec)
    check_loggable(frame, spec.log or [])
    frame, ids, dropped = drop_incomplete(frame, table.ids, spec)
    imputed = {c: int(n) for c, n in frame[clustered(spec)].isna().sum().items() if n}
    matrix, preprocessing = (fitted.transform(frame), fitted) if fitted else fit_matrix(
        frame, spec)
    return _feature_set(matrix, frame, ids, spec, preprocessing, {**table.dropped, **dropped},
                        imputed, profile_log)


def sample_features(table: Table, spec: FeaturesSection, preprocessing: Preprocessing,
                    profile_log: Sequence[str] = ()) -> FeatureSet:
    """The features of a sample of the customers, transformed with the preprocessing fitted
    on all of them where they are (model/rows.py). The checks, the dropped rows and the
    filled values are counted there, over every customer; a sample would miss them."""
    frame = table.frame.reset_index(drop=True)
    return _feature_set(preprocessing.transform(frame), frame, table.ids.reset_index(drop=True),
                        spec, preprocessing, dict(table.dropped), {}, profile_log)


def _feature_set(matrix: np.ndarray, frame: pd.DataFrame, ids: pd.Series,
                 spec: FeaturesSection, preprocessing: Preprocessing, dropped: dict[str, int],
                 imputed: dict[str, int], profile_log: Sequence[str]) -> FeatureSet:
    profile_numeric = [c for c in spec.profile if pd.api.types.is_numeric_dtype(frame[c])
                       and (c in spec.as_numbers or not is_code(c, frame[c]))]
    return FeatureSet(
        matrix=matrix, frame=frame, ids=ids, numeric=list(spec.numeric),
        categorical=list(spec.categorical), log=list(spec.log or []),
        profile_numeric=profile_numeric,
        profile_categorical=[c for c in spec.profile if c not in profile_numeric],
        preprocessing=preprocessing, column_names=preprocessing.names,
        labels=dict(spec.labels), dropped=dropped, imputed=imputed,
        profile_log=[c for c in profile_log if c in profile_numeric],
        ranks=list(spec.ordinal),
    )


def fit_matrix(frame: pd.DataFrame, spec: FeaturesSection) -> tuple[np.ndarray, Preprocessing]:
    """Fit the transformation on this period's data: the matrix and its plain numbers.

    The matrix is written once, column block by column block, where a ColumnTransformer
    stacked its parts' arrays and the dummies were weighed in a copy of the whole: on 1M
    customers a first call took 1.60 s, now 1.16 s (fresh memory is slow to touch on a
    VM), and the features stage of a run 1.5 s, now 1.0-1.1 s. The
    numbers are make_transformer's to the bit: the scalers are fitted on the same blocks,
    the dummies weighed against the scaled columns' variance as balance_categorical does.
    """
    encoder = BalancedOneHot().fit(frame[spec.categorical]) if spec.categorical else None
    width = len(spec.numeric) + (len(encoder.weights_) if encoder else 0)
    matrix = np.empty((len(frame), width))
    numeric: list[NumericStep] = []
    for logged, columns in _numeric_blocks(spec):
        fill = MedianFill().fit(frame[columns])
        block = fill.transform(frame[columns])
        if logged:
            block = np.log1p(block)
        scaler = SCALERS[spec.scale]().fit(block)
        start = len(numeric)
        matrix[:, start:start + len(columns)] = scaler.transform(block)
        numeric += [NumericStep(column, float(fill.statistics_[i]), logged,
                                **_scaling(scaler, i)) for i, column in enumerate(columns)]
    categorical: tuple[CategoricalStep, ...] = ()
    if encoder is not None:
        if numeric:
            encoder.rescale(float(np.mean(np.var(matrix[:, :len(numeric)], axis=0))))
        categorical = _categorical_steps(encoder, list(spec.categorical))
        write_dummies(matrix, len(numeric), categorical, encoder.positions(frame[spec.categorical]))
    return matrix, Preprocessing(tuple(numeric), categorical)


def _numeric_blocks(spec: FeaturesSection) -> list[tuple[bool, list[str]]]:
    """The numeric columns as make_transformer groups them: the logged ones, then the rest."""
    logged = list(spec.log or [])
    plain = [c for c in spec.numeric if c not in logged]
    return [(flag, columns) for flag, columns in ((True, logged), (False, plain)) if columns]


def write_dummies(matrix: np.ndarray, start: int, steps: Sequence[CategoricalStep],
                  positions: Sequence[np.ndarray]) -> None:
    """Each categorical column's dummies into `matrix` from column `start` on: its weight
    where the row has the category, 0 elsewhere (and in every dummy of an unseen one)."""
    rows = np.arange(len(matrix))
    for step, position in zip(steps, positions, strict=True):
        block = matrix[:, start:start + len(step.categories)]
        block[...] = 0.0
        known = position >= 0
        block[rows[known], position[known]] = step.weight
        start += len(step.categories)


def clustered(spec: FeaturesSection) -> list[str]:
    return [*spec.numeric, *spec.categorical]


def coerce_numeric(frame: pd.DataFrame, columns: list[str], key: str) -> pd.DataFrame:
    """Numbers stored as text are converted; real text is an error showing where it is.

    A shallow copy: pandas' copy-on-write keeps the caller's frame as it is when a column
    is replaced here, and a deep one copied every column of 1M customers (0.2 s)."""
    frame = frame.copy(deep=False)
    for column in columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            frame[column] = values.astype(float)
        elif not pd.api.types.is_numeric_dtype(values):
            converted = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
            bad = values.notna() & converted.isna() & (values.astype("string").str.strip() != "")
            if bad.any():
                raise DataError(_text_in_numeric(column, values, bad, key))
            frame[column] = converted.astype(float)
        check_finite(frame[column], column, key)
    return frame


def check_finite(values: pd.Series, column: str, key: str) -> None:
    """inf, or a number so large that scaling it overflows, cannot be clustered; say where."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    bad = np.isinf(numbers) | (np.abs(numbers) > MAX_MAGNITUDE)
    if bad.any():
        row, more = int(np.flatnonzero(bad)[0]), int(bad.sum()) - 1
        raise not_scalable(key, column, f"{plain(values.iloc[row])} (row {row + 1}"
                           f"{', and ' + _count(more, 'more') if more else ''})")


def not_scalable(key: str, column: str, found: str) -> DataError:
    """inf or a number too large to scale, `found` where (a value and its row, or a count)."""
    return DataError(f"{key}: column {column!r} holds {found}: infinite or too large to "
                     "scale; fix the data, or clear those cells so they count as missing")


MAX_MAGNITUDE = 1e150  # beyond this, squaring for a variance overflows float64


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def plain(value: object) -> str:
    """5 rather than np.int64(5); text quoted, so a blank stays visible."""
    if isinstance(value, str):
        return repr(value)
    return format(value.item() if isinstance(value, np.generic) else value)


def _text_in_numeric(column: str, values: pd.Series, bad: pd.Series, key: str) -> str:
    rows = np.flatnonzero(bad.to_numpy())[:MAX_BAD_VALUES_SHOWN]
    return text_in_numeric(key, column, [f"{values.iloc[r]!r} (row {r + 1})" for r in rows],
                           int(bad.sum()))


def text_in_numeric(key: str, column: str, shown: Sequence[str], count: int) -> str:
    """Text in a numeric column: the first values `shown` (with their rows where known)."""
    return (
        f"{key}: column {column!r} holds text that is not a number: {', '.join(shown)}"
        f"{' ...' if count > len(shown) else ''} ({_count(count, 'value')} in "
        "all); fix the data, or list the column under features.categorical or features.profile"
    )


def too_many_categories(column: str) -> DataError:
    return DataError(
        f"features.categorical: column {column!r} has more than {MAX_CATEGORIES} distinct "
        "values; each value becomes a column of its own, so the segments would follow the "
        "values: move it to features.profile, or derive a coarser column")


def check_informative(frame: pd.DataFrame, spec: FeaturesSection) -> None:
    """A column that is empty or constant cannot separate segments: say so, not crash."""
    for column in spec.categorical:
        if frame[column].nunique() > MAX_CATEGORIES:
            raise too_many_categories(column)
    for column in clustered(spec):
        values = frame[column].dropna()
        if values.empty:
            raise no_values(column)
        if values.nunique() == 1:
            raise same_value(column, plain(values.iloc[0]))


def no_values(column: str) -> DataError:
    return DataError(f"features: column {column!r} has no values at all; remove it from the "
                     "features")


def same_value(column: str, shown: str) -> DataError:
    return DataError(f"features: column {column!r} holds the same value ({shown}) in every "
                     "row, so it cannot separate segments; remove it or move it to "
                     "features.profile")


def check_loggable(frame: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        low = frame[column].min()
        if low <= -1:
            raise not_loggable(column, low)


def not_loggable(column: str, lowest: float) -> DataError:
    return DataError(f"features.log: column {column!r} has values down to {lowest:g}; log1p "
                     "needs values above -1, so remove it from features.log")


def drop_incomplete(
    frame: pd.DataFrame, ids: pd.Series, spec: FeaturesSection
) -> tuple[pd.DataFrame, pd.Series, dict[str, int]]:
    """With `missing: drop`, rows lacking a clustering value go, counted by first culprit."""
    if spec.missing != "drop":
        return frame.reset_index(drop=True), ids.reset_index(drop=True), {}
    missing = frame[clustered(spec)].isna()
    keep = ~missing.any(axis=1)
    culprit = missing[~keep].idxmax(axis=1).value_counts()
    dropped = {f"missing {column}": int(n) for column, n in culprit.items()}
    return frame[keep].reset_index(drop=True), ids[keep].reset_index(drop=True), dropped


def make_transformer(spec: FeaturesSection) -> ColumnTransformer:
    scaler = SCALERS[spec.scale]
    logged = list(spec.log or [])
    plain = [c for c in spec.numeric if c not in logged]
    parts = []
    if logged:
        parts.append(("log", Pipeline([
            ("impute", MedianFill()),
            ("log1p", FunctionTransformer(np.log1p, feature_names_out="one-to-one")),
            ("scale", scaler()),
        ]), logged))
    if plain:
        parts.append(("numeric", Pipeline([
            ("impute", MedianFill()),
            ("scale", scaler()),
        ]), plain))
    if spec.categorical:
        parts.append(("categorical", BalancedOneHot(), list(spec.categorical)))
    return ColumnTransformer(parts, verbose_feature_names_out=False)


def balance_categorical(
    transformer: ColumnTransformer, matrix: np.ndarray, n_numeric: int
) -> np.ndarray:
    """Weigh the dummies against the numeric columns as they came out of the scaler.

    Standard scaling gives numeric columns variance 1, but min-max and robust scaling do
    not; measuring the scaled columns keeps the categorical balance the same for all three.
    """
    if "categorical" not in transformer.named_transformers_ or n_numeric == 0:
        return matrix
    reference = float(np.mean(np.var(matrix[:, :n_numeric], axis=0)))
    encoder: BalancedOneHot = transformer.named_transformers_["categorical"]
    encoder.rescale(reference)
    matrix = matrix.copy()
    matrix[:, n_numeric:] = (matrix[:, n_numeric:] != 0) * encoder.weights_  # as transform()
    return matrix


CATEGORY_VARIANCE_SHARE = 1 / 8


class BalancedOneHot(TransformerMixin, BaseEstimator):
    """One-hot encoding whose dummies for one column carry 1/8 of a numeric column's variance.

    With plain 0/1 dummies every category is a perfectly tight clump, and K-Means on real
    data picks k by the categories: on the mall customers, adding gender to income and
    spending score moved the best silhouette from the five textbook groups to k=10, one
    segment per gender and group. Scaling each column's dummies to the variance of a numeric
    column is no better (still k=10). At 1/8 of it (w = 0.5 for an even two-way split) the
    five groups stay intact with gender, or with a random 3-, 6- or 10-category column,
    while a category that follows the real groups still raises silhouette (0.48 -> 0.55):
    the column informs the segments without dictating them.
    """

    def fit(self, X: pd.DataFrame, y: object = None) -> BalancedOneHot:
        """The categories as scikit-learn's OneHotEncoder sorts them, from pandas' counts of
        each column: the encoder sorted 1M strings as Python objects (0.8 s a fit)."""
        frame = self._as_text(X)
        self.feature_names_in_ = np.array(frame.columns, dtype=object)
        self.fill_ = {c: frame[c].mode(dropna=True).iloc[0] for c in frame.columns}
        frame = frame.fillna(self.fill_)
        self.shares_ = [frame[col].value_counts(normalize=True) for col in frame.columns]
        self.categories_ = [np.array(sorted(shares.index), dtype=object)
                            for shares in self.shares_]
        self.rescale(1.0)
        return self

    def rescale(self, reference_variance: float) -> None:
        """Set the dummy weights against numeric columns of the given variance."""
        self.reference_variance_ = reference_variance if reference_variance > 0 else 1.0
        self.weights_ = np.concatenate([
            np.full(len(cats), category_weight(shares, self.reference_variance_))
            for shares, cats in zip(self.shares_, self.categories_, strict=True)
        ])

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Dummies in the categories' order; a category not seen when fitting gives zeros."""
        blocks = []
        for position, categories in zip(self.positions(X), self.categories_, strict=True):
            blocks.append(np.equal.outer(position, np.arange(len(categories))).astype(np.float64))
        return np.hstack(blocks) * self.weights_

    def positions(self, X: pd.DataFrame) -> list[np.ndarray]:
        """Each row's category, as its position among the column's categories (-1: unseen)."""
        frame = self._as_text(X).fillna(self.fill_)
        return [category_positions(frame[column], categories)
                for column, categories in zip(frame.columns, self.categories_, strict=True)]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array([f"{column}_{c}" for column, categories in
                         zip(self.feature_names_in_, self.categories_, strict=True)
                         for c in categories], dtype=object)

    @staticmethod
    def _as_text(X: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(X).astype("string")


def category_positions(values: pd.Series, categories: np.ndarray) -> np.ndarray:
    """Each value's position in `categories`, -1 for one not among them: the distinct values
    found once (pandas' factorize) and looked up, rather than every one of a million rows
    matched against the categories as text (0.45 s for two columns of 1M customers)."""
    codes, distinct = pd.factorize(values)
    where = {category: i for i, category in enumerate(categories)}
    lookup = np.array([where.get(value, -1) for value in distinct] + [-1], dtype=np.intp)
    return lookup[codes]  # a missing value's code is -1: the lookup's last entry


class MedianFill(TransformerMixin, BaseEstimator):
    """A missing number becomes its column's median, as SimpleImputer(strategy="median")
    fills it, with the medians from pandas: SimpleImputer takes them over masked arrays,
    0.85 s for five columns of 1M customers where pandas takes 0.1 s."""

    def fit(self, X: pd.DataFrame, y: object = None) -> MedianFill:
        frame = pd.DataFrame(X)
        self.feature_names_in_ = np.array(frame.columns, dtype=object)
        self.statistics_ = frame.median().to_numpy(dtype=np.float64)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return filled(pd.DataFrame(X), self.statistics_)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return self.feature_names_in_


def filled(values: pd.DataFrame | pd.Series, fills: np.ndarray | float) -> np.ndarray:
    """The numbers as a new float array, a missing one replaced by its column's fill: one
    rule for fitting (MedianFill) and for applying a saved fit (NumericStep)."""
    array = values.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    missing = np.isnan(array)
    array[missing] = np.broadcast_to(fills, array.shape)[missing]
    return array


def category_weight(shares: pd.Series, reference_variance: float = 1.0) -> float:
    """The dummy value that gives the column's block the target share of variance."""
    spread = float((shares * (1 - shares)).sum())
    return float(np.sqrt(CATEGORY_VARIANCE_SHARE * reference_variance / spread))


# ---- the fitted preprocessing as plain numbers ----------------------------------------------


@dataclass(frozen=True)
class NumericStep:
    """One numeric column's fitted treatment: fill, optional log1p, then
    `(x - subtract) / divide * multiply + add` (standard and robust scaling set the first
    pair, min-max the second; the identity elements leave the other pair exact)."""

    column: str
    fill: float
    log1p: bool
    subtract: float = 0.0
    divide: float = 1.0
    multiply: float = 1.0
    add: float = 0.0

    def apply(self, values: pd.Series) -> np.ndarray:
        x = filled(pd.to_numeric(values), self.fill)
        if self.log1p:
            x = np.log1p(x)
        return (x - self.subtract) / self.divide * self.multiply + self.add


@dataclass(frozen=True)
class CategoricalStep:
    """One categorical column's dummies: the text value, its fill, and the weight of a
    dummy (see BalancedOneHot). A category not seen when fitting gives all zeros."""

    column: str
    fill: str
    categories: tuple[str, ...]
    weight: float

    def apply(self, values: pd.Series) -> np.ndarray:
        dummies = np.empty((len(values), len(self.categories)))
        write_dummies(dummies, 0, [self], [self.positions(values)])
        return dummies

    def positions(self, values: pd.Series) -> np.ndarray:
        return category_positions(values.astype("string").fillna(self.fill),
                                  np.array(self.categories, dtype=object))

    @property
    def names(self) -> list[str]:
        return [f"{self.column}_{c}" for c in self.categories]


@dataclass(frozen=True)
class Preprocessing:
    """The features stage's fitted transformation in plain numbers, in matrix column order.

    The next period applies exactly this to its data (to compare segments, or to score
    them with a kept model), read from a JSON file that cannot run code: scikit-learn's
    fitted objects can only be saved by pickling them.
    """

    numeric: tuple[NumericStep, ...]
    categorical: tuple[CategoricalStep, ...]

    @property
    def names(self) -> list[str]:
        return [s.column for s in self.numeric] + [n for s in self.categorical for n in s.names]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The matrix written once, as fit_matrix writes it."""
        matrix = np.empty((len(frame), len(self.names)))
        for i, step in enumerate(self.numeric):
            matrix[:, i] = step.apply(frame[step.column])
        write_dummies(matrix, len(self.numeric), self.categorical,
                      [step.positions(frame[step.column]) for step in self.categorical])
        return matrix

    @classmethod
    def from_fitted(cls, transformer: ColumnTransformer) -> Preprocessing:
        """Read the numbers off a fitted transformer (make_transformer's layout)."""
        numeric: list[NumericStep] = []
        categorical: tuple[CategoricalStep, ...] = ()
        for name, part, columns in transformer.transformers_:
            if name in ("log", "numeric"):
                numeric += _numeric_steps(part, list(columns), logged=name == "log")
            elif name == "categorical":
                categorical = _categorical_steps(part, list(columns))
        return cls(tuple(numeric), categorical)


def _numeric_steps(pipeline: Pipeline, columns: list[str], logged: bool) -> list[NumericStep]:
    fills = pipeline.named_steps["impute"].statistics_
    scaler = pipeline.named_steps["scale"]
    return [NumericStep(column, float(fills[i]), logged, **_scaling(scaler, i))
            for i, column in enumerate(columns)]


def _scaling(scaler: Any, i: int) -> dict[str, float]:
    """The scaler's own arithmetic for column i, so that applying it gives the same bits."""
    if isinstance(scaler, MinMaxScaler):
        return {"multiply": float(scaler.scale_[i]), "add": float(scaler.min_[i])}
    center = scaler.mean_ if isinstance(scaler, StandardScaler) else scaler.center_
    return {"subtract": float(center[i]), "divide": float(scaler.scale_[i])}


def _categorical_steps(encoder: BalancedOneHot, columns: list[str]) -> tuple[CategoricalStep,
                                                                               ...]:
    steps, start = [], 0
    for column, categories in zip(columns, encoder.categories_, strict=True):
        steps.append(CategoricalStep(column, str(encoder.fill_[column]),
                                     tuple(str(c) for c in categories),
                                     float(encoder.weights_[start])))
        start += len(categories)
    return tuple(steps)
