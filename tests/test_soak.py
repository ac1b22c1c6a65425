"""The soak test's short version (benchmarks/soak.py runs 36 periods): monthly runs of a
drifting dataset, one in three killed with SIGKILL at a random moment and rerun; the archive
lists each period once, every period is compared with the one before, nothing is left over."""

from __future__ import annotations

import sys

from helpers import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from soak import soak


def test_six_months_with_kills_leave_an_unbroken_history(tmp_path):
    result = soak(tmp_path, periods=6, kill_every=3, seed=1, rows=600)
    assert result.problems == []
    assert result.runs == 8 and len(result.periods) == 6
    assert result.kills >= 1, "a run was killed before it finished"
