"""Runs that overlap, as on a busy cron host: real processes started together, round after
round. Two runs of one report: one writes, the other stops with its documented line (or
queues with --wait); two reports finishing together both appear in the shared index; no
entry is lost, no file is half written, and every exit code is 0 or that one 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from helpers import SMALL_CONFIG, blobs_frame, write_config

ROUNDS = int(os.environ.get("REPORTGEN_CONCURRENCY_ROUNDS", "8"))  # 20 or more for a soak
REFUSED = re.compile(r"error: another run of report alpha is in progress \(pid \d+, started "
                     r"\d\d:\d\d\); wait for it to finish, or pass --wait SECONDS to queue "
                     r"behind it")


def period(round_: int) -> str:
    return f"{2030 + round_ // 12}-{round_ % 12 + 1:02d}"


def start(folder: Path, config: str, month: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reportgen", "run", config, "--period",
                             month, *extra], cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def periods_listed(index: Path) -> list[str]:
    return re.findall(r"<strong>(\d{4}-\d\d)</strong>", index.read_text())


def whole(page: Path) -> bool:
    return page.read_text().rstrip().endswith("</html>")


def test_overlapping_runs_lose_nothing_and_exit_as_documented(tmp_path):
    blobs_frame().drop(columns="group").to_csv(tmp_path / "customers.csv", index=False)
    for name in ("alpha", "beta"):
        write_config(tmp_path, SMALL_CONFIG.replace("name: small", f"name: {name}").replace(
            "k: [2, 5]", "k: 3"), name=f"{name}.yaml")
    out = tmp_path / "out"
    refused = 0
    for round_ in range(ROUNDS):
        month = period(round_)
        runs = [start(tmp_path, "alpha.yaml", month), start(tmp_path, "alpha.yaml", month),
                start(tmp_path, "beta.yaml", month)]
        if round_ % 4 == 3:  # now and then a rerun that queues instead of stopping
            runs.append(start(tmp_path, "alpha.yaml", month, "--wait", "120"))
        results = [(run.wait(timeout=300), *run.communicate()) for run in runs]
        codes = [code for code, _, _ in results]
        assert codes[2] == 0 and all(c == 0 for c in codes[3:]), results
        for code, _, err in results[:2]:
            assert code in (0, 2), err
            if code == 2:
                assert REFUSED.fullmatch(err.strip()), err
        assert 0 in codes[:2] + codes[3:], "a run of alpha wrote the period"
        refused += codes[:2].count(2)
        done = [period(r) for r in range(round_ + 1)][::-1]
        for report in ("alpha", "beta"):
            assert periods_listed(out / report / "index.html") == done, (round_, report)
            assert whole(out / report / "index.html")
            folder = out / report / month
            assert json.loads((folder / "summary.json").read_text())["period"] == month
            assert json.loads((folder / "model.json").read_text())["period"] == month
            assert whole(folder / "report.html")
        root = (out / "index.html").read_text()
        assert whole(out / "index.html") and "alpha" in root and "beta" in root
        hidden = [p.name for p in out.rglob(".*") if not p.name.endswith(".lock")]
        assert hidden == [], hidden
    assert refused >= ROUNDS // 2, f"the runs overlapped in only {refused} of {ROUNDS} rounds"
