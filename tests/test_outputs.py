"""Outputs are published whole or not at all: a failed run keeps the previous report."""

from __future__ import annotations

import pytest

from reportgen import run_report


def test_failed_rerun_leaves_the_previous_report_untouched(small_project, monkeypatch):
    first = run_report(small_project, period="2026-09")
    before = {p.name: p.read_bytes() for p in first.folder.iterdir()}

    def fail(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("reportgen.publish.write_segments_csv", fail)
    with pytest.raises(RuntimeError):
        run_report(small_project, period="2026-09", segmentation={"k": 4})
    after = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    assert after == before
    assert [p.name for p in first.folder.parent.iterdir()] == ["2026-09"]


def test_rerun_replaces_the_period_and_folders_are_readable(small_project):
    first = run_report(small_project, period="2026-09")
    second = run_report(small_project, period="2026-09", segmentation={"k": 4})
    assert second.folder == first.folder and second.summary["k_selected"] == 4
    assert (second.folder.stat().st_mode & 0o055) == 0o055  # group/others can read and enter
    assert [p.name for p in first.folder.parent.iterdir()] == ["2026-09"]
