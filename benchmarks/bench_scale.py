"""`make bench`: every speed and scale target measured in one run, printed as one table.

Cases (data from reportgen's seeded generators, cached in benchmarks/.cache):
- the sample report (2,000 customers), cold, median of three runs;
- against the notebook way (benchmarks/notebook_way.py) on the same table and the same
  six numeric features, z-scored on both sides, at 20,000 and 100,000 customers: the
  notebook is run where n <= --notebook-limit and extrapolated above it from its largest
  run (its silhouette grows with n squared, its K-Means and the rest with n);
- 100,000, 300,000 and 1,000,000 customers x 8 features (6 numeric, 2 categorical), the
  scaling curve of docs/scaling.md; at 1M the same config is also run with the k sweep on
  every row, and the k and labels are compared (adjusted Rand index);
- 10,000,000 sales lines to an RFM report.

Every run is `python -m reportgen run` in a fresh process, HTML and PDF; peak MB is that
process's own maximum resident memory.

    python benchmarks/bench_scale.py                # everything (about 10 minutes)
    python benchmarks/bench_scale.py --quick        # no 1M full-sweep check, no 10M lines
    python benchmarks/bench_scale.py --notebook-limit 100000   # run the notebook at 100k
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from runner import (
    CUSTOMERS_CONFIG,
    HERE,
    ROOT,
    SALES_CONFIG,
    Run,
    customers_file,
    machine_speed,
    print_table,
    run_report,
    sales_file,
    write_config,
)

NUMERIC = ["age", "income", "spending_score", "membership_years", "purchase_frequency",
           "last_purchase_amount"]
CATEGORICAL = ["gender", "preferred_category"]
# The notebook comparison: the same six numeric columns, plain z-scores, on both sides.
NUMERIC_CONFIG = CUSTOMERS_CONFIG.replace(
    "  categorical: [gender, preferred_category]\n  log: [last_purchase_amount]\n", "")
STAGES = ("imports", "data", "features", "segmentation", "profiles", "charts", "html", "pdf",
          "files")
MB = 1024


@dataclass
class Notebook:
    rows: int
    seconds: float  # compute: everything after the imports
    k: int | None  # None: extrapolated, not run
    parts: dict[str, float]

    def scaled_to(self, rows: int) -> Notebook:
        """Its time at `rows`: silhouette by n^2, K-Means and the rest by n."""
        ratio = rows / self.rows
        parts = {name: value * (ratio ** 2 if name == "silhouette" else ratio)
                 for name, value in self.parts.items()}
        return Notebook(rows, sum(parts.values()), None, parts)


def run_notebook(data: Path) -> Notebook:
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            [sys.executable, str(HERE / "notebook_way.py"), str(data), "--numeric", *NUMERIC,
             "--png", str(Path(folder) / "notebook.png")],
            check=True, capture_output=True, text=True)
    report = json.loads(result.stdout)
    parts = {k: v for k, v in report["seconds"].items() if k != "imports"}
    return Notebook(report["rows"], sum(parts.values()), report["k"], parts)


def ours(folder: Path, template: str, data: Path, *args: str) -> Run:
    return run_report(write_config(folder, template, data), *args)


def adjusted_rand(a: Run, b: Run) -> float:
    from sklearn.metrics import adjusted_rand_score

    left = pd.read_csv(a.folder / "segments.csv", usecols=["id", "segment"])
    right = pd.read_csv(b.folder / "segments.csv", usecols=["id", "segment"])
    joined = left.merge(right, on="id", suffixes=("_sampled", "_full"))
    return float(adjusted_rand_score(joined["segment_sampled"], joined["segment_full"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="skip the 1M full-sweep check and the 10M sales lines")
    parser.add_argument("--notebook-limit", type=int, default=50_000,
                        help="largest n the notebook way is really run at (default 50,000)")
    args = parser.parse_args()
    speed_before = machine_speed()
    rows: list[list[str]] = []
    stages: list[tuple[str, Run]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sample_runs = [run_report(ROOT / "configs" / "sample.yaml", out=work / f"sample{i}")
                       for i in range(3)]
        sample = sorted(sample_runs, key=lambda r: r.wall)[1]
        rows.append(target_row("sample report, cold", sample, "<= 5 s",
                               sample.wall <= 5, statistics.median(r.wall for r in sample_runs)))
        stages.append(("sample", sample))

        measured: Notebook | None = None
        for n in (20_000, 100_000):
            data = customers_file(n)
            run = ours(work / f"numeric-{n}", NUMERIC_CONFIG, data)
            if n <= args.notebook_limit:
                measured = run_notebook(data)
                notebook = measured
            else:
                assert measured is not None, "the notebook must run at 20,000 at least"
                notebook = measured.scaled_to(n)
            need = 20 if n == 100_000 else 1
            ratio = notebook.seconds / run.wall
            same_k = notebook.k is None or notebook.k == run.k
            rows.append(target_row(
                f"{n:,} x 6 numeric vs notebook", run,
                f">= {need}x notebook, same k", ratio >= need and same_k, run.wall,
                notebook=notebook, ratio=ratio))
            stages.append((f"{n:,} numeric", run))

        for n in (100_000, 300_000, 1_000_000):
            run = ours(work / f"full-{n}", CUSTOMERS_CONFIG, customers_file(n))
            stages.append((f"{n:,} x 8", run))
            if n < 1_000_000:
                rows.append(target_row(f"{n:,} x 8 features", run, "HTML <= 2 MB, PDF <= 3 MB",
                                       sizes_ok(run), run.wall))
                continue
            check = ""
            met = run.wall <= 30 and run.peak_mb <= 2 * MB and sizes_ok(run)
            if not args.quick:
                full = ours(work / "full-sweep", CUSTOMERS_CONFIG, customers_file(n), "--set",
                            f"segmentation.sweep_sample={n}")
                ari = adjusted_rand(run, full)
                check = f"; full-data sweep: k={full.k} ({full.wall:.0f} s), ARI {ari:.3f}"
                met = met and full.k == run.k and ari >= 0.98
            rows.append(target_row("1,000,000 x 8 features", run,
                                   "<= 30 s, <= 2 GB, same k, ARI >= 0.98", met, run.wall,
                                   note=check))
        if not args.quick:
            run = ours(work / "sales", SALES_CONFIG, sales_file(10_000_000))
            rows.append(target_row(f"{run.summary['n_rows']:,} sales lines -> RFM", run,
                                   "<= 60 s, <= 3 GB",
                                   run.wall <= 60 and run.peak_mb <= 3 * MB and sizes_ok(run),
                                   run.wall))
            stages.append(("10M sales lines", run))
    speed_after = machine_speed()
    print_table(["case", "customers", "k", "wall s", "peak MB", "HTML KB", "PDF KB", "target",
                 "met", "notebook", "ratio"], rows)
    print()
    print_table(["run", "wall s", *STAGES],
                [[name, f"{run.wall:.1f}", *(f"{run.timings.get(s, 0):.2f}" for s in STAGES)]
                 for name, run in stages])
    print(f"\nmachine speed: {speed_before:.2f} s before, {speed_after:.2f} s after (10M "
          "Python additions; 0.5 s on a quiet machine, every time above scales with it)")


def sizes_ok(run: Run) -> bool:
    return run.size_kb("report.html") <= 2 * MB and run.size_kb("report.pdf") <= 3 * MB


def target_row(case: str, run: Run, target: str, met: bool, wall: float, *,
               notebook: Notebook | None = None, ratio: float | None = None,
               note: str = "") -> list[str]:
    nb = ""
    if notebook is not None:
        nb = (f"{notebook.seconds:.1f} s, k={notebook.k}" if notebook.k is not None
              else f"not feasible: ~{notebook.seconds / 60:.0f} min extrapolated")
    return [case, f"{run.customers:,}", str(run.k), f"{wall:.1f}", f"{run.peak_mb:.0f}",
            f"{run.size_kb('report.html'):.0f}", f"{run.size_kb('report.pdf'):.0f}",
            target + note, "yes" if met else "NO", nb,
            f"{ratio:.0f}x" if ratio is not None else ""]


if __name__ == "__main__":
    main()
