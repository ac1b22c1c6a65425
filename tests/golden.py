"""Golden outputs: what the example configs and the month series produce, kept in
tests/golden so that a refactor can prove it changes nothing a user sees.

Kept per run: summary.json (as written, less `generated_at`, `timings` and `versions`),
segments.csv (byte for byte) and the PDF's text (page by page, the versions line masked).
`pytest tests/test_golden.py --update-golden` rewrites them from the code as it is, for a
change that is meant to alter the outputs; the commit then shows what changed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import ROOT

GOLDEN = ROOT / "tests" / "golden"
VOLATILE = ("generated_at", "timings", "versions")
VERSIONS_RE = re.compile(r"(\nVersions\n).*?(\nConfig\n)", re.S)


def observed(folder: Path) -> dict[str, str]:
    """The comparable text of a period folder's outputs."""
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    for key in VOLATILE:
        summary.pop(key, None)
    out = {"summary.json": json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
           "segments.csv": (folder / "segments.csv").read_text(encoding="utf-8")}
    if (folder / "report.pdf").is_file():
        out["report.pdf.txt"] = pdf_text(folder / "report.pdf")
    return out


def pdf_text(pdf: Path) -> str:
    from pypdf import PdfReader

    pages = [page.extract_text() for page in PdfReader(pdf).pages]
    return VERSIONS_RE.sub(r"\1<versions>\2", "\n\f\n".join(pages)) + "\n"


def differences(name: str, folder: Path) -> list[str]:
    """What differs from the golden copy, a line per file: the first line that differs."""
    problems = []
    for file, text in observed(folder).items():
        path = GOLDEN / name / file
        if not path.is_file():
            problems.append(f"{name}/{file}: no golden copy (run with --update-golden)")
            continue
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            problems.append(f"{name}/{file}: {first_difference(expected, text)}")
    return problems


def first_difference(expected: str, actual: str) -> str:
    for number, (a, b) in enumerate(zip(expected.splitlines(), actual.splitlines(),
                                        strict=False), start=1):
        if a != b:
            return f"line {number}: expected {a[:120]!r}, got {b[:120]!r}"
    return f"{len(expected.splitlines())} lines expected, {len(actual.splitlines())} written"


def update(name: str, folder: Path) -> None:
    target = GOLDEN / name
    target.mkdir(parents=True, exist_ok=True)
    for file, text in observed(folder).items():
        (target / file).write_text(text, encoding="utf-8")
