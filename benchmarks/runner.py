"""What every benchmark shares: seeded data cached on disk, the pipeline run as a user runs
it (a fresh `python -m reportgen run` subprocess, imports and all), and a Markdown table.

Data come from reportgen's own seeded generators and are cached in benchmarks/.cache
(git-ignored), so a second run measures the pipeline, not the generator. Each run's peak
memory is the child's own `ru_maxrss` from `os.wait4`, not the benchmark's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
PERIOD = "2000-01"
LINES_PER_CUSTOMER = 36  # what generate_sales produces on average

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The shape: 6 numeric and 2 categorical features of the sample generator's table.
CUSTOMERS_CONFIG = """\
report: {{name: bench, title: Customer segments}}
data: {{path: {path}, id: customer_id}}
features:
  numeric: [age, income, spending_score, membership_years, purchase_frequency,
            last_purchase_amount]
  categorical: [gender, preferred_category]
  log: [last_purchase_amount]
segmentation: {{k: [2, 10]}}
personas: {{preset: retail}}
recommendations: {{preset: retail}}
output: {{dir: {out}, formats: [html, pdf]}}
"""

SALES_CONFIG = """\
report: {{name: bench, title: Customer segments}}
data: {{path: {path}, read: {{dayfirst: true}}}}
transactions: {{customer: CustomerID, invoice: InvoiceNo, date: InvoiceDate,
               quantity: Quantity, price: UnitPrice}}
features: {{numeric: [recency_days, frequency, monetary, avg_order_value]}}
personas: {{preset: rfm}}
recommendations: {{preset: rfm}}
output: {{dir: {out}, formats: [html, pdf]}}
"""


def customers_file(rows: int) -> Path:
    """A cached CSV of `rows` sample-generator customers (seeded: same rows every time)."""
    path = CACHE / f"customers-{rows}.csv"
    if not path.is_file():
        from reportgen.sample import generate

        frame, _ = generate(rows)
        _write_atomically(path, lambda handle: frame.to_csv(handle, index=False,
                                                             lineterminator="\n"))
    return path


def customers_parquet(rows: int) -> Path:
    """Part files of the generator's customers, a million rows each (seeded by part)."""
    from reportgen.sample import generate

    chunk = 1_000_000
    folder = CACHE / f"customers-{rows}.parquet"
    if (folder / "_SUCCESS").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for part in range(0, rows, chunk):
        frame, _ = generate(min(chunk, rows - part), seed=5000 + part // chunk)
        frame["customer_id"] = [f"C{part + i:09d}" for i in range(len(frame))]
        frame.to_parquet(folder / f"part-{part // chunk:05d}.parquet", index=False)
    (folder / "_SUCCESS").touch()
    return folder


def sales_file(lines: int) -> Path:
    """A cached CSV of about `lines` sales lines, generated in chunks to bound memory."""
    path = CACHE / f"sales-{lines}.csv"
    if not path.is_file():
        from reportgen.sample import generate_sales

        customers, chunk = max(lines // LINES_PER_CUSTOMER, 100), 20_000

        def write(handle) -> None:
            for index, start in enumerate(range(0, customers, chunk)):
                frame, _ = generate_sales(min(chunk, customers - start), seed=1000 + index)
                frame["CustomerID"] = frame["CustomerID"] + start
                frame["InvoiceNo"] = frame["InvoiceNo"].str.replace(
                    r"^(C?)(\d+)$",
                    lambda m, chunk_id=index: f"{m.group(1)}{chunk_id}{m.group(2)}",
                    regex=True)
                frame.to_csv(handle, index=False, header=index == 0, lineterminator="\n")

        _write_atomically(path, write)
    return path


def _write_atomically(path: Path, write) -> None:
    """A half-written cache file (an interrupted run) must never be taken for data."""
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8") as handle:
        write(handle)
    partial.rename(path)


@dataclass
class Run:
    """One `reportgen run`: what a user waits for, and what it made."""

    wall: float
    peak_mb: float
    summary: dict
    folder: Path
    timings: dict = field(init=False)

    def __post_init__(self) -> None:
        self.timings = self.summary["timings"]

    @property
    def k(self) -> int:
        return int(self.summary["k_selected"])

    @property
    def customers(self) -> int:
        return int(self.summary["n_customers"])

    def size_kb(self, name: str) -> float:
        path = self.folder / name
        return path.stat().st_size / 1024 if path.is_file() else 0.0


def write_config(folder: Path, template: str, data: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "bench.yaml"
    config.write_text(template.format(path=data, out=folder / "out"))
    return config


def run_report(config: Path, *args: str, out: Path | None = None) -> Run:
    """`python -m reportgen run CONFIG --period 2000-01`, timed from fork to exit.

    `out` (default: the config's own output.dir, `out` beside it) is passed as --out.
    """
    out = out or config.parent / "out"
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "reportgen", "run", str(config), "--period", PERIOD,
         "--out", str(out), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    errors = child.stderr.read().decode() if child.stderr else ""
    if status != 0:
        raise SystemExit(f"reportgen failed on {config}: {errors.strip()}")
    summary_path = next(out.glob(f"*/{PERIOD}/summary.json"))
    return Run(wall=wall, peak_mb=usage.ru_maxrss / 1024,
               summary=json.loads(summary_path.read_text()), folder=summary_path.parent)


def machine_speed() -> float:
    """Seconds for ten million Python additions: this VM's speed drifts by 3x within an
    hour, so every table carries the figure it was measured at (0.5 s: a quiet machine)."""
    started = time.perf_counter()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.perf_counter() - started


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |", flush=True)
