"""Report rendering: one Jinja template set, rendered for the browser and for WeasyPrint.

The HTML embeds Vega, Vega-Lite and vega-embed once (from vl-convert's bundle, cached on
disk because building it takes seconds) and draws interactive charts from their specs.
The PDF gets the same page with charts as SVG (PNG for the dense scatter) rendered by
vl-convert, since WeasyPrint runs no JavaScript. WeasyPrint may only read `data:` URLs:
nothing is fetched from the network or the disk while the PDF is made.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.runtime
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from reportgen.errors import OutputError
from reportgen.record import Summary
from reportgen.report.chartset import ChartSpec
from reportgen.report.pdfworker import (
    PdfWorker,
    confined_fetcher,
    data_url,
    placeholder,
    vl_version,
)
from reportgen.text import format_number, format_share, signed
from reportgen.timing import StageTimer

if TYPE_CHECKING:
    import pandas as pd

    from reportgen.report.content import ReportContent

__all__ = ["Pages", "Rendered", "confined_fetcher", "pages", "render"]

ENTRY_TEMPLATE = "report.html.j2"


def builtin_templates() -> Path:
    return Path(__file__).parent / "templates"


def make_environment(user_dir: Path | None) -> jinja2.Environment:
    """User templates first; `default:name` always reaches the built-in one, for extending.
    Every template, the user's and the built-in ones, runs in the sandbox below."""
    builtin = jinja2.FileSystemLoader(str(builtin_templates()))
    loaders: list[jinja2.BaseLoader] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    env = TemplateSandbox(
        loader=jinja2.ChoiceLoader(loaders), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    for name in WIDTH_FILTERS:
        env.filters[name] = _bounded_filter(env.filters[name])
    return env


MAX_TEXT = 10**7      # characters (or items) one template expression may make
MAX_WIDTH = 1000      # a format width, a centre or indent width
MAX_EXPONENT = 1000
WIDTH_FILTERS = ("center", "indent", "wordwrap", "format", "truncate")
FORMAT_WIDTH_RE = re.compile(r"[%:.<>^=+ #0-]\*?(\d{4,})")  # a width or precision


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox: a template reads the context it is given and formats it;
    it cannot reach Python's internals (`cycler.__init__.__globals__` is refused), call
    anything unsafe, change the lists and mappings it receives, or import. On top of that,
    the expressions that could fill the memory are bounded: `*` and `**` on text, lists
    and numbers, and the widths of `%`, str.format and the width-taking filters."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any,
                   right: Any) -> Any:
        if operator == "*":
            for sized, times in ((left, right), (right, left)):
                if isinstance(sized, str | list | tuple) and isinstance(times, int) \
                        and len(sized) * times > MAX_TEXT:
                    raise SecurityError(f"a template made text longer than {MAX_TEXT:,}")
        elif operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"a template raised a number to a power above {MAX_EXPONENT}")
        elif operator == "%" and isinstance(left, str):
            _check_widths(left)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_widths(value.__self__)
        return wrapped


def _check_widths(template: str) -> None:
    """A format string may not ask for a width or precision of MAX_WIDTH or more."""
    if any(int(n) >= MAX_WIDTH for n in FORMAT_WIDTH_RE.findall(template)):
        raise SecurityError(f"a template's format asks for a width of {MAX_WIDTH} or more")


def _bounded_filter(function: Any) -> Any:
    """A width-taking filter refuses a width of MAX_WIDTH or more; `format` checks its
    format string as `%` does."""
    def bounded(*args: Any, **kwargs: Any) -> Any:
        for value in [*args, *kwargs.values()]:
            if isinstance(value, int) and not isinstance(value, bool) and value >= MAX_WIDTH:
                raise SecurityError(f"a template asked a filter for a width of {value:,}")
        if function.__name__ == "do_format" and args and isinstance(args[0], str):
            _check_widths(args[0])
        return function(*args, **kwargs)

    if hasattr(function, "jinja_pass_arg"):  # pass_environment and the like
        bounded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    return bounded


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _share(value: float | None) -> str:
    return "-" if value is None else format_share(value)


def _signed_share(value: float | None) -> str:
    if value is None:
        return "-"
    return ("+" if value > 0 else "-" if value < 0 else "") + format_share(abs(value))


