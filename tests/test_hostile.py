"""Hostile and clumsy input, second round (issue 27): nobody writes the user's config,
reads their secrets or takes the machine down.

Each test states the contract a user relies on: what `init` writes says only what init
meant; YAML is bounded and strict; every bad input is one `error:` line with exit 2.
"""

from __future__ import annotations

import csv
import re
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import ROOT, blobs_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen.cli import main
from reportgen.config.load import load_config
from reportgen.config.yamltext import StrictLoader
from reportgen.errors import DataError
from reportgen.starter import write_starter

INJECTION = ("note\nemail: {to: [someone@elsewhere.example], send_after_run: true, "
             "smtp: {host: mail.elsewhere.example}}\noutput: {dir: /tmp/stolen}\n#")
LINE_BREAKS = ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029"]


def hostile_table(path: Path, hostile: str, rows: int = 60) -> None:
    """A customer table whose one hostile name heads four columns, one of each kind init
    writes somewhere different: a constant (the 'Not used' comment), a category (profile),
    a skewed measure (clustered, logged, with a reason) and a birth year (a derive: line)."""
    rng = np.random.default_rng(0)
    header = ["customer_id", "income", "spend", f"{hostile} const", f"{hostile} kind",
              f"{hostile} amount", f"{hostile} birth"]
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for i in range(rows):
            writer.writerow([f"C{i:03d}", int(rng.integers(20, 90)), int(rng.integers(1, 999)),
                             "same", "abc"[i % 3], int(rng.lognormal(3, 1.5)),
                             int(rng.integers(1950, 2000))])


def written_config(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader)


def assert_says_only_what_init_means(config: dict, data: Path) -> None:
    assert set(config) <= {"report", "data", "derive", "features", "segmentation", "personas",
                           "roles", "recommendations", "output"}
    assert config["output"] == {"dir": "reports"}
    assert config["data"]["path"] == data.name
    names = set(config["features"].get("numeric", [])) | set(config["features"]["profile"])
    assert names <= set(config.get("derive", {})) | set(_header(data))


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as stream:
        return [name.strip() for name in next(csv.reader(stream))]


def test_a_header_cannot_write_the_config(tmp_path):
    data = tmp_path / "customers.csv"
    hostile_table(data, INJECTION)
    config, _ = write_starter(data, tmp_path / "customers.yaml")
    text = config.read_text(encoding="utf-8")
    raw = written_config(config)
    assert "email" not in raw and raw["output"] == {"dir": "reports"}
    assert_says_only_what_init_means(raw, data)
    assert f"{INJECTION} kind" in raw["features"]["profile"]
    assert all(not line.startswith(("email:", "output: {dir: /tmp"))
               for line in text.splitlines())
    assert load_config(config).config.email is None


@pytest.mark.parametrize("brk", LINE_BREAKS, ids=repr)
def test_a_file_name_cannot_write_the_config(tmp_path, brk):
    name = f"x{brk}email: {{to: [a@b.example]}}{brk}#.csv"
    data = tmp_path / name
    hostile_table(data, "plain")
    config, _ = write_starter(data, tmp_path / "c.yaml")
    raw = written_config(config)
    assert "email" not in raw
    assert raw["data"]["path"] == name
    assert load_config(config).config.data.path == data


NAME_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1,
                    max_size=40).filter(lambda s: s.strip() == s and s.strip())


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(hostile=st.one_of(
    NAME_TEXT,
    st.sampled_from(LINE_BREAKS).flatmap(lambda b: NAME_TEXT.map(
        lambda s: f"a{b}email: {{to: [x@y.example]}}{b}output: {{dir: /}}{b}# {s}"))))
def test_any_column_name_is_inert_property(tmp_path_factory, hostile):
    """Whatever the header holds, the starter config either says only what init meant
    (every hostile column where init put it, nothing else) or is refused in one line."""
    folder = tmp_path_factory.mktemp("init")
    data = folder / "customers.csv"
    hostile_table(data, hostile)
    try:
        config, _ = write_starter(data, folder / "c.yaml")
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    raw = written_config(config)
    assert_says_only_what_init_means(raw, data)
    assert load_config(config).config.email is None


