"""The model stage: features, the segmentation and its continuity from the last period,
profiles, personas and recommendations, and
what each customer is worth (value); every segment known by its stable id."""

from reportgen.model.claims import Contradiction, verify_segments
from reportgen.model.continuity import (
    Segments,
    carry_over,
    find_previous,
    kept_fit,
    kept_model,
    saved_model,
)
from reportgen.model.control import assign as assign_control
from reportgen.model.control import last_period_groups
from reportgen.model.features import FeatureSet, build_features
from reportgen.model.lift import measure_lift
from reportgen.model.personas import Persona, name_segments
from reportgen.model.profile import Profiles, build_profiles
from reportgen.model.recommend import Recommendation, recommend
from reportgen.model.rulesets import RuleSets, rule_sets
from reportgen.model.segment import refitted, sweep
from reportgen.model.value import CustomerValue, customer_value, with_value

__all__ = [
    "Contradiction",
    "CustomerValue",
    "FeatureSet",
    "Persona",
    "Profiles",
    "Recommendation",
    "RuleSets",
    "Segments",
    "assign_control",
    "build_features",
    "build_profiles",
    "carry_over",
    "customer_value",
    "find_previous",
    "kept_fit",
    "kept_model",
    "last_period_groups",
    "measure_lift",
    "name_segments",
    "recommend",
    "refitted",
    "rule_sets",
    "saved_model",
    "sweep",
    "verify_segments",
    "with_value",
]
