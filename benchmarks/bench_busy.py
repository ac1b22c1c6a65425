"""The 1M-customer report on a busy machine (issue 32): quiet, with one core spinning, and
beside another reportgen run, each against the compute floor.

    python benchmarks/bench_busy.py                  # 1M customers, 8 features, HTML + PDF
    python benchmarks/bench_busy.py --rows 200000 --repeat 1

The floor is what no report can beat: read the CSV, fill the missing values, scale the
clustering columns and fit one K-Means at the true k, in a fresh process. "One core
spinning" is a Python busy loop in another process, started and stopped by this script;
"beside another run" starts a second `reportgen run` of the same config (to its own
folder) with the measured one. Each cell is the median of --repeat runs; the ratios are
to the floor and to the quiet run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runner import (
    CUSTOMERS_CONFIG,
    PERIOD,
    Run,
    customers_file,
    machine_speed,
    print_table,
    run_report,
    write_config,
)

FLOOR = """
import sys, time
start = time.perf_counter()
import numpy as np, pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import OneHotEncoder, StandardScaler
frame = pd.read_csv(sys.argv[1])
numeric = ["age", "income", "spending_score", "membership_years", "purchase_frequency",
           "last_purchase_amount"]
values = frame[numeric].fillna(frame[numeric].median()).to_numpy(float)
values[:, -1] = np.log1p(values[:, -1])
matrix = np.hstack([StandardScaler().fit_transform(values),
                    OneHotEncoder().fit_transform(
                        frame[["gender", "preferred_category"]].fillna("missing")).toarray()])
KMeans(n_clusters=int(sys.argv[2]), n_init=1, random_state=0).fit(matrix)
print(time.perf_counter() - start)
"""
SPIN = "while True:\n    pass\n"


def floor_seconds(data: Path, k: int) -> float:
    done = subprocess.run([sys.executable, "-c", FLOOR, str(data), str(k)], check=True,
                          capture_output=True, text=True)
    return float(done.stdout.strip())


@contextmanager
def spinning_core() -> Iterator[None]:
    """Another process keeping one core busy for as long as the block runs."""
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        time.sleep(0.5)
        yield
    finally:
        spinner.kill()
        spinner.wait()


def quiet(config: Path, folder: Path) -> Run:
    return run_report(config, out=folder / "quiet")


def beside_spinning_core(config: Path, folder: Path) -> Run:
    with spinning_core():
        return run_report(config, out=folder / "spinning")


def beside_another_run(config: Path, folder: Path) -> Run:
    """Both runs started together; the measured one is timed as any other."""
    other = subprocess.Popen([sys.executable, "-m", "reportgen", "run", str(config),
                              "--period", PERIOD, "--out", str(folder / "other")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return run_report(config, out=folder / "beside")
    finally:
        other.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--k", type=int, default=5, help="the generator's groups")
    args = parser.parse_args()
    data = customers_file(args.rows)
    print(f"machine speed: {machine_speed():.2f} s for 10M additions (0.5: quiet)")
    rows, quiet_times = [], None
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), CUSTOMERS_CONFIG, data)
        floors = [floor_seconds(data, args.k) for _ in range(args.repeat)]
        floor = statistics.median(floors)
        print(f"floor (read, scale, one K-Means at k={args.k}): {floor:.1f} s "
              f"({', '.join(f'{f:.1f}' for f in floors)})")
        for name, how in (("quiet", quiet), ("one core spinning", beside_spinning_core),
                          ("beside another reportgen run", beside_another_run)):
            runs = []
            for attempt in range(args.repeat):
                folder = Path(tmp) / f"{name[:5]}{attempt}"
                runs.append(how(config, folder))
            whole = statistics.median(r.wall for r in runs)
            segmentation = statistics.median(r.timings["segmentation"] for r in runs)
            if quiet_times is None:
                quiet_times = (whole, segmentation)
            rows.append([name, f"{whole:.1f}", f"{whole / floor:.1f}x",
                         f"{whole / quiet_times[0]:.2f}x", f"{segmentation:.1f}",
                         f"{segmentation / quiet_times[1]:.2f}x",
                         f"{statistics.median(r.timings['imports'] for r in runs):.1f}",
                         f"{statistics.median(r.timings['features'] for r in runs):.1f}",
                         f"{statistics.median(r.timings['files'] for r in runs):.1f}",
                         f"{statistics.median(r.timings['pdf'] for r in runs):.1f}"])
    print_table(["condition", "whole report s", "to the floor", "to quiet",
                 "segmentation s", "to quiet", "imports s", "features s", "files s", "pdf s"],
                rows)


if __name__ == "__main__":
    main()
