"""The value stage's cost with the three purchase models (issue 29), at 1M and 10M sales
lines of the seeded benchmark files (runner.sales_file).

In one process per size: the data stage once, then the value stage with `value.model`
fixed to BG/NBD (one model in the backtest, as before issue 29) and with `auto` (BG/NBD,
MBG/NBD and Pareto/NBD fitted on the calibration period, the winner refitted), each timed
three times (median), and the segments' 90% intervals for five segments. Prints the
model chosen, the fits' log-likelihoods and the seconds.

    python benchmarks/bench_value.py                    # 1M and 10M lines
    python benchmarks/bench_value.py --lines 1000000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from runner import print_table, sales_file

CONFIG = """\
report: {{name: bench, title: Value}}
data: {{path: {path}, read: {{dayfirst: true}}}}
transactions: {{customer: CustomerID, invoice: InvoiceNo, date: InvoiceDate,
               quantity: Quantity, price: UnitPrice}}
features: {{numeric: [recency_days, frequency, monetary]}}
value: {{model: {model}, backtest: {{calibration_end: auto}}}}
output: {{dir: {out}}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, action="append",
                        help="sales lines (repeatable; default 1M and 10M)")
    args = parser.parse_args()
    rows = []
    for size in args.lines or [1_000_000, 10_000_000]:
        rows.extend(measure(size, sales_file(size)))
    print_table(["lines", "customers", "value.model", "chosen", "value stage s",
                 "intervals s", "fitted on"], rows)


def measure(size: int, path: Path) -> list[list[str]]:
    from reportgen import data
    from reportgen.config import load_config
    from reportgen.model.intervals import segment_ranges
    from reportgen.model.value import customer_value

    out = []
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder) / "bench.yaml"
        for model in ("bgnbd", "auto"):
            config_path.write_text(CONFIG.format(path=path, model=model, out=folder))
            config = load_config(config_path, {}).config
            customers = data.load_customers(config, "2026-12")
            times, value = [], None
            for _ in range(3):
                start = time.perf_counter()
                value = customer_value(customers, config.value)
                times.append(time.perf_counter() - start)
            assert value is not None and value.draws is not None
            segment = np.random.default_rng(0).integers(0, 5, len(value.frame))
            frame = value.frame.assign(segment=segment)
            totals = frame.groupby("segment")[["expected_purchases", "value"]].sum()
            start = time.perf_counter()
            segment_ranges(value.purchases, value.gamma_gamma, value.draws, value.history,
                           segment, totals, 12, 0.1, 1.0)
            ranges = time.perf_counter() - start
            for score in value.backtest.scores:
                print(f"{path.name} {model}: {score.label} LL {score.model.log_likelihood:,.1f}"
                      f", holdout off by {score.error:+.1%}, worst band "
                      f"{score.worst_gap:.2f}, params "
                      + ", ".join(f"{n} {v:.4g}" for n, v in zip(
                          score.model.names, score.model.values, strict=True)))
            out.append([f"{size:,}", f"{len(value.frame):,}", model, value.purchases.label,
                        f"{statistics.median(times):.2f}", f"{ranges:.2f}",
                        f"{value.fitted_customers:,}"])
    return out


if __name__ == "__main__":
    main()
