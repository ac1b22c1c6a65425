"""The PDF process: its failures reach the run as clear errors, and it never outlives it."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from reportgen.errors import OutputError
from reportgen.report.pdfworker import PdfWorker, placeholder

PAGE = "<html><body><h1>Segments</h1><img src='{}' alt='chart'></body></html>"
SPEC = {"mark": "bar", "data": {"values": [{"a": "x", "b": 1}, {"a": "y", "b": 2}]},
        "encoding": {"x": {"field": "a", "type": "nominal"},
                     "y": {"field": "b", "type": "quantitative"}}}


@pytest.fixture
def worker():
    started = PdfWorker()
    yield started
    started.close()


def test_charts_sent_ahead_are_drawn_into_the_pdf(worker, tmp_path):
    from pypdf import PdfReader

    worker.paint("chart-bars", SPEC, False)
    target = tmp_path / "report.pdf"
    worker.write_pdf(PAGE.format(placeholder("chart-bars")), str(tmp_path), [tmp_path],
                     target)
    text = PdfReader(target).pages[0].extract_text()
    assert "Segments" in text and "x" in text and "y" in text  # the bar chart's labels


def test_a_failed_write_in_the_pdf_process_is_an_os_error_in_the_run(worker, tmp_path):
    """The run turns OSError into its one-line "writing the report" error (full disk)."""
    with pytest.raises(FileNotFoundError):
        worker.write_pdf(PAGE.format(""), str(tmp_path), [tmp_path],
                         tmp_path / "gone" / "report.pdf")


def test_a_dead_pdf_process_is_one_clear_error(worker, tmp_path):
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait()
    with pytest.raises(OutputError, match=r"the PDF renderer stopped unexpectedly \(exit "
                                          r"code -9\); run again"):
        worker.write_pdf(PAGE.format(""), str(tmp_path), [tmp_path], tmp_path / "r.pdf")


def test_the_pdf_process_dies_with_its_parent(tmp_path):
    """kill -9 of the run must not leave a PDF process drawing into a removed folder."""
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", (
        "from reportgen.report.pdfworker import PdfWorker; import sys, time; "
        "w = PdfWorker(); print(w.process.pid, flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert Path(f"/proc/{child}").exists()
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for init to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_slimmed_chart_svgs_draw_the_same_pixels_with_far_fewer_nodes():
    """The PDF's SVGs (svgslim.py): every chart of a report, slimmed, rasterised against
    Vega's own SVG; a histogram series is one path."""
    import io

    import handmade
    import vl_convert as vlc
    from PIL import Image, ImageChops

    from reportgen.report.chartset import build_charts
    from reportgen.report.pdfworker import vl_version
    from reportgen.report.svgslim import slim_svg

    for chart in build_charts(handmade.content()).values():
        if chart.raster:
            continue
        svg = vlc.vegalite_to_svg(chart.spec, vl_version=vl_version())
        slim = slim_svg(svg)
        assert slim.count("<") < 0.75 * svg.count("<"), chart.id
        before, after = (Image.open(io.BytesIO(vlc.svg_to_png(s, scale=2))).convert("L")
                         for s in (svg, slim))
        assert before.size == after.size
        # Only the seams where two bars of a series touch differ: drawn apart, both bars'
        # anti-aliased edges overlap there and show a faint line that one path does not.
        counts = ImageChops.difference(before, after).histogram()
        assert sum(counts[25:]) == 0, chart.id
        assert sum(counts[1:]) < 0.005 * before.size[0] * before.size[1], chart.id
    histogram = slim_svg(vlc.vegalite_to_svg(build_charts(handmade.content())["dist-1"].spec,
                                             vl_version=vl_version()))
    bars = re.findall(r'<path fill="[^"]+" opacity="0.75" d=', histogram)
    assert len(bars) == 2 * 2  # a path per series (segment, everyone) in each of 2 panels


def test_a_slimmed_svg_keeps_plain_svg_tags_once_weasyprint_is_loaded():
    """The PDF process loads WeasyPrint, which takes ElementTree's empty prefix for its own
    metadata: the charts must still come out as <svg>, <path>, not <ns0:svg>."""
    import vl_convert as vlc
    import weasyprint.pdf.metadata  # noqa: F401 - what the PDF process has loaded

    from reportgen.report.svgslim import slim_svg

    spec = {"mark": "bar", "data": {"values": [{"x": 1}, {"x": 2}]},
            "encoding": {"x": {"field": "x", "type": "quantitative"}}}
    slim = slim_svg(vlc.vegalite_to_svg(spec))
    assert slim.startswith("<svg ") and "<path " in slim and "ns0" not in slim
