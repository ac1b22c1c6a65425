"""Outputs are published whole or not at all: a failed run keeps the previous report."""

from __future__ import annotations

import pytest

from reportgen import run_report


def test_failed_rerun_leaves_the_previous_report_untouched(small_project, monkeypatch):
    first = run_report(small_project, period="2026-09")
    before = {p.name: p.read_bytes() for p in first.folder.iterdir()}

    def fail(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("reportgen.deliver.period.write_model", fail)
    with pytest.raises(RuntimeError):
        run_report(small_project, period="2026-09", segmentation={"k": 4})
    after = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    assert after == before
    assert sorted(p.name for p in first.folder.parent.iterdir()) == [".reportgen.lock",
                                                                     "2026-09", "index.html"]


def test_rerun_replaces_the_period_and_folders_are_readable(small_project):
    first = run_report(small_project, period="2026-09")
    second = run_report(small_project, period="2026-09", segmentation={"k": 4})
    assert second.folder == first.folder and second.summary["k_selected"] == 4
    assert (second.folder.stat().st_mode & 0o055) == 0o055  # group/others can read and enter
    assert sorted(p.name for p in first.folder.parent.iterdir()) == [".reportgen.lock",
                                                                     "2026-09", "index.html"]


def test_a_single_clustering_column_still_gives_a_full_report(small_project):
    """Income alone separates the three groups of 60 (centres 20k, 60k, 110k): three
    segments of 60, each in the PDF with its size and the income that sets it apart."""
    import subprocess

    result = run_report(small_project, period="2026-09", features={"numeric": ["income"]},
                        output={"formats": ["html", "pdf"]})
    segments = sorted(result.summary["segments"], key=lambda s: s["profile"]["income"]["mean"])
    assert result.summary["k_selected"] == 3
    assert [s["size"] for s in segments] == [60, 60, 60]
    assert [round(s["profile"]["income"]["mean"], -3) for s in segments] == [
        19_000, 60_000, 110_000]
    text = subprocess.run(["pdftotext", "-layout", str(result.pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    for segment in segments:
        assert text.count(segment["name"]) >= 2, segment["name"]
    assert "60 customers · 33%" in text
    assert "Income 1.7x the average (110.2k vs 63.1k)" in text


def test_categorical_only_features_name_segments_by_category(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    pd.DataFrame({"id": range(300), "region": rng.choice(["north", "south", "east"], 300),
                  "channel": rng.choice(["web", "store"], 300),
                  "spend": rng.lognormal(4, 1, 300)}).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "c.yaml").write_text(
        "report: {name: cats, title: Categories}\ndata: {path: d.csv, id: id}\n"
        "features: {categorical: [region, channel], profile: [spend]}\n"
        "segmentation: {k: [2, 4]}\noutput: {dir: out, formats: [html]}\n")
    result = run_report(tmp_path / "c.yaml", period="2026-09")
    names = [s["name"] for s in result.summary["segments"]]
    assert len(set(names)) == len(names) == result.summary["k_selected"]
    assert any("region" in n or "channel" in n for n in names)
