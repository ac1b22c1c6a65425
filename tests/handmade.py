"""Stage inputs built by hand: six customers in two segments, so that the report stage
(content, page, charts, summary) and the archive can be tested without the pipeline.

The numbers are hand-checkable. Four customers earn about 20k and score about 80
("Budget fans"), two earn about 92k and score about 22 ("Careful affluent"); income is
logged, so it is the value column.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from reportgen.config import Config, LoadedConfig
from reportgen.config.rules import PersonasSection, RecommendationsSection
from reportgen.config.schema import FeaturesSection
from reportgen.data import Customers
from reportgen.data.files import Table
from reportgen.model import build_features, build_profiles, name_segments, recommend
from reportgen.model.continuity import Segments
from reportgen.model.pandasrows import PandasRows
from reportgen.model.personas import persona_rules
from reportgen.model.recommend import recommendation_rules
from reportgen.model.segment import KScore, Segmentation
from reportgen.report.content import ReportContent, build_content

INCOME = [20_000, 22_000, 21_000, 19_000, 90_000, 94_000]
SCORE = [80, 75, 78, 84, 20, 24]
LABELS = np.array([1, 1, 1, 1, 2, 2])
RAW_CONFIG = {
    "report": {"name": "six", "title": "Six customers"},
    "data": {"path": "six.csv", "id": "customer_id"},
    "features": {"numeric": ["income", "score"], "profile": ["city"], "log": ["income"]},
    "segmentation": {"k": [2, 3], "select": "elbow"},
    "personas": {"rules": [
        {"when": {"income": "low"}, "name": "Budget fans"},
        {"when": {"income": "high"}, "name": "Careful affluent"}]},
    "recommendations": {"rules": [
        {"when": {"score": "high"}, "action": "Reward them with loyalty points.",
         "priority": "high"}]},
    "output": {"dir": "out", "formats": ["html"]},
}


def six_customers() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"C{i}" for i in range(1, 7)], "income": INCOME,
                         "score": SCORE, "city": ["Leeds"] * 4 + ["York"] * 2})


def fit(scores: tuple[tuple[int, float], ...] = ((2, 0.10), (3, 0.20)), chosen: int = 2,
        method: str = "elbow") -> Segmentation:
    """The K-Means result as the segmentation stage would give it. Default: the elbow
    chose k = 2 although k = 3 has the better silhouette, and both are below 0.25."""
    return Segmentation(
        k=chosen, labels=LABELS, centres=np.zeros((2, 2)), order=np.arange(2),
        scores=tuple(KScore(k, 10.0 / k, silhouette, 5.0 * k, 1.0 / k)
                     for k, silhouette in scores),
        method=method, knee=chosen, silhouette_rows=6, n_rows=6, ids=(1, 2), sweep_rows=6)


def content(folder: Path | None = None, period: str = "2026-11",
            segmentation: Segmentation | None = None) -> ReportContent:
    """The report content of the six customers, as build_content makes it in a run."""
    frame = six_customers()
    table = Table(frame=frame[["income", "score", "city"]], ids=frame["customer_id"],
                  source="six.csv", sha256="ab" * 32, n_rows_read=6, dropped={})
    spec = FeaturesSection(**RAW_CONFIG["features"])
    customers = Customers(table, spec, None, identified=True)
    features = build_features(table, spec)
    segmentation = segmentation or fit()
    segments = Segments(ids=(1, 2), labels=segmentation.stable_labels,
                        colors={1: "#0072B2", 2: "#E69F00"}, fit=segmentation)
    base = folder or Path("/nowhere")
    config = Config.model_validate(RAW_CONFIG, context={"base_dir": base})
    rows = PandasRows(lambda: customers)
    summarized = rows.summarize(features, segments)
    profiles = build_profiles(features, segments, summarized.summaries)
    naming = persona_rules(PersonasSection(**RAW_CONFIG["personas"]), features, None, {})
    personas = name_segments(profiles, naming, features)
    advice = recommendation_rules(RecommendationsSection(**RAW_CONFIG["recommendations"]),
                                  features, None, {})
    loaded = LoadedConfig(config=config, source=base / "six.yaml", raw=RAW_CONFIG,
                          sha256="cd" * 32)
    return build_content(
        loaded=loaded, period=period, generated_at=dt.datetime(2026, 11, 30, 6, 0,
                                                               tzinfo=dt.UTC),
        customers=customers, features=features, segments=segments, profiles=profiles,
        personas=personas, recommendations=recommend(profiles, advice, personas), roles={},
        changes=None, population=rows.population(customers, features, summarized, None))
