"""Sales lines to an RFM report at scale: time and peak memory per stage.

Generates seeded sales-line files with reportgen's own generator (cached in
benchmarks/.cache, git-ignored), runs `reportgen run` on each as a subprocess, and prints
wall time, the stages from summary.json `timings`, and the child's peak RSS.

    python benchmarks/bench_transactions.py            # 1M and 10M lines
    python benchmarks/bench_transactions.py --lines 1000000
    python benchmarks/bench_transactions.py --value    # with the value stage (value:)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from runner import SALES_CONFIG, print_table, run_report, sales_file, write_config

STAGES = ("imports", "data", "value", "features", "segmentation", "profiles", "charts", "html",
          "pdf")
VALUE = "value: {{backtest: {{calibration_end: auto}}}}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, action="append",
                        help="sales lines (repeatable; default 1M and 10M)")
    parser.add_argument("--value", action="store_true",
                        help="add value: (BG/NBD, Gamma-Gamma and the backtest)")
    args = parser.parse_args()
    sizes = args.lines or [1_000_000, 10_000_000]
    config = SALES_CONFIG + (VALUE if args.value else "")
    rows = []
    for size in sizes:
        data = sales_file(size)
        with tempfile.TemporaryDirectory() as folder:
            r = run_report(write_config(Path(folder), config, data))
        rows.append([f"{r.summary['n_rows']:,}", f"{data.stat().st_size / 1e6:.0f}",
                     f"{r.customers:,}", str(r.k), f"{r.wall:.1f}",
                     *(f"{r.timings.get(s, 0):.1f}" for s in STAGES), f"{r.peak_mb:.0f}"])
    print_table(["lines", "file MB", "customers", "k", "wall s", *STAGES, "peak MB"], rows)


if __name__ == "__main__":
    main()
