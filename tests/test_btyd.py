"""The value models: BG/NBD and Gamma-Gamma by maximum likelihood.

Three independent checks: the published CDNOW estimates (the literature's own figures),
PyMC-Marketing's predictions at its own fitted parameters (saved by
benchmarks/bench_value_library.py, since that library is not a dependency), and recovery
of known parameters from customers simulated by the models' own story.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, needs_cdnow

from reportgen.model import btyd

REFERENCE = Path(__file__).parent / "reference" / "pymc_marketing.json"


def reference_history() -> tuple[dict, btyd.History]:
    data = json.loads(REFERENCE.read_text())
    rows = data["customers"]
    h = btyd.History(
        customer=np.arange(len(rows)), x=np.array([c["x"] for c in rows]),
        t_x=np.array([c["t_x"] for c in rows]), T=np.array([c["T"] for c in rows]),
        mean_repeat=np.array([np.nan if c["mean_repeat"] is None else c["mean_repeat"]
                              for c in rows]),
        first=np.zeros(len(rows), dtype="datetime64[D]"), end=np.datetime64("1997-09-30"))
    return data, h


def test_predictions_match_pymc_marketing_at_its_parameters() -> None:
    data, h = reference_history()
    bg = btyd.BgNbd(**data["bgnbd"], log_likelihood=0.0, customers=len(h))
    g = data["gamma_gamma"]
    gg = btyd.GammaGamma(p=g["p"], q=g["q"], gamma=g["v"], log_likelihood=0.0, customers=0)
    rows = data["customers"]
    assert (h.x == 0).any() and h.x.max() >= 10  # one-time buyers and heavy repeaters
    np.testing.assert_allclose(btyd.p_alive(bg, h), [c["p_alive"] for c in rows], rtol=1e-9)
    np.testing.assert_allclose(btyd.expected_purchases(bg, h, data["horizon_weeks"]),
                               [c["expected_purchases"] for c in rows], rtol=1e-9)
    repeat = h.x > 0
    np.testing.assert_allclose(btyd.expected_spend(gg, h)[repeat],
                               [c["expected_spend"] for c in rows if c["x"] > 0], rtol=1e-9)


def test_one_time_buyers_are_alive_until_they_buy_again() -> None:
    """The BG/NBD lets a customer drop out only after a purchase: P(alive) = 1 at x = 0,
    however long ago; a repeat buyer long silent is probably gone."""
    data, h = reference_history()
    bg = btyd.BgNbd(**data["bgnbd"], log_likelihood=0.0, customers=len(h))
    alive = btyd.p_alive(bg, h)
    assert (alive[h.x == 0] == 1.0).all()
    silent = (h.x > 0) & (h.T - h.t_x > 30)
    assert silent.any() and alive[silent].max() < 0.5


def simulate(n: int, r: float, alpha: float, a: float, b: float, weeks: float,
             seed: int = 7) -> btyd.History:
    """Customers as the BG/NBD tells it: a Poisson rate, a dropout chance after each
    repeat purchase, first purchases spread over the first 12 weeks, watched for `weeks`."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    start = rng.uniform(0, 12, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        clock = 0.0
        while True:
            clock += rng.exponential(1 / rate[i])
            if start[i] + clock > weeks:
                break
            x[i] += 1
            t_x[i] = clock
            if rng.random() < dropout[i]:  # may drop out after each repeat purchase
                break
    T = weeks - start
    return btyd.History(customer=np.arange(n), x=x, t_x=t_x, T=T,
                        mean_repeat=np.full(n, np.nan), first=np.zeros(n, "datetime64[D]"),
                        end=np.datetime64("2000-01-01"))


def test_fit_recovers_the_parameters_customers_were_simulated_with() -> None:
    truth = {"r": 0.6, "alpha": 5.0, "a": 0.8, "b": 3.0}
    fitted = btyd.fit_bgnbd(simulate(20_000, **truth, weeks=78))
    assert fitted.r == pytest.approx(truth["r"], rel=0.08)
    assert fitted.alpha == pytest.approx(truth["alpha"], rel=0.12)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(0.8 / 3.8, rel=0.15)


def test_gamma_gamma_recovers_simulated_spend() -> None:
    rng = np.random.default_rng(3)
    p, q, gamma = 6.0, 4.0, 15.0
    n = 20_000
    x = rng.integers(1, 12, n).astype(float)
    nu = rng.gamma(q, 1 / gamma, n)
    mean = np.array([rng.gamma(p, 1 / nu[i], int(x[i])).mean() for i in range(n)])
    h = btyd.History(customer=np.arange(n), x=x, t_x=x, T=x + 1, mean_repeat=mean,
                     first=np.zeros(n, "datetime64[D]"), end=np.datetime64("2000-01-01"))
    fitted = btyd.fit_gamma_gamma(h)
    assert fitted.q == pytest.approx(q, rel=0.1)
    assert fitted.mean_spend == pytest.approx(p * gamma / (q - 1), rel=0.05)


def test_spend_without_a_population_mean_keeps_each_buyers_own() -> None:
    """q <= 1: the Gamma-Gamma mean p gamma / (q - 1) does not exist (it would be negative);
    repeat buyers keep their own mean, one-time buyers get the median of those."""
    h = btyd.History(customer=np.arange(4), x=np.array([0.0, 2, 3, 5]),
                     t_x=np.zeros(4), T=np.ones(4), mean_repeat=np.array([np.nan, 10, 30, 80]),
                     first=np.zeros(4, "datetime64[D]"), end=np.datetime64("2000-01-01"))
    flat = btyd.GammaGamma(p=1e6, q=0.45, gamma=1e-5, log_likelihood=0.0, customers=3)
    assert list(btyd.expected_spend(flat, h)) == [30.0, 10.0, 30.0, 80.0]


