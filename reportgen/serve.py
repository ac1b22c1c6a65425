"""`reportgen serve`: the report re-rendered in memory on every save and shown live.

An analyst setting up a report edits the YAML many times; each save should show its
result in a second, not after a cold run. So the stages keep their last results with
the key of their inputs, and a save re-runs from the first stage whose inputs changed:

- a rule or wording edit (personas, recommendations, report:, templates): rules, personas,
  recommendations, changes, content, charts and page;
- a k or selection edit (segmentation:): from the features on;
- a feature edit (features:, derive:, value:; the columns read depend on them) or new data
  (the data file changed): everything.

The page is served from memory with a small script that reloads it when a newer
rendering exists (server-sent events); a written report.html never has that script. A
config that does not load, or a run that fails, shows its `error:` line at the top of the
page, over the last good report. The output folder is served read-only under /archive/,
so periods can be browsed as they will be hosted.

Libraries, measured (benchmarks/bench_iterate.py): watchfiles watches the files (inotify
through Rust's notify; a save is seen about 50 ms after the editor's last write, and an
editor's write-to-temporary-then-rename counts as one change of the file); the standard
library's ThreadingHTTPServer serves (one analyst's browser: a page and an event stream,
no framework needed).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from reportgen.api import (
    Described,
    Fitted,
    LookBack,
    Prepared,
    describe_segments,
    fit_segments,
    flatten,
    look_back,
    prepare_data,
    publish_described,
    resolve_period,
)
from reportgen.config import LoadedConfig, load_config
from reportgen.errors import ReportgenError, failure_line
from reportgen.files import read_own_file
from reportgen.text import PERIOD_RE, REPORT_NAME_PATTERN
from reportgen.timing import StageTimer

if TYPE_CHECKING:
    from reportgen.config.schema import Config
    from reportgen.model.rows import Rows

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
EVENTS_PATH = "/__reportgen/events"
ARCHIVE_PREFIX = "/archive/"
KEEPALIVE_SECONDS = 15.0
REPORT_NAME_RE = re.compile(REPORT_NAME_PATTERN)  # report.name, the folder of its periods
MAX_ARCHIVE_PARTS = 8
NAME_MAX = 255
MAX_SERVED_BYTES = 2**30
LIVE_SCRIPT = """<script id="reportgen-live">(function () {{
  var shown = {version};
  var events = new EventSource("{events}");
  events.onmessage = function (message) {{
    if (Number(message.data) !== shown) {{ events.close(); location.reload(); }}
  }};
}})();</script>"""
ERROR_BANNER = """<div id="reportgen-serve-error" role="alert" style="position:sticky;top:0;\
z-index:1000;margin:0;padding:12px 20px;background:#fde8e8;color:#8a1c1c;\
border-bottom:2px solid #c53030;font:14px/1.4 'DejaVu Sans',sans-serif;\
white-space:pre-wrap">{message}<br><span style="color:#6b7785">The last good report is \
shown below; save a fix and this page updates.</span></div>"""
WAITING_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>reportgen serve</title></head><body style="font:15px 'DejaVu Sans',sans-serif;\
margin:40px;color:#1f2933"><p id="reportgen-serve-status">{status}</p></body></html>"""


# ---- what re-runs: the stages and the keys of their inputs ------------------------------


@dataclass(frozen=True)
class Attempt:
    """The latest rendering's number (the page reloads when it moves on) and its error
    line, None when it made a page."""
    version: int
    error: str | None


@dataclass
class Preview:
    """The stages' last results and their input keys; `render()` re-runs what changed."""
    config_path: Path
    period: str
    out: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    loaded: LoadedConfig | None = None
    output_dir: Path | None = None  # from the last config that loaded, or --out
    _data_key: str | None = None
    _model_key: str | None = None
    _before: LookBack | None = None  # the earlier periods, read with the data
    _prepared: Prepared | None = None
    _rows: Rows | None = None  # the customers in this process (engines.in_process)
    _fitted: Fitted | None = None
    _described: Described | None = None

    def render(self) -> tuple[str, str]:
        """Which stages had to run, and the page for the config as it is now
        (ReportgenError when it cannot be made)."""
        loaded = load_config(self.config_path, flatten(self.overrides))
        config = loaded.config
        self.output_dir = Path(self.out or config.output.dir)
        timer = StageTimer(None)
        data_key = _key(data_inputs(config), self.period, self.report_dir(config).name,
                        _file_signatures(data_files(loaded)),
                        _previous_signature(self.report_dir(config), self.period))
        model_key = _key(data_key, config.segmentation.model_dump(mode="json"))
        stages = "rules and page"
        if data_key != self._data_key or self._prepared is None:
            self._prepared, self._data_key, self._model_key = None, None, None
            from reportgen.engines import in_process

            self._before = look_back(config, self.period, self.report_dir(config))
            self._rows = in_process(config, self.period, self._before.since)
            self._prepared = prepare_data(config, self._before, timer, self._rows)
            self._data_key = data_key
            stages = "everything"
        if model_key != self._model_key or self._fitted is None:
            self._fitted = None
            assert self._rows is not None
            self._fitted = fit_segments(config, self._prepared, timer, self._rows)
            self._model_key = model_key
            stages = "from the features on" if stages == "rules and page" else stages
        assert self._before is not None  # its key draws the groups a run would write
        described = describe_segments(loaded, self.period, self._prepared, self._fitted, timer,
                                      self._before.key)
        from reportgen import report

        page = report.preview_page(described.content)
        self.loaded, self._described = loaded, described
        return stages, page

    def report_dir(self, config: Config) -> Path:
        return Path(self.out or config.output.dir) / config.report.name

    def write(self) -> Path:
        """Write the last good rendering as `reportgen run` would (serve --write)."""
        assert self.loaded is not None and self._fitted is not None
        assert self._described is not None and self._prepared is not None
        return publish_described(self.loaded, self.period, self.out, self._prepared,
                                 self._fitted, self._described, StageTimer(None))


