"""The command line: a thin shell over the Python API.

Exit codes: 0 done; 2 the user's input is wrong (one `error:` line on stderr, no
traceback); 1 a bug in reportgen (traceback only with --debug). Heavy libraries are
imported inside the commands so that `reportgen --help` answers at once.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TypeAlias

EXIT_OK, EXIT_BUG, EXIT_USER, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reportgen",
        description="Customer-segmentation reports (HTML and PDF) from a YAML config.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--version", action="version", version=f"reportgen {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(commands)
    _add_serve(commands)
    _add_send(commands)
    check = commands.add_parser("validate", help="check a config and its data; render nothing")
    check.add_argument("config", type=Path, help="the YAML config file")
    check.add_argument("--period", help="the period a SQL query's dates come from, YYYY-MM "
                       "(default: this month)")
    _add_set(check)
    _add_init(commands)
    _add_upgrade(commands)
    sample = commands.add_parser("sample-data",
                                 help="write the seeded sample customers and sales lines")
    sample.add_argument("dir", type=Path, nargs="?", default=Path("sample_data"),
                        help="folder to write customers.csv and transactions.csv.gz into "
                        "(default: sample_data)")
    return parser


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _add_run(commands: Commands) -> None:
    run = commands.add_parser("run", help="render the report a config describes")
    _add_period_target(run, "the report's period, YYYY-MM (default: this month)")
    run.add_argument("--open", action="store_true",
                     help="open the HTML report in the default browser afterwards")
    run.add_argument("--progress", action="store_true",
                     help="print each stage on stderr as it starts, also when not on a "
                     "terminal (for logs)")
    run.add_argument("--wait", type=_seconds, default=0.0, metavar="SECONDS",
                     help="when another run of the same report is in progress, wait up to "
                     "this long for it (default 0: stop at once with exit code 2)")
    _add_set(run)


def _add_serve(commands: Commands) -> None:
    serve = commands.add_parser(
        "serve", help="live preview: the HTML report in a browser, re-rendered on every save")
    _add_period_target(serve, "the report's period, YYYY-MM (default: this month)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default "
                       "8000; 0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1, this machine only)")
    serve.add_argument("--write", action="store_true",
                       help="also write each good rendering to the output folder, as "
                       "`reportgen run` does (default: nothing is written)")
    _add_set(serve)


def _add_send(commands: Commands) -> None:
    mail = commands.add_parser("send", help="email a period's PDF report (config's email:)")
    _add_period_target(mail, "the period to send, YYYY-MM (default: the latest)")
    mail.add_argument("--dry-run", action="store_true",
                      help="write the message to email.eml in the period folder; send nothing")
    _add_set(mail)


def _add_init(commands: Commands) -> None:
    init = commands.add_parser("init", help="write a commented starter config for a data file")
    init.add_argument("data", type=Path, help="a .csv .tsv .txt (optionally .gz .bz2 .xz "
                      ".zip), .parquet or .xlsx file")
    init.add_argument("-o", "--output", type=Path,
                      help="the config to write (default: <data file name>.yaml here)")
    init.add_argument("--force", action="store_true", help="replace an existing config")


def _add_upgrade(commands: Commands) -> None:
    upgrade = commands.add_parser(
        "upgrade-models", help="convert the old model.joblib files of a folder you trust "
        "into model.json, keeping segment ids")
    upgrade.add_argument("out", type=Path, help="the output folder (output.dir), or one "
                         "report's folder in it")
    upgrade.add_argument("--trust", action="store_true",
                         help="you vouch that nobody else could write into the folder: "
                         "loading a model.joblib (a pickle) runs any code it holds")


def _add_period_target(command: argparse.ArgumentParser, period_help: str) -> None:
    command.add_argument("config", type=Path, help="the YAML config file")
    command.add_argument("--out", type=Path, help="output folder (overrides output.dir)")
    command.add_argument("--period", help=period_help)


def _add_set(command: argparse.ArgumentParser) -> None:
    command.add_argument("--set", dest="settings", action="append", default=[],
                         metavar="KEY.PATH=VALUE",
                         help="override a config key, e.g. --set segmentation.k=5 (repeatable)")


class Stopped(BaseException):
    """SIGTERM (systemd, a cron timeout, kill): unwind like Ctrl-C so temporary files go."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    raise Stopped(signum)


