"""How sure the value model is: 90% intervals on each segment's expected purchases and
predicted value, and the parameters the data cannot pin down, said in words.

Intervals come from a parametric bootstrap: DRAWS parameter sets are drawn from the
fitted parameters' asymptotic normal distribution (in log-parameters, the inverse of the
observed information, taken by differencing the analytic gradient), for the purchase
model and Gamma-Gamma; each draw predicts again. A segment's interval is its total times
the 5th and 95th percentiles of the draws' totals over the point total, both taken on up
to PER_SEGMENT of its customers chosen at random (seeded): every customer's prediction
moves with the same parameters, so the ratio settles on a few hundred customers, and the
cost stays a fraction of a second at any size (measured in benchmarks/bench_value.py).
The interval is the uncertainty of the expected figure; what a segment actually buys
varies further, by chance.

A parameter on a flat ridge (a shape above RIDGE_SHAPE: the gamma or beta distribution of
customers is then a single point, and the likelihood cannot tell 10^3 from 10^8) is held
at its value in the draws and reported as the quantity the data does identify.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reportgen.model import btyd
from reportgen.model.purchase_models import LOSSES, LossFunction, PurchaseModel, mean_loss

DRAWS = 200
PER_SEGMENT = 300
SEED = 29
LEVEL = 0.90
RIDGE_SHAPE = 1_000.0
STEP = 1e-4  # in log-parameters, for the observed information


@dataclass(frozen=True)
class Ridge:
    parameters: tuple[str, str]
    quantity: str  # what the data identifies, as a formula of the two
    value: float
    meaning: str


def ridges(model: PurchaseModel, gamma_gamma: btyd.GammaGamma) -> tuple[Ridge, ...]:
    values = dict(zip(model.names, model.values, strict=True))
    out = []
    if values["r"] > RIDGE_SHAPE:
        out.append(Ridge(("r", "alpha"), "r / alpha", values["r"] / values["alpha"],
                         "purchases a week, about the same for every customer"))
    if "a" in values and values["a"] > RIDGE_SHAPE:
        out.append(Ridge(("a", "b"), "a / (a + b)", model.dropout_per_purchase,
                         "the chance that a purchase is a customer's last, about the same "
                         "for everyone"))
    if "s" in values and values["s"] > RIDGE_SHAPE:
        out.append(Ridge(("s", "beta"), "s / beta", values["s"] / values["beta"],
                         "the chance a week that a customer leaves, about the same for "
                         "everyone"))
    if gamma_gamma.p > RIDGE_SHAPE:
        out.append(Ridge(("p", "gamma"), "p x gamma", gamma_gamma.p * gamma_gamma.gamma,
                         "with q, the spread of customers' average spend: each customer "
                         "spends about the same every time"))
    if gamma_gamma.q > RIDGE_SHAPE:
        out.append(Ridge(("q", "gamma"), "gamma / q", gamma_gamma.gamma / gamma_gamma.q,
                         "with p, the average spend a purchase, about the same for every "
                         "customer"))
    return tuple(out)


@dataclass(frozen=True)
class Draws:
    """Parameter sets drawn around the fit; rows are draws."""

    purchases: np.ndarray  # DRAWS x 4, in the model's `names` order
    spend: np.ndarray  # DRAWS x 3: p, q, gamma


def parameter_draws(model: PurchaseModel, gamma_gamma: btyd.GammaGamma, fitted: btyd.History,
                    spenders: btyd.History, held: set[str]) -> Draws | None:
    """None when the information matrix is not positive definite (a fit on a boundary)."""
    rng = np.random.default_rng(SEED)
    groups = btyd.compressed(fitted.x, fitted.t_x, fitted.T)
    purchases = _draw(LOSSES[model.key](groups), len(fitted), model.values,
                      [name in held for name in model.names], rng)
    buyers = btyd.spenders(spenders)
    spend = btyd.Spend.of(spenders.mean_repeat[buyers], spenders.x[buyers])
    spend_values = (gamma_gamma.p, gamma_gamma.q, gamma_gamma.gamma)
    spend_draws = _draw(mean_loss(spend.loss, int(buyers.sum())), int(buyers.sum()), spend_values,
                        [name in held for name in ("p", "q", "gamma")], rng)
    if purchases is None or spend_draws is None:
        return None
    return Draws(purchases=purchases, spend=spend_draws)


def _draw(loss: LossFunction, n: int, values: tuple[float, ...], held: list[bool],
          rng: np.random.Generator) -> np.ndarray | None:
    theta = np.log(np.asarray(values, dtype=np.float64))
    free = np.flatnonzero(~np.asarray(held) & (np.abs(theta) < 19.9))
    draws = np.tile(theta, (DRAWS, 1))
    if len(free):
        information = n * _hessian(loss, theta)[np.ix_(free, free)]
        information = (information + information.T) / 2
        try:
            lower = np.linalg.cholesky(np.linalg.inv(information))
        except np.linalg.LinAlgError:
            return None
        draws[:, free] += rng.standard_normal((DRAWS, len(free))) @ lower.T
    with np.errstate(over="ignore"):  # an overflowing draw: no interval (segment_ranges)
        return np.exp(draws)


def _hessian(loss: LossFunction, theta: np.ndarray) -> np.ndarray:
    """Of the mean loss a customer, by central differences of its analytic gradient."""
    out = np.empty((len(theta), len(theta)))
    for i in range(len(theta)):
        step = np.zeros(len(theta))
        step[i] = STEP
        with np.errstate(all="ignore"):
            out[:, i] = (loss(theta + step)[1] - loss(theta - step)[1]) / (2 * STEP)
    return out


@dataclass(frozen=True)
class Range:
    low: float
    high: float


def segment_ranges(model: PurchaseModel, gamma_gamma: btyd.GammaGamma, draws: Draws,
                   h: btyd.History, segment: np.ndarray, totals: pd.DataFrame, months: int,
                   rate: float, margin: float) -> dict[int, tuple[Range, Range]]:
    """Per segment id, the 90% ranges of its expected purchases and its predicted value.
    `segment` is each customer's segment (row-aligned with `h`, -1 for none); `totals` is
    indexed by segment id with the point totals `expected_purchases` and `value`.

    None at all (an empty mapping) where some draws give no finite forecast: parameters
    so badly determined that a draw overflows, as BG/NBD's dropout on Tableau's
    Superstore (b about 67,000). An interval from the draws that survive would be
    narrower than the truth, and the point alone ("395.0k-395.0k") would claim a
    certainty the fit does not have."""
    rng = np.random.default_rng(SEED)
    chosen = np.concatenate([_some(np.flatnonzero(segment == sid), rng) for sid in totals.index])
    sample, labels = h.rows(chosen), segment[chosen]
    index = np.searchsorted(np.asarray(totals.index), labels)
    weeks = months * btyd.MONTH_WEEKS

    def sums(m: PurchaseModel, g: btyd.GammaGamma) -> tuple[np.ndarray, np.ndarray]:
        expected = m.expected(sample, weeks)
        value = btyd.discounted_value(m, btyd.expected_spend(g, sample), sample, months,
                                      rate, margin)
        return (np.bincount(index, expected, len(totals)),
                np.bincount(index, value, len(totals)))

    def drawn_sums(p: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """None: this parameter set gives no finite forecast."""
        if not (np.all(np.isfinite(p)) and np.all(np.isfinite(s))):
            return None
        try:
            with np.errstate(all="ignore"):
                out = sums(model.with_values(p), btyd.GammaGamma(
                    float(s[0]), float(s[1]), float(s[2]), gamma_gamma.log_likelihood,
                    gamma_gamma.customers))
        except (ValueError, OverflowError):  # e.g. Pareto/NBD's integral bounds from a NaN
            return None
        return out if np.all(np.isfinite(out[0])) and np.all(np.isfinite(out[1])) else None

    point = sums(model, gamma_gamma)
    attempts = [drawn_sums(p, s) for p, s in zip(draws.purchases, draws.spend, strict=True)]
    drawn = [d for d in attempts if d is not None]
    if len(drawn) < len(attempts):
        return {}
    out = {}
    for position, sid in enumerate(totals.index):
        ranges = []
        for which, column in enumerate(("expected_purchases", "value")):
            base = point[which][position]
            ratios = np.array([d[which][position] for d in drawn]) / base if base > 0 else None
            total = float(totals.loc[sid, column])
            if ratios is None:  # nothing expected of it: nothing to vary
                ranges.append(Range(total, total))
                continue
            low, high = np.quantile(ratios, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
            ranges.append(Range(total * float(low), total * float(high)))
        out[int(sid)] = (ranges[0], ranges[1])
    return out


def _some(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= PER_SEGMENT:
        return rows
    return np.sort(rng.choice(rows, PER_SEGMENT, replace=False))