def data_inputs(config: Config) -> dict[str, Any]:
    """Every part of the config the data, value, feature and segmentation stages read
    (load_customers reads the features, for the columns to read, and the personas' and
    recommendations' presets, for their default logs): a wording or rule edit leaves it
    unchanged; the segmentation section is keyed on its own."""
    dump = config.model_dump(mode="json")
    for wording_only in ("report", "segmentation", "output", "email"):
        dump.pop(wording_only, None)
    dump["personas"] = {"preset": config.personas.preset}
    dump["recommendations"] = {"preset": config.recommendations.preset}
    return dump


def data_files(loaded: LoadedConfig) -> list[Path]:
    path = loaded.config.data.path
    return [path] if path is not None else []


def watched_paths(config_path: Path, loaded: LoadedConfig | None) -> set[Path]:
    """The files whose change re-renders: the config, its data, the templates folder and
    the logo (found from the last config that loaded)."""
    paths = {config_path.resolve()}
    if loaded is not None:
        report = loaded.config.report
        paths |= {p.resolve() for p in data_files(loaded)}
        paths |= {p.resolve() for p in (report.templates, report.logo) if p is not None}
    return paths


def _key(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_signatures(paths: Iterable[Path]) -> list[tuple[str, int, int, str]]:
    """(path, size, modification time, digest): new data shows as any changing."""
    return [(str(path), *state) for path, state in file_states(paths).items()]


def _previous_signature(report_dir: Path, period: str) -> list[tuple[str, int, int, str]]:
    """The previous period's saved model: a run written meanwhile changes what segment ids
    carry over."""
    from reportgen.model.continuity import previous_folder
    from reportgen.model.savedmodel import FILE

    folder = previous_folder(report_dir, period)
    return _file_signatures([folder / FILE]) if folder is not None else []


# ---- what the browser gets --------------------------------------------------------------


class Published:
    """The latest rendering, for the server's threads; they wait here for a newer one."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.current = Attempt(0, None)
        self.last_good: str | None = None

    def show(self, page: str | None, error: str | None = None) -> None:
        with self._changed:
            if page is not None:
                self.last_good = page
            self.current = Attempt(self.current.version + 1, error)
            self._changed.notify_all()

    def wait_newer(self, version: int, timeout: float) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.current.version != version, timeout=timeout)
            return self.current.version

    def page(self) -> str:
        """The page to show: the last good report, under the error line if the latest
        attempt failed, with the live-reload script."""
        with self._changed:
            current, good = self.current, self.last_good
        if good is None:
            status = ("Rendering the report…" if current.error is None
                      else html.escape(current.error))
            body = WAITING_PAGE.format(status=status)
        else:
            body = good
        if current.error is not None and good is not None:
            banner = ERROR_BANNER.format(message=html.escape(current.error))
            body = _after_body_tag(body, banner)
        script = LIVE_SCRIPT.format(version=current.version, events=EVENTS_PATH)
        return _before_closing_body(body, script)


def _after_body_tag(page: str, fragment: str) -> str:
    found = re.search(r"<body\b[^>]*>", page, re.IGNORECASE)
    return page[:found.end()] + fragment + page[found.end():] if found else fragment + page


def _before_closing_body(page: str, fragment: str) -> str:
    index = page.lower().rfind("</body>")
    return page[:index] + fragment + page[index:] if index >= 0 else page + fragment


def archive_file(root: Path | None, relative: str) -> Path | None:
    """The file or folder of the output folder a /archive/ path names, or None. Only what
    reportgen writes there is served: the index pages, and the files of a report's period
    folders (never a hidden file, a lock, a run's temporary folder), the path checked
    again once links are resolved; so the config's folder, its secrets and the data stay
    unreachable even when output.dir is that folder. A folder's path means its index."""
    if root is None:
        return None
    parts = [part for part in relative.split("/") if part]
    if not _in_layout(parts):
        return None
    try:
        base = root.resolve()
        real = base.joinpath(*parts)
        if len(parts) <= 1 or (len(parts) == 2 and parts[1] == "index.html"):
            real = base.joinpath(*parts[:1], "index.html")
        real = real.resolve()
        if not real.is_relative_to(base) or not _in_layout(list(real.relative_to(base).parts)):
            return None
        return real if real.is_file() or real.is_dir() else None
    except (OSError, ValueError):
        return None


def _in_layout(parts: list[str]) -> bool:
    """<out>/index.html, <out>/<report>/index.html, <out>/<report>/<period>/..."""
    if len(parts) > MAX_ARCHIVE_PARTS or any(
            part.startswith(".") or len(part) > NAME_MAX or "\x00" in part for part in parts):
        return False
    if not parts or parts == ["index.html"]:
        return True
    if not REPORT_NAME_RE.fullmatch(parts[0]):
        return False
    return len(parts) == 1 or parts[1:] == ["index.html"] or bool(PERIOD_RE.fullmatch(parts[1]))


def host_name(header: str) -> str:
    """The host of a Host header without its port: `[::1]:8000`, `[::1]`, `localhost:80`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def make_handler(published: Published, archive_root: Callable[[], Path | None],
                 loopback_only: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "reportgen-serve"

        def do_GET(self) -> None:
            if loopback_only and not self._host_is_loopback():
                self._send(HTTPStatus.FORBIDDEN, b"reportgen serve answers localhost only\n",
                           "text/plain; charset=utf-8")
                return
            try:
                path = unquote(urlsplit(self.path).path, errors="strict")
            except (ValueError, UnicodeDecodeError):
                self._send(HTTPStatus.BAD_REQUEST, b"bad request\n", "text/plain; charset=utf-8")
                return
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, published.page().encode("utf-8"),
                           "text/html; charset=utf-8")
            elif path == EVENTS_PATH:
                self._events()
            elif path == ARCHIVE_PREFIX.rstrip("/") or path.startswith(ARCHIVE_PREFIX):
                self._archive(path[len(ARCHIVE_PREFIX):])
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

        def _host_is_loopback(self) -> bool:
            """A page elsewhere that points its own name at 127.0.0.1 (DNS rebinding)
            must not read the report: only requests addressed to localhost are answered."""
            return host_name(self.headers.get("Host") or "") in LOOPBACK

        def _events(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            version = -1
            try:
                while True:
                    newer = published.wait_newer(version, KEEPALIVE_SECONDS)
                    message = f"data: {newer}\n\n" if newer != version else ": alive\n\n"
                    self.wfile.write(message.encode("ascii"))
                    self.wfile.flush()
                    version = newer
            except OSError:
                return  # the page went away

        def _archive(self, relative: str) -> None:
            target = archive_file(archive_root(), relative)
            if target is not None and target.is_dir():
                if not self.path.endswith("/"):
                    self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                    self.send_header("Location", urlsplit(self.path).path + "/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                target = None
            try:
                body = read_own_file(target, MAX_SERVED_BYTES) if target is not None else None
            except OSError:
                body = None
            if body is None:
                self._send(HTTPStatus.NOT_FOUND, b"not in the output folder (yet)\n",
                           "text/plain; charset=utf-8")
                return
            assert target is not None
            self._send(HTTPStatus.OK, body, _content_type(target))

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the terminal shows renderings, not requests

    return Handler


def _content_type(path: Path) -> str:
    import mimetypes

    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith(
        ("json", "javascript")) else kind


# ---- the loop ---------------------------------------------------------------------------


class PreviewHTTPServer(ThreadingHTTPServer):
    """The standard threading server with a listen backlog for a burst of requests (a page
    and its reloads from several tabs; the default of 5 refused some of 200 at once), and
    a dropped connection left unreported (a closed tab is no error of the preview's)."""

    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@dataclass
class Server:
    """The HTTP server on its own thread; the caller's thread renders and watches."""
    host: str
    port: int
    published: Published
    archive_root: Callable[[], Path | None]
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> str:
        handler = make_handler(self.published, self.archive_root, self.host in LOOPBACK)
        try:
            self._httpd = PreviewHTTPServer((self.host, self.port), handler)
        except OSError as exc:
            raise ServeError(f"--port {self.port}: cannot listen on {self.host}:{self.port} "
                             f"({exc.strerror or exc}); pick another port with --port") from exc
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name="reportgen-serve-http")
        self._thread.start()
        host, port = (str(part) for part in self._httpd.server_address[:2])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


class ServeError(ReportgenError):
    """The server cannot start (the port is taken, the host unknown)."""


def serve(config_path: str | Path, *, host: str = "127.0.0.1", port: int = 8000,
          period: str | None = None, out: str | Path | None = None, write: bool = False,
          overrides: dict[str, Any] | None = None, say: Callable[[str], None] | None = None,
          ready: Callable[[str], None] | None = None) -> None:
    """Serve the live preview until interrupted (KeyboardInterrupt stops it).

    `overrides` as in `--set` (dotted keys); `say` gets a line per rendering (default:
    stderr); `ready` the page's URL once the server listens.
    """
    config_path = Path(config_path)
    if not config_path.is_file():
        raise ServeError(f"{config_path}: no such config file; pass the YAML config to "
                         "preview (reportgen init DATA_FILE writes a starter one)")
    say = say or _stderr
    preview = Preview(config_path, resolve_period(period), Path(out) if out else None,
                      dict(overrides or {}), output_dir=Path(out) if out else None)
    published = Published()
    server = Server(host, port, published, lambda: preview.output_dir)
    url = server.start()
    say(f"serving {config_path} at {url} (archive at {url}archive/); Ctrl-C stops")
    if ready is not None:
        ready(url)
    watcher = Watcher(lambda: watched_paths(config_path, preview.loaded))
    try:
        watcher.start()  # before the first rendering: a save during it is not lost
        while True:
            before = file_states(watched_paths(config_path, preview.loaded))
            render_once(preview, published, say, write)
            if file_states(before) != before:  # saved while rendering, maybe before the
                watcher.changed.set()          # watcher was listening: render again
            watcher.wait()
    finally:
        watcher.stop()
        server.stop()


def render_once(preview: Preview, published: Published, say: Callable[[str], None],
                write: bool) -> None:
    started = time.perf_counter()
    try:
        stages, page = preview.render()
    except Exception as exc:  # the user's error or a bug: told as the CLI tells it
        published.show(None, failure_line(exc))
        say(failure_line(exc))
        return
    published.show(page)
    say(f"rendered in {time.perf_counter() - started:.2f} s ({stages})")
    if write:
        try:
            say(f"wrote {preview.write()}")
        except ReportgenError as exc:
            say(failure_line(exc))


def file_states(paths: Iterable[Path]) -> dict[Path, tuple[int, int, str]]:
    """Size, modification time and, for a small file (the config), a digest of its
    bytes: two saves within one tick of the file system's clock still differ."""
    states = {}
    for path in paths:
        try:
            info = path.stat()
            digest = (hashlib.sha256(path.read_bytes()).hexdigest()
                      if path.is_file() and info.st_size <= 2**20 else "")
            states[path] = (info.st_size, info.st_mtime_ns, digest)
        except OSError:
            states[path] = (-1, -1, "")
    return states


class Watcher:
    """Watches the files `paths()` names on a thread of its own from the moment serve
    starts, so that a save made while a rendering runs is seen when it ends; `changed` is
    set by each burst of changes (watchfiles' debounce) and cleared by `wait`. The set of
    files is read again every half second: a config edit can point at another data file
    or templates folder."""

    def __init__(self, paths: Callable[[], set[Path]]) -> None:
        self.paths = paths
        self.changed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True,
                                        name="reportgen-serve-watch")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def wait(self) -> None:
        while not self.changed.wait(timeout=0.5):
            pass
        self.changed.clear()

    def _watch(self) -> None:
        import watchfiles

        while not self._stop.is_set():
            wanted = self.paths()
            folders = {f for f in (p if p.is_dir() else p.parent for p in wanted) if f.is_dir()}
            if not folders:
                self._stop.wait(0.5)
                continue

            def relevant(change: watchfiles.Change, name: str,
                         wanted: set[Path] = wanted) -> bool:
                changed = Path(name).resolve()
                return any(changed == p or changed.is_relative_to(p) for p in wanted)

            try:
                for changes in watchfiles.watch(*folders, watch_filter=relevant, debounce=400,
                                                step=50, rust_timeout=500,
                                                yield_on_timeout=True, stop_event=self._stop):
                    if changes:
                        self.changed.set()
                    if self.paths() != wanted:
                        break  # watch the new set of files
            except (OSError, RuntimeError):  # a watched folder went away: look again soon
                self.changed.set()
                self._stop.wait(0.5)


def _stderr(line: str) -> None:
    prefix = "" if line.startswith("error:") else "reportgen serve: "
    print(f"{prefix}{line}", file=sys.stderr, flush=True)
