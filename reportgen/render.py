"""Report rendering: one Jinja template set, rendered for the browser and for WeasyPrint.

The HTML embeds Vega, Vega-Lite and vega-embed once (from vl-convert's bundle, cached on
disk because building it takes seconds) and draws interactive charts from their specs.
The PDF gets the same page with charts as SVG (PNG for the dense scatter) rendered by
vl-convert, since WeasyPrint runs no JavaScript. WeasyPrint may only read `data:` URLs:
nothing is fetched from the network or the disk while the PDF is made.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import os
import re
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
from markupsafe import Markup

from .errors import OutputError
from .report import ChartSpec

ENTRY_TEMPLATE = "report.html.j2"
RASTER_SCALE = 2


def builtin_templates() -> Path:
    """Inside an installed wheel the templates sit in the package; in a checkout, beside it."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"


def make_environment(user_dir: Path | None) -> jinja2.Environment:
    """User templates first; `default:name` always reaches the built-in one, for extending."""
    builtin = jinja2.FileSystemLoader(str(builtin_templates()))
    loaders: list[jinja2.BaseLoader] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


def render_page(env: jinja2.Environment, context: dict[str, Any]) -> str:
    try:
        return env.get_template(ENTRY_TEMPLATE).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or "template"
        raise OutputError(f"template {where} line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise OutputError(f"template not found: {exc.name}") from None
    except jinja2.UndefinedError as exc:
        raise OutputError(f"template error: {exc.message}") from None


def vl_version() -> str | None:
    """The Vega-Lite version Altair writes, if vl-convert knows it (else its newest)."""
    import altair as alt
    import vl_convert as vlc

    found = re.match(r"v?(\d+\.\d+)", alt.SCHEMA_VERSION)
    version = found.group(1) if found else None
    return version if version in vlc.get_vegalite_versions() else None


@cache
def vega_bundle() -> Markup:
    """Vega + Vega-Lite + vega-embed as one script, from a cache file when there is one."""
    import vl_convert as vlc

    key = f"{metadata.version('vl-convert-python')}-{vl_version() or 'latest'}"
    cache_file = _cache_dir() / f"vega-bundle-{key}.js"
    if cache_file.is_file():
        text = cache_file.read_text(encoding="utf-8")
    else:
        text = vlc.javascript_bundle(vl_version=vl_version())
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


def chart_images(charts: dict[str, ChartSpec]) -> dict[str, str]:
    """Each chart as a data: URL for the PDF: SVG (vector) or PNG for dense scatters."""
    import vl_convert as vlc

    images, version = {}, vl_version()
    for chart in charts.values():
        if chart.raster:
            png = vlc.vegalite_to_png(chart.spec, vl_version=version, scale=RASTER_SCALE)
            images[chart.id] = _data_url(png, "image/png")
        else:
            svg = vlc.vegalite_to_svg(chart.spec, vl_version=version)
            images[chart.id] = _data_url(svg.encode("utf-8"), "image/svg+xml")
    return images


def _data_url(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def logo_data_url(path: Path | None) -> str | None:
    """The logo embedded in the page (the config checked it is an image file)."""
    if path is None:
        return None
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return _data_url(path.read_bytes(), mime)


def write_html(env: jinja2.Environment, context: dict[str, Any], charts: dict[str, ChartSpec],
               path: Path) -> None:
    page = render_page(env, {**context, "target": "html", "images": {},
                             "chart_specs": chart_specs(charts), "vega_bundle": vega_bundle()})
    check_self_contained(page)
    path.write_text(page, encoding="utf-8")


def write_pdf(env: jinja2.Environment, context: dict[str, Any], charts: dict[str, ChartSpec],
              path: Path, roots: Sequence[Path] = ()) -> None:
    """`roots`: the only folders whose files a template may pull into the PDF (the
    config's and the templates' folders); nothing from the network, ever."""
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    page = render_page(env, {**context, "target": "pdf", "images": chart_images(charts),
                             "chart_specs": {}, "vega_bundle": ""})
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    allowed = [builtin_templates().resolve(), *(Path(r).resolve() for r in roots)]
    try:
        weasyprint.HTML(string=page, base_url=str(allowed[-1]),
                        url_fetcher=confined_fetcher(allowed)).write_pdf(path)
    except FatalURLFetchingError as exc:
        raise OutputError(
            f"the report's templates ask for {exc.args[0]}, which reportgen does not fetch: "
            "no network, and only files inside " + ", ".join(map(str, allowed))
            + "; embed the file as a data: URL or move it into the templates folder"
        ) from None


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