def _fixed(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def _grouped(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _points(value: float | None) -> str:
    """A change of a share, in percentage points: +1.5 pts."""
    return "-" if value is None else f"{value * 100:+.1f} pts"


def _timestamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _cents(value: int) -> str:
    """Money kept in whole cents, printed to the cent: the reconciliation adds up as shown."""
    sign = "-" if value < 0 else ""
    whole, cent = divmod(abs(int(value)), 100)
    return f"{sign}{whole:,}.{cent:02d}"


FILTERS = {
    "count": _count,          # 12,345 (none: -)
    "share": _share,          # 0.183 -> 18%, 0.005 -> 0.5% (none: -)
    "signed_share": _signed_share,  # 0.04 -> +4%, -0.25 -> -25% (none: -)
    "number": format_number,  # 86.5k, 1.2M, 42, 3.7 (none: n/a)
    "fixed": _fixed,          # 0.4912 -> 0.49 (fixed(3): 0.491)
    "grouped": _grouped,      # 12345.67 -> 12,345.7
    "cents": _cents,          # 829174856 -> 8,291,748.56; -1322914 -> -13,229.14
    "signed": signed,         # +1.3, -0.4, 0.0
    "points": _points,        # +1.5 pts (none: -)
    "timestamp": _timestamp,  # 2026-11-30 06:00 UTC
}


def render_page(env: jinja2.Environment, context: dict[str, Any]) -> str:
    return render_template(env, ENTRY_TEMPLATE, context)


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """A template rendered, or OutputError naming the template and line at fault."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or "template"
        raise OutputError(f"template {where} line {exc.lineno}: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise OutputError(f"template not found: {exc.name}") from exc
    except jinja2.UndefinedError as exc:
        raise OutputError(f"template error: {exc.message}") from exc
    except SecurityError as exc:
        raise OutputError(f"template {name}: not allowed in a template: "
                          f"{str(exc).rstrip('.')}; templates "
                          "format the report's data and can do nothing else (see the "
                          "README, 'Templates')") from exc
    except (jinja2.TemplateError, ArithmeticError, MemoryError, RecursionError) as exc:
        raise OutputError(f"template {name}: {type(exc).__name__}: {exc}") from exc


@cache
def vega_bundle() -> Markup:
    """Vega + Vega-Lite + vega-embed as one script, from a cache file when there is one."""
    import vl_convert as vlc

    key = f"{metadata.version('vl-convert-python')}-{vl_version() or 'latest'}"
    cache_file = _cache_dir() / f"vega-bundle-{key}.js"
    if cache_file.is_file():
        text = cache_file.read_text(encoding="utf-8")
    else:
        text = vlc.javascript_bundle(vl_version=vl_version())  # type: ignore[call-arg]  # the
        # stub marks the snippet required; the default one is what the page needs
        _write_cache(cache_file, text)
    return Markup(re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE))


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reportgen"


def _write_cache(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass  # no writable cache: build the bundle again next time


def chart_specs(charts: dict[str, ChartSpec]) -> dict[str, Any]:
    return {chart.id: chart.spec for chart in charts.values()}


def logo_data_url(path: Path | None) -> str | None:
    """The logo embedded in the page (the config checked it is an image file)."""
    if path is None:
        return None
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return data_url(path.read_bytes(), mime)


def html_page(env: jinja2.Environment, context: dict[str, Any],
              charts: dict[str, ChartSpec]) -> str:
    """report.html's text: the page with its charts' specs and Vega inlined."""
    page = render_page(env, {**context, "target": "html", "images": {},
                             "chart_specs": chart_specs(charts), "vega_bundle": vega_bundle()})
    check_self_contained(page)
    return page


@dataclass(frozen=True)
class PdfJob:
    """The PDF's page, rendered with a placeholder per chart, for the run's PDF process,
    which puts the converted charts in and draws it while this process goes on. `allowed`:
    the only folders whose files a template may pull into the PDF (the built-in
    templates', the config's and the user's templates'); nothing from the network."""

    page: str
    allowed: list[Path]
    worker: PdfWorker

    def draw(self, path: Path) -> None:
        self.worker.start_pdf(self.page, str(self.allowed[-1]), self.allowed, path)

    def finish(self) -> None:
        """Wait for the PDF to be written."""
        self.worker.finish_pdf()


def pdf_job(env: jinja2.Environment, context: dict[str, Any], charts: dict[str, ChartSpec],
            worker: PdfWorker, roots: Sequence[Path] = ()) -> PdfJob:
    page = render_page(env, {**context, "target": "pdf", "chart_specs": {}, "vega_bundle": "",
                             "images": {chart.id: placeholder(chart.id)
                                        for chart in charts.values()}})
    return PdfJob(page, [builtin_templates().resolve(), *(Path(r).resolve() for r in roots)],
                  worker)


@dataclass(frozen=True)
class Pages:
    """The templates of the pages besides the report (the archive's index pages, the
    email's bodies), rendered by name: deliver renders through this and never holds a
    template itself. `defaults` go into every context (the archive's accent colour)."""

    env: jinja2.Environment
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, name: str, context: Mapping[str, Any]) -> str:
        return render_template(self.env, name, {**self.defaults, **context})


def pages(templates: Path | None) -> Pages:
    """The templates of the archive and the email (report.templates' own where it
    overrides them), outside a run (`reportgen send`, a rebuilt archive)."""
    return pages_of(make_environment(templates))


def pages_of(env: jinja2.Environment) -> Pages:
    from reportgen.report.page import DEFAULT_ACCENT  # the archive's colour

    return Pages(env, {"accent": DEFAULT_ACCENT})


@dataclass(frozen=True)
class Rendered:
    """A period's page as the report stage renders it, for deliver to write: the other
    pages' templates (the archive's index pages), report.html's text, the PDF being
    drawn, the audiences, and summary.json, made last because it records every stage's
    time and the files written."""

    pages: Pages
    html: str | None
    pdf: PdfJob | None
    summary: Callable[[Mapping[str, float], Sequence[str], Mapping[str, Any]], Summary]
    audiences: Mapping[str, pd.DataFrame]  # by path in the period's folder (tables.py)
    records: Mapping[str, bytes]  # files written as they are (the signed assignment)


def render(content: ReportContent, ids: pd.Series, formats: Sequence[str],
           worker: PdfWorker | None, timer: StageTimer) -> Rendered:
    """The charts, the page context, the HTML, the PDF's page and the audiences (`ids`:
    the customers', row-aligned with the value stage's figures), in one call. Each chart
    goes to the PDF process as soon as it is built, so it converts them while the rest is
    rendered; `worker` is None when no PDF is wanted."""
    from reportgen.report.chartset import build_charts
    from reportgen.report.page import page_context
    from reportgen.report.summary import build_summary
    from reportgen.report.tables import assignment_files, audiences

    with timer("charts"):
        env = make_environment(content.report.templates)
        charts = build_charts(content, ready=worker.paint_chart if worker else None)
        context = vars(page_context(content, charts, logo_data_url(content.report.logo)))
    pdf = None
    if worker:
        with timer("pdf"):
            roots = [content.config_base, *filter(None, [content.report.templates])]
            pdf = pdf_job(env, context, charts, worker, roots)
    html = None
    if "html" in formats:
        with timer("html"):
            html = html_page(env, context, charts)
    return Rendered(pages_of(env), html, pdf,
                    lambda timings, outputs, model_file: build_summary(
                        content, timings, outputs, model_file),
                    audiences(content, ids), assignment_files(content, ids))


REMOTE_RE = re.compile(r"^\s*(?:https?:|ftp:|file:|//)", re.IGNORECASE)
CSS_URL_RE = re.compile(r"""(?:url\(|@import\s+)\s*["']?\s*([^"')\s;]*)""", re.IGNORECASE)
LOADING_ATTRIBUTES = {"src", "data", "poster", "srcset", "background", "xlink:href"}
LOADING_HREF_TAGS = {"link", "image", "use", "feimage", "script"}  # <a href> is a link to click


class _Loads(HTMLParser):
    """Collects what a browser would fetch: loading attributes of tags, and url() and
    @import in style attributes and <style> elements; text, scripts' code and links to
    click are not loads (a customer's category may say `url(https://...)` in words)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in LOADING_ATTRIBUTES or (name == "href" and tag in LOADING_HREF_TAGS):
                self.found += [part.split()[0] for part in value.split(",") if part.split()]
            elif name == "style":
                self.found += CSS_URL_RE.findall(value)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += CSS_URL_RE.findall(data)


def check_self_contained(page: str) -> None:
    """The HTML page must load nothing from elsewhere (links to click are fine)."""
    loads = _Loads()
    loads.feed(page)
    loads.close()
    url = next((u for u in loads.found if REMOTE_RE.match(u)), None)
    if url is not None:
        raise OutputError(f"the report's templates load {url:.100}; the HTML report must not "
                          "load anything from the network or local files: embed it as a "
                          "data: URL (report.logo does this for a logo)")
