"""The model stage: features, the segmentation and its continuity from the last period,
profiles, personas and recommendations, and
what each customer is worth (value); every segment known by its stable id."""

from reportgen.model.claims import Contradiction, verify_segments
from reportgen.model.continuity import (
    Segments,
    find_previous,
    kept_model,
    saved_model,
    segment_customers,
)
from reportgen.model.features import FeatureSet, build_features
from reportgen.model.personas import Persona, name_segments
from reportgen.model.profile import Profiles, build_profiles
from reportgen.model.recommend import Recommendation, recommend
from reportgen.model.rulesets import RuleSets, rule_sets
from reportgen.model.value import CustomerValue, customer_value, with_value

__all__ = ["Contradiction", "CustomerValue", "FeatureSet", "Persona", "Profiles",
           "Recommendation", "RuleSets", "Segments", "build_features", "build_profiles",
           "customer_value", "find_previous", "kept_model", "name_segments", "recommend",
           "rule_sets", "saved_model", "segment_customers", "verify_segments", "with_value"]
