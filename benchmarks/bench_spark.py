"""engine: pandas against engine: spark (local[2]) on the same files: wall time, the
driver's peak RSS (the reportgen process) and the JVM's (Spark's driver and executors in
local mode), for customer tables and sales lines (issue 19).

    python benchmarks/bench_spark.py                       # 1M customers, 10M sales lines
    python benchmarks/bench_spark.py --customers 10000000 --lines 100000000
    python benchmarks/bench_spark.py --customers 0 --lines 0 --parquet 50000000
    python benchmarks/bench_spark.py --customers 0 --lines 10000000 --value
    python benchmarks/bench_spark.py --customers 0 --lines 0 --sales-parquet 200000000

`--parquet N`: N customers x 8 features as parquet part files of 1M rows (a folder, which
the pandas engine refuses), the customer table kept on Spark end to end. `--value`: the
sales lines' report with the value model (`value:`, its backtest included).
`--sales-parquet N`: the folder benchmarks/make_sales_parquet.py writes from the cached
sales lines (N = 200000000: two renumbered copies of the 100M-line file, 196M lines).

Each case is a cold `reportgen run` subprocess writing HTML and PDF. The JVM's peak is
its VmHWM, read every 0.2 s from /proc while it runs (it is gone when the run ends). A
case the pandas engine refuses (the memory guard) is reported as refused, with its line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from runner import (
    CACHE,
    CUSTOMERS_CONFIG,
    PERIOD,
    SALES_CONFIG,
    customers_file,
    customers_parquet,
    machine_speed,
    print_table,
    sales_file,
    write_config,
)

SPARK = "engine: {{name: spark, master: 'local[2]'}}\n"
VALUE = "value: {{horizon_months: 12}}\n"
STAGES = ("data", "value", "features", "segmentation", "profiles", "changes", "charts", "pdf",
          "files")


@dataclass
class Measured:
    wall: float
    driver_mb: float
    jvm_mb: float
    summary: dict | None
    refused: str | None = None


def descendants(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children + [g for c in children for g in descendants(c)]


def peak_kb(pid: int, command: str = "java") -> int:
    """A process's peak RSS (VmHWM), if it runs `command`: the JVM among the run's children
    (the PDF worker is one too), or the reportgen process itself. Read from /proc while
    it runs: the peak wait4 reports for the run counts its reaped children, the JVM among
    them."""
    try:
        if not Path(f"/proc/{pid}/comm").read_text().strip().startswith(command):
            return 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(config: Path) -> Measured:
    out = config.parent / "out"
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "reportgen", "run", str(config),
                              "--period", PERIOD, "--out", str(out)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    jvm = {"kb": 0, "driver": 0}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for pid in descendants(child.pid):
                jvm["kb"] = max(jvm["kb"], peak_kb(pid))
            jvm["driver"] = max(jvm["driver"], peak_kb(child.pid, "python"))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, _ = os.wait4(child.pid, 0)
    done.set()
    watcher.join()
    wall = time.perf_counter() - started
    errors = child.stderr.read().decode() if child.stderr else ""
    if status != 0:
        line = next((x for x in errors.splitlines() if x.startswith("error:")), errors[-300:])
        return Measured(wall, jvm["driver"] / 1024, jvm["kb"] / 1024, None, line)
    summary = json.loads(next(out.glob(f"*/{PERIOD}/summary.json")).read_text())
    return Measured(wall, jvm["driver"] / 1024, jvm["kb"] / 1024, summary)


def case(name: str, template: str, data: Path, engines: list[str]) -> list[list[str]]:
    rows = []
    for engine, extra in (("pandas", ""), ("spark", SPARK)):
        if engine not in engines:
            continue
        with tempfile.TemporaryDirectory() as folder:
            m = run(write_config(Path(folder), template + extra, data))
        if m.summary is None:
            rows.append([name, engine, f"{m.wall:.1f}", f"{m.driver_mb:,.0f}",
                         f"{m.jvm_mb:,.0f}" if m.jvm_mb else "-", "-", "-",
                         f"refused: {m.refused}"])
            continue
        t = m.summary["timings"]
        rows.append([name, engine, f"{m.wall:.1f}", f"{m.driver_mb:,.0f}",
                     f"{m.jvm_mb:,.0f}" if m.jvm_mb else "-",
                     f"{m.summary['n_customers']:,}", str(m.summary["k_selected"]),
                     ", ".join(f"{stage} {t[stage]:.1f}" for stage in STAGES if stage in t)])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, action="append")
    parser.add_argument("--lines", type=int, action="append")
    parser.add_argument("--parquet", type=int, action="append")
    parser.add_argument("--engine", action="append", choices=["pandas", "spark"])
    parser.add_argument("--value", action="store_true", help="sales lines with value:")
    parser.add_argument("--sales-parquet", type=int, action="append")
    args = parser.parse_args()
    engines = args.engine or ["pandas", "spark"]
    print(f"machine: 10M Python additions in {machine_speed():.2f} s")
    rows = []
    for size in [s for s in (args.customers or [1_000_000]) if s]:  # 0: none
        rows += case(f"{size:,} customers", CUSTOMERS_CONFIG, customers_file(size), engines)
    for size in [s for s in (args.lines or [10_000_000]) if s]:
        rows += case(f"{size:,} sales lines" + (" with value:" if args.value else ""),
                     SALES_CONFIG + (VALUE if args.value else ""), sales_file(size), engines)
    for size in args.sales_parquet or []:
        folder = CACHE / f"sales-{size}.parquet"
        if not (folder / "_SUCCESS").is_file():
            sys.exit(f"{folder} is not there: run benchmarks/make_sales_parquet.py first")
        rows += case(f"{size:,} sales lines (parquet)" + (" with value:" if args.value else ""),
                     SALES_CONFIG + (VALUE if args.value else ""), folder, engines)
    for size in args.parquet or []:
        rows += case(f"{size:,} customers (parquet)", CUSTOMERS_CONFIG,
                     customers_parquet(size), engines)
    print_table(["case", "engine", "wall s", "driver peak MB", "JVM peak MB", "customers", "k",
                 "stages (s)"], rows)


if __name__ == "__main__":
    main()
