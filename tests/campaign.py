"""A seeded shop with a campaign that works in one segment (issue 31): a year of sales lines
up to the end of October, then November's, in which the treated customers of one segment
spend `effect` more on every purchase and nobody else changes.

The customers are of four kinds, so that the report finds segments that hold mostly one
kind: regulars who buy most months, big spenders who buy now and then, customers who
stopped buying in the spring, and customers who started in the summer. November's
purchases follow each kind's habits; which customers the campaign reached is read from
the report's own audiences/assignment.csv, as a CRM would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from reportgen.folders import CONTROL_KEY

FIRST_MONTH = dt.date(2025, 11, 1)
MONTHS = 12  # November 2025 to October 2026; November 2026 is the campaign's month
# kind: (share of customers, chance of buying in a month, mean spend a purchase, months
# active as (first, last) counted from FIRST_MONTH, 12 being the campaign's month)
KINDS = {
    "regular": (0.45, 0.9, 80.0, (0, 12)),
    "big": (0.20, 0.45, 300.0, (0, 12)),
    "lapsed": (0.20, 0.6, 60.0, (0, 5)),
    "newcomer": (0.15, 0.75, 50.0, (9, 12)),
}
SPEND_SHAPE = 25.0  # Gamma shape of a purchase's amount: a coefficient of variation of 0.2
HABIT = 12.0  # a customer's monthly chance is Beta around the kind's, this concentrated
CONFIG = {
    "report": {"name": "shop", "title": "Shop segments"},
    "transactions": {"customer": "customer", "invoice": "invoice", "date": "date",
                     "amount": "amount"},
    "features": {"numeric": ["recency_days", "frequency", "monetary"]},
    "segmentation": {"k": 4},
    "personas": {"preset": "rfm"}, "recommendations": {"preset": "rfm"},
    "value": {"model": "bgnbd"},
    "audiences": {"control_share": 0.1},
    "output": {"formats": ["html"]},
}


def customers(seed: int, n: int) -> pd.Series:
    """Each customer's kind, by id."""
    rng = np.random.default_rng(seed)
    names = list(KINDS)
    kinds = rng.choice(names, size=n, p=[KINDS[k][0] for k in names])
    return pd.Series(kinds, index=[f"S{seed:02d}-{i:05d}" for i in range(n)], name="kind")


def month_lines(rng: np.random.Generator, kinds: pd.Series, month: int,
                boosted: Collection[str] = (), effect: float = 0.0) -> pd.DataFrame:
    """One month's sales lines: a customer of an active kind buys with their own chance
    (customers' habits differ around their kind's, as the value models expect), on a
    random day of the month; a boosted customer spends `effect` more."""
    start = (pd.Timestamp(FIRST_MONTH) + pd.DateOffset(months=month)).date()
    days = (pd.Timestamp(start) + pd.DateOffset(months=1) - pd.Timestamp(start)).days
    frames = []
    for kind, (_, _, mean, (first, last)) in KINDS.items():
        if not first <= month <= last:
            continue
        ids = kinds.index[kinds.to_numpy() == kind]
        buying = ids[rng.random(len(ids)) < habits(kinds)[kinds.to_numpy() == kind]]
        amount = rng.gamma(SPEND_SHAPE, mean / SPEND_SHAPE, len(buying))
        amount *= np.where(pd.Index(buying).isin(list(boosted)), 1 + effect, 1.0)
        day = rng.integers(0, days, len(buying))
        frames.append(pd.DataFrame({"customer": buying, "amount": np.round(amount, 2),
                                    "date": [start + dt.timedelta(days=int(d)) for d in day]}))
    lines = pd.concat(frames, ignore_index=True)
    last_day = start + dt.timedelta(days=days - 1)  # as_of: auto lands on the next month
    lines.loc[lines.index[-1], "date"] = last_day
    return lines


def habits(kinds: pd.Series) -> np.ndarray:
    """Each customer's monthly chance of buying, fixed for the customer (seeded by the ids)."""
    rng = np.random.default_rng(len(kinds) + sum(map(ord, kinds.index[0])))
    mean = kinds.map({kind: spec[1] for kind, spec in KINDS.items()}).to_numpy()
    return rng.beta(mean * HABIT, (1 - mean) * HABIT)


def history(seed: int, n: int = 5_000) -> tuple[pd.Series, pd.DataFrame]:
    """The customers' kinds and their sales lines up to the end of October 2026."""
    kinds = customers(seed, n)
    rng = np.random.default_rng([seed, 1])
    lines = pd.concat([month_lines(rng, kinds, m) for m in range(MONTHS)], ignore_index=True)
    return kinds, numbered(lines)


def november(seed: int, kinds: pd.Series, before: pd.DataFrame, treated: Collection[str],
             effect: float = 0.15) -> pd.DataFrame:
    """The history with November's lines after it: `treated` spend `effect` more."""
    rng = np.random.default_rng([seed, 2])
    lines = month_lines(rng, kinds, MONTHS, boosted=set(treated), effect=effect)
    return numbered(pd.concat([before.drop(columns="invoice"), lines], ignore_index=True))


def numbered(lines: pd.DataFrame) -> pd.DataFrame:
    return lines.assign(invoice=np.arange(1, len(lines) + 1))[
        ["invoice", "customer", "date", "amount"]]


def write(lines: pd.DataFrame, path: Path) -> Path:
    lines.to_csv(path, index=False)
    return path


def seeded_key(report_dir: Path, seed: int) -> None:
    """The report's control key, made from the seed: with a random key (the report's own,
    made on the first run) the groups, and so a 95% interval's one miss in twenty, would
    change from run to run and a test would fail by chance."""
    report_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"shop-{seed}".encode()).hexdigest()
    handle = os.open(report_dir / CONTROL_KEY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w") as stream:
        stream.write(key)


def two_periods(seed: int, root: Path, n: int = 5_000, effect: float = 0.15,
                **overrides: object) -> tuple[dict, dict, int]:
    """October's report (drawing the control groups), November's lines with the effect
    planted on the treated customers of the segment most of the regulars are in, and
    November's report: (October's summary, November's, the planted segment's id)."""
    import yaml

    from reportgen import run_report

    kinds, lines = history(seed, n)
    data = write(lines, root / "lines.csv")
    seeded_key(root / "out" / "shop", seed)
    config = root / "shop.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "data": {"path": str(data)},
                                      "output": {"formats": ["html"],
                                                 "dir": str(root / "out")}}))
    first = run_report(config, period="2026-10", **overrides)
    groups = pd.read_csv(first.folder / "audiences" / "assignment.csv", dtype={"id": str})
    regulars = groups[groups["id"].map(kinds) == "regular"]
    planted = int(regulars["segment"].value_counts().idxmax())
    treated = groups[(groups["segment"] == planted) & (groups["group"] == "treatment")]
    write(november(seed, kinds, lines, set(treated["id"]), effect), data)
    second = run_report(config, period="2026-11", **overrides)
    return first.summary, second.summary, planted