def test_a_config_with_a_repeated_key_is_refused(tmp_path, capsys):
    blobs_frame().drop(columns="group").to_csv(tmp_path / "customers.csv", index=False)
    (tmp_path / "c.yaml").write_text(
        "report: {name: a, title: A}\ndata: {path: customers.csv, id: customer_id}\n"
        "features: {numeric: [income, score]}\noutput: {dir: out}\n"
        "output: {dir: /tmp/elsewhere}\n")
    assert main(["validate", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: c.yaml: line 5: key 'output' appears twice in one section "
                   "(first on line 4); keep one")


def test_yaml_merge_keys_may_still_be_overridden():
    text = "base: &b {k: 3, select: elbow}\nsegmentation: {<<: *b, k: 4}\n"
    assert yaml.load(text, Loader=StrictLoader)["segmentation"] == {"k": 4, "select": "elbow"}


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}]\n" for i in range(8))


@pytest.mark.parametrize(("text", "fragment"), [
    (ALIAS_BOMB, "its aliases expand to more than 100,000 values"),
    ("report: " + "[" * 20_000 + "]" * 20_000 + "\n", "it nests deeper than 40 levels"),
    ("report: " + "{a: " * 60 + "1" + "}" * 60 + "\n", "it nests deeper than 40 levels"),
    ("a: &a [1, *a]\n", "an alias refers to the value that contains it"),
    ("# " + "x" * (2**20 + 10) + "\n", "is larger than 1 MB, more than any config needs"),
], ids=["alias-bomb", "deep-flow", "deep-mapping", "recursive-alias", "huge"])
def test_yaml_is_bounded_before_it_is_expanded(tmp_path, capsys, text, fragment):
    (tmp_path / "c.yaml").write_text(text)
    assert main(["run", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: c.yaml") and fragment in err[0], err


@pytest.mark.parametrize(("setting", "fragment"), [
    ("a" + ".a" * 20_000 + "=1", "a key path of more than 8 parts"),
    ("report.title=" + "[" * 20_000 + "]" * 20_000, "the value: it nests deeper than 40"),
], ids=["deep-key", "deep-value"])
def test_set_is_bounded(setting, fragment, capsys):
    assert main(["run", str(ROOT / "configs" / "sample.yaml"), "--set", setting]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


# ---- serve: nothing outside the output folder, every request answered ------------------


def _get(url: str, host: str | None = None) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def secrets_beside_the_config(tmp_path):
    """A config folder as analysts have it: the YAML, the customers, an smtp.env."""
    blobs_frame().drop(columns="group").to_csv(tmp_path / "customers.csv", index=False)
    (tmp_path / "smtp.env").write_text("SMTP_PASSWORD=hunter2\n")
    (tmp_path / "config.yaml").write_text("report: {name: small, title: Small}\n")
    return tmp_path


def _server(root):
    from reportgen.serve import Published, Server

    published = Published()
    server = Server("127.0.0.1", 0, published, lambda: root)
    return server, server.start(), published


@pytest.mark.parametrize("output_dir", [None, "."], ids=["no-config-yet", "output-is-config"])
def test_archive_serves_the_output_folder_or_nothing(secrets_beside_the_config, output_dir):
    folder = secrets_beside_the_config
    root = None if output_dir is None else folder / output_dir
    if root is not None:
        (folder / "small" / "2026-11").mkdir(parents=True)
        (folder / "small" / "2026-11" / "report.html").write_text("<p>report</p>")
        (folder / "small" / ".reportgen.lock").write_text("123")
        (folder / "small" / "2026-11" / "leak.txt").symlink_to(folder / "smtp.env")
    server, url, _ = _server(root)
    try:
        for name in ("smtp.env", "config.yaml", "customers.csv", "small/.reportgen.lock",
                     "small/2026-11/leak.txt",
                     "small/../smtp.env", "%2e%2e/smtp.env", "small/2026-11/../../smtp.env"):
            assert _get(f"{url}archive/{name}")[0] == 404, name
        if root is not None:
            assert _get(f"{url}archive/small/2026-11/report.html") == (200, b"<p>report</p>")
    finally:
        server.stop()


def test_odd_urls_and_hosts_get_an_answer_not_a_dropped_connection(tmp_path):
    server, url, published = _server(tmp_path)
    published.show("<html><body>page</body></html>")
    try:
        assert _get(f"{url}archive/%00")[0] == 404
        assert _get(f"{url}archive/{'x' * 300}/{'y' * 300}")[0] == 404
        assert _get(f"{url}archive/%ff%fe")[0] in (400, 404)
        assert _get(url, host="[::1]")[0] == 200
        assert _get(url, host="[::1]:8000")[0] == 200
        assert _get(url, host="localhost")[0] == 200
        assert _get(url, host="evil.example")[0] == 403
        assert _get(url, host="evil.example:[::1]")[0] == 403
    finally:
        server.stop()


def test_two_hundred_requests_at_once_all_get_the_page(tmp_path):
    """200 connections opened at the same instant (a barrier): each gets the page; the
    standard server's backlog of 5 reset about a third of them."""
    import socket
    import threading

    server, url, published = _server(tmp_path)
    published.show("<html><body>page</body></html>")
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    barrier, replies = threading.Barrier(200), []

    def fetch() -> None:
        barrier.wait()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            replies.append(data)
        except OSError as exc:
            replies.append(repr(exc).encode())

    threads = [threading.Thread(target=fetch) for _ in range(200)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.stop()
    good = [r for r in replies if r.startswith(b"HTTP/1.0 200") and r.endswith(b"</html>")]
    assert len(good) == 200, [r[:80] for r in replies if r not in good][:3]


def test_an_edit_saved_during_the_first_rendering_is_shown(tmp_path, monkeypatch):
    """Saved while serve's first rendering runs: the page must end with the new title.
    Should it not come, the failure shows what serve said and where each of its threads
    was (faulthandler's dump on SIGABRT): CI once saw no page at all within 60 s."""
    from test_serve import NAMED_CONFIG, Served

    blobs_frame().drop(columns="group").to_csv(tmp_path / "customers.csv", index=False)
    config = tmp_path / "config.yaml"
    config.write_text(NAMED_CONFIG)
    monkeypatch.setenv("PYTHONFAULTHANDLER", "1")
    served = Served(config)
    try:
        config.write_text(NAMED_CONFIG.replace("Premium patrons", "Gold circle"))
        deadline = time.monotonic() + 60
        body = b""
        while time.monotonic() < deadline:
            _, body = served.get("/")
            if b"Gold circle" in body:
                break
            time.sleep(0.3)
        if b"Gold circle" not in body:
            status = re.search(rb'id="reportgen-serve-status">(.*?)</p>', body, re.S)
            served.process.send_signal(signal.SIGABRT)
            _, said = served.process.communicate(timeout=20)
            pytest.fail(f"no page with the edit within 60 s; the page's status: "
                        f"{status.group(1) if status else body[:200]!r}; serve said:\n"
                        f"{''.join(served.lines)}{said}")
        assert b"Premium patrons" not in body
    finally:
        served.stop()


# ---- templates: sandboxed, bounded, and checked before a period is published ------------

SMALL = """report: {name: small, title: Small%s}
data: {path: customers.csv, id: customer_id}
features: {numeric: [income, score], profile: [age]}
segmentation: {k: 3}
output: {dir: out, formats: [html]}
"""


@pytest.fixture
def small(tmp_path):
    blobs_frame().drop(columns="group").to_csv(tmp_path / "customers.csv", index=False)
    (tmp_path / "config.yaml").write_text(SMALL % "")
    return tmp_path


def run_small(folder: Path, *settings: str, capsys=None) -> tuple[int, str]:
    args = ["run", str(folder / "config.yaml"), "--period", "2026-11"]
    for setting in settings:
        args += ["--set", setting]
    code = main(args)
    err = capsys.readouterr().err if capsys is not None else ""
    return code, err


def published_files(folder: Path) -> dict[str, bytes]:
    period = folder / "out" / "small" / "2026-11"
    return {p.name: p.read_bytes() for p in sorted(period.iterdir()) if p.is_file()}


def refused(folder: Path, capsys, replace: tuple[str, str]) -> str:
    """SMALL with one replacement, run: exit 2 and its one error line."""
    (folder / "config.yaml").write_text((SMALL % "").replace(*replace))
    code, err = run_small(folder, capsys=capsys)
    assert code == 2, err
    return one_error_line(err)


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("payload", [
    "{{ cycler.__init__.__globals__.os.popen('touch PWNED').read() }}",
    "{{ self.__init__.__globals__.__builtins__['__import__']('os').system('touch PWNED') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ report.__class__ }}{% set x = [] %}{{ x.append(1) }}",
], ids=["cycler-globals", "self-builtins", "subclasses", "mutation"])
def test_a_template_cannot_run_code(small, capsys, payload):
    (small / "t").mkdir()
    (small / "t" / "report.html.j2").write_text(
        '{% extends "default:report.html.j2" %}{% block content %}' + payload
        + "{{ super() }}{% endblock %}")
    code, err = run_small(small, "report.templates=t", capsys=capsys)
    assert code == 2, err
    assert "not allowed in a template" in one_error_line(err)
    assert not (small / "PWNED").exists() and not (Path.cwd() / "PWNED").exists()
    assert not (small / "out" / "small" / "2026-11").exists()


@pytest.mark.parametrize("payload", [
    "{{ 'x' * 10**9 }}", "{{ 2 ** (10 ** 9) }}", "{{ '%999999999d' % 1 }}",
    "{{ '{:999999999}'.format(1) }}", "{{ 'x'|center(10**9) }}", "{{ '%999999999s'|format(1) }}",
], ids=["repeat", "power", "percent-width", "format-width", "center", "format-filter"])
def test_a_template_cannot_fill_the_memory(small, capsys, payload):
    (small / "t").mkdir()
    (small / "t" / "report.html.j2").write_text(
        '{% extends "default:report.html.j2" %}{% block content %}' + payload + "{% endblock %}")
    code, err = run_small(small, "report.templates=t", capsys=capsys)
    assert code == 2 and "not allowed in a template" in one_error_line(err), err


@pytest.mark.parametrize("breakage", ["archive-template", "index-lock-symlink"])
def test_a_failure_at_publishing_leaves_the_earlier_report_whole(small, capsys, breakage):
    assert run_small(small)[0] == 0
    before = published_files(small)
    if breakage == "archive-template":
        (small / "t").mkdir()
        (small / "t" / "archive_report.html.j2").write_text("{% for %}")
        settings = ("report.templates=t", "segmentation.k=4")
        fragment = "archive_report.html.j2 line 1"
    else:
        lock = small / "out" / ".reportgen-index.lock"
        lock.unlink()
        lock.symlink_to(small / "elsewhere")
        settings = ("segmentation.k=4",)
        fragment = "cannot open the lock file"
    capsys.readouterr()
    code, err = run_small(small, *settings, capsys=capsys)
    assert code == 2 and fragment in one_error_line(err), err
    assert published_files(small) == before
    assert [p.name for p in (small / "out" / "small").iterdir() if ".tmp-" in p.name] == []


def test_text_that_mentions_a_url_is_not_a_resource_load(small, capsys):
    (small / "config.yaml").write_text(SMALL % ", company: 'see url(https://example.com/x)'")
    code, err = run_small(small, capsys=capsys)
    assert code == 0, err
    html = (small / "out" / "small" / "2026-11" / "report.html").read_text()
    assert "url(https://example.com/x)" in html


# ---- memory: every input bounded before it is expanded; the limit holds ----------------

MEMORY_CONFIG = """report: {name: mem, title: Mem}
data: {path: %s}
features: {numeric: [a, b]}
segmentation: {k: 3}
output: {dir: out, formats: [html]}
"""


def run_measured(args: list[str], cwd: Path, **env: str) -> tuple[int, str, float]:
    """A reportgen command in a child process: exit code, stderr, and its peak resident
    memory in MB (from wait4's rusage, the child's own)."""
    import os
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-m", "reportgen", *args], cwd=cwd,
                             stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                             env={**os.environ, **env})
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, err, usage.ru_maxrss / 1024


def short_rows_gzip(path: Path, megabytes: int) -> None:
    """Gzip members of '1,2' lines, concatenated (a valid .gz): megabytes of text from a
    file of a few hundred kilobytes."""
    import gzip

    member = gzip.compress(b"1,2\n" * 2**18, compresslevel=9)
    path.write_bytes(gzip.compress(b"a,b\n") + member * megabytes)


def short_rows_zip(path: Path, megabytes: int) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("rows.csv", "w", force_zip64=True) as stream:
        stream.write(b"a,b\n")
        for _ in range(megabytes):
            stream.write(b"1,2\n" * 2**18)


@pytest.mark.parametrize("make, name", [(short_rows_gzip, "rows.csv.gz"),
                                        (short_rows_zip, "rows.csv.zip")], ids=["gz", "zip"])
def test_a_small_archive_of_short_rows_stops_within_the_limit(tmp_path, make, name):
    """2 GB of 4-byte rows in a small archive: pandas' tokens take some ten times the text,
    which the file's size cannot foresee; the reading measures and stops, one line, and
    the process never passes REPORTGEN_MEMORY_LIMIT."""
    make(tmp_path / name, 2048)
    (tmp_path / "c.yaml").write_text(MEMORY_CONFIG % name)
    code, err, peak = run_measured(["run", "c.yaml"], tmp_path, REPORTGEN_MEMORY_LIMIT="1GB")
    assert code == 2, err
    line = one_error_line(err)
    assert f"data file {name} takes more memory to read than this run can use" in line
    assert peak < 1000, f"peak {peak:.0f} MB"
    assert not (tmp_path / "out" / "mem").exists() or not any(
        (tmp_path / "out" / "mem").glob("20*"))


def test_the_watch_stops_what_no_estimate_foresaw(tmp_path):
    """The backstop: an allocation no reader estimated. Growing by steps: stopped in the
    main thread (MemoryLimitReached); one allocation past the limit: the line, then exit."""
    import subprocess
    import sys

    script = """
import sys, numpy as np
from reportgen.data.memory import MemoryLimitReached, MemoryWatch
try:
    with MemoryWatch():
        if sys.argv[1] == "steps":
            kept = []
            while True:
                kept.append(np.ones(2**20))
        np.ones(2**28)
except MemoryLimitReached as reached:
    print(reached.line, file=sys.stderr)
    sys.exit(2)
"""
    for how in ("steps", "one"):
        done = subprocess.run([sys.executable, "-c", script, how], capture_output=True,
                              text=True, timeout=120,
                              env={**__import__("os").environ, "REPORTGEN_MEMORY_LIMIT": "600MB"})
        assert done.returncode == 2, done.stderr
        assert one_error_line(done.stderr).startswith(
            "error: the run needed more than 600.0 MB of memory (REPORTGEN_MEMORY_LIMIT); no "
            "report was changed"), done.stderr


def test_a_categorical_column_of_many_values_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    frame = blobs_frame(n_per_group=200).drop(columns="group")
    frame["code"] = [f"X{i}" for i in rng.permutation(len(frame))]
    frame.to_csv(tmp_path / "customers.csv", index=False)
    assert refused(tmp_path, capsys, ("numeric: [income, score]",
                                      "numeric: [income, score], categorical: [code]")) == (
        "error: features.categorical: column 'code' has more than 50 distinct values; each "
        "value becomes a column of its own, so the segments would follow the values: move it "
        "to features.profile, or derive a coarser column")


@pytest.mark.parametrize("damage", ["sparse", "text-segment", "inf-segment"])
def test_last_periods_segments_are_bounded_and_checked(small, capsys, damage):
    """Last period's segments.csv lies in a folder others may write: a 100 GB sparse file
    or a segment column of text or inf means no migration this month, said on the page,
    never a crash or the machine's memory."""
    import json

    assert main(["run", str(small / "config.yaml"), "--period", "2026-10"]) == 0
    old = small / "out" / "small" / "2026-10" / "segments.csv"
    if damage == "sparse":
        with open(old, "r+b") as stream:
            stream.truncate(100 * 10**9)
    else:
        lines = old.read_text().splitlines()
        first = lines[1].split(",")
        first[1] = "churned" if damage == "text-segment" else "inf"
        old.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    try:
        code, err = run_small(small, capsys=capsys)
    finally:
        old.unlink()
    assert code == 0, err
    summary = json.loads((small / "out" / "small" / "2026-11" / "summary.json").read_text())
    note = summary["changes"]["migration_note"]
    expected = {"sparse": "more than this run's memory allows",
                "text-segment": "its segment column holds 'churned', which is not a segment id",
                "inf-segment": "its segment column holds 'inf', which is not a segment id"}
    assert "could not be read" in note and expected[damage] in note, note


# ---- nothing read outside the output folder ----------------------------------------------


def test_a_summary_cannot_send_the_trend_outside_the_report(small, capsys):
    """Last period's summary.json names previous_period ../../x: the trend must not read
    x/summary.json, which lies outside the reports folder."""
    import json

    outside = small / "x"
    outside.mkdir()
    stolen = {"report": "small", "period": "1999-01", "segments": [
        {"id": 0, "name": "SECRET FROM OUTSIDE", "size": 1, "share": 0.5}]}
    (outside / "summary.json").write_text(json.dumps(stolen))
    assert main(["run", str(small / "config.yaml"), "--period", "2026-10"]) == 0
    last = small / "out" / "small" / "2026-10" / "summary.json"
    summary = json.loads(last.read_text())
    summary["previous_period"] = "../../x"
    last.write_text(json.dumps(summary))
    code, err = run_small(small, capsys=capsys)
    assert code == 0, err
    now = (small / "out" / "small" / "2026-11")
    assert "SECRET FROM OUTSIDE" not in (now / "summary.json").read_text()
    assert "SECRET FROM OUTSIDE" not in (now / "report.html").read_text()
    trend = json.loads((now / "summary.json").read_text())["changes"]["trend"]
    assert {point["period"] for point in trend} == {"2026-10", "2026-11"}


# ---- ids: text, byte-exact, in every format, through every CSV the run writes -----------


def _segments_ids(folder: Path) -> list[str]:

    from reportgen.record import read_segments

    return list(read_segments(folder / "out" / "small" / "2026-11")["id"])


def test_an_id_with_a_carriage_return_round_trips(small, capsys):
    import pandas as pd

    frame = pd.read_csv(small / "customers.csv", dtype={"customer_id": "str"})
    frame.loc[3, "customer_id"] = "K\r0003"
    frame.loc[4, "customer_id"] = "K\n0004"
    frame.loc[5, "customer_id"] = '=K "5"'
    frame.to_csv(small / "customers.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)
    code, err = run_small(small, capsys=capsys)
    assert code == 0, err
    assert _segments_ids(small) == list(frame["customer_id"])
    raw = pd.read_csv(small / "out" / "small" / "2026-11" / "segments.csv", dtype=str)
    assert len(raw) == len(frame)


def test_parquet_ids_stay_exact_text(tmp_path, capsys):
    """Binary ids read as text (not b'C00000'); 18-digit integers with a null among them
    stay exact (pandas alone makes them floats, and 'repeated' ids)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = blobs_frame().drop(columns="group")
    big = [123456789012345678 + i for i in range(len(frame))]
    big[7] = None
    for kind, ids in (("binary", pa.array([s.encode() for s in frame["customer_id"]],
                                          pa.binary())),
                      ("int64", pa.array(big, pa.int64()))):
        folder = tmp_path / kind
        folder.mkdir()
        table = pa.table({"customer_id": ids, "income": frame["income"],
                          "score": frame["score"], "age": frame["age"]})
        pq.write_table(table, folder / "customers.parquet")
        (folder / "config.yaml").write_text(
            (SMALL % "").replace("customers.csv", "customers.parquet"))
        code, err = run_small(folder, capsys=capsys)
        assert code == 0, err
        expected = ([str(i) for i in big if i is not None] if kind == "int64"
                    else list(frame["customer_id"]))
        assert _segments_ids(folder) == expected


def test_a_parquet_list_column_is_one_line(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = blobs_frame().drop(columns="group")
    table = pa.table({"customer_id": frame["customer_id"], "income": frame["income"],
                      "score": frame["score"], "age": frame["age"],
                      "tags": pa.array([[1, 2]] * len(frame))})
    pq.write_table(table, tmp_path / "customers.parquet")
    assert refused(tmp_path, capsys, ("path: customers.csv, id: customer_id}\nfeatures: "
                                      "{numeric: [income, score], profile: [age]}",
                                      "path: customers.parquet, id: customer_id}\nfeatures: "
                                      "{numeric: [income, score], categorical: [tags], "
                                      "profile: [age]}")) == (
        "error: features.categorical: column 'tags' of customers.parquet holds list<element: "
        "int64> values (lists or records); reportgen reads numbers, text and dates: flatten "
        "it where the file is made")


# ---- a row cut short is refused, not read as blanks ----------------------------------------


def _rows(path: Path, text: str, expected: int = 3, chunk: int = 7) -> None:
    """Feed `text` to ShortRows in small chunks (lines cut anywhere)."""
    from reportgen.data.raw import ShortRows

    rows = ShortRows(path, b",", expected, True)
    data = text.encode()
    for start in range(0, len(data), chunk):
        rows.feed(data[start:start + chunk])
    rows.close()


@pytest.mark.parametrize("text", [
    "a,b,c\n1,2,3\n4,5,6\n",
    "a,b,c\r\n1,2,3\r\n\r\n4,5,6",                       # CRLF, a blank line, no final break
    'a,b,c\n1,"x\ny\nz",3\n4,5,6\n',                     # a quoted field over three lines
    'a,b,c\n1,"x, ""q""",3\n4,5,6\n',                   # separators and quotes in quotes
    'a,b,c\n1,12" pizza,3\n4,5,6\n',                     # a quote inside a field: literal
    "a,b,c\r1,2,3\r4,5,6\r",                             # old Mac line ends
], ids=["plain", "crlf-blank", "multiline", "quoted", "inch", "cr-only"])
def test_whole_rows_pass(tmp_path, text):
    _rows(tmp_path / "x.csv", text)


@pytest.mark.parametrize(("text", "line"), [
    ("a,b,c\n1,2,3\n4,5\n7,8,9\n", 3),
    ('a,b,c\n1,"x, y",3\n4,5\n', 3),
    ("a,b,c\n1,2,3\n4", 3),
], ids=["middle", "after-quotes", "last-line"])
def test_a_short_row_is_found(tmp_path, text, line):
    with pytest.raises(DataError, match=f"line {line} has 2 fields where the header has 3"
                       if text[-1] != "4" else f"line {line} has 1 fields"):
        _rows(tmp_path / "x.csv", text)


def test_a_ragged_csv_is_one_line_at_run(small, capsys):
    lines = (small / "customers.csv").read_text().splitlines()
    lines[41] = ",".join(lines[41].split(",")[:3])  # the age of one customer lost
    (small / "customers.csv").write_text("\n".join(lines) + "\n")
    code, err = run_small(small, capsys=capsys)
    assert code == 2
    assert one_error_line(err) == (
        "error: data file customers.csv line 42 has 3 fields where the header has 4: a row "
        "cut short or a separator lost; fix the row (an empty cell is written as two "
        "separators side by side)")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.one_of(st.text(max_size=8), st.integers(), st.floats(
    allow_nan=False)), min_size=3, max_size=3), min_size=1, max_size=30),
    st.sampled_from(["\n", "\r\n"]))
