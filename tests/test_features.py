"""The features stage: checks with row-level messages, imputation, log, scaling, weighting."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from reportgen.config.schema import FeaturesSection
from reportgen.data.files import Table
from reportgen.errors import DataError
from reportgen.model.features import (
    CATEGORY_VARIANCE_SHARE,
    Preprocessing,
    balance_categorical,
    build_features,
    fit_matrix,
    make_transformer,
)


def table(frame: pd.DataFrame) -> Table:
    return Table(frame=frame, ids=pd.Series(range(1, len(frame) + 1)), source=None,
                 sha256="", n_rows_read=len(frame), dropped={})


def spec(**kwargs) -> FeaturesSection:
    return FeaturesSection(**kwargs)


def test_numeric_text_is_an_error_showing_values_and_rows():
    frame = pd.DataFrame({"income": ["10", "20", "n/a?", "40", "abc"]})
    with pytest.raises(DataError) as caught:
        build_features(table(frame), spec(numeric=["income"]))
    message = str(caught.value)
    assert "'n/a?' (row 3)" in message and "'abc' (row 5)" in message
    assert "(2 values in all)" in message
    assert "features.categorical" in message


def test_numbers_stored_as_text_are_converted():
    frame = pd.DataFrame({"income": ["10", " 20 ", "30", None]})
    features = build_features(table(frame), spec(numeric=["income"]))
    assert features.frame["income"].tolist()[:3] == [10.0, 20.0, 30.0]
    assert features.imputed == {"income": 1}


def test_constant_and_empty_columns_are_errors():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [5, 5, 5], "c": [None, None, None]})
    with pytest.raises(DataError, match="'b' holds the same value"):
        build_features(table(frame), spec(numeric=["a", "b"]))
    with pytest.raises(DataError, match="'c' has no values"):
        build_features(table(frame), spec(numeric=["a", "c"]))


def test_median_imputation_fills_and_counts():
    frame = pd.DataFrame({"a": [1.0, None, 3.0, 5.0], "g": ["x", None, "x", "y"]})
    features = build_features(table(frame), spec(numeric=["a"], categorical=["g"]))
    assert features.imputed == {"a": 1, "g": 1}
    assert len(features.frame) == 4
    scaled_a = features.matrix[:, 0]
    assert scaled_a[1] == pytest.approx(scaled_a[2])  # the median (3.0) was filled in


def test_drop_removes_incomplete_rows_and_counts_them_by_column():
    frame = pd.DataFrame({"a": [1.0, None, 3.0, 5.0, None], "b": [1.0, 2.0, None, 4.0, 5.0]})
    features = build_features(table(frame), spec(numeric=["a", "b"], missing="drop"))
    assert len(features.frame) == 2 and features.ids.tolist() == [1, 4]
    assert features.dropped == {"missing a": 2, "missing b": 1}


def test_log_is_applied_before_standard_scaling():
    frame = pd.DataFrame({"money": [0.0, 9.0, 99.0, 999.0]})
    features = build_features(table(frame), spec(numeric=["money"], log=["money"]))
    logged = np.log1p(frame["money"])
    expected = (logged - logged.mean()) / logged.std(ddof=0)
    assert features.matrix[:, 0] == pytest.approx(expected.to_numpy())


def test_log_of_values_below_minus_one_is_an_error():
    frame = pd.DataFrame({"money": [-5.0, 1.0, 2.0]})
    with pytest.raises(DataError, match=r"features\.log"):
        build_features(table(frame), spec(numeric=["money"], log=["money"]))


@pytest.mark.parametrize("scale", ["standard", "robust", "minmax"])
def test_a_categorical_column_carries_an_eighth_of_a_numeric_column_variance(scale):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=500), "b": rng.exponential(size=500),
                          "g": rng.choice(["x", "y", "z"], size=500, p=[0.5, 0.3, 0.2])})
    features = build_features(table(frame), spec(numeric=["a", "b"], categorical=["g"],
                                                 scale=scale))
    numeric_var = features.matrix[:, :2].var(axis=0).mean()
    block_var = features.matrix[:, 2:].var(axis=0).sum()
    assert features.column_names[2:] == ["g_x", "g_y", "g_z"]
    assert block_var == pytest.approx(CATEGORY_VARIANCE_SHARE * numeric_var, rel=1e-6)


@pytest.mark.parametrize("scale", ["standard", "robust", "minmax"])
def test_the_saved_preprocessing_reproduces_the_matrix_bit_for_bit(scale):
    """What model.json keeps (plain numbers, no scikit-learn object) gives the very matrix
    the K-Means saw, with missing values, a logged column and weighted categories."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.lognormal(3, 1, 300), "b": rng.normal(50, 9, 300),
                          "g": rng.choice(["x", "y", "z"], 300),
                          "n": rng.choice([1, 2, 3], 300)})
    frame.loc[[4, 9], "a"] = np.nan
    frame.loc[7, "g"] = None
    features = build_features(table(frame), spec(numeric=["b", "a"], categorical=["g", "n"],
                                                 log=["a"], scale=scale))
    assert np.array_equal(features.preprocessing.transform(frame), features.matrix)
    assert features.preprocessing.names == features.column_names
    rows = features.preprocessing.transform(frame.head(2).assign(g=["w", None]))
    g_columns = [i for i, n in enumerate(features.column_names) if n.startswith("g_")]
    assert rows[0, g_columns].tolist() == [0.0, 0.0, 0.0], "an unseen category: no dummy"
    mode = frame["g"].mode()[0]
    assert [features.column_names[i] for i in g_columns if rows[1, i] > 0] == [f"g_{mode}"]



