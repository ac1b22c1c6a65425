"""The buy-till-you-die models, fitted by maximum likelihood: BG/NBD (Fader, Hardie & Lee
2005) for how many purchases a customer makes and whether they are still a customer, and
Gamma-Gamma (Fader & Hardie 2013) for what they spend per purchase.

As in that literature, a purchase is a day on which a customer bought (same-day lines
merged), time is in weeks, and a customer's history up to the end of an observation
period is (x, t_x, T): x repeat purchase days after the first, t_x the weeks from the
first purchase to the last, T the weeks from the first purchase to the end. Gamma-Gamma
is fitted on the customers with at least one repeat purchase, on the mean amount of their
repeat purchase days. On the CDNOW 1/10 sample with calibration to 1997-09-30 these give
the published estimates (tests/test_btyd.py); the formulas are checked against
PyMC-Marketing's (benchmarks/bench_value.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

WEEK = 7.0
MONTH_WEEKS = 365.25 / 12 / WEEK


@dataclass(frozen=True)
class History:
    """Each customer's purchase history up to `end` (inclusive), in the models' terms."""

    customer: np.ndarray  # each customer's code (PurchaseDays.customer)
    x: np.ndarray  # repeat purchase days
    t_x: np.ndarray  # weeks from the first purchase to the last
    T: np.ndarray  # weeks from the first purchase to the end
    mean_repeat: np.ndarray  # mean amount of the repeat purchase days (NaN when x = 0)
    first: np.ndarray  # day of the first purchase (datetime64[D])
    end: np.datetime64

    def __len__(self) -> int:
        return len(self.customer)


def history(customer: np.ndarray, day: np.ndarray, amount: np.ndarray,
            end: np.datetime64) -> History:
    """From purchase days (sorted by customer, then day) on or before `end`."""
    seen = day <= end
    customer, day, amount = customer[seen], day[seen], amount[seen]
    start = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]]) if len(customer) \
        else np.array([], dtype=np.intp)
    counts = np.diff(np.r_[start, len(customer)])
    first, last = day[start], day[start + counts - 1]
    totals = np.add.reduceat(amount, start) if len(start) else np.array([])
    x = (counts - 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_repeat = np.where(x > 0, (totals - amount[start]) / x, np.nan)
    return History(customer=customer[start], x=x,
                   t_x=(last - first).astype(np.float64) / WEEK,
                   T=(end - first).astype(np.float64) / WEEK, mean_repeat=mean_repeat,
                   first=first, end=end)


# ---- BG/NBD -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float  # in weeks
    a: float
    b: float
    log_likelihood: float
    customers: int


def bgnbd_log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                         T: np.ndarray) -> np.ndarray:
    """Each customer's log-likelihood (FHL 2005, eq. 6) at (r, alpha, a, b)."""
    r, alpha, a, b = params
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    no_dropout = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropout = np.where(x > 0, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x),
                           -np.inf)
    return head + np.logaddexp(no_dropout, dropout)


def fit_bgnbd(h: History) -> BgNbd:
    """Maximum likelihood on log-parameters (all four are positive)."""
    groups = _compressed(h.x, h.t_x, h.T)

    def loss(theta: np.ndarray) -> float:
        return -float(np.dot(groups.weights, bgnbd_log_likelihood(
            np.exp(theta), groups.x, groups.t_x, groups.T)))

    start = np.log([0.5, max(float(np.mean(h.T)) / 4, 1.0), 1.0, 1.0])
    theta = _maximise(loss, start)
    r, alpha, a, b = np.exp(theta)
    return BgNbd(float(r), float(alpha), float(a), float(b), -loss(theta), len(h))


def p_alive(model: BgNbd, h: History) -> np.ndarray:
    """P(still a customer | x, t_x, T) (FHL 2005, eq. 11); 1 with no repeat purchase,
    since the model lets a customer drop out only after a purchase."""
    odds = np.where(h.x > 0, model.a / np.maximum(model.b + h.x - 1, 1e-12)
                    * ((model.alpha + h.T) / (model.alpha + h.t_x)) ** (model.r + h.x), 0.0)
    return 1.0 / (1.0 + odds)


def expected_purchases(model: BgNbd, h: History, weeks: float | np.ndarray) -> np.ndarray:
    """Expected purchases in the next `weeks` given the history (FHL 2005, eq. 10)."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    x, T = h.x, h.T
    t = np.asarray(weeks, dtype=np.float64)
    ratio = (alpha + T) / (alpha + T + t)
    hyper = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    first = (a + b + x - 1) / (a - 1) * (1 - ratio ** (r + x) * hyper)
    return first * p_alive(model, h)


def expected_from_start(model: BgNbd, weeks: np.ndarray) -> np.ndarray:
    """E[X(t)]: expected repeat purchases of a customer `weeks` after their first."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    t = np.maximum(np.asarray(weeks, dtype=np.float64), 0.0)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r
                                    * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


