"""Every example config, the sample sales lines and a month series give exactly the outputs
kept in tests/golden (see golden.py): summary.json less its volatile keys, segments.csv
byte for byte, the PDF's text. A refactor must leave them as they are."""

from __future__ import annotations

import pytest
from golden import differences, update

RUNS = ["sample_run", "transactions_run", "branded_run", "mall_run", "marketing_run"]


def check(request: pytest.FixtureRequest, name: str, folder) -> None:
    if request.config.getoption("--update-golden"):
        update(name, folder)
        return
    assert differences(name, folder) == []


@pytest.mark.parametrize("fixture", RUNS)
def test_example_configs_give_the_golden_outputs(request, fixture):
    result = request.getfixturevalue(fixture)
    check(request, fixture.removesuffix("_run"), result.folder)


def test_the_month_series_gives_the_golden_outputs(request, drift_runs):
    """Three months of the drifting sample: ids carried over, what changed, the last PDF."""
    for run in drift_runs.runs:
        check(request, f"months-{run.folder.name}", run.folder)


@pytest.fixture(scope="module")
def refit_series(tmp_path_factory: pytest.TempPathFactory):
    """Four months: refit, refit, a k change, then `refit: false` (the saved model kept)."""
    from helpers import ROOT, write_config

    from reportgen import run_report
    from reportgen.sample import drifting_months

    folder = tmp_path_factory.mktemp("refit-series")
    write_config(folder, (ROOT / "configs" / "sample.yaml").read_text().replace(
        "../sample_data/customers.csv", "customers.csv").replace("../reports", "out"))
    plans = [("2026-08", {}), ("2026-09", {}), ("2026-10", {"segmentation.k": 4}),
             ("2026-11", {"segmentation.refit": False})]
    runs = []
    for (period, overrides), month in zip(plans, drifting_months(len(plans)), strict=True):
        month.frame.to_csv(folder / "customers.csv", index=False)
        runs.append(run_report(folder / "config.yaml", period=period,
                               **{"output.formats": ["html"], **overrides}))
    return runs


def test_a_k_change_and_a_kept_model_give_the_golden_outputs(request, refit_series):
    assert [r.summary["selection"]["method"] for r in refit_series][-1] == "saved"
    for run in refit_series:
        check(request, f"refit-{run.folder.name}", run.folder)


@pytest.mark.parametrize("data", ["customers.csv", "transactions.csv.gz"])
def test_init_writes_the_golden_starter_config(request, tmp_path, data):
    """`reportgen init` on the sample files (the day it ran and the schema's path masked)."""
    import re
    import shutil

    from golden import GOLDEN
    from helpers import ROOT

    from reportgen.starter import write_starter

    shutil.copy(ROOT / "sample_data" / data, tmp_path / data)  # the path is then relative
    path, _ = write_starter(tmp_path / data, tmp_path / "starter.yaml")
    text = re.sub(r"\$schema=\S+", "$schema=<path>", path.read_text())
    text = re.sub(r" on \d{4}-\d\d-\d\d,", " on <date>,", text)
    golden = GOLDEN / "starter" / f"{data}.yaml"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()
