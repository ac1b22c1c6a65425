"""Time the example reports stage by stage, as a user runs them.

Each config is run as a fresh subprocess (`python -m reportgen run`), cold (imports and
all), several times; the script prints wall time, per-stage seconds from summary.json
`timings`, peak RSS of the child, and output sizes. Run with `make bench`.
The mall and marketing-campaign configs need ../shared/data beside the checkout and are
skipped without it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {"sample": ROOT / "configs" / "sample.yaml",
           "transactions": ROOT / "configs" / "transactions.yaml",
           "mall": ROOT / "configs" / "mall_customers.yaml",
           "marketing-campaign": ROOT / "configs" / "marketing_campaign.yaml"}
SHARED = ROOT.parent / "shared" / "data"
NEEDS_SHARED = {"mall": SHARED / "Mall_Customers.csv",
                "marketing-campaign": SHARED / "marketing_campaign.csv"}
STAGES = ("config", "imports", "data", "features", "segmentation", "profiles", "personas",
          "recommendations", "charts", "html", "pdf", "files")


def run_once(config: Path, out: Path) -> dict:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "reportgen", "run", str(config), "--out",
                              str(out), "--period", "2000-01"], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"reportgen failed on {config}")
    peak_kb = usage.ru_maxrss
    summary_path = next(out.glob("*/2000-01/summary.json"))
    summary = json.loads(summary_path.read_text())
    folder = summary_path.parent
    return {"wall": wall, "timings": summary["timings"], "k": summary["k_selected"],
            "rows": summary["n_customers"], "peak_mb": peak_kb / 1024,
            "html_kb": (folder / "report.html").stat().st_size / 1024,
            "pdf_kb": (folder / "report.pdf").stat().st_size / 1024}


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
                runs.append(run_once(config, Path(out)))
        rows.append((name, runs))
    print_table(rows)


def print_table(rows: list[tuple[str, list[dict]]]) -> None:
    header = ["report", "rows", "k", "wall s", *STAGES, "peak MB", "html KB", "pdf KB"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, runs in rows:
        med = statistics.median
        cells = [name, f"{runs[0]['rows']:,}", str(runs[0]["k"]),
                 f"{med(r['wall'] for r in runs):.2f}"]
        cells += [f"{med(r['timings'].get(s, 0) for r in runs):.2f}" for s in STAGES]
        cells += [f"{max(r['peak_mb'] for r in runs):.0f}", f"{runs[0]['html_kb']:.0f}",
                  f"{runs[0]['pdf_kb']:.0f}"]
        print("| " + " | ".join(cells) + " |")
    print(f"\n(median of {len(rows[0][1]) if rows else 0} cold runs; peak MB: the largest "
          "resident memory of one run)")


if __name__ == "__main__":
    main()
