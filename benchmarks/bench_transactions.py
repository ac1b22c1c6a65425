"""Sales lines to an RFM report at scale: time and peak memory per stage.

Generates seeded sales-line files with reportgen's own generator (cached in
benchmarks/.cache, git-ignored), runs `reportgen run` on each as a subprocess, and prints
wall time, the stages from summary.json `timings`, and the child's peak RSS.

    python benchmarks/bench_transactions.py            # 1M and 10M lines
    python benchmarks/bench_transactions.py --lines 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
LINES_PER_CUSTOMER = 36  # what the generator produces on average
STAGES = ("imports", "data", "features", "segmentation", "profiles", "charts", "html", "pdf")

CONFIG = """
report: {{name: bench, title: Benchmark}}
data: {{path: {path}, read: {{dayfirst: true}}}}
transactions: {{customer: CustomerID, invoice: InvoiceNo, date: InvoiceDate,
               quantity: Quantity, price: UnitPrice}}
features: {{numeric: [recency_days, frequency, monetary, avg_order_value]}}
personas: {{preset: rfm}}
recommendations: {{preset: rfm}}
output: {{dir: out}}
"""


def sales_file(lines: int) -> Path:
    """A cached CSV of about `lines` sales lines, written in chunks to bound memory."""
    path = CACHE / f"sales-{lines}.csv"
    if path.is_file():
        return path
    sys.path.insert(0, str(ROOT))
    from reportgen.sample import generate_sales

    CACHE.mkdir(parents=True, exist_ok=True)
    customers = max(lines // LINES_PER_CUSTOMER, 100)
    chunk = 20_000
    partial = path.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        for index, start in enumerate(range(0, customers, chunk)):
            frame, _ = generate_sales(min(chunk, customers - start), seed=1000 + index)
            frame["CustomerID"] = frame["CustomerID"] + start
            frame["InvoiceNo"] = frame["InvoiceNo"].str.replace(
                r"^(C?)(\d+)$", lambda m, chunk_id=index: f"{m.group(1)}{chunk_id}{m.group(2)}",
                regex=True)
            frame.to_csv(handle, index=False, header=index == 0, lineterminator="\n")
    partial.rename(path)
    return path


def run(lines: int) -> dict:
    data = sales_file(lines)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "bench.yaml"
        config.write_text(CONFIG.format(path=data))
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "reportgen", "run", str(config),
                                  "--period", "2000-01"])
        _, status, usage = _wait(child)
        wall = time.perf_counter() - started
        if status != 0:
            raise SystemExit(f"reportgen failed on {data}")
        summary = json.loads(next(Path(folder).glob("out/*/2000-01/summary.json")).read_text())
    return {"lines": summary["n_rows"], "customers": summary["n_customers"],
            "k": summary["k_selected"], "wall": wall, "timings": summary["timings"],
            "peak_mb": usage.ru_maxrss / 1024, "file_mb": data.stat().st_size / 1e6}


def _wait(child: subprocess.Popen) -> tuple[int, int, resource.struct_rusage]:
    import os

    return os.wait4(child.pid, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, action="append",
                        help="sales lines (repeatable; default 1M and 10M)")
    sizes = parser.parse_args().lines or [1_000_000, 10_000_000]
    header = ["lines", "file MB", "customers", "k", "wall s", *STAGES, "peak MB"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for size in sizes:
        r = run(size)
        cells = [f"{r['lines']:,}", f"{r['file_mb']:.0f}", f"{r['customers']:,}", str(r["k"]),
                 f"{r['wall']:.1f}", *(f"{r['timings'].get(s, 0):.1f}" for s in STAGES),
                 f"{r['peak_mb']:.0f}"]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
