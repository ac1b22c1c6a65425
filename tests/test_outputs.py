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
    result = run_report(small_project, period="2026-09", features={"numeric": ["income"]},
                        output={"formats": ["html", "pdf"]})
    assert result.summary["k_selected"] >= 2
    assert result.pdf.stat().st_size > 0


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
