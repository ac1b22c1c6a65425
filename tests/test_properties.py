"""Property: whatever the data and the config, a run ends in a report or a clean error.

Hypothesis draws small tables (NaN, infinities, huge and tiny numbers, text in number
columns, unicode column names, few rows) and configs over them (which columns cluster,
k, selection, logs, missing-value handling). The only outcomes allowed: exit 0 with the
report's files, or exit 2 with one `error:` line. Exit 1 (our bug) or a traceback fails.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reportgen.cli import main

NAMES = st.text(alphabet=string.ascii_letters + "äöüßéñ€ ()_-$%" + "数据", min_size=1,
                max_size=12).map(str.strip).filter(lambda s: s and not s.startswith("#"))
ODD_NUMBERS = st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300, 0.0, -0.0,
                               123456789012.0])


@st.composite
def tables(draw) -> pd.DataFrame:
    rows = draw(st.one_of(st.integers(1, 12), st.integers(30, 300)))
    names = draw(st.lists(NAMES, min_size=2, max_size=5, unique_by=str.lower))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frame = pd.DataFrame()
    for name in names:
        kind = draw(st.sampled_from(["normal", "normal", "skewed", "category", "constant"]))
        if kind == "category":
            values = rng.choice(["a", "b", "<b>c</b>", "=1+1", "ü"], size=rows).astype(object)
        elif kind == "constant":
            values = np.full(rows, 7.0).astype(object)
        else:
            values = rng.normal(size=rows) if kind == "normal" else rng.lognormal(size=rows)
            values = values.astype(object)
        odd = draw(st.lists(st.integers(0, rows - 1), max_size=2)) if draw(st.booleans()) else []
        for row in odd:
            values[row] = draw(st.one_of(ODD_NUMBERS, st.just("n/a"), st.just("")))
        frame[name] = values
    return frame


@st.composite
def configs(draw, frame: pd.DataFrame) -> dict:
    columns = list(frame.columns)
    chosen = draw(st.lists(st.sampled_from(columns), min_size=1, max_size=len(columns),
                           unique=True))
    categorical = [c for c in chosen if draw(st.booleans()) and draw(st.booleans())]
    numeric = [c for c in chosen if c not in categorical]
    low = draw(st.integers(2, 4))
    k = draw(st.sampled_from([low, [low, low + 1], [low, low + 3], [2, 6], [2, 6], [2, 6],
                              1, [low, low - 1]]))  # mostly valid; sometimes not
    features: dict = {"numeric": numeric, "categorical": categorical,
                      "missing": draw(st.sampled_from(["median", "drop"])),
                      "scale": draw(st.sampled_from(["standard", "robust", "minmax"]))}
    if numeric and draw(st.booleans()):
        features["log"] = draw(st.lists(st.sampled_from(numeric), max_size=2, unique=True))
    return {"report": {"name": "prop", "title": draw(NAMES)},
            "data": {"path": "data.csv"},
            "features": features,
            "segmentation": {"k": k, "select": draw(st.sampled_from(
                ["silhouette", "elbow", "calinski_harabasz"]))},
            "output": {"dir": "out", "formats": ["html"]}}


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_report_or_a_clean_error(data, tmp_path_factory, capsys):
    frame = data.draw(tables())
    config = data.draw(configs(frame))
    folder: Path = tmp_path_factory.mktemp("prop")
    frame.to_csv(folder / "data.csv", index=False)
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    code = main(["run", str(folder / "config.yaml"), "--period", "2026-11"])
    _, err = capsys.readouterr()
    event(f"exit {code}" + (f": {err.split(':')[1].strip()}" if code == 2 else ""))
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert not (folder / "out" / "prop" / "2026-11").exists()
    else:
        report = folder / "out" / "prop" / "2026-11"
        summary = json.loads((report / "summary.json").read_text())
        assert (report / "report.html").stat().st_size > 10_000
        assert sum(s["size"] for s in summary["segments"]) == summary["n_customers"]
