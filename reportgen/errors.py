"""One exception hierarchy for the library; only `cli.py` turns these into exit codes.

Every message is meant to be printed as a single `error:` line, so it names where the
problem is (a dotted config key, a column, a file) and what to do about it.
"""

from __future__ import annotations


class ReportgenError(Exception):
    """The user's input cannot produce a report. The CLI exits with code 2."""


class ConfigError(ReportgenError):
    """The config file is unreadable, malformed, or holds a wrong or unknown key."""


class DataError(ReportgenError):
    """The data file is missing or unreadable, or lacks or mistypes a configured column."""


class SegmentationError(ReportgenError):
    """The data cannot support the requested segmentation (for example fewer rows than k)."""


class RuleError(ReportgenError):
    """A persona or recommendation rule refers to a column or level that does not exist."""


class OutputError(ReportgenError):
    """The report cannot be written: unwritable folder, template error, missing logo."""


class ModelError(ReportgenError):
    """A period's saved model cannot be used: missing, damaged, changed after its run, or
    in the old pickle format. A run then starts its segment numbering afresh and says why;
    `upgrade-models` stops with it."""


class DeliveryError(ReportgenError):
    """The email could not be built or sent; the report itself is untouched."""


class ExpressionError(ReportgenError):
    """A `derive:` or `transactions.amount` expression cannot be parsed or evaluated; the
    message points at the token. The config and data stages re-raise it as ConfigError or
    DataError naming the key."""


def failure_line(exc: BaseException) -> str:
    """The one line a failure is told in: by the CLI on stderr, by `serve` on the page.
    A file or column name in it may hold a line break or a terminal escape: shown escaped,
    so the line stays one line and cannot rewrite the terminal."""
    if isinstance(exc, ReportgenError):
        return f"error: {one_line(str(exc))}"
    return (f"error: internal error ({type(exc).__name__}: {one_line(str(exc))}); this is a "
            "bug in reportgen. Run again with --debug for the traceback.")


def one_line(text: str, limit: int = 4000) -> str:
    """Control characters (line breaks, tabs, ESC, NUL; C1 and Unicode's line and
    paragraph separators too) and lone surrogates as visible escapes, and at most `limit`
    characters."""
    shown = "".join(_visible(char) for char in text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x20 or 0x7F <= code < 0xA0 or code in (0x2028, 0x2029) \
            or 0xD800 <= code < 0xE000:  # a lone surrogate: an undecodable byte of a file name
        return repr(char)[1:-1] if code < 0x80 else f"\\u{code:04x}"
    return char


class EngineError(ReportgenError):
    """The configured engine cannot run: its library or runtime missing, a master that
    does not answer, a job that failed on an executor."""
