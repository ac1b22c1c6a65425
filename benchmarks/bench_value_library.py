"""reportgen's BG/NBD and Gamma-Gamma against PyMC-Marketing's: speed and agreement.

PyMC-Marketing (BetaGeoModel, GammaGammaModel) is the well-kept library of the field; it is
not a dependency of reportgen (it brings PyMC and PyTensor, about 790 MB, and compiles its
models at first use), so this benchmark runs in an environment that has it:

    python -m venv /tmp/pmvenv && /tmp/pmvenv/bin/pip install pymc-marketing pyyaml pydantic
    PYTHONPATH=. /tmp/pmvenv/bin/python benchmarks/bench_value_library.py
    PYTHONPATH=. /tmp/pmvenv/bin/python benchmarks/bench_value_library.py \
        --write-reference tests/reference/pymc_marketing.json

Both fit the same (x, t_x, T, mean repeat spend) of every customer: ours by maximum
likelihood, PyMC-Marketing's by its point estimate (`fit(method="map")`) with flat priors,
so that MAP is maximum likelihood too. It prints the fitted parameters, each fit's
log-likelihood (by our formula, so they are comparable), the fit times, and how far our
per-customer predictions (P(alive), expected purchases in 52 weeks, expected spend) are
from PyMC-Marketing's at PyMC-Marketing's own parameters: that isolates the formulas from
the fits. `--write-reference` saves 60 customers' inputs and PyMC-Marketing's outputs for
tests/test_btyd.py, which checks our formulas against them without the library.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from reportgen.model import btyd

ROOT = Path(__file__).resolve().parent.parent
CDNOW = ROOT.parent / "shared" / "data" / "CDNOW_sample.txt"
HORIZON_WEEKS = 52.0


def cdnow_history(end: str = "1997-09-30") -> btyd.History:
    lines = pd.read_csv(CDNOW, sep=r"\s+", header=None,
                        names=["id", "sample", "date", "cds", "dollars"], dtype={"id": str})
    day = pd.to_datetime(lines["date"].astype(str), format="%Y%m%d").to_numpy()
    return _history(lines["id"], day.astype("datetime64[D]"), lines["dollars"].to_numpy(float),
                    np.datetime64(end))


def sample_history() -> btyd.History:
    """The project's own seeded sales sample, from the day before its as_of."""
    from reportgen.sample import generate_sales

    lines, _ = generate_sales()
    lines = lines[lines["CustomerID"].notna() & ~lines["InvoiceNo"].str.startswith("C")]
    day = pd.to_datetime(lines["InvoiceDate"], format="%d/%m/%Y %H:%M").to_numpy()
    amount = (lines["Quantity"] * lines["UnitPrice"]).to_numpy(float)
    return _history(lines["CustomerID"].astype(str), day.astype("datetime64[D]"), amount,
                    np.datetime64("2026-10-31"))


def _history(ids: pd.Series, day: np.ndarray, amount: np.ndarray,
             end: np.datetime64) -> btyd.History:
    frame = pd.DataFrame({"code": pd.factorize(ids, sort=True)[0], "day": day,
                          "amount": amount}).groupby(["code", "day"], as_index=False).sum()
    return btyd.history(frame["code"].to_numpy(), frame["day"].to_numpy().astype(
        "datetime64[D]"), frame["amount"].to_numpy(), end)


def pymc_fits(h: btyd.History) -> dict[str, object]:
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    rfm = pd.DataFrame({"customer_id": np.arange(len(h)), "frequency": h.x,
                        "recency": h.t_x, "T": h.T})
    flat = {name: Prior("HalfFlat") for name in ("r", "alpha", "a", "b")}
    started = time.perf_counter()
    bg = BetaGeoModel(model_config=flat)
    bg.fit(data=rfm, method="map")
    bg_seconds = time.perf_counter() - started
    buyers = btyd.spenders(h)
    spend = pd.DataFrame({"customer_id": np.arange(len(h))[buyers],
                          "frequency": h.x[buyers], "monetary_value": h.mean_repeat[buyers]})
    started = time.perf_counter()
    gg = GammaGammaModel(model_config={n: Prior("HalfFlat") for n in ("p", "q", "v")})
    gg.fit(data=spend, method="map")
    gg_seconds = time.perf_counter() - started
    every = pd.DataFrame({"customer_id": np.arange(len(h)), "frequency": h.x,
                          "recency": h.t_x, "T": h.T,
                          "monetary_value": np.nan_to_num(h.mean_repeat)})
    return {
        "bg": {k: float(bg.fit_result[k].values.ravel()[0]) for k in ("r", "alpha", "a", "b")},
        "gg": {k: float(gg.fit_result[k].values.ravel()[0]) for k in ("p", "q", "v")},
        "bg_seconds": bg_seconds, "gg_seconds": gg_seconds,
        "p_alive": np.asarray(bg.expected_probability_alive(every)).ravel(),
        "purchases": np.asarray(bg.expected_purchases(every, future_t=HORIZON_WEEKS)).ravel(),
        "spend": np.asarray(gg.expected_customer_spend(every)).ravel(),
    }


