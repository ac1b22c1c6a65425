"""Check a written report against its data, as an auditor would: every segment's mean and
median recomputed with pandas from the customer table the config describes, every level
word set against them (high or low only when both are on that side of everyone's), and
the roles and actions listed for a reader to judge.

    python benchmarks/check_truth.py CONFIG [--out DIR] [--period YYYY-MM]

Used on the public tables named in DEVELOPERS.md (issue 28); prints what it checked and
exits 1 on the first figure or word that does not agree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from reportgen.config.load import load_config
from reportgen.data.customers import load_customers
from reportgen.folders import listed_periods
from reportgen.model.value import customer_value, with_value

HIGH, LOW = ("high", "very high"), ("low", "very low")


def customer_frame(config_path: Path, period: str) -> pd.DataFrame:
    """One row a customer, indexed by id as segments.csv writes it."""
    config = load_config(config_path).config
    customers = load_customers(config, period)
    customers = with_value(customers, customer_value(customers, config.value))
    frame = customers.table.frame.copy()
    frame.index = customers.table.ids.astype(str).to_numpy()
    return frame


def check(config_path: Path, folder: Path) -> list[str]:
    summary = json.loads((folder / "summary.json").read_text())
    segments = pd.read_csv(folder / "segments.csv", dtype={"id": str}).set_index("id")
    frame = customer_frame(config_path, summary["period"]).loc[segments.index]
    frame["segment"] = segments["segment"]
    wrong, checked = [], 0
    for segment in summary["segments"]:
        rows = frame[frame["segment"] == segment["id"]]
        if len(rows) != segment["size"]:
            wrong.append(f"{segment['name']}: {len(rows)} customers, the page says "
                         f"{segment['size']}")
        for column, stat in segment["profile"].items():
            if "mean" not in stat:
                continue
            mean, median = rows[column].mean(), rows[column].median()
            everyone_mean, everyone_median = frame[column].mean(), frame[column].median()
            checked += 1
            if not (np.isclose(mean, stat["mean"]) and np.isclose(median, stat["median"])):
                wrong.append(f"{segment['name']} {column}: mean {mean:.6g}, median "
                             f"{median:.6g}; the page says {stat['mean']:.6g}, "
                             f"{stat['median']:.6g}")
            above = mean > everyone_mean and median > everyone_median
            below = mean < everyone_mean and median < everyone_median
            if (stat["level"] in HIGH and not above) or (stat["level"] in LOW and not below):
                wrong.append(f"{segment['name']} {column}: '{stat['level']}' beside mean "
                             f"{mean:.6g} (everyone {everyone_mean:.6g}) and median "
                             f"{median:.6g} (everyone {everyone_median:.6g})")
    print(f"{config_path.name}: k = {summary['k_selected']}, {summary['n_customers']:,} "
          f"customers; {checked} means and medians reproduced")
    for binding in summary.get("role_bindings", []):
        print(f"  role {binding['role']}: {binding['column'] or 'unbound'} ({binding['reason']})")
    for segment in summary["segments"]:
        actions = " / ".join(a["action"] for a in segment["recommendations"])
        print(f"  {segment['name']} ({segment['size']:,}): {actions}")
    if summary.get("reconciliation"):
        done = summary["reconciliation"]
        print(f"  reconciliation: {done['lines_read']:,} lines read, {done['lines_used']:,} "
              f"used, revenue segmented {done['segmented_revenue']:,.2f}")
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, help="the reports folder (default: the config's)")
    parser.add_argument("--period", help="default: the latest written")
    args = parser.parse_args()
    config = load_config(args.config).config
    report_dir = (args.out or config.output.dir) / config.report.name
    period = args.period or listed_periods(report_dir)[-1]
    wrong = check(args.config, report_dir / period)
    for line in wrong:
        print(f"DISAGREES: {line}")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
