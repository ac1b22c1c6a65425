"""CI's verdict on a pytest JUnit report: every test ran and passed.

In CI nothing may skip: a skipped group (Spark without Java, SQL without PostgreSQL, the
browser tests without Chromium) would let a green run hide untested code. Each skipped
test is named with its reason, then the check fails. (`make test` on a user's machine
may still skip, printing the reasons.)

    python3 scripts/ci_check.py .ci-artifacts/junit.xml
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def verdict(junit: str) -> tuple[bool, list[str]]:
    """Whether CI passes, and the lines that say why."""
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    cases = [case for suite in suites for case in suite.iter("testcase")]
    skipped = [(f"{case.get('classname')}::{case.get('name')}", skip.get("message", ""))
               for case in cases for skip in case.findall("skipped")]
    failed = sum(bool(case.findall("failure") or case.findall("error")) for case in cases)
    ran = len(cases) - len(skipped)
    lines = [f"ci: {ran} tests ran, {len(skipped)} skipped, {failed} failed"]
    lines += [f"ci: skipped {name}: {reason}" for name, reason in skipped]
    if skipped:
        lines.append(f"ci: failing: {len(skipped)} tests skipped; in CI every test must run "
                     "(scripts/system-deps.sh installs what they need)")
    return ran > 0 and failed == 0 and not skipped, lines


if __name__ == "__main__":
    passed, lines = verdict(sys.argv[1])
    print("\n".join(lines))
    sys.exit(0 if passed else 1)
