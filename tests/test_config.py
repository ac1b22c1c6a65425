"""Config loading: validation before any data is read, one clear line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_config

from reportgen.config.load import load_config
from reportgen.errors import ConfigError

MINIMAL = """
report: {name: demo, title: Demo}
data: {path: data/customers.csv}
features: {numeric: [income]}
"""


def error_of(tmp_path: Path, text: str, overrides=()) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, text), overrides)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_minimal_config_gets_defaults_and_resolves_paths_against_its_folder(tmp_path):
    loaded = load_config(write_config(tmp_path, MINIMAL))
    config = loaded.config
    assert config.data.path == (tmp_path / "data" / "customers.csv").resolve()
    assert config.output.dir == (tmp_path / "reports").resolve()
    assert config.segmentation.k == (2, 10)
    assert config.segmentation.select == "stable" and config.segmentation.min_share == 0.03
    assert config.segmentation.n_init >= 4
    assert len(loaded.sha256) == 64


def test_unknown_key_names_the_dotted_key_and_suggests_the_nearest(tmp_path):
    message = error_of(tmp_path, MINIMAL + "segmentation: {kk: 5}\n")
    assert "unknown key 'segmentation.kk'" in message
    assert "did you mean 'k'" in message


def test_unknown_top_level_section_suggests_the_section(tmp_path):
    message = error_of(tmp_path, MINIMAL + "featurs: {}\n")
    assert "unknown key 'featurs'" in message and "'features'" in message


def test_wrong_type_says_expected_and_found(tmp_path):
    message = error_of(tmp_path, MINIMAL + 'segmentation: {k: "five"}\n')
    assert "segmentation.k" in message
    assert "expected an integer or a range" in message
    assert "'five'" in message


@pytest.mark.parametrize(("k", "expected"), [
    ("[10, 2]", "reversed; write [2, 10]"),
    ("1", "at least 2"),
    ("[1, 5]", "at least 2"),
    ("[2, 3, 4]", "expected an integer or a range"),
])
def test_bad_k_ranges(tmp_path, k, expected):
    assert expected in error_of(tmp_path, MINIMAL + f"segmentation: {{k: {k}}}\n")


def test_a_single_k_is_a_range_of_one(tmp_path):
    config = load_config(write_config(tmp_path, MINIMAL + "segmentation: {k: 4}\n")).config
    assert config.segmentation.k == (4, 4)


def test_wrong_choice_lists_the_choices(tmp_path):
    message = error_of(tmp_path, MINIMAL + "segmentation: {select: gap}\n")
    assert "segmentation.select" in message and "'silhouette'" in message and "'gap'" in message


def test_missing_required_key_is_named(tmp_path):
    message = error_of(tmp_path, "report: {name: demo}\ndata: {path: x.csv}\n"
                                 "features: {numeric: [a]}\n")
    assert "missing key 'report.title'" in message


def test_report_name_must_be_a_folder_name(tmp_path):
    message = error_of(tmp_path, MINIMAL.replace("name: demo", "name: My Report"))
    assert "report.name" in message and "[a-z0-9]" in message


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    message = error_of(tmp_path, "report:\n  name: demo\n  title: [unclosed\ndata: {}\n")
    assert "YAML syntax error" in message
    assert "line " in message and "column " in message


def test_top_level_must_be_a_mapping(tmp_path):
    message = error_of(tmp_path, "- report\n- data\n")
    assert "top level must be a mapping" in message and "list" in message


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("extra", "expected"), [
    ("features: {numeric: [a], log: [b]}", "log lists 'b', which is not in numeric"),
    ("features: {numeric: [a], profile: [a]}", "already a clustering feature"),
    ("features: {numeric: [a, a]}", "numeric lists 'a' twice"),
    ("features: {numeric: [a], categorical: [a]}", "both numeric and categorical"),
    ("features: {profile: [a]}", "at least one column under numeric, categorical or ordinal"),
])
def test_feature_lists_must_be_consistent(tmp_path, extra, expected):
    text = "report: {name: demo, title: Demo}\ndata: {path: x.csv}\n" + extra + "\n"
    assert expected in error_of(tmp_path, text)


def test_rule_condition_with_a_bare_number_is_explained(tmp_path):
    text = MINIMAL + "personas:\n  rules:\n    - {when: {income: 50000}, name: Rich}\n"
    message = error_of(tmp_path, text)
    assert "personas.rules[0].when" in message and "'>= 50000'" in message


def test_set_overrides_parse_values_as_yaml(tmp_path):
    path = write_config(tmp_path, MINIMAL)
    config = load_config(path, ["segmentation.k=[3, 6]", "report.title=Other title",
                                "segmentation.n_init=5"]).config
    assert config.segmentation.k == (3, 6)
    assert config.report.title == "Other title"
    assert config.segmentation.n_init == 5


def test_set_override_values_are_validated_like_the_file(tmp_path):
    message = error_of(tmp_path, MINIMAL, ["segmentation.n_init=2"])
    assert "segmentation.n_init" in message and "at least 4" in message


def test_set_needs_key_equals_value(tmp_path):
    with pytest.raises(ConfigError, match=r"expected key\.path=value"):
        load_config(write_config(tmp_path, MINIMAL), ["segmentation.k"])


def test_set_can_reach_into_lists(tmp_path):
    text = MINIMAL + "personas:\n  rules:\n    - {when: {income: high}, name: Rich}\n"
    config = load_config(write_config(tmp_path, text), ["personas.rules.0.name=Wealthy"]).config
    assert config.personas.rules[0].name == "Wealthy"
