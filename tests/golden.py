"""Golden outputs: what the example configs and the month series produce, kept in
tests/golden so that a refactor can prove it changes nothing a user sees.

Kept per run: summary.json (as written, less `generated_at`, `timings` and `versions`),
segments.csv (byte for byte) and the PDF's text (page by page, the versions line masked).
`pytest tests/test_golden.py --update-golden` rewrites them from the code as it is, for a
change that is meant to alter the outputs; the commit then shows what changed.
"""

from __future__ import annotations

import json
import math
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
    text = VERSIONS_RE.sub(r"\1<versions>\2", "\n\f\n".join(pages)) + "\n"
    return RIDGE_ROW_RE.sub(r"\1 <on a ridge>", text)


# The value model's parameters that lie on a ridge of the sample's likelihood (see
# same_json): their table rows in the PDF, the numbers masked.
RIDGE_ROW_RE = re.compile(r"^((?:a|b|p|gamma) (?:BG/NBD|Gamma-Gamma): [^\d\n]*?)(?: \S+){2}$",
                          re.M)


def differences(name: str, folder: Path) -> list[str]:
    """What differs from the golden copy, a line per file: the first line that differs."""
    problems = []
    seen = observed(folder)
    kept = sorted(p.name for p in (GOLDEN / name).iterdir()) if (GOLDEN / name).is_dir() else []
    problems += [f"{name}/{file}: the run did not write it (its golden copy exists)"
                 for file in kept if file not in seen]
    for file, text in seen.items():
        path = GOLDEN / name / file
        if not path.is_file():
            problems.append(f"{name}/{file}: no golden copy (run with --update-golden)")
            continue
        expected = path.read_text(encoding="utf-8")
        if text != expected and not same_json(file, expected, text):
            problems.append(f"{name}/{file}: {first_difference(expected, text)}")
    return problems


def same_json(file: str, expected: str, actual: str) -> bool:
    """summary.json's numbers are equal to 1e-4 relative, far below what the report
    prints: the last digits of a float sum, and where an optimum is flat the optimiser's
    last steps, move with the numpy, SciPy and BLAS a fresh environment installs.

    Left out: the value model's parameters (`params`), which on the transactions sample
    lie on a ridge of the likelihood (BG/NBD's a and b, Gamma-Gamma's p and gamma grow
    together with the same ratio, and a SciPy release moves them by a factor of two with
    the predictions unchanged to 1e-5; tests/test_value.py checks the parameters where
    they are identified, on the published CDNOW figures), and the saved model's hash,
    which changes with any digit of its numbers.
    """
    if not file.endswith(".json"):
        return False
    return close(json.loads(expected), json.loads(actual))


RIDGE_KEYS = ("params", "sha256")


def close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a
                                            if k not in RIDGE_KEYS)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


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
