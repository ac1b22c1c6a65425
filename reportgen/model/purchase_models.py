"""Two more models of how often a customer buys and whether they are still a customer,
beside BG/NBD (btyd.py), on the same history (x, t_x, T in weeks):

- MBG/NBD (Batislam, Denizel & Filiztekin 2007): as BG/NBD, but a customer may also drop
  out at time zero, so a one-time buyer is not alive by definition.
- Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases Poisson while alive, the
  lifetime exponential; both rates gamma-distributed across customers.

The Pareto/NBD's likelihood, P(alive) and chance of a quiet holdout need the integral
I = the integral from t_x to T of (alpha + tau)^-(r + x) (beta + tau)^-(s + 1) dtau; the
literature writes it with the Gaussian hypergeometric function (A_0 = (r + s + x) I), but
SciPy's `hyp2f1` there takes 3.4 us a customer where its argument nears 1 (beta far above
alpha, the ridge where everyone leaves at the same rate): 54 s for one fit on the 1M-line
benchmark. Here I is integrated by Gauss-Legendre in u = log(min(alpha, beta) + tau), where
the integrand is smooth (its singularities lie pi off the real axis) and decays at least as
fast as at its start, so the interval is cut where it has fallen by e^40. Against `hyp2f1`
where that is fast, the two agree to 1e-11 in log I (tests/test_purchase_models.py), and
the same nodes give the analytic gradient.

Each model is fitted by maximum likelihood on the distinct (x, t_x, T) triples with
analytic gradients, and gives P(alive), the expected purchases in the next t weeks, the
chance of buying at least once in them, and E[X(t)] from a first purchase. On the CDNOW
1/10 sample with the literature's calibration period they give the published estimates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import betaln, digamma, expit, gammaln

from reportgen.model.btyd import (
    BgNbd,
    DropoutAtPurchase,
    Groups,
    History,
    Parameters,
    compressed,
    fit_bgnbd,
    maximise,
    scaled_hyp2f1,
)

NODES, WEIGHTS = leggauss(16)
# These fits minimise a customer's mean log-likelihood, so they stop at a relative change
# of 1e-10 of it: 2e-9 a customer, 4e-5 in the total of 20,000. On a ridge (Pareto/NBD's s
# and beta running off together) a tighter stop only walks further along it: 74 instead
# of 35 evaluations on the 1M-line benchmark, for 0.002 of log-likelihood.
MEAN_FTOL = 1e-10
LossFunction = Callable[[np.ndarray], tuple[float, np.ndarray]]
FALL = 40.0  # the integrand is cut where it has fallen by e^FALL from its start
PANEL = 5.0  # at most this long a panel in u, for integrands spread over a long interval


@dataclass(frozen=True)
class MbgNbd(DropoutAtPurchase):
    r: float
    alpha: float  # in weeks
    a: float
    b: float
    log_likelihood: float
    customers: int

    key: ClassVar[str] = "mbgnbd"
    label: ClassVar[str] = "MBG/NBD"
    names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    def p_alive(self, h: History) -> np.ndarray:
        return mbgnbd_p_alive(self, h)

    def expected(self, h: History, weeks: float | np.ndarray) -> np.ndarray:
        return mbgnbd_expected(self, h, weeks)

    def expected_from_start(self, weeks: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.values
        t = np.maximum(np.asarray(weeks, dtype=np.float64), 0.0)
        return b / (a - 1) * (1 - scaled_hyp2f1(r, b + 1, a + b, t / (alpha + t),
                                                alpha / (alpha + t), r))


def mbgnbd_loss(groups: Groups) -> LossFunction:
    """Minus the mean MBG/NBD log-likelihood a customer and its gradient in
    log-parameters."""
    x, t_x, T, w = groups.x, groups.t_x, groups.T, groups.weights
    n = w.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        r, alpha, a, b = params
        log_T, log_tx = np.log(alpha + T), np.log(alpha + t_x)
        alive = -(r + x) * log_T
        gone = np.log(a) - np.log(b + x) - (r + x) * log_tx
        value = w @ (gammaln(r + x) + betaln(a, b + x + 1) + np.logaddexp(alive, gone)) + n * (
            r * np.log(alpha) - gammaln(r) - betaln(a, b))
        share = w * expit(gone - alive)
        keep = w - share
        both = digamma(a + b) - digamma(a + b + x + 1)
        gradient = np.array([
            w @ digamma(r + x) - n * digamma(r) + n * np.log(alpha) - keep @ log_T
            - share @ log_tx,
            n * r / alpha - (r + x) @ (keep / (alpha + T) + share / (alpha + t_x)),
            w @ both + share.sum() / a,
            w @ (both + digamma(b + x + 1)) - n * digamma(b) - share @ (1 / (b + x)),
        ])
        return -float(value) / n, -gradient * params / n

    return loss


def fit_mbgnbd(h: History) -> MbgNbd:
    groups = compressed(h.x, h.t_x, h.T)
    start = np.log([0.5, max(float(np.mean(h.T)) / 4, 1.0), 1.0, 1.0])
    theta, fitted = maximise(guarded(mbgnbd_loss(groups)), start, ftol=MEAN_FTOL)
    r, alpha, a, b = np.exp(theta)
    return MbgNbd(float(r), float(alpha), float(a), float(b), -fitted * len(h), len(h))


def mbgnbd_p_alive(model: MbgNbd, h: History) -> np.ndarray:
    odds = model.a / (model.b + h.x) * (
        (model.alpha + h.T) / (model.alpha + h.t_x)) ** (model.r + h.x)
    return 1.0 / (1.0 + odds)


def mbgnbd_expected(model: MbgNbd, h: History, weeks: float | np.ndarray) -> np.ndarray:
    """Expected purchases in the next `weeks` given the history."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    x, T = h.x, h.T
    t = np.asarray(weeks, dtype=np.float64)
    scaled = scaled_hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t),
                           (alpha + T) / (alpha + T + t), r + x)
    return (a + b + x) / (a - 1) * (1 - scaled) * mbgnbd_p_alive(model, h)