def ours(h: btyd.History) -> tuple[btyd.BgNbd, btyd.GammaGamma, float, float]:
    started = time.perf_counter()
    bg = btyd.fit_bgnbd(h)
    bg_seconds = time.perf_counter() - started
    started = time.perf_counter()
    gg = btyd.fit_gamma_gamma(h)
    return bg, gg, bg_seconds, time.perf_counter() - started


def compare(name: str, h: btyd.History) -> tuple[btyd.History, dict[str, object]]:
    bg, gg, bg_s, gg_s = ours(h)
    theirs = pymc_fits(h)
    tb, tg = theirs["bg"], theirs["gg"]
    assert isinstance(tb, dict) and isinstance(tg, dict)
    at_theirs = btyd.BgNbd(tb["r"], tb["alpha"], tb["a"], tb["b"], 0.0, len(h))
    gg_theirs = btyd.GammaGamma(tg["p"], tg["q"], tg["v"], 0.0, 0)
    their_ll = float(btyd.bgnbd_log_likelihood(np.array(list(tb.values())), h.x, h.t_x,
                                               h.T).sum())
    buyers = btyd.spenders(h)
    their_gg_ll = float(btyd.gamma_gamma_log_likelihood(
        np.array(list(tg.values())), h.mean_repeat[buyers], h.x[buyers]).sum())
    print(f"\n## {name}: {len(h):,} customers, {int((h.x > 0).sum()):,} repeat buyers\n")
    print("| model | parameter | reportgen | PyMC-Marketing | relative difference |")
    print("|---|---|---:|---:|---:|")
    for key, value in (("r", bg.r), ("alpha", bg.alpha), ("a", bg.a), ("b", bg.b)):
        print(f"| BG/NBD | {key} | {value:.6g} | {tb[key]:.6g} | {value / tb[key] - 1:+.1e} |")
    print(f"| BG/NBD | log-likelihood | {bg.log_likelihood:.3f} | {their_ll:.3f} | |")
    for key, value, theirs_key in (("p", gg.p, "p"), ("q", gg.q, "q"), ("gamma", gg.gamma, "v")):
        print(f"| Gamma-Gamma | {key} | {value:.6g} | {tg[theirs_key]:.6g} | "
              f"{value / tg[theirs_key] - 1:+.1e} |")
    print(f"| Gamma-Gamma | log-likelihood | {gg.log_likelihood:.3f} | {their_gg_ll:.3f} | |")
    print(f"\nfit time: reportgen BG/NBD {bg_s:.3f} s, Gamma-Gamma {gg_s:.3f} s; PyMC-Marketing "
          f"MAP BG/NBD {theirs['bg_seconds']:.1f} s, Gamma-Gamma {theirs['gg_seconds']:.1f} s "
          "(model compilation included)")
    spend = btyd.expected_spend(gg_theirs, h)
    for label, mine, other in (
            ("P(alive)", btyd.p_alive(at_theirs, h), theirs["p_alive"]),
            (f"expected purchases in {HORIZON_WEEKS:.0f} weeks",
             btyd.expected_purchases(at_theirs, h, HORIZON_WEEKS), theirs["purchases"]),
            ("expected spend (repeat buyers)", spend[h.x > 0],
             np.asarray(theirs["spend"])[h.x > 0])):
        gap = np.abs(np.asarray(mine) - np.asarray(other))
        print(f"- {label} at PyMC-Marketing's parameters: largest difference {gap.max():.2e}")
    return h, theirs


def reference(h: btyd.History, theirs: dict[str, object], size: int = 60) -> dict[str, object]:
    """A spread of customers: one-time buyers, light and heavy repeaters."""
    order = np.argsort(h.x + h.t_x / 100, kind="stable")
    pick = order[np.linspace(0, len(h) - 1, size).round().astype(int)]
    import pymc_marketing

    return {
        "source": "benchmarks/bench_value_library.py on the CDNOW 1/10 sample, calibration "
                  f"to 1997-09-30; pymc-marketing {pymc_marketing.__version__}, "
                  "fit(method='map') with HalfFlat priors",
        "horizon_weeks": HORIZON_WEEKS,
        "bgnbd": theirs["bg"], "gamma_gamma": theirs["gg"],
        "customers": [
            {"x": float(h.x[i]), "t_x": float(h.t_x[i]), "T": float(h.T[i]),
             "mean_repeat": None if h.x[i] == 0 else float(h.mean_repeat[i]),
             "p_alive": float(np.asarray(theirs["p_alive"])[i]),
             "expected_purchases": float(np.asarray(theirs["purchases"])[i]),
             "expected_spend": None if h.x[i] == 0 else float(np.asarray(theirs["spend"])[i])}
            for i in pick],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-reference", type=Path,
                        help="save CDNOW customers and PyMC-Marketing's outputs as JSON")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if CDNOW.is_file():
        h, theirs = compare("CDNOW 1/10 sample, calibration to 1997-09-30", cdnow_history())
        if args.write_reference:
            args.write_reference.parent.mkdir(parents=True, exist_ok=True)
            args.write_reference.write_text(json.dumps(reference(h, theirs), indent=1) + "\n")
            print(f"\nwrote {args.write_reference}")
    else:
        print(f"(no {CDNOW}: the CDNOW comparison is skipped)")
    compare("reportgen's sales sample (2,500 customers)", sample_history())


if __name__ == "__main__":
    main()
