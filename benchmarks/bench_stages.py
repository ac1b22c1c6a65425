"""Time the example reports stage by stage, as a user runs them.

Each config is run as a fresh subprocess (`python -m reportgen run`), cold (imports and
all), several times; the script prints wall time, per-stage seconds from summary.json
`timings`, peak RSS of the child, and output sizes: `python benchmarks/bench_stages.py`.
The mall and marketing-campaign configs need ../shared/data beside the checkout and are
skipped without it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from runner import ROOT, Run, print_table, run_report

CONFIGS = {"sample": ROOT / "configs" / "sample.yaml",
           "transactions": ROOT / "configs" / "transactions.yaml",
           "mall": ROOT / "configs" / "mall_customers.yaml",
           "marketing-campaign": ROOT / "configs" / "marketing_campaign.yaml"}
SHARED = ROOT.parent / "shared" / "data"
NEEDS_SHARED = {"mall": SHARED / "Mall_Customers.csv",
                "marketing-campaign": SHARED / "marketing_campaign.csv"}
STAGES = ("config", "imports", "data", "features", "segmentation", "profiles", "personas",
          "recommendations", "charts", "html", "pdf", "files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per config (median shown)")
    args = parser.parse_args()
    rows = []
    for name, config in CONFIGS.items():
        if name in NEEDS_SHARED and not NEEDS_SHARED[name].is_file():
            print(f"{name}: skipped, {NEEDS_SHARED[name]} not present")
            continue
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as out:
                runs.append(run_report(config, out=Path(out)))
        rows.append((name, runs))
    print_stages(rows)


def print_stages(rows: list[tuple[str, list[Run]]]) -> None:
    med = statistics.median
    print_table(
        ["report", "rows", "k", "wall s", *STAGES, "peak MB", "html KB", "pdf KB"],
        [[name, f"{runs[0].customers:,}", str(runs[0].k), f"{med(r.wall for r in runs):.2f}",
          *(f"{med(r.timings.get(s, 0) for r in runs):.2f}" for s in STAGES),
          f"{max(r.peak_mb for r in runs):.0f}", f"{runs[0].size_kb('report.html'):.0f}",
          f"{runs[0].size_kb('report.pdf'):.0f}"] for name, runs in rows])
    print(f"\n(median of {len(rows[0][1]) if rows else 0} cold runs; peak MB: the largest "
          "resident memory of one run)")


if __name__ == "__main__":
    main()
