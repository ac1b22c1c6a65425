"""MBG/NBD and Pareto/NBD (issue 29) against the published figures: maximum likelihood on
the CDNOW 1/10 sample with the literature's 39-week calibration, and the conditional
expectations lifetimes and CLVTools test."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import ROOT, needs_cdnow

from reportgen.model import btyd
from reportgen.model.purchase_models import (
    MbgNbd,
    ParetoNbd,
    fit_mbgnbd,
    fit_pnbd,
    mbgnbd_expected,
    pnbd_expected,
    pnbd_p_alive,
)


def one(x: float, t_x: float, T: float) -> btyd.History:
    return btyd.History(customer=np.array([0]), x=np.array([x]), t_x=np.array([t_x]),
                        T=np.array([T]), mean_repeat=np.array([np.nan]),
                        first=np.zeros(1, "datetime64[D]"), end=np.datetime64("1997-09-30"))


@pytest.fixture(scope="module")
def calibration() -> btyd.History:
    from reportgen import data
    from reportgen.config import load_config

    config = load_config(ROOT / "configs" / "cdnow.yaml", {}).config
    days = data.load_customers(config, "1998-07").purchases
    assert days is not None
    return btyd.from_sums(days.calibration, days.calibration_end)


@needs_cdnow()
def test_pareto_nbd_reproduces_the_published_cdnow_fit(calibration):
    """Fader, Hardie & Lee (2005); CLVTools test_correctness_pnbd: r 0.553, alpha 10.58,
    s 0.606, beta 11.67 (poorly determined: standard error about 6), LL -9595.0."""
    fit = fit_pnbd(calibration)
    assert fit.customers == 2357
    assert (fit.r, fit.alpha, fit.s) == pytest.approx((0.553, 10.58, 0.606), rel=0.01)
    assert fit.beta == pytest.approx(11.67, rel=0.10)
    assert fit.log_likelihood == pytest.approx(-9595.0, abs=0.1)


@needs_cdnow()
def test_mbg_nbd_reproduces_the_published_cdnow_fit(calibration):
    """BTYDplus, as quoted in lifetimes' tests: r 0.525, alpha 6.183, a 0.891, b 1.614."""
    fit = fit_mbgnbd(calibration)
    assert (fit.r, fit.alpha, fit.a, fit.b) == pytest.approx((0.525, 6.183, 0.891, 1.614),
                                                             rel=0.01)


def test_pareto_nbd_conditional_expectation_and_p_alive():
    """CLVTools and lifetimes: x = 26, t_x = 30.86, T = 31 with the published CDNOW
    parameters: 25.46 purchases in the next 52 weeks, P(alive) 0.9979."""
    model = ParetoNbd(r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562, log_likelihood=0.0,
                      customers=0)
    h = one(26, 30.86, 31)
    assert pnbd_expected(model, h, 52)[0] == pytest.approx(25.46, rel=0.01)
    assert pnbd_p_alive(model, h)[0] == pytest.approx(0.9979, abs=0.0005)


def test_bg_nbd_conditional_expectation_as_published():
    """FHL 2005: x = 2, t_x = 30.43, T = 38.86: 1.226 purchases in the next 39 weeks."""
    model = btyd.BgNbd(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, log_likelihood=0.0,
                       customers=0)
    assert btyd.expected_purchases(model, one(2, 30.43, 38.86), 39)[0] == pytest.approx(
        1.226, rel=0.01)


def test_mbg_nbd_lets_a_one_time_buyer_be_gone():
    """Unlike BG/NBD, a customer with no repeat purchase is not certainly alive."""
    model = MbgNbd(r=0.525, alpha=6.183, a=0.891, b=1.614, log_likelihood=0.0, customers=0)
    from reportgen.model.purchase_models import mbgnbd_p_alive

    assert mbgnbd_p_alive(model, one(0, 0, 39))[0] < 1
    assert mbgnbd_expected(model, one(0, 0, 39), 39)[0] > 0
