"""The seed notebook way: what an analyst runs by hand today, kept as the yardstick.

Written the way the notebooks are: read the CSV with pandas, drop rows with a missing
value, one-hot encode with get_dummies, StandardScaler, K-Means with n_init=10 for every k
from 1 to 10 (the elbow), the silhouette of every k >= 2 on all rows, the k with the best
silhouette, PCA to two dimensions, cluster means, and matplotlib figures of the elbow, the
silhouettes and every customer on the PCA plane. Prints one JSON line with the chosen k and
the seconds of each part, so that benchmarks/bench_scale.py can extrapolate it to sizes
where it cannot finish (silhouette grows with the square of the rows, the rest linearly).

    python benchmarks/notebook_way.py customers.csv --numeric age income ... \
        --categorical gender preferred_category --png /tmp/notebook.png
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--numeric", nargs="+", required=True)
    parser.add_argument("--categorical", nargs="*", default=[])
    parser.add_argument("--png", required=True, help="where the figures go")
    args = parser.parse_args()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = now - clock
        clock = now

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    lap("imports")
    df = pd.read_csv(args.csv)
    df = df.dropna(subset=args.numeric + args.categorical)
    scaled = StandardScaler().fit_transform(df[args.numeric])
    if args.categorical:
        dummies = pd.get_dummies(df[args.categorical], dtype=float).to_numpy()
        X = np.hstack([scaled, dummies])
    else:
        X = scaled
    lap("prepare")

    inertia, silhouette, models = {}, {}, {}
    kmeans_seconds = silhouette_seconds = 0.0
    for k in range(1, 11):
        started = time.perf_counter()
        models[k] = KMeans(n_clusters=k, n_init=10, random_state=42).fit(X)
        inertia[k] = models[k].inertia_
        kmeans_seconds += time.perf_counter() - started
        if k >= 2:
            started = time.perf_counter()
            silhouette[k] = silhouette_score(X, models[k].labels_)
            silhouette_seconds += time.perf_counter() - started
    best = max(silhouette, key=silhouette.get)
    seconds["kmeans"], seconds["silhouette"] = kmeans_seconds, silhouette_seconds
    lap("sweep")
    seconds.pop("sweep")

    labels = models[best].labels_
    points = PCA(n_components=2).fit_transform(X)
    means = df[args.numeric].groupby(labels).mean()
    fig, axes = plt.subplots(1, 3, figsize=(18, 5))
    axes[0].plot(list(inertia), list(inertia.values()), "o-")
    axes[0].set(title="Elbow", xlabel="k", ylabel="inertia")
    axes[1].plot(list(silhouette), list(silhouette.values()), "o-")
    axes[1].set(title="Silhouette", xlabel="k")
    axes[2].scatter(points[:, 0], points[:, 1], c=labels, s=2, cmap="tab10")
    axes[2].set(title=f"PCA, k={best}")
    fig.savefig(args.png, dpi=100)
    lap("pca_and_plots")
    print(json.dumps({"rows": len(df), "k": best, "seconds": seconds,
                      "silhouette": silhouette, "segment_sizes": means.index.size}))


if __name__ == "__main__":
    main()