# ---- Gamma-Gamma --------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float  # in the currency of the amounts
    log_likelihood: float
    customers: int

    @property
    def has_mean(self) -> bool:
        """Whether the spend per purchase has a population mean (p gamma / (q - 1))."""
        return self.q > 1

    @property
    def mean_spend(self) -> float:
        return self.p * self.gamma / (self.q - 1) if self.has_mean else float("nan")


def gamma_gamma_log_likelihood(params: np.ndarray, m: np.ndarray,
                               x: np.ndarray) -> np.ndarray:
    """Each repeat buyer's log-likelihood of their mean repeat spend m over x purchases."""
    p, q, gamma = params
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(gamma)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(gamma + m * x))


def fit_gamma_gamma(h: History) -> GammaGamma:
    """On the repeat buyers who spent something: a mean of zero has no likelihood."""
    buyers = spenders(h)
    m, x = h.mean_repeat[buyers], h.x[buyers]

    def loss(theta: np.ndarray) -> float:
        return -float(gamma_gamma_log_likelihood(np.exp(theta), m, x).sum())

    theta = _maximise(loss, np.log([1.0, 1.0, max(float(np.mean(m)), 1.0)]))
    p, q, gamma = np.exp(theta)
    return GammaGamma(float(p), float(q), float(gamma), -loss(theta), int(buyers.sum()))


def spenders(h: History) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (h.x > 0) & (h.mean_repeat > 0)


def expected_spend(model: GammaGamma, h: History) -> np.ndarray:
    """E[spend per purchase | m_x, x]: the population mean shrunk towards the customer's.

    With q <= 1 the fitted spread of spend between customers has no finite mean (a few
    customers spend so much more than the rest that the average does not settle): each
    repeat buyer then keeps their own mean, and a customer without a repeat purchase gets
    the median of those, instead of a population mean that does not exist.
    """
    p, q, gamma = model.p, model.q, model.gamma
    buyers = h.x > 0
    if not model.has_mean:
        own = np.where(buyers, h.mean_repeat, np.nan)
        typical = float(np.nanmedian(own[spenders(h)])) if spenders(h).any() else 0.0
        return np.where(buyers, own, typical)
    with np.errstate(invalid="ignore"):
        own = p * (gamma + h.x * h.mean_repeat) / (p * h.x + q - 1)
    return np.where(buyers, own, p * gamma / (q - 1))


def discounted_value(bgnbd: BgNbd, spend: np.ndarray, h: History, months: int,
                     annual_rate: float, margin: float) -> np.ndarray:
    """margin x expected spend x the expected purchases of each coming month, discounted to
    today at the annual rate."""
    total = np.zeros(len(h))
    before = np.zeros(len(h))
    for month in range(1, months + 1):
        upto = expected_purchases(bgnbd, h, month * MONTH_WEEKS)
        total += (upto - before) / (1 + annual_rate) ** (month / 12)
        before = upto
    return margin * spend * total


# ---- fitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Groups:
    """Distinct (x, t_x, T) triples and how many customers share each: the likelihood is
    the same for all of them, so it is evaluated once a triple."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weights: np.ndarray


def _compressed(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _Groups:
    keys = np.stack([x, np.round(t_x * WEEK), np.round(T * WEEK)], axis=1)
    unique, counts = np.unique(keys, axis=0, return_counts=True)
    return _Groups(unique[:, 0], unique[:, 1] / WEEK, unique[:, 2] / WEEK,
                   counts.astype(np.float64))


def _maximise(loss: Callable[[np.ndarray], float], start: np.ndarray) -> np.ndarray:
    """Minimise `loss` over log-parameters: L-BFGS-B, then Nelder-Mead to polish.

    The bounds (e^-20 to e^20) keep a fit that runs to a boundary of the parameter space
    (Gamma-Gamma's p without limit when each customer spends the same every time) from
    taking thousands of steps towards infinity.
    """
    bounds = [(-20.0, 20.0)] * len(start)
    first = minimize(loss, start, method="L-BFGS-B", bounds=bounds,
                     options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000})
    polished = minimize(loss, first.x, method="Nelder-Mead",
                        bounds=bounds,
                        options={"xatol": 1e-8, "fatol": 1e-9, "maxiter": 1000})
    return np.asarray(polished.x if polished.fun <= first.fun else first.x)
