"""Small text helpers shared by several stages: name suggestions and number formatting."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Names a user probably meant: case-insensitive, so `Income` finds `income`."""
    pool = list(dict.fromkeys(str(c) for c in candidates))
    lowered = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    by_substring = [c for c in pool if name.lower() in c.lower() or c.lower() in name.lower()]
    found = [lowered[h] for h in hits] + by_substring
    return list(dict.fromkeys(found))[:n]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ready-to-append hint: "; did you mean 'x'?" or the list of valid names."""
    pool = list(candidates)
    near = closest(name, pool)
    if near:
        return "; did you mean " + " or ".join(f"'{c}'" for c in near) + "?"
    shown = ", ".join(f"'{c}'" for c in pool[:12])
    more = f" and {len(pool) - 12} more" if len(pool) > 12 else ""
    return f"; available: {shown}{more}" if pool else ""


def format_number(value: float) -> str:
    """Numbers as a reader says them: 86.5k, 1.2M, 42, 3.7, 0.25."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:.1f}B"
    if size >= 1e6:
        return f"{value / 1e6:.1f}M"
    if size >= 1e4:
        return f"{value / 1e3:.1f}k"
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}".removesuffix(".0")
    if size >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


def format_share(share: float) -> str:
    """A fraction as a percentage with the precision a reader needs (0.5% but 18%)."""
    pct = share * 100
    return f"{pct:.1f}%" if pct < 10 else f"{pct:.0f}%"


def signed(value: float, digits: int) -> str:
    """+1.3, -0.4, and 0.0 rather than the "-0.0" a bare format gives for tiny negatives."""
    rounded = round(value, digits) + 0.0
    return f"{rounded:.{digits}f}" if rounded == 0 else f"{rounded:+.{digits}f}"


CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
UNITS_RE = re.compile(r"\s*[(\[][^)\]]*[)\]]")


def humanize(column: str) -> str:
    """A column name as words: `spending_score` and `SpendingScore` -> `spending score`,
    `PURCHASES_FREQUENCY` -> `purchases frequency`, `Annual Income (k$)` -> `annual income
    (k$)`; a short acronym inside other words stays (`customer ID`)."""
    text = " ".join(CAMEL_RE.sub(" ", column.replace("_", " ")).split())
    shouting = text.upper() == text
    return " ".join(word if not shouting and _acronym(word) else word.lower()
                    for word in text.split(" "))


def _acronym(word: str) -> bool:
    letters = [ch for ch in word if ch.isalpha()]
    return 1 < len(letters) <= 4 and all(ch.isupper() for ch in letters)


def without_units(label: str) -> str:
    """A label for a name: `annual income (k$)` -> `annual income`."""
    return UNITS_RE.sub("", label).strip() or label

REPORT_NAME_PATTERN = r"[a-z0-9][a-z0-9-]*"  # report.name: the folder of a report's periods
# YYYY-MM, years 1900-2999: a period and its folder's name (fullmatch: a trailing newline
# is not a period)
PERIOD_RE = re.compile(r"(19|2\d)\d\d-(0[1-9]|1[0-2])")


def period_label(period: str) -> str:
    """2026-11 -> November 2026; anything else (read from a file others may write) as it
    is."""
    if not PERIOD_RE.fullmatch(period):
        return period
    return dt.date.fromisoformat(f"{period}-01").strftime("%B %Y")