@pytest.mark.parametrize("scale", ["standard", "robust", "minmax"])
def test_the_matrix_is_scikit_learns_column_transformer_to_the_bit(scale):
    """fit_matrix writes the matrix in one array; the numbers are those of the fitted
    ColumnTransformer (model.joblib's, format 2) with its dummies weighed afterwards."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.lognormal(3, 1, 400), "b": rng.normal(50, 9, 400),
                          "c": rng.integers(0, 90, 400).astype(float),
                          "g": rng.choice(["x", "y", "z"], 400),
                          "n": rng.choice([1, 2, 3], 400)})
    frame.loc[[4, 9], "a"] = np.nan
    frame.loc[[2, 3], "c"] = np.nan
    frame.loc[7, "g"] = None
    section = spec(numeric=["b", "a", "c"], categorical=["g", "n"], log=["a"], scale=scale)
    matrix, preprocessing = fit_matrix(frame, section)
    transformer = make_transformer(section)
    theirs = balance_categorical(
        transformer, transformer.fit_transform(frame[["b", "a", "c", "g", "n"]]), 3)
    assert np.array_equal(matrix, theirs)
    assert preprocessing == Preprocessing.from_fitted(transformer)

def test_profile_columns_are_split_by_type_and_not_clustered():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "age": [20, 30, 40], "sex": ["F", "M", "F"]})
    features = build_features(table(frame), spec(numeric=["a"], profile=["age", "sex"]))
    assert features.matrix.shape == (3, 1)
    assert features.profile_numeric == ["age"] and features.profile_categorical == ["sex"]


TIERS = ["Bronze", "Silver", "Gold", "Platinum"]


def tiered_project(folder, tiers: list[str | None]):
    """The sample customers with a tier column: the income quartile, as a loyalty programme
    names its levels."""
    from helpers import ROOT, write_config

    frame = pd.read_csv(ROOT / "sample_data" / "customers.csv", dtype={"customer_id": str})
    frame["tier"] = tiers
    frame.to_csv(folder / "customers.csv", index=False)
    return write_config(folder, f"""
report: {{name: tiers, title: Tiers}}
data: {{path: customers.csv, id: customer_id}}
features:
  numeric: [spending_score, purchase_frequency]
  ordinal: {{tier: {TIERS}}}
segmentation: {{k: [2, 6]}}
output: {{dir: out, formats: [html]}}
""")


def quartiles(n: int) -> list[int]:
    return [int(i * 4 / n) for i in range(n)]


def test_an_ordinal_column_clusters_as_its_rank(tmp_path):
    """features.ordinal: the same segments as the ranks written as numbers, and the rank's
    meaning in the report's label."""
    from reportgen import run_report

    ranks = quartiles(2000)
    tiers: list[str | None] = [TIERS[r] for r in ranks]
    tiers[5] = None  # a blank is missing, filled with the median
    ordinal = run_report(tiered_project(tmp_path, tiers), period="2026-10")
    numbers = tmp_path / "numbers"
    numbers.mkdir()
    frame = pd.read_csv(tmp_path / "customers.csv", dtype={"customer_id": str})
    frame["tier"] = [None if t is None else r + 1.0 for t, r in zip(tiers, ranks, strict=True)]
    frame.to_csv(numbers / "customers.csv", index=False)
    config = (tmp_path / "config.yaml").read_text().replace(
        "numeric: [spending_score, purchase_frequency]",
        "numeric: [spending_score, purchase_frequency, tier]").replace(
        f"ordinal: {{tier: {TIERS}}}", "labels: {tier: 'tier (1 = Bronze to 4 = Platinum)'}")
    (numbers / "config.yaml").write_text(config)
    plain = run_report(numbers / "config.yaml", period="2026-10")
    assert (ordinal.folder / "segments.csv").read_bytes() == (
        plain.folder / "segments.csv").read_bytes()
    assert ordinal.summary["imputed"] == {"tier": 1}
    page = (ordinal.folder / "report.html").read_text()
    assert "tier (1 = Bronze to 4 = Platinum)" in page
    # a rank has no multiples: higher or lower, never "48% below" or "1.6x the average"
    label = re.escape("tier (1 = Bronze to 4 = Platinum)")
    assert re.search(rf"Lower {label} \([\d.]+ vs [\d.]+ average\)", page)
    assert re.search(rf"Higher {label} \([\d.]+ vs [\d.]+ average\)", page)
    assert not re.search(rf"(?i){label} [\d.]+(% below|x the average|x avg)", page)


def test_an_ordinal_value_not_among_the_levels_is_one_line(tmp_path):
    from helpers import run_cli

    tiers: list[str | None] = [TIERS[r] for r in quartiles(2000)]
    tiers[7] = "Diamond"
    done = run_cli("run", str(tiered_project(tmp_path, tiers)))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: features.ordinal: column 'tier' holds 'Diamond' (row 8), which is not among "
        "its levels Bronze, Silver, Gold, Platinum; add it to the levels in its place, or "
        "clear those cells so they count as missing")


@pytest.mark.parametrize("levels", [["Gold"], ["Gold", "Gold"]])
def test_ordinal_levels_are_two_or_more_each_once(levels):
    with pytest.raises(ValueError, match="two or more levels"):
        FeaturesSection(numeric=["income"], ordinal={"tier": levels})
