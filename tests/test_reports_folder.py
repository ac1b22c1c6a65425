"""The reports folder as an attacker or a busy cron host sees it: a saved model is data that
cannot run code, a tampered one is refused, links do not lead a run elsewhere, and one run
of a report at a time."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from helpers import SMALL_CONFIG, blobs_frame, run_cli, write_config
from sklearn.cluster import KMeans

from reportgen import run_report
from reportgen.config.schema import FeaturesSection
from reportgen.files import remove_stale
from reportgen.folders import report_lock
from reportgen.model.features import balance_categorical, make_transformer


def project(folder: Path) -> Path:
    """Three groups of customers with a category column and a logged income, k fixed."""
    frame = blobs_frame().drop(columns="group")
    frame["channel"] = np.random.default_rng(1).choice(["web", "shop", "phone"], len(frame))
    frame.to_csv(folder / "customers.csv", index=False)
    return write_config(folder, SMALL_CONFIG.replace("k: [2, 5]", "k: 3").replace(
        "numeric: [income, score]", "numeric: [income, score]\n  categorical: [channel]\n"
        "  log: [income]"))


def period_folder(config: Path, period: str) -> Path:
    return config.parent / "out" / "small" / period


def rehash(folder: Path) -> None:
    """What an attacker who can write the folder does too: make summary.json agree."""
    import hashlib

    summary = json.loads((folder / "summary.json").read_text())
    summary["model"]["sha256"] = hashlib.sha256((folder / "model.json").read_bytes()).hexdigest()
    (folder / "summary.json").write_text(json.dumps(summary))


class Touch:
    """A pickle that creates a file when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_the_crafted_pickle_really_runs_code_when_unpickled(tmp_path):
    """The attack the other tests defend against works, so their 'nothing created' means
    something."""
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(Touch(marker)))
    assert marker.exists()