@needs_cdnow()
def test_cdnow_backtest_reproduces_the_published_estimates() -> None:
    """Fader, Hardie & Lee (2005) and Fader & Hardie (2013) on the CDNOW 1/10 sample,
    calibration 1997-01-01 to 1997-09-30, through the config, reader and cleaning a user
    gets: configs/cdnow.yaml."""
    from reportgen import data, model
    from reportgen.config import load_config

    config = load_config(ROOT / "configs" / "cdnow.yaml", {}).config
    value = model.customer_value(data.load_customers(config, "1998-07"), config.value)
    assert value is not None
    test = value.backtest
    assert str(test.calibration_end) == "1997-09-30" and str(test.holdout_end) == "1998-06-30"
    fits = {score.model.key: score.model for score in test.scores}
    bg, gg = fits["bgnbd"], test.gamma_gamma
    assert bg.customers == 2357 and gg.customers == 946
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, figure in published.items():
        assert getattr(bg, name) == pytest.approx(figure, rel=0.01), name
    assert bg.log_likelihood == pytest.approx(-9582.4, rel=0.001)
    assert (gg.p, gg.q, gg.gamma) == pytest.approx((6.25, 3.74, 15.44), rel=0.01)
    assert gg.log_likelihood == pytest.approx(-4055.9, rel=0.001)
    pareto, mbg = fits["pnbd"], fits["mbgnbd"]  # the backtest fits all three (value.model: auto)
    assert pareto.log_likelihood == pytest.approx(-9595.0, abs=0.1)
    assert (pareto.r, pareto.alpha, pareto.s) == pytest.approx((0.553, 10.58, 0.606), rel=0.01)
    assert (mbg.r, mbg.alpha, mbg.a, mbg.b) == pytest.approx((0.525, 6.183, 0.891, 1.614),
                                                             rel=0.01)


def test_the_fitted_likelihoods_and_gradients_are_the_papers_formulas() -> None:
    """The fits evaluate the likelihood once a distinct history and the gamma functions
    once a distinct x, with analytic gradients: the same value as the per-customer formula
    (FHL 2005 eq. 6; Fader & Hardie 2013) and the same slope as finite differences."""
    from scipy.optimize import approx_fprime

    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, 3000).astype(float)
    T = rng.integers(5, 500, 3000) / btyd.WEEK
    t_x = np.where(x > 0, np.round(rng.uniform(0, 1, 3000) * T * btyd.WEEK) / btyd.WEEK, 0)
    theta = np.log([0.3, 4.0, 0.8, 2.5])

    def per_customer(t: np.ndarray) -> float:
        return -float(btyd.bgnbd_log_likelihood(np.exp(t), x, t_x, T).sum())

    value, gradient = btyd.compressed(x, t_x, T).bgnbd_loss(theta)
    assert value == pytest.approx(per_customer(theta), rel=1e-12)
    np.testing.assert_allclose(gradient, approx_fprime(theta, per_customer, 1e-7), rtol=1e-5)

    m, repeats = rng.gamma(3, 10, 3000), np.maximum(x, 1)
    theta = np.log([6.0, 3.7, 15.0])

    def spend(t: np.ndarray) -> float:
        return -float(btyd.gamma_gamma_log_likelihood(np.exp(t), m, repeats).sum())

    value, gradient = btyd.Spend.of(m, repeats).loss(theta)
    assert value == pytest.approx(spend(theta), rel=1e-12)
    np.testing.assert_allclose(gradient, approx_fprime(theta, spend, 1e-7), rtol=1e-5)


def test_customers_who_all_buy_at_one_rate_get_predictions_not_nan() -> None:
    """Every customer at the same weekly rate and nobody leaving (a shop of regulars):
    the fit runs r and alpha into the millions, where SciPy's hyp2f1 gives NaN; the
    expected purchases are then the Poisson's rate x weeks, for each model."""
    from reportgen.model.purchase_models import fit_mbgnbd

    rng = np.random.default_rng(5)
    n, weeks, rate = 4_000, 52.0, 0.2
    start = rng.uniform(0, 12, n)
    T = weeks - start
    x = rng.poisson(rate * T)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
    h = btyd.History(customer=np.arange(n), x=x.astype(float), t_x=t_x, T=T,
                     mean_repeat=np.full(n, np.nan), first=np.zeros(n, "datetime64[D]"),
                     end=np.datetime64("2000-01-01"))
    from scipy.special import hyp2f1

    r, alpha, a, b = (mbg := fit_mbgnbd(h)).values
    assert np.isnan(hyp2f1(r + x, b + x + 1, a + b + x, 13.0 / (alpha + T + 13.0))).all()
    for model in (btyd.fit_bgnbd(h), mbg):
        assert model.values[0] > 1e3  # r: no spread in the rates left to fit
        expected = model.expected(h, 13.0)
        assert np.isfinite(expected).all()
        assert expected.mean() == pytest.approx(rate * 13.0, rel=0.05)
        assert np.isfinite(model.expected_from_start(np.array([0.0, 13.0, 52.0]))).all()


def test_the_series_is_scipys_hyp2f1_where_scipy_has_an_answer() -> None:
    from scipy.special import hyp2f1

    a, b = np.array([0.3, 2.5, 7.2, 40.0]), np.array([2.4, 3.1, 9.0, 0.5])
    c, z = np.array([3.0, 4.0, 12.0, 41.0]), np.array([0.1, 0.5, 0.9, 0.3])
    assert np.exp(btyd._log_series(a, b, c, z)) == pytest.approx(hyp2f1(a, b, c, z),
                                                                  rel=1e-12)
