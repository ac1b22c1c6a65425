"""Two more models of how often a customer buys and whether they are still a customer,
beside BG/NBD (btyd.py), on the same history (x, t_x, T in weeks):

- MBG/NBD (Batislam, Denizel & Filiztekin 2007): as BG/NBD, but a customer may also drop
  out at time zero, so a one-time buyer is not alive by definition.
- Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases Poisson while alive, the
  lifetime exponential; both rates gamma-distributed across customers. Its likelihood
  needs the Gaussian hypergeometric function, evaluated where |z| < 1 by taking the
  smaller of alpha and beta as the base (Fader, Hardie & Lee's note on the Pareto/NBD,
  as lifetimes and CLVTools do).

Each is fitted by maximum likelihood on the distinct (x, t_x, T) triples and gives
P(alive) and the expected purchases in the next t weeks. On the CDNOW 1/10 sample with
the literature's calibration period they give the published estimates
(tests/test_purchase_models.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1

from reportgen.model.btyd import Groups, History, compressed, maximise


@dataclass(frozen=True)
class MbgNbd:
    r: float
    alpha: float  # in weeks
    a: float
    b: float
    log_likelihood: float
    customers: int


def mbgnbd_log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                          T: np.ndarray) -> np.ndarray:
    """Each customer's log-likelihood (Batislam et al. 2007) at (r, alpha, a, b)."""
    r, alpha, a, b = params
    head = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x + 1)
            - betaln(a, b))
    alive = -(r + x) * np.log(alpha + T)
    gone = np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + t_x)
    return head + np.logaddexp(alive, gone)


def fit_mbgnbd(h: History) -> MbgNbd:
    groups = compressed(h.x, h.t_x, h.T)

    start = np.log([0.5, max(float(np.mean(h.T)) / 4, 1.0), 1.0, 1.0])
    theta, fitted = maximise(per_customer(mbgnbd_log_likelihood, groups), start,
                             gradient=False)
    r, alpha, a, b = np.exp(theta)
    return MbgNbd(float(r), float(alpha), float(a), float(b), -fitted * len(h), len(h))


def per_customer(log_likelihood: Callable[..., np.ndarray],
                 groups: Groups) -> Callable[[np.ndarray], float]:
    """Minus the mean log-likelihood a customer, in log-parameters, for L-BFGS-B on
    finite differences: on the total its first step left the region where the
    hypergeometric terms are finite, and it stopped where it began (CDNOW: 0.04 s to the
    published Pareto/NBD fit once the loss is a customer's). A trial point that
    overflows counts as a very poor fit."""
    customers = float(groups.weights.sum())

    def loss(theta: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = groups.weights @ log_likelihood(np.exp(theta), groups.x, groups.t_x,
                                                    groups.T)
        return -float(value) / customers if np.isfinite(value) else 1e300

    return loss


def mbgnbd_p_alive(model: MbgNbd, h: History) -> np.ndarray:
    odds = model.a / (model.b + h.x) * (
        (model.alpha + h.T) / (model.alpha + h.t_x)) ** (model.r + h.x)
    return 1.0 / (1.0 + odds)


def mbgnbd_expected(model: MbgNbd, h: History, weeks: float | np.ndarray) -> np.ndarray:
    """Expected purchases in the next `weeks` given the history."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    x, T = h.x, h.T
    t = np.asarray(weeks, dtype=np.float64)
    hyper = hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t))
    first = (a + b + x) / (a - 1) * (1 - hyper * ((alpha + T) / (alpha + T + t)) ** (r + x))
    return first * mbgnbd_p_alive(model, h)


@dataclass(frozen=True)
class ParetoNbd:
    r: float
    alpha: float  # in weeks
    s: float
    beta: float  # in weeks
    log_likelihood: float
    customers: int


def _log_a0(params: np.ndarray, x: np.ndarray, t_x: np.ndarray,
            T: np.ndarray) -> np.ndarray:
    """log A_0 of the Pareto/NBD likelihood: a difference of two hypergeometric terms,
    each with |z| < 1 because the larger of alpha and beta is the base."""
    r, alpha, s, beta = params
    if alpha < beta:
        low, high, second = alpha, beta, r + x
    else:
        low, high, second = beta, alpha, s + 1
    gap = high - low
    rsx = r + s + x
    at_last = high + t_x
    at_end = high + T
    p_last = hyp2f1(rsx, second, rsx + 1, gap / at_last)
    p_end = hyp2f1(rsx, second, rsx + 1, gap / at_end)
    first = np.log(p_last) + rsx * np.log(at_end)
    later = np.log(p_end) + rsx * np.log(at_last)
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = first + np.log1p(-np.exp(later - first))
    return difference - rsx * (np.log(at_last) + np.log(at_end))


def pnbd_log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                        T: np.ndarray) -> np.ndarray:
    """Each customer's log-likelihood (Fader, Hardie & Lee 2005's Pareto/NBD note)."""
    r, alpha, s, beta = params
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    gone = np.log(s) + _log_a0(params, x, t_x, T) - np.log(r + s + x)
    return head + np.logaddexp(alive, gone)


def fit_pnbd(h: History) -> ParetoNbd:
    groups = compressed(h.x, h.t_x, h.T)

    scale = max(float(np.mean(h.T)) / 4, 1.0)
    start = np.log([0.5, scale, 0.5, 2 * scale])  # alpha != beta: A_0 switches base there
    theta, fitted = maximise(per_customer(pnbd_log_likelihood, groups), start,
                             gradient=False)
    r, alpha, s, beta = np.exp(theta)
    return ParetoNbd(float(r), float(alpha), float(s), float(beta), -fitted * len(h), len(h))


def pnbd_p_alive(model: ParetoNbd, h: History) -> np.ndarray:
    params = np.array([model.r, model.alpha, model.s, model.beta])
    log_odds = (np.log(model.s) - np.log(model.r + model.s + h.x)
                + (model.r + h.x) * np.log(model.alpha + h.T)
                + model.s * np.log(model.beta + h.T) + _log_a0(params, h.x, h.t_x, h.T))
    return 1.0 / (1.0 + np.exp(log_odds))


def pnbd_expected(model: ParetoNbd, h: History, weeks: float | np.ndarray) -> np.ndarray:
    """Expected purchases in the next `weeks` given the history (s != 1)."""
    r, alpha, s, beta = model.r, model.alpha, model.s, model.beta
    t = np.asarray(weeks, dtype=np.float64)
    rate = (r + h.x) * (beta + h.T) / ((alpha + h.T) * (s - 1))
    share = 1 - ((beta + h.T) / (beta + h.T + t)) ** (s - 1)
    return pnbd_p_alive(model, h) * rate * share
