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
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from reportgen.errors import OutputError
from reportgen.report.chartset import ChartSpec
from reportgen.report.pdfworker import (
    PdfWorker,
    confined_fetcher,
    data_url,
    placeholder,
    vl_version,
)
from reportgen.text import format_number, format_share, signed

__all__ = ["confined_fetcher", "start_pdf", "write_html"]

ENTRY_TEMPLATE = "report.html.j2"


def builtin_templates() -> Path:
    return Path(__file__).parent / "templates"


def make_environment(user_dir: Path | None) -> jinja2.Environment:
    """User templates first; `default:name` always reaches the built-in one, for extending."""
    builtin = jinja2.FileSystemLoader(str(builtin_templates()))
    loaders: list[jinja2.BaseLoader] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _share(value: float | None) -> str:
    return "-" if value is None else format_share(value)


def _fixed(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def _grouped(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _points(value: float | None) -> str:
    """A change of a share, in percentage points: +1.5 pts."""
    return "-" if value is None else f"{value * 100:+.1f} pts"


def _timestamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


FILTERS = {
    "count": _count,          # 12,345 (none: -)
    "share": _share,          # 0.183 -> 18%, 0.005 -> 0.5% (none: -)
    "number": format_number,  # 86.5k, 1.2M, 42, 3.7 (none: n/a)
    "fixed": _fixed,          # 0.4912 -> 0.49 (fixed(3): 0.491)
    "grouped": _grouped,      # 12345.67 -> 12,345.7
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


def write_html(env: jinja2.Environment, context: dict[str, Any], charts: dict[str, ChartSpec],
               path: Path) -> None:
    path.write_text(html_page(env, context, charts), encoding="utf-8")


def html_page(env: jinja2.Environment, context: dict[str, Any],
              charts: dict[str, ChartSpec]) -> str:
    """report.html's text: the page with its charts' specs and Vega inlined."""
    page = render_page(env, {**context, "target": "html", "images": {},
                             "chart_specs": chart_specs(charts), "vega_bundle": vega_bundle()})
    check_self_contained(page)
    return page


def start_pdf(env: jinja2.Environment, context: dict[str, Any], charts: dict[str, ChartSpec],
              path: Path, worker: PdfWorker, roots: Sequence[Path] = ()) -> None:
    """The page is rendered here with a placeholder per chart and handed to the PDF
    process, which puts the converted charts in and draws it while this one goes on
    (worker.finish_pdf waits). `roots`: the only folders whose files a template may pull
    into the PDF (the config's and the templates' folders); nothing from the network."""
    page = render_page(env, {**context, "target": "pdf", "chart_specs": {}, "vega_bundle": "",
                             "images": {chart.id: placeholder(chart.id)
                                        for chart in charts.values()}})
    allowed = [builtin_templates().resolve(), *(Path(r).resolve() for r in roots)]
    worker.start_pdf(page, str(allowed[-1]), allowed, path)


RESOURCE_RE = re.compile(
    r"""<(?:img|script|link|iframe|source|video|audio|embed|object|track)\b[^>]*?"""
    r"""\b(?:src|href|data|poster|srcset)\s*=\s*["']?\s*((?:https?:|ftp:|file:|//)[^"'\s>]*)"""
    r"""|(?:url\(|@import\s+)\s*["']?\s*((?:https?:|ftp:|file:|//)[^"')\s;]*)""",
    re.IGNORECASE)


def check_self_contained(page: str) -> None:
    """The HTML page must load nothing from elsewhere (links to click are fine)."""
    found = RESOURCE_RE.search(page)
    if found:
        url = found.group(1) or found.group(2)
        raise OutputError(f"the report's templates load {url}; the HTML report must not load "
                          "anything from the network or local files: embed it as a data: "
                          "URL (report.logo does this for a logo)")
