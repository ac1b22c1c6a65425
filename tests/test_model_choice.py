"""The value model that fits the data (issue 29): on order logs drawn from each of the three
purchase models (tests/lifetimes_sim.py), `value.model: auto` picks the one that made
them, P(alive) is calibrated against who was really still a customer, the reliability
table's expected shares match what happened, and the intervals and ridges say how sure
the fit is."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from lifetimes_sim import CALIBRATION_END, Simulated, simulate, write
from scipy.optimize import approx_fprime
from scipy.special import hyp2f1

from reportgen import data
from reportgen.config import load_config
from reportgen.model import btyd
from reportgen.model.backtest import MIN_BAND
from reportgen.model.intervals import RIDGE_SHAPE, segment_ranges
from reportgen.model.purchase_models import (
    ParetoNbd,
    log_integral,
    mbgnbd_loss,
    pnbd_loss,
    pnbd_p_alive,
)
from reportgen.model.value import CustomerValue, customer_value

GENERATORS = {  # parameters under which the three models' forecasts differ
    "pnbd": (0.8, 5.0, 1.2, 30.0),
    "mbgnbd": (1.5, 6.0, 4.0, 8.0),
    "bgnbd": (0.8, 4.0, 1.5, 3.0),
}
CUSTOMERS = 8_000


def value_of(folder: Path, sim: Simulated, **value: object) -> tuple[CustomerValue, object]:
    write(folder / "orders.csv", sim)
    raw = {"report": {"name": "sim", "title": "Simulated orders"},
           "data": {"path": "orders.csv"},
           "transactions": {"customer": "customer_id", "date": "date", "amount": "dollars",
                            "as_of": "2027-01-04"},
           "features": {"numeric": ["recency_days", "frequency", "monetary"]},
           "value": {"backtest": {"calibration_end": CALIBRATION_END.date().isoformat()},
                     **value},
           "output": {"dir": "out"}}
    (folder / "sim.yaml").write_text(yaml.safe_dump(raw))
    config = load_config(folder / "sim.yaml", {}).config
    customers = data.load_customers(config, "2027-01")
    result = customer_value(customers, config.value)
    assert result is not None
    return result, customers


@pytest.fixture(scope="module", params=sorted(GENERATORS))
def drawn(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    model = request.param
    sim = simulate(model, GENERATORS[model], CUSTOMERS, seed=1)
    value, customers = value_of(tmp_path_factory.mktemp(model), sim)
    return model, sim, value, customers


def test_auto_picks_the_model_that_made_the_orders(drawn):
    model, _, value, _ = drawn
    test = value.backtest
    assert [s.model.key for s in test.scores] == ["bgnbd", "mbgnbd", "pnbd"]
    assert value.purchases.key == model, test.reason
    assert test.purchases.key == model
    assert test.reason.startswith(f"{value.purchases.label}: its holdout forecast was ")
    chosen = test.chosen
    assert abs(chosen.error) == min(abs(s.error) for s in test.scores if s.calibrated)


def test_p_alive_bands_are_calibrated_against_who_was_really_still_a_customer(drawn):
    """Done-when: within 10 points in every band of 200 or more customers, both against
    the truth the generator knows and in the reliability table the page shows."""
    _, sim, value, customers = drawn
    days = customers.purchases
    h = btyd.from_sums(days.calibration, days.calibration_end)
    truth = sim.alive.reindex(days.ids[h.customer]).to_numpy(dtype=float)
    p = value.backtest.purchases.p_alive(h)
    band = np.select([h.x == 0, p < 0.25, p < 0.5, p < 0.75], [0, 1, 2, 3], default=4)
    checked = 0
    for b in range(5):
        rows = band == b
        if rows.sum() >= MIN_BAND:
            assert abs(p[rows].mean() - truth[rows].mean()) <= 0.10, b
            checked += 1
    assert checked >= 3
    table = value.backtest.chosen.reliability
    big = table[table["customers"] >= MIN_BAND]
    assert len(big) >= 3
    assert ((big["expected_share"] - big["actual_share"]).abs() <= 0.10).all(), big
    assert table["customers"].sum() == len(h)


def test_the_chosen_model_is_refitted_on_all_history_and_recovers_the_generator(drawn):
    model, _, value, _ = drawn
    fit = value.purchases
    assert fit.customers == CUSTOMERS and value.fitted_customers == CUSTOMERS
    r, alpha = GENERATORS[model][:2]
    assert fit.r / fit.alpha == pytest.approx(r / alpha, rel=0.15)  # mean purchases a week


def test_every_segment_of_the_value_has_an_interval_around_it(drawn):
    _, _, value, _ = drawn
    assert value.draws is not None and value.draws.purchases.shape == (200, 4)
    assert np.all(value.draws.purchases > 0)


def test_a_fixed_model_is_the_only_one_fitted(tmp_path: Path):
    sim = simulate("bgnbd", GENERATORS["bgnbd"], 2_000, seed=5)
    value, _ = value_of(tmp_path, sim, model="pnbd")
    assert [s.model.key for s in value.backtest.scores] == ["pnbd"]
    assert value.purchases.key == "pnbd"
    assert value.backtest.reason == "Pareto/NBD: fixed in the config (value.model: pnbd)."


def test_intervals_narrow_as_customers_grow(tmp_path: Path):
    """A parametric bootstrap's width goes as one over the square root of the customers the
    model learnt from: four times the customers, about half the width."""
    widths = []
    for n in (2_000, 8_000):
        (tmp_path / str(n)).mkdir()
        value, _ = value_of(tmp_path / str(n), simulate("pnbd", GENERATORS["pnbd"], n, seed=3))
        assert value.draws is not None
        everyone = np.zeros(len(value.history), dtype=np.int64)
        totals = value.frame[["expected_purchases", "value"]].sum().to_frame().T
        ((purchases, money),) = segment_ranges(
            value.purchases, value.gamma_gamma, value.draws, value.history, everyone, totals,
            12, 0.1, 1.0).values()
        point = float(totals.loc[0, "value"])
        assert money.low < point < money.high
        assert purchases.low < float(totals.loc[0, "expected_purchases"]) < purchases.high
        widths.append((money.high - money.low) / point)
    assert 1.4 < widths[0] / widths[1] < 3.0, widths


def test_a_parameter_on_a_flat_ridge_is_said_in_words():
    """The sample's sales lines: customers spend so nearly the same every time that
    Gamma-Gamma's p runs off to infinity and gamma to zero; only p x gamma (with q) is
    identified, and that is what the page prints."""
    from helpers import ROOT

    from reportgen.report.worthwording import ridge_sentences

    config = load_config(ROOT / "configs" / "transactions.yaml", {}).config
    value = customer_value(data.load_customers(config, "2026-12"), config.value)
    assert value is not None and value.gamma_gamma.p > RIDGE_SHAPE
    (ridge,) = [r for r in value.ridges if r.parameters == ("p", "gamma")]
    assert ridge.quantity == "p x gamma"
    assert ridge.value == pytest.approx(value.gamma_gamma.p * value.gamma_gamma.gamma)
    assert 5 < ridge.value < 100  # a spend a purchase in the sample's currency
    assert value.draws is not None  # the ridge is held; the rest is still drawn

    shown = SimpleNamespace(ridges=value.ridges, backtest=value.backtest)  # what it reads
    (sentence,) = [s for s in ridge_sentences(shown) if s.startswith("p and gamma")]
    assert f"p x gamma = {ridge.value:.4g}" in sentence


def _reference_log_a0(params, x, t_x, T):
    """Fader, Hardie & Lee's A_0 with SciPy's hyp2f1, the larger of alpha and beta as the
    base (how lifetimes and CLVTools write it), and its argument."""
    r, alpha, s, beta = params
    low, high, second = (alpha, beta, r + x) if alpha < beta else (beta, alpha, s + 1)
    rsx = r + s + x
    z_last, z_end = (high - low) / (high + t_x), (high - low) / (high + T)
    a = hyp2f1(rsx, second, rsx + 1, z_last) / (high + t_x) ** rsx
    b = hyp2f1(rsx, second, rsx + 1, z_end) / (high + T) ** rsx
    return np.log(a - b), z_last


def test_the_pareto_integral_matches_the_hypergeometric_form_where_that_is_fast():
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(60):
        params = np.exp(rng.uniform(np.log([0.1, 0.5, 0.1, 0.5]), np.log([5, 60, 5, 200])))
        x = rng.integers(0, 30, 300).astype(float)
        T = rng.uniform(1, 100, 300)
        t_x = np.where(x > 0, rng.uniform(0, 0.98, 300) * T, 0.0)
        with np.errstate(all="ignore"):
            reference, z = _reference_log_a0(params, x, t_x, T)
        ours = log_integral(params[1], params[3], params[0] + x, params[2] + 1, t_x, T).log
        ours = ours + np.log(params[0] + params[2] + x)  # A_0 = (r + s + x) I
        fine = np.isfinite(reference) & (z < 0.9) & (reference > -600)
        worst = max(worst, float(np.max(np.abs(ours[fine] - reference[fine]))))
    assert worst < 1e-8


def test_p_alive_stays_finite_where_beta_dwarfs_alpha():
    """The ridge where hyp2f1 is slow (its argument near 1): the 1M-line benchmark's
    calibration fit went there (s 80, beta 26,000)."""
    model = ParetoNbd(2.94, 14.99, 80.4, 26_383.0, 0.0, 1)
    h = btyd.History(customer=np.arange(3), x=np.array([0.0, 5, 30]),
                     t_x=np.array([0.0, 20, 59]), T=np.array([60.0, 60, 60]),
                     mean_repeat=np.full(3, np.nan), first=np.zeros(3, "datetime64[D]"),
                     end=np.datetime64("2026-01-01"))
    alive = pnbd_p_alive(model, h)
    assert np.all((alive > 0) & (alive < 1))
    assert alive[2] > alive[1]  # bought recently and often


@pytest.mark.parametrize("loss", [pnbd_loss, mbgnbd_loss])
def test_the_analytic_gradients_are_the_slopes(loss):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 20, 2_000).astype(float)
    T = rng.uniform(1, 80, 2_000)
    t_x = np.where(x > 0, rng.uniform(0, 1, 2_000) * T, 0.0)
    f = loss(btyd.compressed(x, t_x, T))
    for theta in (np.log([0.5, 10, 0.6, 12]), np.log([0.3, 2, 3, 0.5])):
        _, gradient = f(theta)
        assert gradient == pytest.approx(approx_fprime(theta, lambda t: f(t)[0], 1e-7),
                                         abs=1e-5)


def _score(model, expected: float, mae: float, gap: float, actual: int = 1_000):
    import pandas as pd

    from reportgen.model.backtest import BANDS, ModelScore

    reliability = pd.DataFrame({"band": list(BANDS), "customers": [500, 300, 0, 0, 400],
                                "p_alive": 0.5, "expected_share": 0.5,
                                "actual_share": [0.5 + gap, 0.5, 0.5, 0.5, 0.5]})
    return ModelScore(model, expected, actual, mae, reliability)


def test_the_rule_prefers_calibrated_models_then_the_closest_total_then_the_error():
    from reportgen.model.backtest import choose
    from reportgen.model.btyd import BgNbd
    from reportgen.model.purchase_models import MbgNbd

    bg = BgNbd(0.5, 5, 1, 2, -100.0, 10)
    mbg = MbgNbd(0.5, 5, 1, 2, -99.0, 10)
    pareto = ParetoNbd(0.5, 5, 1, 2, -98.0, 10)
    best, why = choose((_score(bg, 1_010, 0.50, 0.02), _score(mbg, 1_200, 0.40, 0.03),
                        _score(pareto, 1_005, 0.45, 0.25)))
    assert best.model is bg  # Pareto/NBD was closest but its P(alive) bands were 25 points off
    assert why == ("BG/NBD: its holdout forecast was 1.0% high against 20.0% high for MBG/NBD "
                   "and 0.5% high for Pareto/NBD; Pareto/NBD's P(alive) bands were off by up "
                   "to 25 points.")
    best, why = choose((_score(bg, 1_030, 0.50, 0.02), _score(mbg, 1_015, 0.40, 0.03),
                        _score(pareto, 900, 0.45, 0.02)))
    assert best.model is mbg and "BG/NBD came within 2 points of that, and MBG/NBD's error a " \
        "customer was smaller (0.400 against 0.500)" in why
    best, why = choose(tuple(_score(m, 750, mae, 0.13) for m, mae in (
        (bg, 0.95012), (mbg, 0.95011), (pareto, 0.95004))))
    assert best.model is bg  # none calibrated, all alike to what the page prints: the first
    assert why == ("BG/NBD: the three models forecast the holdout alike (25% low, 0.950 "
                   "purchases off a customer), so the first of them is kept.")
    best, why = choose(tuple(_score(m, 0, 0.0, 0.0, actual=0) for m in (bg, mbg, pareto)))
    assert best.model is pareto and "highest likelihood on the calibration period" in why


def test_draws_without_a_finite_forecast_give_no_interval_rather_than_a_point(tmp_path):
    """Tableau's Superstore: BG/NBD's dropout so loosely determined (b about 67,000) that
    drawn parameter sets overflowed, and every interval printed as its point, "395.0k-
    395.0k". Now: no interval (the page prints a dash and says why), and no warning."""
    import warnings
    from dataclasses import replace

    value, _ = value_of(tmp_path, simulate("pnbd", GENERATORS["pnbd"], 2_000, seed=3))
    assert value.draws is not None
    planted = replace(value.draws, purchases=value.draws.purchases.copy())
    planted.purchases[7] = 1e300  # drawn that far out, a forecast overflows
    everyone = np.zeros(len(value.history), dtype=np.int64)
    totals = value.frame[["expected_purchases", "value"]].sum().to_frame().T
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranges = segment_ranges(value.purchases, value.gamma_gamma, planted, value.history,
                                everyone, totals, 12, 0.1, 1.0)
    assert ranges == {}
