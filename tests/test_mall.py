"""The classic mall data: k=5 and five personas for the five textbook groups."""

from __future__ import annotations

import json

import pytest
from helpers import MALL_CSV

pytestmark = pytest.mark.skipif(not MALL_CSV.is_file(),
                                reason=f"shared dataset not present: {MALL_CSV}")

INCOME, SCORE = "Annual Income (k$)", "Spending Score (1-100)"


@pytest.fixture(scope="module")
def summary(mall_run) -> dict:
    return json.loads((mall_run.folder / "summary.json").read_text())


def test_picks_five_segments_by_silhouette(summary):
    assert summary["k_selected"] == 5
    assert summary["selection"]["reason"].startswith("k=5: the best silhouette (0.55) among "
                                                     "the k whose segments all come back")
    assert {s["band"] for s in summary["stability"]["segments"]} == {"highly stable"}
    assert summary["n_customers"] == 200


HIGH, LOW = {"high", "very high"}, {"low", "very low"}


def quadrant(segment: dict) -> tuple[str, str]:
    return segment["profile"][INCOME]["level"], segment["profile"][SCORE]["level"]


@pytest.mark.parametrize(("name", "income", "score"), [
    ("Affluent high spenders", HIGH, HIGH),
    ("Careful affluent", HIGH, LOW),
    ("Budget-conscious", LOW, LOW),
    ("Young enthusiasts", LOW, HIGH),
    ("Mainstream shoppers", {"average"}, {"average"}),
])
def test_five_personas_tell_the_textbook_groups_apart(summary, name, income, score):
    by_name = {s["name"]: s for s in summary["segments"]}
    assert set(by_name) == {"Affluent high spenders", "Careful affluent", "Budget-conscious",
                            "Young enthusiasts", "Mainstream shoppers"}
    income_level, score_level = quadrant(by_name[name])
    assert income_level in income and score_level in score


def test_young_enthusiasts_are_young_and_the_middle_is_the_largest(summary):
    by_name = {s["name"]: s for s in summary["segments"]}
    assert by_name["Young enthusiasts"]["profile"]["Age"]["mean"] < 30
    assert by_name["Mainstream shoppers"]["size"] == 81 == summary["segments"][0]["size"]


def test_profile_columns_are_described_not_clustered(summary):
    assert summary["features"]["numeric"] == [INCOME, SCORE]
    assert summary["features"]["profile"] == ["Age", "Gender"]
    assert set(summary["segments"][0]["mix"]["Gender"]) == {"Female", "Male"}


def test_pdf_names_every_persona_and_action(mall_run, summary):
    from pypdf import PdfReader

    text = "".join("".join(p.extract_text().split()) for p in PdfReader(mall_run.pdf).pages)
    for segment in summary["segments"]:
        assert "".join(segment["name"].split()) in text
        for rec in segment["recommendations"]:
            assert "".join(rec["action"].split()) in text
