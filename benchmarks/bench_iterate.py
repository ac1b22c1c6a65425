"""How long an analyst waits: a cold `reportgen run` of the sample, `reportgen serve`'s
first page (issue 32) and its re-render after an edit (issue 18). Medians of 5, with a
calibration figure so that runs on different machines (or on a busy one) can be compared.

    python benchmarks/bench_iterate.py             # cold runs, serve re-renders, watch latency
    python benchmarks/bench_iterate.py --million   # also the 1M-customer run (HTML + PDF)

Cold runs are `python -m reportgen run` subprocesses with bytecode caching on, as on a
user's machine (this project's CI sets PYTHONDONTWRITEBYTECODE, which would make every
run compile reportgen's own sources again); one unmeasured run first fills the caches.
The serve figures time `Preview.render()` in this process after one full render, the
way `reportgen serve` calls it on each save.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from runner import CUSTOMERS_CONFIG, ROOT, customers_file
from runner import run_report as timed_run
from runner import write_config as write_bench_config

REPEATS = 5


def calibration() -> tuple[float, float]:
    """Seconds for a fixed pure-Python loop and a fixed NumPy product on this machine
    (2026-12-02, the 2-core 24 GB machine of the README's table: about 0.33 s and 0.20 s)."""
    import numpy as np

    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i % 7
    python = time.perf_counter() - started
    matrix = np.random.default_rng(0).random((1500, 1500))
    started = time.perf_counter()
    for _ in range(3):
        matrix @ matrix
    return python, time.perf_counter() - started


def user_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def cold_run(folder: Path, formats: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reportgen", "run", str(ROOT / "configs/sample.yaml"),
                    "--out", str(folder), "--period", "2026-11", "--set",
                    f"output.formats={formats}"], check=True, env=user_env(),
                   cwd=folder, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def serve_first_page(folder: Path) -> float:
    """Seconds from starting `reportgen serve` on the sample to its first page with the
    report in it, read over HTTP as the browser would (the process is then stopped)."""
    import re
    import signal
    import urllib.request

    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "reportgen", "serve", str(ROOT / "configs/sample.yaml"),
         "--port", "0", "--period", "2026-11"], stderr=subprocess.PIPE, text=True,
        env=user_env(), cwd=folder)
    try:
        assert process.stderr is not None
        url = None
        while url is None and (line := process.stderr.readline()):
            found = re.search(r"at (http://\S+/) ", line)
            url = found.group(1) if found else None
        assert url is not None, "serve printed no address"
        while time.perf_counter() - started < 60:
            with urllib.request.urlopen(url, timeout=10) as reply:
                if b"Customer segments" in reply.read():
                    return time.perf_counter() - started
            time.sleep(0.02)
        raise AssertionError("serve showed no report within 60 s")
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


def median_of(measure: Callable[[], float], repeats: int = REPEATS) -> tuple[float, list[float]]:
    times = [measure() for _ in range(repeats)]
    return statistics.median(times), times


def serve_figures(folder: Path) -> dict[str, tuple[float, list[float]]]:
    from reportgen.serve import Preview

    project = folder / "serve"
    shutil.copytree(ROOT / "configs", project / "configs")
    shutil.copytree(ROOT / "sample_data", project / "sample_data")
    config = project / "configs" / "sample.yaml"
    text = config.read_text(encoding="utf-8").replace(
        "personas:\n  preset: retail\n",
        "personas:\n  preset: retail\n  rules:\n    - when: {income: high}\n"
        "      name: Premium patrons\n")
    config.write_text(text, encoding="utf-8")
    preview = Preview(config, "2026-11")
    preview.render()
    edits = {"rule edit (a persona's name)": ("name: Premium patrons", "name: Gold circle"),
             "k edit (segmentation.k)": ("k: [2, 10]", "k: [2, 9]"),
             "feature edit (features.log)": ("log: [last_purchase_amount]", "log: []")}
    out = {}
    for label, (old, new) in edits.items():
        state = {"text": config.read_text(encoding="utf-8")}

        def one(old: str = old, new: str = new, state: dict = state,
                label: str = label) -> float:
            state["text"] = (state["text"].replace(old, new) if old in state["text"]
                             else state["text"].replace(new, old))
            config.write_text(state["text"], encoding="utf-8")
            started = time.perf_counter()
            stages, _ = preview.render()
            assert stages != "rules and page" or "rule" in label, (label, stages)
            return time.perf_counter() - started

        out[label] = median_of(one)
    return out


def watch_latency(folder: Path) -> tuple[float, list[float]]:
    """Seconds from a config's write to watchfiles reporting it (serve's debounce: 50 ms
    of quiet after the last write)."""
    import watchfiles

    target = folder / "watched.yaml"
    target.write_text("a: 1\n", encoding="utf-8")
    times: list[float] = []
    stop = threading.Event()
    seen = threading.Event()

    def watch() -> None:
        for _ in watchfiles.watch(folder, debounce=400, step=50, stop_event=stop):
            seen.set()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    time.sleep(0.5)
    for i in range(REPEATS):
        seen.clear()
        started = time.perf_counter()
        target.write_text(f"a: {i}\n", encoding="utf-8")
        seen.wait(5)
        times.append(time.perf_counter() - started)
        time.sleep(0.3)
    stop.set()
    return statistics.median(times), times


def million(folder: Path) -> None:
    config = write_bench_config(folder / "million", CUSTOMERS_CONFIG, customers_file(1_000_000))
    runs = [timed_run(config) for _ in range(3)]
    walls = sorted(r.wall for r in runs)
    print(f"1M customers, HTML + PDF: median {walls[1]:.1f} s of 3 "
          f"({', '.join(f'{w:.1f}' for w in walls)}), peak {max(r.peak_mb for r in runs):,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--million", action="store_true", help="also the 1M-customer run")
    args = parser.parse_args()
    python, numpy = calibration()
    print(f"calibration: pure Python loop {python:.2f} s, NumPy product {numpy:.2f} s")
    with tempfile.TemporaryDirectory(prefix="bench-iterate-") as tmp:
        folder = Path(tmp)
        cold_run(folder, "[html,pdf]")  # compiles bytecode, fills the Vega bundle cache
        print("| what (sample, 2,000 customers) | median of 5 | the five |")
        print("|---|---|---|")
        for label, formats in (("cold run, HTML + PDF", "[html,pdf]"),
                               ("cold run, HTML only", "[html]")):
            median, times = median_of(lambda f=formats: cold_run(folder, f))
            print(f"| {label} | {median:.2f} s | {', '.join(f'{t:.2f}' for t in times)} |")
        median, times = median_of(lambda: serve_first_page(folder))
        print(f"| serve, first page (start to the report over HTTP) | {median:.2f} s | "
              f"{', '.join(f'{t:.2f}' for t in times)} |")
        for label, (median, times) in serve_figures(folder).items():
            print(f"| serve, re-render after a {label} | {median:.2f} s | "
                  f"{', '.join(f'{t:.2f}' for t in times)} |")
        median, times = watch_latency(folder)
        print(f"| serve, a save seen by watchfiles | {median * 1000:.0f} ms | "
              f"{', '.join(f'{t * 1000:.0f}' for t in times)} |")
        if args.million:
            million(folder)


if __name__ == "__main__":
    main()
