"""Control groups in the audiences (issue 31): reproducible, stratified, unpredictable
without the report's key, and refused next period when edited by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, run_cli

from reportgen import run_report
from reportgen.folders import CONTROL_KEY
from reportgen.model.control import assign

LINES = ROOT / "sample_data" / "transactions.csv.gz"
CONTROL = {"audiences": {"control_share": 0.1}, "output": {"formats": ["html"]},
           "value": {"model": "bgnbd"}}  # one purchase model: the groups do not depend on it


def run(out: Path, period: str = "2026-10", data: Path = LINES, **more):
    return run_report(ROOT / "configs" / "transactions.yaml", out=out, period=period,
                      data={"path": str(data)}, **CONTROL, **more)


def groups(folder: Path) -> pd.DataFrame:
    """Every customer's segment and group, from the audience files a CRM gets."""
    parts = []
    for path in sorted((folder / "audiences").glob("*-*.csv")):
        if path.name.endswith(".treatment.csv") or path.name == "movers.csv":
            continue
        frame = pd.read_csv(path, dtype={"id": str})
        parts.append(frame.assign(segment=int(path.name.split("-")[0])))
    return pd.concat(parts).set_index("id").sort_index()[["segment", "group"]]


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    return run(tmp_path_factory.mktemp("control") / "out")


def test_each_segment_holds_out_its_share_to_one_customer(first):
    found = groups(first.folder)
    counts = first.summary["control"]
    assert counts["share"] == 0.1
    for segment in counts["segments"]:
        members = found[found["segment"] == segment["id"]]
        held = int((members["group"] == "control").sum())
        assert held == segment["control"] and len(members) - held == segment["treatment"]
        assert abs(held - 0.1 * len(members)) <= 1  # exact to one customer
    assert len(found) == first.summary["n_customers"]


def test_the_treatment_file_is_the_segment_without_its_control_group(first):
    audiences = first.folder / "audiences"
    for path in audiences.glob("*.treatment.csv"):
        treated = pd.read_csv(path, dtype={"id": str})
        whole = pd.read_csv(audiences / path.name.replace(".treatment", ""), dtype={"id": str})
        assert list(treated.columns) == ["id", "persona", "value", "p_alive"]
        expected = whole[whole["group"] == "treatment"].drop(columns="group")
        assert treated.reset_index(drop=True).equals(expected.reset_index(drop=True))


def test_a_rerun_gives_the_same_groups_and_shuffled_rows_too(first, tmp_path):
    again = groups(run(tmp_path / "again", data=LINES).folder)  # another folder, own key
    assert not again["group"].equals(groups(first.folder)["group"])
    key_first = (first.folder.parent / CONTROL_KEY).read_text()
    assert (first.folder.parent / CONTROL_KEY).stat().st_mode & 0o777 == 0o600
    assert len(key_first.strip()) == 64
    (tmp_path / "again" / "transactions" / CONTROL_KEY).write_text(key_first)
    rerun = run(tmp_path / "again", data=LINES)
    assert groups(rerun.folder).equals(groups(first.folder))
    lines = pd.read_csv(LINES, dtype=str)
    shuffled = tmp_path / "shuffled.csv"
    lines.sample(frac=1.0, random_state=3).to_csv(shuffled, index=False)
    (tmp_path / "shuffled" / "transactions").mkdir(parents=True)
    (tmp_path / "shuffled" / "transactions" / CONTROL_KEY).write_text(key_first)
    moved = run(tmp_path / "shuffled", data=shuffled)
    assert groups(moved.folder).equals(groups(first.folder))


def test_nobody_can_tell_the_groups_without_the_key():
    """Another key gives other groups: about share x share of one control group is in
    another's, as chance would have it."""
    ids = pd.Series([f"C{i:05d}" for i in range(20_000)])
    labels = np.ones(len(ids), dtype=int)
    one = assign(ids, labels, 0.1, b"a" * 32, "r", "2026-10").control
    two = assign(ids, labels, 0.1, b"b" * 32, "r", "2026-10").control
    assert one.sum() == two.sum() == 2_000
    assert 0.06 < (one & two).sum() / one.sum() < 0.14


def test_an_edited_assignment_is_refused_next_period_with_a_warning(first, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(first.folder.parent.parent, out)
    previous = out / "transactions" / "2026-10" / "audiences" / "assignment.csv"
    untouched = run(out, period="2026-11")
    assert not [w for w in untouched.summary["warnings"] if "control groups" in w]
    text = previous.read_text().splitlines()
    row = next(i for i, line in enumerate(text) if line.endswith(",control"))
    text[row] = text[row].replace(",control", ",treatment")
    previous.write_text("\n".join(text) + "\n")
    edited = run(out, period="2026-11")
    (warning,) = [w for w in edited.summary["warnings"] if "control groups" in w]
    assert warning == (
        "Last period's control groups cannot be used: audiences/assignment.csv was changed "
        "after it was written. Whether last period's actions worked is not measured this "
        "period.")
    record = previous.with_name("assignment.json")
    signed = json.loads(record.read_text())
    signed["share"] = 0.2
    record.write_text(json.dumps(signed))
    edited = run(out, period="2026-11")
    assert any("assignment.json was changed after it was written" in w
               for w in edited.summary["warnings"])


def test_a_damaged_key_is_one_line_and_nothing_is_written(first, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text((ROOT / "configs" / "transactions.yaml").read_text().replace(
        "../sample_data/transactions.csv.gz", str(LINES)).replace("dir: ../reports",
                                                                  f"dir: {tmp_path / 'out'}"))
    (tmp_path / "out" / "transactions").mkdir(parents=True)
    (tmp_path / "out" / "transactions" / CONTROL_KEY).write_text("not a key\n")
    done = run_cli("run", str(config), "--set", "audiences.control_share=0.1", "--period",
                   "2026-10")
    assert done.returncode == 2
    assert done.stderr.strip().endswith("the control groups' key is not 64 hex digits; "
                                        "restore the file from a backup, or remove it to "
                                        "start new groups")
    assert not (tmp_path / "out" / "transactions" / "2026-10").exists()


def test_a_control_group_needs_the_audiences_of_the_value_model(tmp_path):
    done = run_cli("validate", str(ROOT / "configs" / "sample.yaml"), "--set",
                   "audiences.control_share=0.1")
    assert done.returncode == 2
    assert "audiences.control_share: the audiences are written with the value model" in (
        done.stderr)


def test_a_missing_assignment_or_key_is_a_warning_and_no_section(first, tmp_path):
    """Last period held customers out (its summary.json says so) but its assignment, or
    the report's key, is gone: one warning line, and no lift is measured."""
    import shutil

    for lost, words in ((Path("2026-10/audiences/assignment.json"),
                         "audiences/assignment.json is missing from 2026-10's folder"),
                        (Path(CONTROL_KEY), "the report's key (.reportgen-control-key) is "
                         "missing, so 2026-10's audiences/assignment.json cannot be checked")):
        out = tmp_path / lost.name
        shutil.copytree(first.folder.parent.parent, out)
        (out / "transactions" / lost).unlink()
        later = run_report(ROOT / "configs" / "transactions.yaml", out=out, period="2026-11",
                           data={"path": str(LINES)}, output={"formats": ["html"]},
                           value={"model": "bgnbd"})  # holding nobody out this time
        assert later.summary["lift"] is None
        (warning,) = [w for w in later.summary["warnings"] if "control groups" in w]
        assert warning == (f"Last period's control groups cannot be used: {words}. Whether "
                           "last period's actions worked is not measured this period.")
        assert 'id="lift"' not in (later.folder / "report.html").read_text()