def test_a_pickle_left_as_last_months_model_runs_nothing(tmp_path):
    config = project(tmp_path)
    first = run_cli("run", str(config), "--period", "2026-09", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    earlier = period_folder(config, "2026-09")
    marker = tmp_path / "pwned"
    (earlier / "model.json").unlink()
    (earlier / "model.joblib").write_bytes(pickle.dumps(Touch(marker)))
    second = run_cli("run", str(config), "--period", "2026-10", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert not marker.exists(), "the pickle ran"
    warning = [line for line in second.stderr.splitlines() if "model.joblib" in line]
    assert len(warning) == 1 and warning[0].startswith("warning: The segments of September 2026 "
                                                       "could not be carried over")
    assert f"reportgen upgrade-models {tmp_path / 'out'} --trust" in warning[0]
    summary = json.loads((period_folder(config, "2026-10") / "summary.json").read_text())
    assert summary["continuity"]["carried_over"] is False
    assert "upgrade-models" in (period_folder(config, "2026-10") / "report.html").read_text()


@pytest.mark.parametrize("with_hash", [False, True], ids=["summary untouched", "rehashed"])
def test_a_pickle_named_model_json_runs_nothing(tmp_path, with_hash):
    config = project(tmp_path)
    run_report(config, period="2026-09")
    earlier = period_folder(config, "2026-09")
    marker = tmp_path / "pwned"
    (earlier / "model.json").write_bytes(pickle.dumps(Touch(marker)))
    if with_hash:
        rehash(earlier)
    second = run_report(config, period="2026-10")
    assert not marker.exists()
    note = second.summary["continuity"]["note"]
    assert ("is not valid JSON" if with_hash else "is not the one its summary.json records") in note


def tamper(model: dict, case: str) -> str:
    """Edit a model.json record as `case` says; return what the refusal must say."""
    centres = model["kmeans"]["centres"]
    if case == "short centre":
        centres[1] = centres[1][:-1]
        return "kmeans.centres row 2 has 4 numbers, expected 5 (one per feature column)"
    if case == "nan":
        centres[0][0] = float("nan")
        return "is not valid JSON (NaN is not a number"
    if case == "text for a number":
        centres[0][0] = "1.0"
        return "is malformed (kmeans.centres.0.0: Input should be a valid number"
    if case == "renamed feature":
        model["features"]["numeric"] = ["income", "scores"]
        return "lists features (income, scores, channel) that do not match its preprocessing"
    if case == "one id too few":
        model["kmeans"]["cluster_ids"] = model["kmeans"]["cluster_ids"][:2]
        return "gives 2 cluster ids for 3 centres"
    if case == "newer format":
        model["version"] = 99
        return "was written by a newer reportgen (model format version 99"
    if case == "code-like names":
        model["format"] = "__import__('os').system('id')"
        return "is not a reportgen segment model"
    raise AssertionError(case)


TAMPERING = ["short centre", "nan", "text for a number", "renamed feature", "one id too few",
             "newer format", "code-like names"]


@pytest.mark.parametrize("case", TAMPERING)
def test_a_damaged_model_is_refused_with_one_clear_line(tmp_path, case):
    config = project(tmp_path)
    first = run_report(config, period="2026-09")
    model = json.loads((first.folder / "model.json").read_text())
    expected = tamper(model, case)
    (first.folder / "model.json").write_text(json.dumps(model))
    rehash(first.folder)
    second = run_cli("run", str(config), "--period", "2026-10", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    warnings = [w for w in second.stderr.splitlines() if "could not be carried over" in w]
    assert len(warnings) == 1 and expected in warnings[0], second.stderr
    summary = json.loads((period_folder(config, "2026-10") / "summary.json").read_text())
    assert [s["id"] for s in summary["segments"]] == [1, 2, 3]


def test_a_model_behind_a_symbolic_link_is_not_read(tmp_path):
    config = project(tmp_path)
    first = run_report(config, period="2026-09")
    elsewhere = tmp_path / "elsewhere.json"
    (first.folder / "model.json").rename(elsewhere)
    (first.folder / "model.json").symlink_to(elsewhere)
    second = run_report(config, period="2026-10")
    assert "a symbolic link is not followed" in second.summary["continuity"]["note"]


def legacy_record(config: Path, folder: Path) -> dict:
    """What reportgen wrote as model.joblib until format 2, for the period `folder`: the
    fitted scikit-learn transformer and K-Means (refitted here on the same data), and the
    ids, names, colours and centres of the model.json written for it."""
    model = json.loads((folder / "model.json").read_text())
    spec = FeaturesSection(numeric=["income", "score"], categorical=["channel"], log=["income"])
    frame = pd.read_csv(config.parent / "customers.csv")
    transformer = make_transformer(spec)
    matrix = transformer.fit_transform(frame[["income", "score", "channel"]])
    balance_categorical(transformer, matrix, 2)
    kmeans = KMeans(n_clusters=3)
    kmeans.cluster_centers_ = np.array(model["kmeans"]["centres"])
    segments = model["segments"]
    return {"format": 2, "period": model["period"], "transformer": transformer,
            "kmeans": kmeans, "cluster_ids": model["kmeans"]["cluster_ids"],
            "names": {s["id"]: s["name"] for s in segments},
            "colors": {s["id"]: s["color"] for s in segments},
            "centroids": {s["id"]: np.array(s["centroid"]) for s in segments},
            "features": model["features"], "next_id": model["next_id"],
            "fitted_in": model["fitted_in"]}


def make_legacy(config: Path, folder: Path) -> bytes:
    """Turn a period written today into one written before format 3; return its model.json."""
    written = (folder / "model.json").read_bytes()
    joblib.dump(legacy_record(config, folder), folder / "model.joblib", compress=3)
    (folder / "model.json").unlink()
    summary = json.loads((folder / "summary.json").read_text())
    del summary["model"]
    summary["outputs"] = [n.replace("model.json", "model.joblib") for n in summary["outputs"]]
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    return written


def test_upgrade_models_converts_a_trusted_folder_and_keeps_the_segment_ids(tmp_path):
    config = project(tmp_path)
    first = run_report(config, period="2026-09")
    written = make_legacy(config, first.folder)
    refused = run_cli("upgrade-models", str(tmp_path / "out"), cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: upgrade-models loads the model.joblib files under")
    assert "pass --trust only if nobody else can write into that folder" in refused.stderr
    assert (first.folder / "model.joblib").exists() and not (first.folder / "model.json").exists()

    done = run_cli("upgrade-models", str(tmp_path / "out"), "--trust", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "converted small 2026-09: model.joblib -> model.json" in done.stdout
    assert (first.folder / "model.json").read_bytes() == written, "the same model as today's"
    assert not (first.folder / "model.joblib").exists()
    summary = json.loads((first.folder / "summary.json").read_text())
    assert "model.json" in summary["outputs"] and summary["model"]["version"] == 1

    second = run_report(config, period="2026-10")
    assert second.summary["continuity"]["carried_over"] is True
    kept = [c["id"] for c in second.summary["changes"]["segments"] if c["status"] == "kept"]
    assert sorted(kept) == [1, 2, 3]
    again = run_cli("upgrade-models", str(tmp_path / "out" / "small"), "--trust", cwd=tmp_path)
    assert "0 models converted" in again.stdout and "(no model.joblib found)" in again.stdout


# ---- links ---------------------------------------------------------------------------------


def test_a_report_folder_that_is_a_link_is_refused(tmp_path):
    config = project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "small").symlink_to(elsewhere)
    result = run_cli("run", str(config), "--period", "2026-09", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: output: {tmp_path / 'out' / 'small'} is a symbolic link to {elsewhere}; "
        "reportgen writes only into real folders under output.dir, so that nobody can "
        "redirect a report elsewhere; replace the link with a folder")
    assert list(elsewhere.iterdir()) == []


def test_a_period_folder_that_is_a_link_is_refused_and_not_read(tmp_path):
    config = project(tmp_path)
    run_report(config, period="2026-09")
    report = tmp_path / "out" / "small"
    (report / "2026-09").rename(tmp_path / "moved")
    (report / "2026-09").symlink_to(tmp_path / "moved")
    rerun = run_cli("run", str(config), "--period", "2026-09", cwd=tmp_path)
    assert rerun.returncode == 2 and "2026-09 is a symbolic link to" in rerun.stderr
    later = run_report(config, period="2026-10")
    assert later.summary["previous_period"] is None, "the linked period is not compared with"
    index = (report / "index.html").read_text()
    assert "2026-10" in index and "2026-09" not in index


def test_a_report_name_cannot_leave_the_output_folder(tmp_path):
    config = project(tmp_path)
    result = run_cli("run", str(config), "--set", "report.name=../../etc", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: config key 'report.name': expected text matching "
                                    "^[a-z0-9][a-z0-9-]*$, found '../../etc'")
    assert not (tmp_path / "etc").exists()


def test_stale_cleanup_removes_only_its_own_names_and_never_follows_a_link(tmp_path):
    dead = 2**22 + 12345  # above the default pid_max: no such process
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "2026-09").mkdir()  # the period the retired copy was replaced by
    ours = [folder / f".2026-09.tmp-{dead}-abcd_123", folder / f".2026-09.old-{dead}"]
    for path in ours:
        path.mkdir()
        (path / "link").symlink_to(target)  # inside a stale folder: removed, not followed
    (folder / f".index.html.tmp-{dead}-k2j3h4g5").write_text("half a page")
    theirs = [folder / f".notes.tmp-{dead}-mine.txt", folder / f".2026-08.tmp-{dead}-LINKLINK"]
    theirs[0].write_text("a user's file")
    link = folder / f".2026-07.tmp-{dead}-abcdefgh"
    link.symlink_to(target)
    removed = remove_stale(folder)
    assert sorted(p.name for p in removed) == sorted(
        [p.name for p in ours] + [f".index.html.tmp-{dead}-k2j3h4g5"])
    assert theirs[0].exists() and link.is_symlink()
    assert (target / "keep.txt").read_text() == "keep"


def test_a_run_killed_between_the_two_renames_gets_the_earlier_report_back(tmp_path):
    """kill -9 after the earlier report was moved aside and before the new one took its
    place: the next run puts the earlier one back instead of removing it."""
    dead = 2**22 + 54321
    folder = tmp_path / "report"
    (folder / f".2026-09.old-{dead}").mkdir(parents=True)
    (folder / f".2026-09.old-{dead}" / "report.html").write_text("the earlier report")
    (folder / f".2026-09.tmp-{dead}-abcdefgh").mkdir()
    removed = remove_stale(folder)
    assert [p.name for p in removed] == [f".2026-09.tmp-{dead}-abcdefgh"]
    assert (folder / "2026-09" / "report.html").read_text() == "the earlier report"
    assert sorted(p.name for p in folder.iterdir()) == ["2026-09"]


# ---- one run at a time ---------------------------------------------------------------------


def test_a_second_run_of_the_same_report_stops_and_names_the_first(tmp_path):
    config = project(tmp_path)
    with report_lock(tmp_path / "out" / "small", "small"):
        started = time.strftime("%H:%M")
        result = run_cli("run", str(config), "--period", "2026-09", cwd=tmp_path)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert re.fullmatch(rf"error: another run of report small is in progress \(pid "
                        rf"{os.getpid()}, started \d\d:\d\d\); wait for it to finish, or pass "
                        r"--wait SECONDS to queue behind it", line), line
    assert started in line or time.strftime("%H:%M") in line
    assert not period_folder(config, "2026-09").exists()


def test_wait_queues_behind_the_run_in_progress(tmp_path):
    config = project(tmp_path)
    held = threading.Event()

    def hold_for_a_while() -> None:
        with report_lock(tmp_path / "out" / "small", "small"):
            held.set()
            time.sleep(2)

    holder = threading.Thread(target=hold_for_a_while)
    holder.start()
    held.wait()
    result = run_cli("run", str(config), "--period", "2026-09", "--wait", "60", cwd=tmp_path)
    holder.join()
    assert result.returncode == 0, result.stderr
    assert (period_folder(config, "2026-09") / "report.html").is_file()


def test_a_lock_left_by_a_killed_run_does_not_block(tmp_path):
    config = project(tmp_path)
    report = tmp_path / "out" / "small"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from reportgen.folders import report_lock\n"
         f"with report_lock(Path({str(report)!r}), 'small'):\n"
         "    print('held', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    blocked = run_cli("run", str(config), "--period", "2026-09", cwd=tmp_path)
    assert blocked.returncode == 2 and f"pid {holder.pid}" in blocked.stderr
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    result = run_cli("run", str(config), "--period", "2026-09", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_wait_takes_seconds(tmp_path):
    config = project(tmp_path)
    result = run_cli("run", str(config), "--wait", "soon", cwd=tmp_path)
    assert result.returncode == 2
    assert "argument --wait: expected seconds from 0 to 86400, found 'soon'" in result.stderr


def test_every_reports_folder_message_is_in_the_catalogue():
    from helpers import ROOT

    text = (ROOT / "docs" / "errors.md").read_text()
    fragments = [tamper(json.loads(json.dumps(MODEL_SHAPE)), case) for case in TAMPERING]
    fragments += [
        "is not the one its summary.json records (changed after the run)",
        "a symbolic link is not followed", "its model is an old model.joblib, which reportgen "
        "no longer loads because unpickling a file runs any code it holds",
        "is in progress (pid 4242, started 09:15); wait for it to finish, or pass --wait "
        "SECONDS to queue behind it", "reportgen writes only into real folders under "
        "output.dir, so that nobody can redirect a report elsewhere; replace the link with a "
        "folder", "pass --trust only if nobody else can write into that folder",
        "argument --wait: expected seconds from 0 to 86400, found 'soon'"]
    assert [f for f in fragments if f not in text] == []


MODEL_SHAPE = {"kmeans": {"centres": [[0.0] * 5] * 3, "cluster_ids": [1, 2, 3]},
               "features": {"numeric": ["income", "score"]}}
