"""The shortest a run can take on this machine, from its parts (issue 32's open targets).

    python benchmarks/bench_bound.py             # the sample: cold run with the PDF, serve
    python benchmarks/bench_bound.py --million   # also the 1M-customer report, to its floor

A run's steps depend on each other in one chain: the interpreter and the config, the
heavy imports (pandas, scikit-learn, Altair), the stages up to the charts (data, features,
the k sweep with its stability refits, profiles), then the PDF process's conversion of
the last chart (vl-convert) and WeasyPrint's layout and drawing of the whole page, which
needs every chart. The PDF process loads WeasyPrint and converts the other charts beside
that chain, so it is not counted. Each part is measured alone, at its fastest:

- start: a fresh `python` that loads the CLI and the config (min of 3);
- imports: the imports stage of a cold HTML-only run of the sample (min of 3);
- stages: a second run in this process (nothing left to import or to warm), per stage;
- one chart: the quickest of the report's charts through vl-convert, engine warm;
- PDF: WeasyPrint on the report's own PDF page with its charts in, warm (min of 3).

Their sum is a lower bound: no ordering of this work beats it, and the cold runs of
bench_iterate.py and bench_busy.py, which pay the first-call costs, sit above it. It is
printed beside the issue's targets, so a target below the bound cannot be met without
doing less work (fewer K-Means fits, a shorter PDF) or a faster library.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from bench_busy import floor_seconds
from bench_iterate import user_env
from runner import CUSTOMERS_CONFIG, ROOT, customers_file, machine_speed, print_table
from runner import write_config as write_bench_config

REPEATS = 3
CHAIN = ("data", "value", "lift", "features", "segmentation", "profiles", "changes",
         "personas", "recommendations", "charts")  # summary.json timings, in run order
START = ("import sys; from reportgen.api import load_config; load_config(sys.argv[1])")


def fresh_process_seconds(code: str, *args: str) -> float:
    """The fastest of REPEATS fresh interpreters running `code` (bytecode cached, as on a
    user's machine), from fork to exit."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, *args], check=True, env=user_env(),
                       cwd=ROOT)
        times.append(time.perf_counter() - started)
    return min(times)


def cold_imports_seconds(out: Path) -> float:
    """The quickest imports stage of REPEATS cold HTML-only runs of the sample (the same
    import line whatever the data, so the 1M figure uses it too)."""
    times = []
    for attempt in range(REPEATS):
        folder = out / f"cold-{attempt}"
        subprocess.run([sys.executable, "-m", "reportgen", "run",
                        str(ROOT / "configs/sample.yaml"), "--out", str(folder), "--period",
                        "2026-11", "--set", "output.formats=[html]"], check=True,
                       env=user_env(), cwd=ROOT, stdout=subprocess.DEVNULL)
        summary = json.loads(next(folder.glob("*/2026-11/summary.json")).read_text())
        times.append(summary["timings"]["imports"])
    return min(times)


class Recorded:
    """What the run sent its PDF process: the charts and the PDF's page."""

    charts: ClassVar[list[tuple[str, dict[str, Any], bool]]] = []
    page: ClassVar[tuple[str, str, list[Path]] | None] = None


def recording_worker() -> None:
    """The PDF process as the run starts it, keeping a copy of what it is sent."""
    from reportgen.report import pdfworker

    if getattr(pdfworker.PdfWorker, "recording", False):
        return

    class RecordingWorker(pdfworker.PdfWorker):
        recording = True

        def paint(self, chart_id: str, spec: dict[str, Any], raster: bool) -> None:
            Recorded.charts.append((chart_id, spec, raster))
            super().paint(chart_id, spec, raster)

        def start_pdf(self, page: str, base_url: str, allowed: Any, path: Path) -> None:
            Recorded.page = (page, base_url, list(allowed))
            super().start_pdf(page, base_url, allowed, path)

    pdfworker.PdfWorker = RecordingWorker  # type: ignore[misc]


