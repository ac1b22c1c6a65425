"""Profiles, rule conditions, personas and recommendations on small hand-made segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reportgen.config.presets import load_preset
from reportgen.config.rules import PersonasSection, RecommendationsSection
from reportgen.config.schema import FeaturesSection
from reportgen.data.files import Table
from reportgen.errors import RuleError
from reportgen.model.continuity import Segments
from reportgen.model.features import build_features
from reportgen.model.personas import Persona, name_segments, persona_rules
from reportgen.model.profile import (
    NumericStat,
    SegmentProfile,
    build_profiles,
    level_of,
    summarize,
)
from reportgen.model.recommend import recommend, recommendation_rules
from reportgen.model.rules import Rule, bind_roles, matches, normalise_name
from reportgen.model.segment import Segmentation


@pytest.mark.parametrize(("z", "level"), [
    (-1.5, "very low"), (-1.0, "low"), (-0.5, "low"), (-0.35, "average"), (0.0, "average"),
    (0.35, "average"), (0.36, "high"), (1.0, "high"), (1.01, "very high"),
])
def test_levels_from_z(z, level):
    assert level_of(z) == level


def profile_with(share=0.2, size=100, **levels) -> SegmentProfile:
    numeric = {c: NumericStat(mean=mean, median=mean, z=z, level=level_of(z))
               for c, (mean, z) in levels.items()}
    return SegmentProfile(1, size, share, numeric, {"gender": {"Female": 0.7, "Male": 0.3}})


@pytest.mark.parametrize(("when", "expected"), [
    ({"income": "high"}, True),          # very high matches high
    ({"income": "very high"}, True),
    ({"income": "average"}, False),
    ({"spend": "low"}, True),
    ({"spend": "very low"}, False),
    ({"income": ["low", "high"]}, True),
    ({"income": "> 80000"}, True),
    ({"income": "<= 80000"}, False),
    ({"gender": "female"}, True),
    ({"gender": ["Male", "Other"]}, False),
    ({"share": "< 0.25"}, True),
    ({"size": ">= 200"}, False),
    ({}, True),
])
def test_conditions(when, expected):
    profile = profile_with(income=(90_000, 1.4), spend=(20, -0.6))
    assert matches(Rule("test", when, {}), profile) is expected


def small_features(frame: pd.DataFrame, **spec) -> tuple:
    table = Table(frame=frame, ids=pd.Series(range(len(frame))), source=None, sha256="",
                  n_rows_read=len(frame), dropped={})
    return build_features(table, FeaturesSection(**spec))


def four_segments():
    """Four hand-made segments on income x spending score, the mall's textbook quadrants."""
    rows, labels = [], []
    quadrants = [(100, 90, 30), (100, 15, 45), (25, 15, 50), (25, 85, 23)]
    rng = np.random.default_rng(0)
    for seg_id, (income, score, age) in enumerate(quadrants, start=1):
        for _ in range(25):
            rows.append({"Annual Income (k$)": income + rng.normal(0, 3),
                         "Spending Score (1-100)": score + rng.normal(0, 3),
                         "Age": age + rng.normal(0, 2), "Gender": "Female"})
            labels.append(seg_id)
    frame = pd.DataFrame(rows)
    features = small_features(frame, numeric=["Annual Income (k$)", "Spending Score (1-100)"],
                              profile=["Age", "Gender"])
    fit = Segmentation(k=4, labels=np.array(labels), centres=np.zeros((4, 2)),
                       order=np.arange(4), scores=(), method="fixed", knee=None,
                       silhouette_rows=100, n_rows=100, ids=(1, 2, 3, 4), sweep_rows=100)
    segments = Segments(ids=fit.ids, labels=fit.stable_labels,
                        colors={i: "#000000" for i in fit.ids}, fit=fit)
    return features, build_profiles(features, segments, summarize(features, segments))


def test_profiles_report_size_share_mean_and_z_in_original_units():
    features, profiles = four_segments()
    first = profiles.segments[0]
    assert first.size == 25 and first.share == pytest.approx(0.25)
    income = first.numeric["Annual Income (k$)"]
    assert income.mean == pytest.approx(100, abs=2)
    population = features.frame["Annual Income (k$)"]
    assert income.z == pytest.approx((income.mean - population.mean()) / population.std(ddof=0))
    assert income.level in ("high", "very high")
    assert first.mix["Gender"] == {"Female": 1.0}
    strongest = first.traits[0]
    assert strongest.column == "Spending Score (1-100)"
    assert strongest.text == "Spending score (1-100) 1.8x the average (90 vs 51.3)"
    assert strongest.short == "Spending score (1-100) 1.8x avg"


