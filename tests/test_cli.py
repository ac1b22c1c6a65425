"""The command line end to end: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import ROOT, write_config
from helpers import run_cli as reportgen

from reportgen import cli


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_run_renders_a_small_report(small_project):
    result = reportgen("run", str(small_project), "--period", "2026-10")
    assert result.returncode == 0, result.stderr
    assert "small 2026-10: 180 customers in 3 segments" in result.stdout
    folder = small_project.parent / "out" / "small" / "2026-10"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["k_selected"] == 3 and (folder / "report.html").is_file()
    assert not (folder / "report.pdf").exists()  # formats: [html]


def test_set_overrides_a_key(small_project):
    result = reportgen("run", str(small_project), "--period", "2026-10",
                       "--set", "segmentation.k=4", "--set", "report.name=forced")
    assert result.returncode == 0, result.stderr
    summary = json.loads((small_project.parent / "out/forced/2026-10/summary.json").read_text())
    assert summary["k_selected"] == 4 and summary["selection"]["method"] == "fixed"


def test_missing_feature_is_a_one_line_error(small_project):
    result = reportgen("run", str(small_project), "--set", "features.numeric=[income, scor]")
    assert_user_error(result, "column 'scor' is not in customers.csv", "did you mean 'score'")


def test_yaml_syntax_error_is_a_one_line_error(tmp_path):
    config = write_config(tmp_path, "report:\n  name: x\n   title: y\n")
    assert_user_error(reportgen("run", str(config)), "line 3, column", "YAML syntax error")


def test_unknown_key_is_a_one_line_error(small_project):
    text = small_project.read_text().replace("segmentation:", "segmentaton:")
    small_project.write_text(text)
    assert_user_error(reportgen("validate", str(small_project)),
                      "unknown key 'segmentaton'", "did you mean 'segmentation'")


def test_bad_period_is_a_user_error(small_project):
    assert_user_error(reportgen("run", str(small_project), "--period", "2026-13"),
                      "--period: expected YYYY-MM")


def test_too_many_segments_for_the_data(tmp_path):
    (tmp_path / "customers.csv").write_text("customer_id,income,score,age\n"
                                            "a,1,2,30\nb,2,3,40\nc,3,1,50\n")
    config = write_config(tmp_path, (ROOT / "tests" / "helpers.py").read_text().split(
        'SMALL_CONFIG = """')[1].split('"""')[0])
    assert_user_error(reportgen("run", str(config)), "3 distinct customers", "segmentation.k")


def test_unwritable_output_folder(small_project, tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    assert_user_error(reportgen("run", str(small_project), "--out", str(blocker / "sub")),
                      "output.dir: cannot write")


def test_validate_reports_what_it_found(small_project):
    result = reportgen("validate", str(small_project))
    assert result.returncode == 0, result.stderr
    assert "ok:" in result.stdout and "180 customers" in result.stdout
    assert "2 numeric and 0 categorical features, 1 profile columns, k 2..5" in result.stdout
    assert not (small_project.parent / "out").exists()


def test_sample_data_writes_the_committed_file(tmp_path):
    result = reportgen("sample-data", str(tmp_path))
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "customers.csv").read_bytes()
    assert written == (ROOT / "sample_data" / "customers.csv").read_bytes()
    sales = (tmp_path / "transactions.csv.gz").read_bytes()
    assert sales == (ROOT / "sample_data" / "transactions.csv.gz").read_bytes()


def test_help_is_instant_and_lists_the_commands():
    result = reportgen("--help")
    assert result.returncode == 0
    for command in ("run", "validate", "sample-data"):
        assert command in result.stdout
    probe = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True)
    assert probe.stdout.strip().splitlines()[-1] == "[]", probe.stdout  # nothing heavy loaded


# `reportgen --help` and `reportgen run --help`, in one process: which heavy libraries they
# loaded (none may be: the help answers before pandas and the rest are imported)
HELP_PROBE = """
import sys
from reportgen.cli import main
for argv in (["--help"], ["run", "--help"], ["init", "--help"]):
    try:
        main(argv)
    except SystemExit:
        pass
print(sorted(m for m in ("pandas", "sklearn", "weasyprint", "altair", "numpy")
             if m in sys.modules))
"""


def test_internal_errors_exit_1_with_a_hint_and_no_traceback(monkeypatch, capsys, small_project):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("reportgen.api.run_report", broken)
    assert cli.main(["run", str(small_project)]) == 1
    err = capsys.readouterr().err
    assert "internal error (ZeroDivisionError: boom)" in err and "--debug" in err
    assert "Traceback" not in err
    assert cli.main(["--debug", "run", str(small_project)]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("module", [["-m", "reportgen"]])
def test_python_dash_m_is_the_same_command(module):
    result = subprocess.run([sys.executable, *module, "--version"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and result.stdout.startswith("reportgen ")


def test_open_shows_the_html_in_the_default_browser(monkeypatch, capsys, small_project):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    assert cli.main(["run", str(small_project), "--period", "2026-10", "--open"]) == 0
    expected = small_project.parent / "out" / "small" / "2026-10" / "report.html"
    assert opened == [expected.resolve().as_uri()]


def test_open_without_a_browser_is_a_note_not_a_failure(monkeypatch, capsys, small_project):
    monkeypatch.setattr("webbrowser.open", lambda url: False)
    assert cli.main(["run", str(small_project), "--period", "2026-10", "--open"]) == 0
    assert "no browser found" in capsys.readouterr().err


class Exited(Exception):
    pass


def test_the_command_runs_the_exit_handlers_then_leaves_with_mains_code(monkeypatch):
    """`reportgen` skips the interpreter's teardown (cli.entry): the exit handlers (which
    remove temporary folders) still run first, and the exit code is main()'s."""
    import atexit

    ran = []
    monkeypatch.setattr(cli, "main", lambda: 2)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: ran.append("handlers"))

    def leave(code: int) -> None:
        ran.append(code)
        raise Exited

    monkeypatch.setattr(cli.os, "_exit", leave)
    with pytest.raises(Exited):
        cli.entry()
    assert ran == ["handlers", 2]


def test_the_command_exits_the_ordinary_way_where_python_lacks_the_handlers_runner(
        monkeypatch):
    """atexit._run_exitfuncs is CPython's own, not public: without it, a plain sys.exit."""
    import atexit

    monkeypatch.setattr(cli, "main", lambda: 2)
    monkeypatch.delattr(atexit, "_run_exitfuncs")
    with pytest.raises(SystemExit) as exited:
        cli.entry()
    assert exited.value.code == 2