# ---- Pareto/NBD ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParetoNbd(Parameters):
    r: float
    alpha: float  # in weeks
    s: float
    beta: float  # in weeks
    log_likelihood: float
    customers: int

    key: ClassVar[str] = "pnbd"
    label: ClassVar[str] = "Pareto/NBD"
    names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    @property
    def dropout_per_purchase(self) -> float:
        """The chance that a customer leaves before their next purchase, at the mean rates
        (mu / (lambda + mu))."""
        leave, buy = self.s / self.beta, self.r / self.alpha
        return leave / (leave + buy)

    def p_alive(self, h: History) -> np.ndarray:
        return pnbd_p_alive(self, h)

    def expected(self, h: History, weeks: float | np.ndarray) -> np.ndarray:
        return pnbd_expected(self, h, weeks)

    def p_quiet_if_alive(self, h: History, weeks: float) -> np.ndarray:
        """P(no purchase in the next `weeks` | alive at T): either they stay and do not
        buy, or they leave at some v before buying (an integral of I's kind, from T to
        T + weeks)."""
        r, alpha, s, beta = self.values
        rx = r + h.x
        stay = rx * np.log((alpha + h.T) / (alpha + h.T + weeks)) + s * np.log(
            (beta + h.T) / (beta + h.T + weeks))
        leave = (np.log(s) + rx * np.log(alpha + h.T) + s * np.log(beta + h.T)
                 + log_integral(alpha, beta, rx, s + 1, h.T, h.T + weeks).log)
        return np.exp(np.logaddexp(stay, leave))

    def expected_from_start(self, weeks: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = self.values
        t = np.maximum(np.asarray(weeks, dtype=np.float64), 0.0)
        return r * beta / alpha * _power_share(np.log((beta + t) / beta), s - 1)


@dataclass(frozen=True)
class Integral:
    """log I per customer, and what its gradient needs at each node: its weight in I
    (summing to 1) and log(alpha + tau), log(beta + tau)."""

    log: np.ndarray
    weight: np.ndarray  # customers x nodes
    log_alpha: np.ndarray  # customers x nodes
    log_beta: np.ndarray  # customers x nodes


def log_integral(alpha: float, beta: float, p: np.ndarray, q: float, start: np.ndarray,
                 stop: np.ndarray) -> Integral:
    """log of the integral from start to stop of (alpha + tau)^-p (beta + tau)^-q dtau."""
    low, high = min(alpha, beta), max(alpha, beta)
    p_low, q_high = (p, np.full_like(p, q)) if alpha <= beta else (np.full_like(p, q), p)
    gap = high - low
    u0, u1 = np.log(low + start), np.log(low + stop)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (p_low - 1) + q_high * (low + start) / (gap + low + start)  # decay at u0
        end = np.where(rate > 0, np.minimum(u1, u0 + FALL / rate), u1)
    length = end - u0
    panels = int(np.clip(np.ceil(np.max(length, initial=0.0) / PANEL), 1, 8))
    step = length / panels
    offsets = (np.arange(panels)[:, None] + (NODES[None, :] + 1) / 2).ravel()
    u = u0[:, None] + offsets[None, :] * step[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_high = np.log(gap + np.exp(u))
        log_terms = ((1 - p_low)[:, None] * u - q_high[:, None] * log_high
                     + np.log(np.tile(WEIGHTS / 2, panels))[None, :]
                     + np.log(step)[:, None])
        top = np.max(log_terms, axis=1, keepdims=True)
        terms = np.exp(log_terms - top)
        total = terms.sum(axis=1, keepdims=True)
        log = np.where(length > 0, (top + np.log(total))[:, 0], -np.inf)
        weight = np.where(length[:, None] > 0, terms / total, 0.0)
    log_alpha, log_beta = (u, log_high) if alpha <= beta else (log_high, u)
    return Integral(log=log, weight=weight, log_alpha=log_alpha, log_beta=log_beta)


def pnbd_loss(groups: Groups) -> LossFunction:
    """Minus the mean Pareto/NBD log-likelihood a customer and its gradient in
    log-parameters; the integral's gradient is taken under the integral sign, on the same
    nodes."""
    x, t_x, T, w = groups.x, groups.t_x, groups.T, groups.weights
    n = w.sum()

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        r, alpha, s, beta = params
        rx = r + x
        log_aT, log_bT = np.log(alpha + T), np.log(beta + T)
        alive = -rx * log_aT - s * log_bT
        integral = log_integral(alpha, beta, rx, s + 1, t_x, T)
        gone = np.log(s) + integral.log
        value = w @ (gammaln(rx) + np.logaddexp(alive, gone)) + n * (
            r * np.log(alpha) + s * np.log(beta) - gammaln(r))
        share = w * expit(gone - alive)
        keep = w - share
        nodes, log_a, log_b = integral.weight, integral.log_alpha, integral.log_beta
        gradient = np.array([
            w @ digamma(rx) - n * digamma(r) + n * np.log(alpha) - keep @ log_aT
            - share @ np.einsum("ij,ij->i", nodes, log_a),
            n * r / alpha - keep @ (rx / (alpha + T))
            - share @ (rx * np.einsum("ij,ij->i", nodes, np.exp(-log_a))),
            n * np.log(beta) - keep @ log_bT + share.sum() / s
            - share @ np.einsum("ij,ij->i", nodes, log_b),
            n * s / beta - keep @ (s / (beta + T))
            - (s + 1) * share @ np.einsum("ij,ij->i", nodes, np.exp(-log_b)),
        ])
        return -float(value) / n, -gradient * params / n

    return loss


# Pareto/NBD is fitted in (log r, log r/alpha, log s, log s/beta): where customers leave
# at much the same rate, s and beta run off together with s / beta fixed, and in these
# coordinates only one of them moves (45 evaluations instead of 59 on the 1M-line
# benchmark's calibration, 15 instead of 21 on all its history).
RATES = np.array([[1.0, 0, 0, 0], [1, -1, 0, 0], [0, 0, 1, 0], [0, 0, 1, -1]])


def fit_pnbd(h: History) -> ParetoNbd:
    groups = compressed(h.x, h.t_x, h.T)
    scale = max(float(np.mean(h.T)) / 4, 1.0)  # alpha != beta at the start
    loss = guarded(pnbd_loss(groups))

    def in_rates(rates: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = loss(RATES @ rates)
        return value, RATES.T @ gradient

    start = np.linalg.solve(RATES, np.log([0.5, scale, 0.5, 2 * scale]))
    rates, fitted = maximise(in_rates, start, ftol=MEAN_FTOL, bound=40.0)
    theta = RATES @ rates
    r, alpha, s, beta = np.exp(theta)
    return ParetoNbd(float(r), float(alpha), float(s), float(beta), -fitted * len(h), len(h))


def pnbd_p_alive(model: ParetoNbd, h: History) -> np.ndarray:
    r, alpha, s, beta = model.values
    log_odds = (np.log(s) + (r + h.x) * np.log(alpha + h.T) + s * np.log(beta + h.T)
                + log_integral(alpha, beta, r + h.x, s + 1, h.t_x, h.T).log)
    return expit(-log_odds)


def pnbd_expected(model: ParetoNbd, h: History, weeks: float | np.ndarray) -> np.ndarray:
    """Expected purchases in the next `weeks` given the history."""
    r, alpha, s, beta = model.values
    t = np.asarray(weeks, dtype=np.float64)
    rate = (r + h.x) * (beta + h.T) / (alpha + h.T)
    return pnbd_p_alive(model, h) * rate * _power_share(np.log((beta + h.T + t) / (beta + h.T)),
                                                        s - 1)


def _power_share(log_ratio: np.ndarray, e: float) -> np.ndarray:
    """(1 - exp(-e log_ratio)) / e, which is log_ratio where e is 0 (s = 1)."""
    if abs(e) < 1e-9:
        return np.asarray(log_ratio, dtype=np.float64)
    return -np.expm1(-e * log_ratio) / e


# ---- the three together -------------------------------------------------------------------

PurchaseModel = BgNbd | MbgNbd | ParetoNbd
FITS: dict[str, Callable[[History], PurchaseModel]] = {
    "bgnbd": fit_bgnbd, "mbgnbd": fit_mbgnbd, "pnbd": fit_pnbd}


def mean_loss(loss: LossFunction, n: float) -> LossFunction:
    """A total loss and its gradient as a customer's mean."""

    def mean(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = loss(theta)
        return value / n, gradient / n

    return mean


def bgnbd_loss(groups: Groups) -> LossFunction:
    return mean_loss(groups.bgnbd_loss, float(groups.weights.sum()))


LOSSES = {"bgnbd": bgnbd_loss, "mbgnbd": mbgnbd_loss, "pnbd": pnbd_loss}


def guarded(loss: LossFunction) -> LossFunction:
    """A trial point whose likelihood overflows counts as a very poor fit, so L-BFGS-B
    steps back instead of stopping."""

    def safe(theta: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            value, gradient = loss(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return 1e300, np.zeros_like(theta)
        return value, gradient

    return safe
