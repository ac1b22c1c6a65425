"""Reading sales lines from PostgreSQL: time and peak memory against the same file.

Starts a throwaway PostgreSQL cluster (as the tests do), copies the cached sales-line CSV
of benchmarks/runner.py into a `sales` table, and runs `reportgen validate` (reading,
aggregation and features; no clustering) as a subprocess on: the CSV file; the lines
through `data.sql` at two chunk sizes; and the aggregation pushed into the query
(configs/postgres_rfm.yaml). Prints wall time and the child's peak RSS.

    python benchmarks/bench_sql.py                     # 1M lines
    python benchmarks/bench_sql.py --lines 10000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

import postgres  # noqa: E402  (the tests' throwaway server)
from runner import sales_file  # noqa: E402

PASSWORD = "bench-password"
SALES = """
transactions: {customer: CustomerID, invoice: InvoiceNo, date: InvoiceDate,
               quantity: Quantity, price: UnitPrice}
features: {numeric: [recency_days, frequency, monetary, avg_order_value]}
personas: {preset: rfm}
recommendations: {preset: rfm}
"""


def load(server: postgres.Server, csv: Path) -> float:
    started = time.perf_counter()
    with server.connect() as admin:
        admin.execute(f"create role analyst login password '{PASSWORD}'")
        admin.execute("create database shop owner analyst")
    with server.connect("shop") as db:
        db.execute("set role analyst")
        db.execute("set datestyle = 'ISO, DMY'")  # the file writes dates day first
        db.execute("""create table sales ("InvoiceNo" text, "StockCode" text,
            "Quantity" integer, "InvoiceDate" timestamp, "UnitPrice" numeric(10, 2),
            "CustomerID" integer, "Country" text)""")
        with db.cursor().copy("copy sales from stdin with (format csv, header)") as copy, \
                open(csv, "rb") as handle:
            while block := handle.read(1 << 20):
                copy.write(block)
        db.execute("analyze sales")
    return time.perf_counter() - started


def configs(folder: Path, server: postgres.Server, csv: Path) -> dict[str, Path]:
    head = "report: {name: bench, title: Benchmark}\n"
    url = server.url()

    def lines(chunk_rows: int) -> str:
        return (f"data: {{sql: {{url: {url}, password_env: PGBENCH, chunk_rows: {chunk_rows},"
                f" query: 'select * from sales'}}}}\n{SALES}")

    variants = {
        "file (csv, transactions:)": f"data: {{path: {csv}, read: {{dayfirst: true}}}}\n" + SALES,
        "sql lines, chunk_rows 50,000": lines(50_000),
        "sql lines, chunk_rows 500,000": lines(500_000),
    }
    paths = {}
    for name, body in variants.items():
        paths[name] = folder / f"{len(paths)}.yaml"
        paths[name].write_text(head + body)
    pushed = yaml.safe_load((ROOT / "configs" / "postgres_rfm.yaml").read_text())
    pushed["data"]["sql"].update(url=url, password_env="PGBENCH")
    paths["sql, aggregated by the database"] = folder / "pushed.yaml"
    paths["sql, aggregated by the database"].write_text(json.dumps(pushed, default=str))
    return paths


def measure(config: Path) -> tuple[float, float, str]:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "reportgen", "validate", str(config),
                              "--period", "2026-10"], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PGBENCH": PASSWORD})
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"reportgen validate failed on {config}")
    customers = output.split(" - ", 1)[1].split(" customers")[0]
    return time.perf_counter() - started, usage.ru_maxrss / 1024, customers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    lines = parser.parse_args().lines
    reason = postgres.why_unavailable()
    if reason:
        raise SystemExit(f"cannot benchmark: {reason}")
    csv = sales_file(lines)
    server = postgres.start()
    try:
        copied = load(server, csv)
        print(f"{lines:,} sales lines ({csv.stat().st_size / 1e6:.0f} MB csv) copied into "
              f"PostgreSQL in {copied:.1f} s\n")
        print("| source | customers | wall s | peak MB |\n|---|---|---|---|")
        with tempfile.TemporaryDirectory() as folder:
            for name, config in configs(Path(folder), server, csv).items():
                wall, peak, customers = measure(config)
                print(f"| {name} | {customers} | {wall:.1f} | {peak:.0f} |", flush=True)
    finally:
        postgres.stop(server)


if __name__ == "__main__":
    main()
