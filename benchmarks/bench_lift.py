"""The control groups and the lift of last period's actions (issue 31): what they cost at
scale, and how often the seeded shop's planted effect is found.

    python benchmarks/bench_lift.py              # 1M customers, and the 10 seeds
    python benchmarks/bench_lift.py --customers 5000000 --seeds 0

The split and the lift are timed in this process on seeded customers in 6 segments; the
seeds run the shop of tests/campaign.py through two reports each (October draws the
groups, November's lines carry +15% for the treated customers of one segment) and print
each segment's revenue lift with its interval.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from runner import ROOT, print_table

sys.path.insert(0, str(ROOT / "tests"))


def timed_split_and_lift(n: int) -> list[str]:
    from reportgen.model.control import assign
    from reportgen.model.lift import segment_lifts

    rng = np.random.default_rng(0)
    ids = pd.Series([f"C{i:08d}" for i in range(n)])
    labels = rng.integers(1, 7, n)
    start = time.perf_counter()
    groups = assign(ids, labels, 0.1, rng.bytes(32), "shop", "2026-10").groups()
    split = time.perf_counter() - start
    assignment = pd.DataFrame({"id": ids, "segment": labels, "group": groups})
    bought = rng.random(n) < 0.4
    outcomes = pd.DataFrame({"id": ids[bought], "revenue": rng.gamma(2, 40, bought.sum()),
                             "purchases": rng.integers(1, 4, bought.sum()).astype(float)})
    start = time.perf_counter()
    segment_lifts(assignment, outcomes, [{"id": s, "name": str(s)} for s in range(1, 7)])
    lift = time.perf_counter() - start
    return [f"{n:,}", f"{split:.2f}", f"{lift:.2f}"]


def seed_rows(seeds: list[int]) -> list[list[str]]:
    from campaign import two_periods

    rows = []
    for seed in seeds:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            _, summary, planted = two_periods(seed, Path(folder))
            wall = time.perf_counter() - start
        for s in summary["lift"]["segments"]:
            r = s["revenue"]
            treated, held = s["means"]["revenue"]
            if r is None:  # not judged: the groups' means, no interval
                difference, relative = f"{treated:.2f} vs {held:.2f}", "not judged"
            else:
                difference = f"{r['difference']:+.2f} ({r['low']:+.2f} to {r['high']:+.2f})"
                relative = ("n/a (held out spent 0)" if r["relative"] is None else
                            f"{r['relative']:+.1%} ({r['relative_low']:+.1%} to "
                            f"{r['relative_high']:+.1%})")
            rows.append([str(seed), f"{s['name']}{' (planted)' if s['id'] == planted else ''}",
                         f"{s['treated']:,} / {s['held_out']:,}", difference, relative,
                         s["verdict"], f"{wall:.1f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, action="append",
                        help="customers to split and measure (default 1M)")
    parser.add_argument("--seeds", type=int, nargs="*", default=list(range(10)))
    args = parser.parse_args()
    print_table(["customers", "split s", "lift s"],
                [timed_split_and_lift(n) for n in args.customers or [1_000_000]])
    if args.seeds:
        print()
        print_table(["seed", "segment", "treated / held out", "revenue a customer: difference",
                     "relative lift", "verdict", "two reports s"], seed_rows(args.seeds))


if __name__ == "__main__":
    main()
