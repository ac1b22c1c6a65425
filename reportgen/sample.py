"""A seeded synthetic customer table with real structure, for the sample report and tests.

Five latent groups (the kind a retail analyst finds: affluent high spenders, careful
affluent, budget-conscious, young enthusiasts, mainstream) with overlapping but separable
distributions, a right-skewed money column (`last_purchase_amount`, log-normal), and a
few missing values. `generate` also returns the true group of every customer, so tests can
check that the report recovers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SAMPLE_FILE = "customers.csv"
DEFAULT_ROWS = 2_000
DEFAULT_SEED = 20261123
CATEGORIES = ["Electronics", "Fashion", "Groceries", "Home & Garden", "Luxury", "Sports"]


@dataclass(frozen=True)
class Group:
    name: str
    weight: float
    income: tuple[float, float]
    spending: tuple[float, float]
    frequency: tuple[float, float]
    amount: tuple[float, float]  # median and log-sd of a log-normal
    age: tuple[float, float]
    membership: tuple[float, float]
    categories: tuple[float, ...]  # preference weights over CATEGORIES


GROUPS = (
    Group("Affluent high spenders", 0.14, (118_000, 12_000), (80, 7), (28, 5), (420, 0.35),
          (41, 8), (6, 2), (2, 3, 0.5, 1.5, 4, 1)),
    Group("Careful affluent", 0.16, (112_000, 12_000), (22, 7), (8, 3), (160, 0.35),
          (50, 9), (4, 2), (1, 1, 2, 3, 1, 1)),
    Group("Budget-conscious", 0.24, (32_000, 7_000), (24, 8), (6, 2.5), (45, 0.4),
          (46, 11), (3, 2), (0.5, 1, 5, 2, 0.1, 0.5)),
    Group("Young enthusiasts", 0.16, (36_000, 8_000), (79, 7), (24, 5), (90, 0.35),
          (24, 4), (1.5, 1), (4, 3, 0.5, 0.3, 0.3, 3)),
    Group("Mainstream", 0.30, (68_000, 9_000), (50, 7), (15, 4), (120, 0.35),
          (38, 10), (4, 2.5), (2, 2, 2, 2, 0.5, 1.5)),
)


def generate(n: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> tuple[pd.DataFrame, np.ndarray]:
    """The customer table and each row's true group index (into GROUPS)."""
    rng = np.random.default_rng(seed)
    weights = np.array([g.weight for g in GROUPS])
    groups = rng.choice(len(GROUPS), size=n, p=weights / weights.sum())
    columns = {name: np.empty(n) for name in
               ("income", "spending", "frequency", "amount", "age", "membership")}
    category = np.empty(n, dtype=object)
    for index, group in enumerate(GROUPS):
        rows = np.flatnonzero(groups == index)
        _fill_group(rng, group, rows, columns, category)
    frame = _assemble(rng, n, columns, category)
    return frame, groups


def _fill_group(rng: np.random.Generator, group: Group, rows: np.ndarray,
                columns: dict[str, np.ndarray], category: np.ndarray) -> None:
    size = len(rows)
    for name in ("income", "spending", "frequency", "age", "membership"):
        mean, sd = getattr(group, name)
        columns[name][rows] = rng.normal(mean, sd, size)
    median, log_sd = group.amount
    columns["amount"][rows] = rng.lognormal(np.log(median), log_sd, size)
    prefs = np.array(group.categories) / sum(group.categories)
    category[rows] = rng.choice(CATEGORIES, size=size, p=prefs)


def _assemble(rng: np.random.Generator, n: int, columns: dict[str, np.ndarray],
              category: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(1, n + 1)],
        "age": np.clip(np.round(columns["age"]), 18, 85).astype(int),
        "gender": rng.choice(["Female", "Male", "Non-binary"], size=n, p=[0.52, 0.46, 0.02]),
        "income": np.round(np.clip(columns["income"], 8_000, None), -2),
        "spending_score": np.clip(np.round(columns["spending"]), 1, 100).astype(int),
        "membership_years": np.round(np.clip(columns["membership"], 0, None), 1),
        "purchase_frequency": np.clip(np.round(columns["frequency"]), 0, None).astype(int),
        "last_purchase_amount": np.round(columns["amount"], 2),
        "preferred_category": category,
    })
    for column, fraction in (("income", 0.015), ("age", 0.01)):
        missing = rng.random(n) < fraction
        frame[column] = frame[column].astype("Int64").where(~missing)
    return frame


def write_sample(folder: Path, n: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> Path:
    """Write the sample table as CSV; the same seed always writes the same bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    frame, _ = generate(n, seed)
    path = folder / SAMPLE_FILE
    frame.to_csv(path, index=False, lineterminator="\n")
    return path
