"""Segment stability by k on the cases issue 17 names: which measure separates real groups
from a continuum? Prints, per case and k: silhouette, mean ARI of 80% subsample refits
against the full fit, the weakest segment's mean Jaccard (clusterboot) and its band, the
smallest segment's share, and the seconds the resampling took.

    python benchmarks/bench_stability.py            # every case whose data is present
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from reportgen import data, model  # noqa: E402
from reportgen.config import load_config  # noqa: E402
from reportgen.model import stability  # noqa: E402
from reportgen.model.segment import fit_kmeans, rows_for_sweep, score_models  # noqa: E402


def matrix_of(config_path: Path) -> tuple[np.ndarray, object]:
    config = load_config(config_path, {}).config
    customers = data.load_customers(config, "2026-11")
    customers = model.with_value(customers, model.customer_value(customers, config.value))
    features = model.build_features(customers.table, customers.features,
                                    profile_log=customers.profile_log)
    return features.matrix, config.segmentation


def table_config(folder: Path, frame: pd.DataFrame, numeric: list[str]) -> Path:
    frame.to_csv(folder / "data.csv", index=False)
    path = folder / "case.yaml"
    path.write_text(f"report: {{name: case, title: Case}}\ndata: {{path: data.csv}}\n"
                    f"features: {{numeric: [{', '.join(numeric)}]}}\n"
                    "segmentation: {k: [2, 8]}\n")
    return path


def cases(folder: Path) -> list[tuple[str, Path]]:
    from reportgen.sample import generate

    out = []
    planted, _ = generate(20_000)
    numeric = [c for c in planted.columns if c != "customer_id"
               and pd.api.types.is_numeric_dtype(planted[c])]
    (folder / "planted").mkdir()
    out.append(("planted (sample generator, 20k)",
                table_config(folder / "planted", planted, numeric)))
    rng = np.random.default_rng(0)
    noise = pd.DataFrame(rng.uniform(size=(10_000, 5)), columns=[f"u{i}" for i in range(5)])
    (folder / "noise").mkdir()
    out.append(("uniform noise (10k x 5)", table_config(folder / "noise", noise,
                                                         list(noise.columns))))
    if (SHARED / "Mall_Customers.csv").is_file():
        out.append(("mall", ROOT / "configs" / "mall_customers.yaml"))
    if (SHARED / "marketing_campaign.csv").is_file():
        out.append(("marketing_campaign", ROOT / "configs" / "marketing_campaign.yaml"))
    out.append(("sample sales lines (RFM)", ROOT / "configs" / "transactions.yaml"))
    return out


def study(name: str, config_path: Path) -> None:
    matrix, spec = matrix_of(config_path)
    spec = spec.model_copy(update={"k": (2, 8)})
    swept = rows_for_sweep(matrix, spec)
    models = {k: fit_kmeans(swept.astype(np.float32), k, spec) for k in range(2, 9)}
    scores = {s.k: s for s in score_models(swept, list(models.values()), None)}
    started = time.perf_counter()
    result = stability.measure(swept, {k: m.labels_ for k, m in models.items()},
                               spec.random_state)
    took = time.perf_counter() - started
    print(f"\n{name}: {len(matrix):,} rows, resampled {result.rows:,} x {result.resamples}, "
          f"{took:.1f} s")
    started = time.perf_counter()
    strength = {k: stability.prediction_strength(swept, k, spec.random_state)
                for k in models}
    print(f"prediction strength: {time.perf_counter() - started:.1f} s")
    print("| k | silhouette | mean ARI | weakest Jaccard | band | prediction strength | "
          "smallest share |")
    print("|---|---|---|---|---|---|---|")
    for s in result.by_k:
        smallest = np.bincount(models[s.k].labels_).min() / len(swept)
        print(f"| {s.k} | {scores[s.k].silhouette:.3f} | {s.ari:.3f} | {s.weakest:.3f} | "
              f"{stability.band(s.weakest)} | {strength[s.k]:.3f} | {smallest:.1%} |")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, path in cases(Path(folder)):
            study(name, path)


if __name__ == "__main__":
    main()
