"""Order logs drawn from the purchase models themselves, seeded, with each customer's true
state at the backtest's calibration end kept: what P(alive) and the model choice are
tested against (tests/test_model_choice.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2025-01-06")
WEEKS = 104  # the history: two years of weeks from START
COHORT_WEEKS = 13  # customers make their first purchase in the first quarter
CALIBRATION_END = START + pd.Timedelta(weeks=78)  # the last quarter is the holdout


@dataclass(frozen=True)
class Simulated:
    lines: pd.DataFrame  # customer_id, date, dollars
    alive: pd.Series  # by customer id: still a customer at the end of CALIBRATION_END


def simulate(model: str, params: tuple[float, float, float, float], customers: int,
             seed: int) -> Simulated:
    """`model` is bgnbd, mbgnbd or pnbd with (r, alpha, a, b) or (r, alpha, s, beta), time
    in weeks."""
    rng = np.random.default_rng(seed)
    r, alpha, third, fourth = params
    rate = rng.gamma(r, 1 / alpha, customers)
    start = rng.uniform(0, COHORT_WEEKS, customers)
    cut = (CALIBRATION_END - START).days / 7 + 1 / 7
    rows, alive = [], {}
    for n in range(customers):
        key = f"C{n:06d}"
        times = _times(model, rng, rate[n], start[n], third, fourth)
        days = np.unique(np.floor(np.asarray(times) * 7).astype(int))
        days = days[days < WEEKS * 7]
        rows.extend((key, (START + pd.Timedelta(days=int(d))).date().isoformat(),
                     round(float(rng.gamma(4, 10)), 2)) for d in days)
        alive[key] = times.death > cut
    return Simulated(pd.DataFrame(rows, columns=["customer_id", "date", "dollars"]),
                     pd.Series(alive))


class _Times(list):
    death: float = np.inf


def _times(model: str, rng: np.random.Generator, rate: float, start: float, third: float,
           fourth: float) -> _Times:
    """A customer's purchase times (the first at `start`) and when they left."""
    out, t = _Times([start]), start
    if model == "pnbd":
        death = start + rng.exponential(1 / rng.gamma(third, 1 / fourth))
        while True:
            t += rng.exponential(1 / rate)
            if t > min(death, WEEKS):
                break
            out.append(t)
        out.death = death
        return out
    p = rng.beta(third, fourth)
    if model == "mbgnbd" and rng.random() < p:
        out.death = start
        return out
    while True:
        t += rng.exponential(1 / rate)
        if t > WEEKS:
            return out
        out.append(t)
        if rng.random() < p:
            out.death = t
            return out


def write(path: Path, sim: Simulated) -> Path:
    sim.lines.to_csv(path, index=False)
    return path
