"""Order logs made here, seeded: the shape of CDNOW (customer, date, items, dollars; no
invoice number), with groups of customers whose future a test knows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2025-01-01")
END = pd.Timestamp("2026-10-31")  # the last day of every log
COLUMNS = ["customer_id", "date", "cds", "dollars"]


def buyers(rng: np.random.Generator, first: int, count: int, every_days: float,
           spend: float, until: pd.Timestamp = END, start: pd.Timestamp = START,
           once: bool = False) -> list[tuple]:
    """`count` customers numbered from `first`, buying about every `every_days` days
    from a random day in their first quarter until `until`, spending about `spend`."""
    rows = []
    for number in range(first, first + count):
        day = start + pd.Timedelta(days=int(rng.integers(0, 90)))
        while day <= until:
            rows.append((f"{number:05d}", day.date().isoformat(), int(rng.integers(1, 4)),
                         round(float(rng.gamma(8, spend / 8)), 2)))
            if once:
                break
            day += pd.Timedelta(days=1 + int(rng.exponential(every_days)))
    return rows


def order_log(path: Path, customers: int = 400, seed: int = 7) -> pd.DataFrame:
    """Customers who each buy at their own rate until they drop out."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(customers):
        rate, life = rng.gamma(1.5, 1 / 20), rng.exponential(250)  # purchases a day, days
        day = int(rng.integers(0, 90))
        while day < min(life, 540):
            rows.append((f"{number:05d}", (START + pd.Timedelta(days=day)).date().isoformat(),
                         int(rng.integers(1, 4)), round(float(rng.gamma(3, 12)), 2)))
            day += 1 + int(rng.exponential(1 / rate))
    return write(path, rows)


def slipping_spenders(path: Path, seed: int = 3) -> pd.DataFrame:
    """Three groups: 300 small regulars still buying, 300 small one-time buyers, and 120
    big spenders who bought every week and stopped buying four months before the end:
    a valuable segment slipping away."""
    rng = np.random.default_rng(seed)
    rows = (buyers(rng, 0, 300, 20, 25)
            + buyers(rng, 300, 300, 0, 20, once=True, start=pd.Timestamp("2026-01-01"))
            + buyers(rng, 600, 120, 6, 400, until=END - pd.Timedelta(days=120)))
    return write(path, rows)


def write(path: Path, rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.to_csv(path, index=False)
    return frame