def test_retail_preset_binds_roles_by_column_name():
    preset = load_preset("retail")
    roles = bind_roles(preset, ["Annual Income (k$)", "Spending Score (1-100)", "Age"], {})
    assert roles == {"income": "Annual Income (k$)", "spending": "Spending Score (1-100)",
                     "age": "Age"}
    sample = ["income", "spending_score", "purchase_frequency", "last_purchase_amount", "age",
              "membership_years"]
    assert bind_roles(preset, sample, {}) == {
        "income": "income", "spending": "spending_score", "frequency": "purchase_frequency",
        "age": "age", "tenure": "membership_years"}
    assert bind_roles(preset, ["hh_earn", "x"], {"income": "hh_earn"})["income"] == "hh_earn"
    assert normalise_name("MntWines") == "mnt wines"


def test_explicit_roles_are_checked():
    preset = load_preset("retail")
    with pytest.raises(RuleError, match="no role 'incme'"):
        bind_roles(preset, ["a"], {"incme": "a"}, checked={"incme": "a"})
    with pytest.raises(RuleError, match="'b' is not a numeric"):
        bind_roles(preset, ["a"], {"income": "b"})


def test_retail_preset_names_the_textbook_quadrants():
    features, profiles = four_segments()
    preset = load_preset("retail")
    roles = bind_roles(preset, features.all_numeric, {})
    rules = persona_rules(PersonasSection(preset="retail"), features, preset, roles)
    names = [p.name for p in name_segments(profiles, rules, features)]
    assert names == ["Affluent high spenders", "Careful affluent", "Budget-conscious",
                     "Young enthusiasts"]


def test_user_rules_come_before_the_preset_and_record_what_fired():
    features, profiles = four_segments()
    preset = load_preset("retail")
    roles = bind_roles(preset, features.all_numeric, {})
    spec = PersonasSection(preset="retail", rules=[
        {"when": {"Annual Income (k$)": "high", "Spending Score (1-100)": "high"},
         "name": "VIPs", "description": "Our best."}])
    personas = name_segments(profiles, persona_rules(spec, features, preset, roles), features)
    assert personas[0].name == "VIPs" and personas[0].description == "Our best."
    assert personas[0].rule == "personas.rules[0]"
    assert 'retail preset personas "Affluent high spenders"' in personas[0].fired


def test_unknown_column_in_a_user_rule_is_an_error_with_a_suggestion():
    features, _ = four_segments()
    spec = PersonasSection(rules=[{"when": {"Annual income": "high"}, "name": "X"}])
    with pytest.raises(RuleError) as caught:
        persona_rules(spec, features, None, {})
    assert "personas.rules[0].when.Annual income" in str(caught.value)
    assert "did you mean 'Annual Income (k$)'" in str(caught.value)


def test_unknown_level_in_a_user_rule_is_an_error():
    features, _ = four_segments()
    spec = PersonasSection(rules=[{"when": {"Age": "hihg"}, "name": "X"}])
    with pytest.raises(RuleError, match="'hihg' is not a level"):
        persona_rules(spec, features, None, {})


def test_segments_no_rule_names_get_trait_names_and_names_are_unique():
    features, profiles = four_segments()
    spec = PersonasSection(rules=[{"when": {"Annual Income (k$)": "high"}, "name": "Rich"}])
    personas = name_segments(profiles, persona_rules(spec, features, None, {}), features)
    names = [p.name for p in personas]
    assert len(set(names)) == 4
    assert names[0].startswith("Rich") and names[1].startswith("Rich (")
    assert names[2] == "Low spending score, low annual income (k$)" or "low" in names[2].lower()
    assert personas[2].rule is None


def test_recommendations_are_ordered_by_priority_and_have_a_fallback():
    features, profiles = four_segments()
    spec = RecommendationsSection(rules=[
        {"when": {"Age": "low"}, "action": "Go social.", "priority": "low"},
        {"when": {"Spending Score (1-100)": "high"}, "action": "VIP.", "priority": "high"},
    ])
    rules = recommendation_rules(spec, features, None, {})
    personas = [Persona(i, name, "", None) for i, name in zip((1, 2, 3, 4), "abcd", strict=True)]
    advice = recommend(profiles, rules, personas)
    assert [r.action for r in advice[4]] == ["VIP.", "Go social."]
    # segment 2 (high income, very low spending score) matches no rule: its action comes
    # from its strongest trait, and says so
    fallback = advice[2][0]
    strongest = profiles.segments[1].traits[0]
    assert fallback.rule == (f"fallback: its trait {strongest.column} "
                             f"({'spending' if 'Spending' in strongest.column else 'income'}, "
                             f"{'high' if strongest.level.endswith('high') else 'low'})")
    assert strongest.short[1:] in fallback.action
    assert "No recommendation rule matched" not in fallback.action
