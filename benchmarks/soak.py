"""Soak: a long series of monthly runs with kill -9 at random points, as a cron host sees it.

Month after month of the drifting sample customers (reportgen's seeded generator) go
through `python -m reportgen run` as cron would start it. One run in `--kill-every` is
killed with SIGKILL at a random moment (seeded), then rerun. At the end:

- the report's archive lists every period exactly once, newest first;
- the history chain is unbroken: every period was compared with the one before it
  (summary.json `previous_period`), its ids carried over;
- no temporary file or folder is left anywhere under the output folder;
- every period folder is whole: report.html, segments.csv, summary.json, model.json.

    python benchmarks/soak.py                    # 36 periods, a kill in one run of three
    python benchmarks/soak.py --periods 12 --seed 3

tests/test_soak.py runs a short version of the same in CI.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CONFIG = """\
report: {name: soak, title: Soak test}
data: {path: customers.csv, id: customer_id}
features:
  numeric: [income, spending_score, purchase_frequency, last_purchase_amount]
  categorical: [preferred_category]
  profile: [age, gender]
  log: [last_purchase_amount]
segmentation: {k: [2, 6]}
personas: {preset: retail}
recommendations: {preset: retail}
output: {dir: out, formats: [html]}
"""
KEEP = (".reportgen.lock", ".reportgen-index.lock")
PERIOD_FILES = ("report.html", "segments.csv", "summary.json", "model.json")


@dataclass
class Soak:
    periods: list[str]
    runs: int = 0
    kills: int = 0
    killed_after: list[float] = field(default_factory=list)
    wall: float = 0.0
    problems: list[str] = field(default_factory=list)


def month_names(count: int, first_year: int = 2024) -> list[str]:
    return [f"{first_year + m // 12}-{m % 12 + 1:02d}" for m in range(count)]


def run(folder: Path, period: str, kill_after: float | None = None) -> int:
    """One cron run; with `kill_after`, SIGKILL it that many seconds in."""
    child = subprocess.Popen([sys.executable, "-m", "reportgen", "run", "config.yaml",
                              "--period", period], cwd=folder, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    if kill_after is not None:
        try:
            child.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
    _, err = child.communicate(timeout=600)
    if kill_after is None and child.returncode != 0:
        raise RuntimeError(f"run of {period} failed ({child.returncode}): {err.strip()}")
    return child.returncode


def soak(folder: Path, periods: int = 36, kill_every: int = 3, seed: int = 0,
         rows: int = 1_000) -> Soak:
    from reportgen.sample import drifting_months

    (folder / "config.yaml").write_text(CONFIG)
    rng = random.Random(seed)
    names = month_names(periods)
    result = Soak(names)
    started = time.perf_counter()
    typical = 3.0  # seconds a run takes here; kills land anywhere in it
    for index, (period, month) in enumerate(zip(names, drifting_months(periods, n=rows),
                                                strict=True)):
        month.frame.to_csv(folder / "customers.csv", index=False)
        if index % kill_every == kill_every - 1:
            moment = rng.uniform(0.2, typical)
            result.runs += 1
            if run(folder, period, kill_after=moment) == -signal.SIGKILL:
                result.kills += 1
                result.killed_after.append(moment)
        begun = time.perf_counter()
        run(folder, period)
        result.runs += 1
        typical = 0.8 * typical + 0.2 * (time.perf_counter() - begun)
    result.wall = time.perf_counter() - started
    result.problems = check(folder / "out", names)
    return result


def check(out: Path, periods: list[str]) -> list[str]:
    """What a user would find wrong in the output folder; empty when all is well."""
    problems = []
    report = out / "soak"
    index = (report / "index.html").read_text()
    listed = re.findall(r"<strong>(\d{4}-\d\d)</strong>", index)
    if listed != list(reversed(periods)):
        problems.append(f"the archive lists {listed}, expected each of {len(periods)} periods "
                        "once, newest first")
    for before, period in zip([None, *periods], periods, strict=False):
        folder = report / period
        missing = [name for name in PERIOD_FILES if not (folder / name).is_file()]
        if missing:
            problems.append(f"{period} lacks {', '.join(missing)}")
            continue
        summary = json.loads((folder / "summary.json").read_text())
        if summary.get("previous_period") != before:
            problems.append(f"{period} was compared with {summary.get('previous_period')}, "
                            f"not {before}")
        if before and not summary["continuity"]["carried_over"]:
            problems.append(f"{period} did not carry the ids over from {before}")
    leftovers = [str(p.relative_to(out)) for p in out.rglob(".*") if p.name not in KEEP]
    if leftovers:
        problems.append(f"temporary files left: {leftovers}")
    return problems


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=36)
    parser.add_argument("--kill-every", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = soak(Path(folder), args.periods, args.kill_every, args.seed, args.rows)
    print(f"periods {len(result.periods)}, runs {result.runs}, killed {result.kills} "
          f"(at {', '.join(f'{s:.1f}' for s in result.killed_after)} s), wall "
          f"{result.wall:.0f} s")
    print("problems: " + ("; ".join(result.problems) if result.problems else "none"))
    sys.exit(1 if result.problems else 0)


if __name__ == "__main__":
    main()
