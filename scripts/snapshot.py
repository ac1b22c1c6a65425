"""What reportgen produces today, saved so that a refactor can prove it changes nothing.

Runs the example configs and a month-to-month series (refit, a k change, `refit: false`)
with HTML only, and writes each run's segments.csv and summary.json, less what differs
from run to run (timings, generation time, versions, the model file's hash and name),
into one folder:

    python scripts/snapshot.py /tmp/before        # on the old code
    python scripts/snapshot.py /tmp/after         # on the new code
    diff -r /tmp/before /tmp/after                # nothing: same outputs

Runs that need ../shared/data are skipped when it is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
VOLATILE = {"timings", "generated_at", "versions", "outputs", "model"}


def normalised(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without what changes from run to run or with the model's file format."""
    return {key: value for key, value in summary.items() if key not in VOLATILE}


def save(result: Any, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(result.folder / "segments.csv", into / "segments.csv")
    summary = json.loads((result.folder / "summary.json").read_text())
    (into / "summary.json").write_text(json.dumps(normalised(summary), indent=1,
                                                  sort_keys=True) + "\n")


def example_configs() -> list[Path]:
    configs = [ROOT / "configs" / n for n in ("sample.yaml", "transactions.yaml",
                                              "branded.yaml")]
    if SHARED.is_dir():
        configs += [ROOT / "configs" / n for n in ("mall_customers.yaml",
                                                  "marketing_campaign.yaml")]
    return configs


def month_series(work: Path, dest: Path) -> None:
    """Four months of the drifting sample: refit, refit, a k change, then refit: false."""
    from reportgen import run_report
    from reportgen.sample import drifting_months

    config = work / "config.yaml"
    config.write_text((ROOT / "configs" / "sample.yaml").read_text().replace(
        "../sample_data/customers.csv", "customers.csv").replace("../reports", "out"))
    plans = [("2026-08", {}), ("2026-09", {}), ("2026-10", {"segmentation.k": 4}),
             ("2026-11", {"segmentation.refit": False})]
    for (period, overrides), month in zip(plans, drifting_months(len(plans)), strict=True):
        month.frame.to_csv(work / "customers.csv", index=False)
        result = run_report(config, period=period, **{"output.formats": ["html"],
                                                      **overrides})
        save(result, dest / f"months-{period}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1795000000")
    sys.path.insert(0, str(ROOT))
    from reportgen import run_report

    with tempfile.TemporaryDirectory() as work:
        for config in example_configs():
            result = run_report(config, out=Path(work) / "out", period="2026-11",
                                **{"output.formats": ["html"]})
            save(result, args.dest / config.stem)
        month_series(Path(work), args.dest)
    print(f"snapshot written to {args.dest}")


if __name__ == "__main__":
    main()