def warm_stages(config: Path, out: Path) -> dict[str, float]:
    """The chain's stages on a second run in this process (the first one warms it)."""
    from reportgen.api import run_report

    recording_worker()
    run_report(config, out=out / "first", period="2026-11")
    Recorded.charts.clear()
    result = run_report(config, out=out / "second", period="2026-11")
    return result.summary["timings"]


def quickest_chart() -> float:
    from reportgen.report import pdfworker

    version = pdfworker.vl_version()
    pdfworker.paint(*Recorded.charts[0][1:], version)  # starts vl-convert's engine
    times = []
    for _, spec, raster in Recorded.charts:
        started = time.perf_counter()
        pdfworker.paint(spec, raster, version)
        times.append(time.perf_counter() - started)
    return min(times)


def pdf_seconds(out: Path) -> float:
    """WeasyPrint alone on the run's PDF page, its charts converted as the run does."""
    from reportgen.report import pdfworker

    assert Recorded.page is not None, "the run drew no PDF: is pdf in output.formats?"
    page, base_url, allowed = Recorded.page
    for chart_id, spec, raster in Recorded.charts:
        image = pdfworker.paint(spec, raster, pdfworker.vl_version())
        page = page.replace(pdfworker.placeholder(chart_id), image)
    times = []
    for attempt in range(REPEATS + 1):  # the first warms WeasyPrint's fonts and caches
        started = time.perf_counter()
        pdfworker.draw_pdf(page, base_url, allowed, out / f"bound-{attempt}.pdf")
        times.append(time.perf_counter() - started)
    return min(times[1:])


def bound(config: Path, out: Path, imports: float) -> dict[str, float]:
    Recorded.charts.clear()
    parts = {"start": fresh_process_seconds(START, str(config)), "imports": imports}
    timings = warm_stages(config, out)
    parts.update({stage: timings.get(stage, 0.0) for stage in CHAIN})
    parts["html"] = timings.get("html", 0.0)
    parts["one chart"] = quickest_chart()
    parts["pdf"] = pdf_seconds(out)
    return parts


def report(name: str, parts: dict[str, float], targets: dict[str, float]) -> None:
    charts = parts["start"] + parts["imports"] + sum(parts[s] for s in CHAIN)
    least = {"page": charts + parts["html"],
             "PDF": charts + parts["one chart"] + parts["pdf"]}
    rows = [[step, f"{seconds:.2f}"] for step, seconds in parts.items() if seconds >= 0.005]
    rows += [["**the HTML page (serve's first page, less its HTTP)**", f"{least['page']:.2f}"],
             ["**a run with its PDF**", f"{least['PDF']:.2f}"]]
    print(f"\n{name}")
    print_table(["step", "seconds, at least"], rows)
    for what, target in targets.items():
        bound_s = least["PDF" if "PDF" in what else "page"]
        verdict = ("within reach" if bound_s <= target
                   else "the bound is above the target: not reachable with this work")
        print(f"- {what}: target {target:.2f} s, bound {bound_s:.2f} s: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true",
                        help="also the 1M-customer report (HTML + PDF), against its floor")
    args = parser.parse_args()
    print(f"machine speed: {machine_speed():.2f} s for 10M additions (0.5: quiet)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        imports = cold_imports_seconds(out)
        sample = bound(ROOT / "configs/sample.yaml", out / "sample", imports)
        report("The sample (2,000 customers)", sample,
               {"sample cold, with the PDF": 4.0, "serve's first page": 2.5})
        if args.million:
            data = customers_file(1_000_000)
            config = write_bench_config(out / "million", CUSTOMERS_CONFIG, data)
            floor = floor_seconds(data, 5)
            print(f"\nfloor (read, scale, one K-Means at k=5): {floor:.2f} s")
            report("1M customers", bound(config, out / "million", imports),
                   {"the whole report with the PDF, at most 3x the floor": 3 * floor})


if __name__ == "__main__":
    main()