WATCHED = ("run", "validate", "init", "send")  # commands that read data (serve renders on)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    try:
        if args.command not in WATCHED:
            return COMMANDS[args.command](args)
        return _watched(args)
    except KeyboardInterrupt:
        print("error: interrupted; no report was changed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Stopped as stop:
        print(f"error: stopped by {signal.Signals(stop.signum).name}; no report was changed",
              file=sys.stderr)
        return 128 + stop.signum
    except Exception as exc:
        return _report_failure(exc, args.debug)


def entry() -> NoReturn:
    """The `reportgen` command: main(), the exit handlers (temporary folders, logging), then
    out without the interpreter's teardown, which frees pandas', scikit-learn's and Altair's
    2,000 modules one by one: 0.45 s of every run, after everything was written."""
    code = main()
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # CPython's, not public
    if run_exit_handlers is None:  # another Python: the ordinary exit, teardown and all
        sys.exit(code)
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (| head)
            stream.flush()
    os._exit(code)


def _watched(args: argparse.Namespace) -> int:
    """A command that reads data, under the memory backstop (data/memory.py)."""
    from reportgen.data.memory import MemoryLimitReached, MemoryWatch

    try:
        with MemoryWatch():
            return COMMANDS[args.command](args)
    except MemoryLimitReached as reached:
        print(reached.line, file=sys.stderr)
        return EXIT_USER


def _report_failure(exc: Exception, debug: bool) -> int:
    from reportgen.errors import ReportgenError, failure_line

    if debug:
        traceback.print_exc()
    print(failure_line(exc), file=sys.stderr)
    return EXIT_USER if isinstance(exc, ReportgenError) else EXIT_BUG


def cmd_run(args: argparse.Namespace) -> int:
    from reportgen.api import run_report, stderr_progress, terminal_progress

    progress = stderr_progress if args.progress else terminal_progress()
    result = run_report(args.config, out=args.out, period=args.period, progress=progress,
                        wait=args.wait, **_settings(args.settings))
    summary = result.summary
    print(f"{summary['report']} {summary['period']}: {summary['n_customers']:,} customers in "
          f"{summary['k_selected']} segments -> {result.folder}")
    for warning in summary.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    if args.open:
        open_in_browser(result.html)
    return EXIT_OK


def open_in_browser(html: Path) -> None:
    """Show the report where a browser exists; say so (not fail) on a headless server."""
    import webbrowser

    if not html.is_file():
        print("note: --open: no report.html was written (output.formats)", file=sys.stderr)
    elif not webbrowser.open(html.as_uri()):
        print(f"note: --open: no browser found; open {html} yourself", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    from reportgen.serve import LOOPBACK, serve

    if args.host not in LOOPBACK:
        print(f"warning: --host {args.host}: anyone who can reach this machine on port "
              f"{args.port} can read the report and its customers' figures; serve on "
              "127.0.0.1 unless the network is trusted", file=sys.stderr)
    try:
        serve(args.config, host=args.host, port=args.port, period=args.period, out=args.out,
              write=args.write, overrides=_settings(args.settings))
    except KeyboardInterrupt:
        print("reportgen serve: stopped", file=sys.stderr)
    return EXIT_OK


def cmd_send(args: argparse.Namespace) -> int:
    from reportgen.api import send_report

    result = send_report(args.config, out=args.out, period=args.period, dry_run=args.dry_run,
                         **_settings(args.settings))
    if args.dry_run:
        print(f"dry run: the message is in {result}; nothing was sent")
    else:
        print(f"sent {result / 'report.pdf'}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from reportgen.api import validate

    found = validate(args.config, period=args.period, **_settings(args.settings))
    low, high = found["k"]
    k_text = str(low) if low == high else f"{low}..{high}"
    print(f"ok: {args.config} - {found['customers']:,} customers ({found['rows']:,} rows read), "
          f"{found['numeric']} numeric and {found['categorical']} categorical features, "
          f"{found['profile']} profile columns, k {k_text}")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    from reportgen.errors import one_line
    from reportgen.starter import write_starter

    path, starter = write_starter(args.data, args.output, args.force)
    if starter.sales is not None:
        roles = ", ".join(f"{role} {starter.sales[role]}"
                          for role in ("customer", "invoice", "date") if role in starter.sales)
        what = f"sales lines ({roles}), RFM features and predicted value"
    else:
        what = (f"one row a customer (id {starter.id or 'none: row numbers'}), "
                f"{len(starter.clustered)} clustering features, {len(starter.profile)} "
                "profile columns")
    print(one_line(f"wrote {path}: {what}; read the comments, then: reportgen run {path}"))
    return EXIT_OK


def cmd_upgrade_models(args: argparse.Namespace) -> int:
    from reportgen.upgrade import upgrade_models

    converted = upgrade_models(args.out, args.trust)
    for item in converted:
        print(f"converted {item.report} {item.period}: model.joblib -> model.json")
    print(f"{len(converted)} model{'' if len(converted) == 1 else 's'} converted in {args.out}"
          + ("" if converted else " (no model.joblib found)"))
    return EXIT_OK


def cmd_sample_data(args: argparse.Namespace) -> int:
    from reportgen.sample import DEFAULT_ROWS, SALES_CUSTOMERS, write_sales_sample, write_sample

    path = write_sample(args.dir)
    print(f"wrote {DEFAULT_ROWS:,} sample customers to {path}")
    path = write_sales_sample(args.dir)
    print(f"wrote sales lines of {SALES_CUSTOMERS:,} sample customers to {path}")
    return EXIT_OK


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 86400, found {text!r}")
    return value


def _settings(settings: list[str]) -> dict[str, object]:
    from reportgen.config.load import split_setting

    return dict(split_setting(s) for s in settings)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("reportgen")
    except metadata.PackageNotFoundError:
        return "unknown"


COMMANDS = {"run": cmd_run, "serve": cmd_serve, "send": cmd_send, "validate": cmd_validate,
            "init": cmd_init, "upgrade-models": cmd_upgrade_models, "sample-data": cmd_sample_data}

if __name__ == "__main__":
    entry()
