"""The shape of the package, for a refactor's before/after: module sizes, function lengths,
and the modules a run of the sample report passes through on its way to report.pdf.

    python scripts/code_shape.py            # tables on stdout
    python scripts/code_shape.py --no-run   # sizes only
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reportgen"
TRACER = """
import sys, threading
seen = set()
def tracer(frame, event, arg):
    name = frame.f_code.co_filename
    if event == "call" and "/reportgen/" in name and name.endswith(".py"):
        seen.add(frame.f_code.co_filename)
    return None
sys.setprofile(tracer)
threading.setprofile(tracer)
from reportgen.cli import main
try:
    main(sys.argv[1:])
finally:
    sys.setprofile(None)
    with open({out!r}, "w") as handle:
        handle.write("\\n".join(sorted(seen)))
"""


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def relative(path: Path | str) -> str:
    return str(Path(path).resolve().relative_to(PACKAGE.parent))


def shape() -> None:
    sizes = [(relative(p), len(p.read_text(encoding="utf-8").splitlines())) for p in modules()]
    lengths = [(relative(p), name, n) for p in modules() for name, n in functions(p)]
    folders = sorted({str(Path(m).parent) for m, _ in sizes})
    print(f"modules: {len(sizes)} in {len(folders)} folders; lines: "
          f"{sum(n for _, n in sizes):,}; over 400 lines: "
          f"{', '.join(f'{m} ({n})' for m, n in sizes if n > 400) or 'none'}")
    print("| lines | modules |\n|---|---|")
    for low, high in ((0, 100), (101, 200), (201, 300), (301, 400), (401, 10_000)):
        print(f"| {low}-{high if high < 10_000 else ''} | "
              f"{sum(low <= n <= high for _, n in sizes)} |")
    values = [n for _, _, n in lengths]
    print(f"\nfunctions: {len(values)}; median {statistics.median(values):g} lines, "
          f"90th percentile {sorted(values)[int(len(values) * 0.9)]}, max {max(values)}")
    print("| lines | functions |\n|---|---|")
    for low, high in ((1, 10), (11, 20), (21, 30), (31, 40), (41, 10_000)):
        print(f"| {low}-{high if high < 10_000 else ''} | "
              f"{sum(low <= n <= high for n in values)} |")
    longest = sorted(lengths, key=lambda t: -t[2])[:8]
    print("longest: " + ", ".join(f"{m}:{f} ({n})" for m, f, n in longest))


def crossed() -> None:
    """Run the sample report (HTML and PDF) with a profiler hook that records every
    reportgen module whose code runs, in the run's own process."""
    with tempfile.TemporaryDirectory() as work:
        seen = Path(work) / "seen.txt"
        subprocess.run([sys.executable, "-c", TRACER.format(out=str(seen)), "run",
                        str(ROOT / "configs" / "sample.yaml"), "--out", work, "--period",
                        "2026-11"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        names = [relative(p) for p in seen.read_text().split()]
    print(f"\nmodules whose code runs from `reportgen run` to report.pdf: {len(names)}")
    print(", ".join(names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true")
    args = parser.parse_args()
    shape()
    if not args.no_run:
        crossed()


if __name__ == "__main__":
    main()