def test_any_csv_written_by_a_csv_writer_passes_property(rows, ending):
    """Whatever a CSV writer quotes (separators, quotes, line breaks in a field), a file of
    whole rows is never refused."""
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=ending)
    writer.writerow(["a", "b", "c"])
    writer.writerows(rows)
    _rows(Path("x.csv"), buffer.getvalue(), chunk=5)


# ---- exit 2 (or the right result), never 1 -------------------------------------------------


@pytest.mark.parametrize("period", ["2026-10\n", "0000-01", "9999-12", "2026-1", "2026-13",
                                    "\uff12\uff10\uff12\uff16-\uff11\uff10"])
def test_a_bad_period_is_one_line(small, capsys, period):
    code = main(["run", str(small / "config.yaml"), "--period", period])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and line.startswith("error: --period: expected YYYY-MM such as 2026-11 "
                                         "(a year from 1900 to 2999), found ")
    assert "\n" not in line
    assert not list((small / "out").glob("small/[0-9]*"))


def test_leftovers_naming_an_impossible_pid_do_not_stop_runs(small, capsys):
    """A temporary folder and a lock file naming a 20-digit pid (a process no system can
    have): OverflowError made every later run of the report fail."""
    assert run_small(small)[0] == 0
    report = small / "out" / "small"
    stale = report / ".2026-11.tmp-99999999999999999999-abcd_123"
    stale.mkdir()
    (report / ".reportgen.lock").write_text("99999999999999999999 2026-11-01T00:00:00+00:00\n")
    code, err = run_small(small, "segmentation.k=4", capsys=capsys)
    assert code == 0, err
    assert not stale.exists()
