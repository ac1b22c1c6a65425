"""Month to month: stable segment ids, names and colours, and what changed since last time."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from helpers import PERIODS, SMALL_CONFIG, blobs_frame, page_texts, squash, write_config

from reportgen import run_report
from reportgen.cli import main
from reportgen.model.continuity import match_ids
from reportgen.sample import GROUPS


def segments_csv(run) -> pd.DataFrame:
    return pd.read_csv(run.folder / "segments.csv", dtype={"id": "string"})


def by_id(run) -> dict[int, dict]:
    return {s["id"]: s for s in run.summary["segments"]}


def test_matched_segments_keep_their_ids_names_and_colours(drift_runs):
    first = by_id(drift_runs.runs[0])
    for run in drift_runs.runs[1:]:
        now = by_id(run)
        assert run.summary["changes"]["segments"]
        kept = [c["id"] for c in run.summary["changes"]["segments"] if c["status"] == "kept"]
        assert sorted(kept) == sorted(first), "every segment should be matched"
        for sid in kept:
            assert (now[sid]["name"], now[sid]["color"]) == (first[sid]["name"],
                                                             first[sid]["color"])


def test_returning_customers_who_did_not_change_keep_their_segment(drift_runs):
    for before, after, month in zip(drift_runs.runs, drift_runs.runs[1:],
                                    drift_runs.months[1:], strict=False):
        switched = dict(zip(month.frame["customer_id"], month.switched, strict=True))
        joined = segments_csv(before).merge(segments_csv(after), on="id", suffixes=("_a", "_b"))
        unchanged = joined[~joined["id"].map(switched).astype(bool)]
        kept = (unchanged["segment_a"] == unchanged["segment_b"]).mean()
        assert kept >= 0.95, kept
        assert len(unchanged) > 1500


def test_the_migration_matrix_accounts_for_every_returning_customer(drift_runs):
    for before, after in zip(drift_runs.runs, drift_runs.runs[1:], strict=False):
        migration = after.summary["migration"]
        returning = len(set(segments_csv(before)["id"]) & set(segments_csv(after)["id"]))
        assert migration["returning"] == returning
        assert sum(cell["customers"] for cell in migration["matrix"]) == returning
        new = len(set(segments_csv(after)["id"]) - set(segments_csv(before)["id"]))
        assert migration["new_customers"] == new
        per_segment = sum(c["new_customers"] or 0 for c in after.summary["changes"]["segments"])
        assert per_segment == new
        for cell in migration["matrix"]:
            assert 0 < cell["share_of_from"] <= 1


def test_the_growing_segment_grows_and_the_report_says_so(drift_runs):
    growing = next(i for i, g in enumerate(GROUPS) if g.name == "Young enthusiasts")
    months = drift_runs.months
    assert (months[-1].groups == growing).mean() > (months[0].groups == growing).mean() + 0.02
    shares = [{s["name"]: s["share"] for s in run.summary["segments"]}
              for run in drift_runs.runs]
    name = max(shares[-1], key=lambda n: shares[-1][n] - shares[0][n])
    assert shares[-1][name] - shares[0][name] > 0.02
    last = drift_runs.runs[-1].summary
    assert any(f.startswith(f"{name} grew from") for f in last["changes"]["findings"])
    assert last["previous_period"] == "2026-10"
    assert sorted({r["period"] for r in last["changes"]["trend"]}) == list(PERIODS)


def test_the_pdf_and_html_show_what_changed(drift_runs):
    from pypdf import PdfReader

    last = drift_runs.runs[-1]
    text = " ".join(page.extract_text() for page in PdfReader(last.pdf).pages)
    text = re.sub(r"\s+", " ", text)
    assert "What changed since October 2026" in text
    assert "Where last period's customers went" in text
    assert "returning customers stayed in their segment" in text
    pages = page_texts(last.pdf)
    found = re.search(re.escape(squash("What changed since October 2026")) + r"\.+(\d+)",
                      pages[0])
    assert found, "the contents list the section"
    assert squash("What changed since October 2026") in pages[int(found.group(1)) - 1]
    html = last.html.read_text()
    assert 'id="chart-migration"' in html and 'id="chart-trend"' in html
    first = drift_runs.runs[0].html.read_text()
    assert "What changed" not in first


def test_the_archive_lists_three_periods_with_working_links(drift_runs):
    index = (drift_runs.out / "index.html").read_text()
    assert re.findall(r"<strong>(\d{4}-\d\d)</strong>", index) == list(reversed(PERIODS))
    for link in re.findall(r'href="([^"]+)"', index):
        assert not re.match(r"^(/|[a-z]+:)", link), link
        assert (drift_runs.out / link).is_file(), link


def test_a_new_cluster_gets_a_fresh_id_and_an_unmatched_one_is_retired():
    old = {1: np.array([0.0, 0.0]), 2: np.array([10.0, 0.0]), 3: np.array([0.0, 10.0])}
    model = SimpleNamespace(centroids=old, next_id=4)
    new = {1: np.array([10.4, 0.2]), 2: np.array([0.3, -0.2]), 3: np.array([30.0, 30.0])}
    assert match_ids(new, model, 0.5) == [2, 1, 4]
    # half-way to the nearest other centre (10 away) is the limit: 4.9 matches, 5.1 does not
    assert match_ids({1: np.array([0, -4.9]), 2: np.array([0.0, 10.0])}, model, 0.5) == [1, 3]
    assert match_ids({1: np.array([0, -5.1]), 2: np.array([0.0, 10.0])}, model, 0.5) == [4, 3]


def blobs_project(folder: Path, drop: int = 0, seed: int = 0) -> Path:
    """The three-group test project with k fixed at 3 (optionally other customers)."""
    frame = blobs_frame(seed=seed).drop(columns="group").iloc[drop:]
    frame.to_csv(folder / "customers.csv", index=False)
    return write_config(folder, SMALL_CONFIG.replace("k: [2, 5]", "k: 3"))


def test_more_segments_than_last_month_keep_the_old_ids_and_say_k_changed(tmp_path):
    config = blobs_project(tmp_path)
    first = run_report(config, period="2026-09", segmentation={"k": 2})
    second = run_report(config, period="2026-10", segmentation={"k": 3})
    changes = second.summary["changes"]
    assert (changes["k_before"], changes["k_now"]) == (2, 3)
    statuses = {c["id"]: c["status"] for c in changes["segments"]}
    # two old segments can match at most two of the three new ones: one is new, id 3
    assert sorted(statuses.items()) == [(1, "kept"), (2, "kept"), (3, "new")]
    assert any(f.startswith("There are 3 segments now against 2") for f in changes["findings"])
    assert "The number of segments changed from 2 to 3" in second.html.read_text()
    names_before = {s["id"]: s["name"] for s in first.summary["segments"]}
    for s in second.summary["segments"]:
        if statuses[s["id"]] == "kept":
            assert s["name"] == names_before[s["id"]]
        else:
            assert s["id"] == 3  # the next unused number
    third = run_report(config, period="2026-11", segmentation={"k": 2})
    retired = [c for c in third.summary["changes"]["segments"] if c["status"] == "retired"]
    assert len(retired) == 1 and "no counterpart this period" in " ".join(
        third.summary["changes"]["findings"])
    fourth = run_report(config, period="2026-12", segmentation={"k": 3})
    assert max(s["id"] for s in fourth.summary["segments"]) == 4, "ids are never reused"


def test_refit_false_scores_new_data_with_the_saved_model(tmp_path):
    config = blobs_project(tmp_path)
    first = run_report(config, period="2026-09")
    blobs_project(tmp_path, drop=20, seed=1)
    second = run_report(config, period="2026-10", segmentation={"refit": False, "k": [2, 6]})
    saved = json.loads((first.folder / "model.json").read_text())
    again = json.loads((second.folder / "model.json").read_text())
    assert saved["kmeans"] == again["kmeans"]
    assert again["fitted_in"] == "2026-09"
    assert second.summary["selection"]["method"] == "saved"
    assert "kept unchanged (segmentation.refit: false)" in second.summary["selection"]["reason"]
    frame = pd.read_csv(tmp_path / "customers.csv")
    scaled = np.column_stack([(frame[s["column"]] - s["subtract"]) / s["divide"]
                              for s in saved["preprocessing"]["numeric"]])
    centres = np.array(saved["kmeans"]["centres"])
    clusters = ((scaled[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
    expected = np.asarray(saved["kmeans"]["cluster_ids"])[clusters]
    assert segments_csv(second)["segment"].tolist() == expected.tolist()


def test_refit_false_with_other_features_is_a_clear_error(tmp_path, capsys):
    config = blobs_project(tmp_path)
    run_report(config, period="2026-09")
    code = main(["run", str(config), "--period", "2026-10", "--set",
                 "segmentation.refit=false", "--set", "features.numeric=[income, score, age]",
                 "--set", "features.profile=[]"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: segmentation.refit: false needs the clustering features")
    assert "added age" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "small" / "2026-10").exists()


def test_changed_features_start_afresh_and_say_why(tmp_path):
    config = blobs_project(tmp_path)
    run_report(config, period="2026-09")
    second = run_report(config, period="2026-10", features={"numeric": ["income", "score", "age"],
                                                              "profile": []})
    assert second.summary["changes"] is None and second.summary["previous_period"] is None
    assert "added age" in second.summary["continuity"]["note"]
    assert "segment numbers start afresh" in second.html.read_text()


def test_an_unreadable_model_does_not_stop_the_next_month(tmp_path):
    config = blobs_project(tmp_path)
    first = run_report(config, period="2026-09")
    (first.folder / "model.json").write_bytes(b"not a model")
    second = run_report(config, period="2026-10")
    assert "is not the one its summary.json records" in second.summary["continuity"]["note"]
    assert [s["id"] for s in second.summary["segments"]] == [1, 2, 3]


def test_rerunning_a_period_compares_with_the_one_before_not_itself(tmp_path):
    config = blobs_project(tmp_path)
    run_report(config, period="2026-09")
    run_report(config, period="2026-10")
    again = run_report(config, period="2026-10")
    assert again.summary["previous_period"] == "2026-09"
    summary = json.loads((again.folder / "summary.json").read_text())
    assert summary["migration"]["returning"] == 180


def test_without_customer_ids_movements_are_not_guessed(tmp_path):
    config = blobs_project(tmp_path)
    text = config.read_text().replace("  id: customer_id\n", "")
    config.write_text(text)
    run_report(config, period="2026-09")
    second = run_report(config, period="2026-10")
    assert second.summary["migration"] is None
    assert "set data.id" in second.summary["changes"]["migration_note"]
    assert "set data.id" in second.html.read_text()
