"""The PDF is drawn in a second process, so that drawing it overlaps the rest of the run.

vl-convert and WeasyPrint are CPU work that holds the GIL (a thread would only take turns
with the main one), and together they were half of a sample run. A child process, started
as soon as the config is valid, imports them and starts vl-convert's JavaScript engine
while the main process imports pandas and scikit-learn and clusters the data; it converts
each chart as soon as the main process has built it, and lays out the PDF while the main
process writes the HTML, segments.csv and the model. On two cores that takes the PDF's
start-up (about 2 s) and the data files off the critical path.

The child speaks pickle over its stdin and stdout (it is our own process, started from
our own interpreter):
    ("chart", id, spec, raster)                   convert now, keep the data: URL
    ("pdf", page, base_url, allowed, path)        substitute the charts, write the PDF
and answers a "pdf" message with ("done",), ("fetch", url), ("oserror", errno, text,
file) or ("error", traceback). It dies with its parent (PR_SET_PDEATHSIG) and on end of
input.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import pickle
import queue
import re
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

from reportgen.errors import OutputError
from reportgen.report.svgslim import slim_svg

if TYPE_CHECKING:
    from reportgen.report.chartset import ChartSpec

RASTER_SCALE = 2
PLACEHOLDER = "reportgen-chart:{}:end"  # where a chart's data: URL goes in the PDF page


def placeholder(chart_id: str) -> str:
    return PLACEHOLDER.format(chart_id)


class PdfWorker:
    """The parent's handle on the child; `close()` always, even when the run fails."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reportgen.report.pdfworker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._allowed: list[Path] = []
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._sender = threading.Thread(target=self._pump, name="reportgen-pdf-sender",
                                        daemon=True)
        self._sender.start()

    def paint(self, chart_id: str, spec: dict[str, Any], raster: bool) -> None:
        self._send(("chart", chart_id, spec, raster))

    def paint_chart(self, chart: ChartSpec) -> None:
        self.paint(chart.id, chart.spec, chart.raster)

    def start_pdf(self, page: str, base_url: str, allowed: Sequence[Path], path: Path) -> None:
        """Draw the PDF at `path` while the caller goes on; `finish_pdf` waits for it."""
        self._allowed = list(allowed)
        self._send(("pdf", page, base_url, [str(p) for p in allowed], str(path)))

    def finish_pdf(self) -> None:
        """Raises OutputError when a template asked for a forbidden URL, OSError when the
        file could not be written."""
        reply = self._receive()
        if reply[0] == "fetch":
            raise OutputError(
                f"the report's templates ask for {reply[1]}, which reportgen does not fetch: "
                "no network, and only files inside " + ", ".join(map(str, self._allowed))
                + "; embed the file as a data: URL or move it into the templates folder")
        if reply[0] == "oserror":  # a full disk, say: reported like any failed write
            raise OSError(*reply[1:])
        if reply[0] == "error":
            raise RuntimeError(f"the PDF could not be drawn:\n{reply[1]}")

    def write_pdf(self, page: str, base_url: str, allowed: Sequence[Path], path: Path) -> None:
        self.start_pdf(page, base_url, allowed, path)
        self.finish_pdf()

    def close(self) -> None:
        """Stop the child: its work is done (the reply was read) or no longer wanted."""
        self._outbox.put(None)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._sender.join(timeout=5)
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()

    def _send(self, message: tuple[Any, ...]) -> None:
        """Queued for the sender thread: a write blocks while the child is busy converting
        (a pipe holds 64 kB, a scatter's spec is 300 kB), and this process has other work."""
        self._outbox.put(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def _pump(self) -> None:
        """Write queued messages in order; a dead child shows up as EOF in _receive."""
        assert self.process.stdin is not None
        while (message := self._outbox.get()) is not None:
            try:
                self.process.stdin.write(message)
                self.process.stdin.flush()
            except OSError:
                return

    def _receive(self) -> tuple[Any, ...]:
        assert self.process.stdout is not None
        try:
            return pickle.load(self.process.stdout)
        except EOFError as exc:
            raise self._died() from exc

    def _died(self) -> OutputError:
        code = self.process.wait()
        return OutputError(f"the PDF renderer stopped unexpectedly (exit code {code}); "
                           "run again, and check free memory if it happens again")


# ---- the child ------------------------------------------------------------------------


def confined_fetcher(allowed: Sequence[Path]) -> Any:
    """WeasyPrint may read `data:` URLs and files inside `allowed`; anything else stops
    the PDF (a FatalURLFetchingError is the one error WeasyPrint does not swallow)."""
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    class ConfinedFetcher(weasyprint.URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "file":
                local = Path(url2pathname(urlsplit(url).path)).resolve()
                if any(local.is_relative_to(root) for root in allowed):
                    return super().fetch(url, headers)
            elif scheme == "data":
                return super().fetch(url, headers)
            raise FatalURLFetchingError(url)

    return ConfinedFetcher(allowed_protocols={"data", "file"}, timeout=5)


def paint(spec: dict[str, Any], raster: bool, version: str | None) -> str:
    """A chart as a data: URL: SVG (vector text) or PNG for dense scatters."""
    import vl_convert as vlc

    if raster:
        png = vlc.vegalite_to_png(spec, vl_version=version, scale=RASTER_SCALE)
        return data_url(png, "image/png")
    svg = slim_svg(vlc.vegalite_to_svg(spec, vl_version=version))
    return data_url(svg.encode("utf-8"), "image/svg+xml")


@functools.cache
def vl_version() -> str | None:
    """The Vega-Lite version Altair writes, if vl-convert knows it (else its newest).

    Only the PDF process asks: asking starts vl-convert, which costs the asker a second."""
    import altair as alt
    import vl_convert as vlc

    found = re.match(r"v?(\d+\.\d+)", alt.SCHEMA_VERSION)
    version = found.group(1) if found else None
    return version if version in vlc.get_vegalite_versions() else None


def data_url(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def draw_pdf(page: str, base_url: str, allowed: Sequence[Path], path: Path) -> None:
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    weasyprint.HTML(string=page, base_url=base_url,
                    url_fetcher=confined_fetcher(allowed)).write_pdf(path)


def serve(incoming: BinaryIO, outgoing: BinaryIO) -> None:
    """Charts as they come, then the PDF; a chart that failed fails the PDF, not the run
    of the charts after it."""
    from weasyprint.urls import FatalURLFetchingError

    images: dict[str, str | BaseException] = {}
    while True:
        try:
            message = pickle.load(incoming)
        except EOFError:
            return
        if message[0] == "chart":
            _, chart_id, spec, raster = message
            try:
                images[chart_id] = paint(spec, raster, vl_version())
            except Exception as exc:  # reported with the PDF
                images[chart_id] = exc
            continue
        _, page, base_url, allowed, path = message
        try:
            for chart_id, image in images.items():
                if isinstance(image, BaseException):
                    raise image
                page = page.replace(placeholder(chart_id), image)
            draw_pdf(page, base_url, [Path(a) for a in allowed], Path(path))
            reply: tuple[Any, ...] = ("done",)
        except FatalURLFetchingError as exc:
            reply = ("fetch", exc.args[0])
        except OSError as exc:
            reply = ("oserror", exc.errno, exc.strerror, exc.filename)
        except Exception:
            reply = ("error", traceback.format_exc())
        pickle.dump(reply, outgoing)
        outgoing.flush()
        images.clear()


def _die_with_parent() -> None:
    """Linux: SIGKILL when the parent goes, even by kill -9 (no orphan drawing a PDF)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def main() -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    import weasyprint  # noqa: F401 - loaded now, while the parent works
    with contextlib.suppress(Exception):  # start vl-convert's engine; real charts report
        paint({"mark": "point", "data": {"values": [{"x": 1}]},
               "encoding": {"x": {"field": "x", "type": "quantitative"}}}, False, vl_version())
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
