"""Month over month at scale: what carrying segments over and "what changed" cost.

Writes two months of drifting sample customers (reportgen's own seeded generator, cached
in benchmarks/.cache), runs the sample config on both as subprocesses (HTML only, so the
PDF does not blur the picture), and prints the second month's stages from summary.json
`timings`: `segmentation` includes matching the new segments to the old (one transform of
every row into the old model's space and a k x k assignment), `changes` reads the old
segments.csv and builds the migration matrix.

    python benchmarks/bench_history.py                 # 100,000 customers
    python benchmarks/bench_history.py --rows 1000000
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
PERIODS = ("2026-10", "2026-11")


def month_files(rows: int) -> list[Path]:
    paths = [CACHE / f"months-{rows}-{p}.csv" for p in PERIODS]
    if all(p.is_file() for p in paths):
        return paths
    sys.path.insert(0, str(ROOT))
    from reportgen.sample import drifting_months

    CACHE.mkdir(parents=True, exist_ok=True)
    for path, month in zip(paths, drifting_months(len(PERIODS), n=rows), strict=True):
        month.frame.to_csv(path, index=False)
    return paths


def run(config: Path, period: str) -> tuple[float, dict, float]:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reportgen", "run", str(config), "--period", period],
                   check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = json.loads((config.parent / "out" / "sample" / period / "summary.json")
                         .read_text())
    return wall, summary, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    files = month_files(args.rows)
    config_text = (ROOT / "configs" / "sample.yaml").read_text().replace(
        "../reports", "out")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "config.yaml"
        for period, data in zip(PERIODS, files, strict=True):
            config.write_text(config_text.replace("../sample_data/customers.csv", str(data))
                              .replace("output:", "output:\n  formats: [html]"))
            wall, summary, peak = run(config, period)
        timings = summary["timings"]
        migration = summary["migration"]
        print(f"{args.rows:,} customers, second month: {wall:.1f} s wall, peak {peak:,.0f} MB")
        print("  " + ", ".join(f"{stage} {timings[stage]:.2f} s" for stage in
                               ("data", "features", "segmentation", "profiles", "changes",
                                "charts", "html")))
        kept = sum(c["status"] == "kept" for c in summary["changes"]["segments"])
        print(f"  {kept} of {summary['k_selected']} segments kept their id; "
              f"{migration['returning']:,} returning customers, "
              f"{migration['stayed'] / migration['returning']:.1%} stayed in their segment")


if __name__ == "__main__":
    main()
