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
PyMC-Marketing's (benchmarks/bench_value_library.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol, Self, cast

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from reportgen.data.purchases import DaySums, day_sums

WEEK = 7.0
MONTH_WEEKS = 365.25 / 12 / WEEK


@dataclass(frozen=True)
class History:
    """Each customer's purchase history up to `end` (inclusive), in the models' terms."""

    customer: np.ndarray  # each customer's position in PurchaseHistories.ids
    x: np.ndarray  # repeat purchase days
    t_x: np.ndarray  # weeks from the first purchase to the last
    T: np.ndarray  # weeks from the first purchase to the end
    mean_repeat: np.ndarray  # mean amount of the repeat purchase days (NaN when x = 0)
    first: np.ndarray  # day of the first purchase (datetime64[D])
    end: np.datetime64

    def __len__(self) -> int:
        return len(self.customer)

    def rows(self, chosen: np.ndarray) -> History:
        """The same history for some of its customers (positions or a mask)."""
        return replace(self, customer=self.customer[chosen], x=self.x[chosen],
                       t_x=self.t_x[chosen], T=self.T[chosen],
                       mean_repeat=self.mean_repeat[chosen], first=self.first[chosen])

    def for_fitting(self, order: np.ndarray, limit: int) -> History:
        """At most `limit` customers to fit the purchase models on: those first in `order`
        (a seeded random key per customer of PurchaseHistories.ids), so the calibration
        and the whole history draw from the same customers."""
        if len(self) <= limit:
            return self
        keys = order[self.customer]
        return self.rows(np.sort(np.argpartition(keys, limit - 1)[:limit]))


def history(customer: np.ndarray, day: np.ndarray, amount: np.ndarray,
            end: np.datetime64) -> History:
    """From purchase days (sorted by customer, then day) on or before `end`."""
    customers = int(customer.max()) + 1 if len(customer) else 0
    return from_sums(day_sums(customer, day, amount, end, customers), end)


def from_sums(sums: DaySums, end: np.datetime64) -> History:
    """The customers with a purchase day up to `end`, from their sums (data/purchases.py)."""
    customer = np.flatnonzero(sums.count > 0)
    x = (sums.count[customer] - 1).astype(np.float64)
    first = sums.first[customer]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_repeat = np.where(
            x > 0, (sums.total[customer] - sums.first_amount[customer]) / x, np.nan)
    return History(customer=customer, x=x,
                   t_x=(sums.last[customer] - first).astype(np.float64) / WEEK,
                   T=(end - first).astype(np.float64) / WEEK, mean_repeat=mean_repeat,
                   first=first, end=end)


# ---- BG/NBD -------------------------------------------------------------------------------


class Parameters:
    """What the purchase models share: their parameters, by name, as a tuple, and a copy
    with others (a parametric bootstrap's draw)."""

    names: ClassVar[tuple[str, ...]]

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, name)) for name in self.names)

    def with_values(self, values: np.ndarray) -> Self:
        changes = dict(zip(self.names, map(float, values), strict=True))
        return cast(Any, replace)(self, **changes)  # every subclass is a frozen dataclass


class DropoutAtPurchase(Parameters):
    """BG/NBD and MBG/NBD: a customer leaves only at a purchase, with a chance drawn from
    beta(a, b) across customers."""

    r: float
    alpha: float
    a: float
    b: float

    @property
    def dropout_per_purchase(self) -> float:
        return self.a / (self.a + self.b)

    def p_quiet_if_alive(self, h: History, weeks: float) -> np.ndarray:
        return nbd_quiet(self.r, self.alpha, h, weeks)


@dataclass(frozen=True)
class BgNbd(DropoutAtPurchase):
    r: float
    alpha: float  # in weeks
    a: float
    b: float
    log_likelihood: float
    customers: int

    key: ClassVar[str] = "bgnbd"
    label: ClassVar[str] = "BG/NBD"
    names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    def p_alive(self, h: History) -> np.ndarray:
        return p_alive(self, h)

    def expected(self, h: History, weeks: float | np.ndarray) -> np.ndarray:
        return expected_purchases(self, h, weeks)

    def expected_from_start(self, weeks: np.ndarray) -> np.ndarray:
        return expected_from_start(self, weeks)


def nbd_quiet(r: float, alpha: float, h: History, weeks: float) -> np.ndarray:
    """P(no purchase in the next `weeks` | alive): BG/NBD and MBG/NBD let a customer leave
    only at a purchase, so an alive customer stays alive while quiet, and their rate given
    the history is gamma(r + x, alpha + T)."""
    return ((alpha + h.T) / (alpha + h.T + weeks)) ** (r + h.x)


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
    groups = compressed(h.x, h.t_x, h.T)
    start = np.log([0.5, max(float(np.mean(h.T)) / 4, 1.0), 1.0, 1.0])
    theta, fitted = maximise(groups.bgnbd_loss, start)
    r, alpha, a, b = np.exp(theta)
    return BgNbd(float(r), float(alpha), float(a), float(b), -fitted, len(h))


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
    scaled = scaled_hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t),
                           (alpha + T) / (alpha + T + t), r + x)
    return (a + b + x - 1) / (a - 1) * (1 - scaled) * p_alive(model, h)


def expected_from_start(model: BgNbd, weeks: np.ndarray) -> np.ndarray:
    """E[X(t)]: expected repeat purchases of a customer `weeks` after their first."""
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    t = np.maximum(np.asarray(weeks, dtype=np.float64), 0.0)
    return (a + b - 1) / (a - 1) * (1 - scaled_hyp2f1(r, b, a + b - 1, t / (alpha + t),
                                                      alpha / (alpha + t), r))


SERIES_TERMS = 100_000  # at most; a sum stops once its terms fall and are below 1e-17 of it


def scaled_hyp2f1(a: np.ndarray | float, b: np.ndarray | float, c: np.ndarray | float,
                  z: np.ndarray | float, base: np.ndarray | float,
                  power: np.ndarray | float) -> np.ndarray:
    """base ** power x 2F1(a, b; c; z), where base = 1 - z and power = a, 0 <= z < 1: the
    form of every expected-purchases formula here. SciPy's hyp2f1 gives NaN once a
    parameter is in the millions, which a fit reaches when the customers' purchase rates
    hardly differ (r and alpha run off together, as on a shop of regulars); there Pfaff's
    transformation, (1 - z)^a 2F1(a, b; c; z) = 2F1(a, c - b; c; z / (z - 1)), leaves a
    series whose argument is tiny as alpha is huge, summed term by term; where it would
    lose digits to cancellation, the positive series is summed in logs instead."""
    a, b, c, z, base, power = (np.array(v, dtype=np.float64) for v in
                               np.broadcast_arrays(a, b, c, z, base, power))
    shape = a.shape
    a, b, c, z, base, power = (v.ravel() for v in (a, b, c, z, base, power))
    with np.errstate(over="ignore", invalid="ignore"):
        value = np.asarray(base ** power * hyp2f1(a, b, c, z), dtype=np.float64)
    failed = ~np.isfinite(value) & (a > 0) & (b > 0) & (c > 0) & (z >= 0) & (z < 1)
    if failed.any():
        rows = np.flatnonzero(failed)
        series, exact = _pfaff_series(a[rows], c[rows] - b[rows], c[rows],
                                      z[rows] / (z[rows] - 1))
        value[rows] = series
        lost = rows[~exact]
        value[lost] = np.exp(power[lost] * np.log(base[lost]) + _log_series(
            a[lost], b[lost], c[lost], z[lost]))
    return value.reshape(shape)


def _pfaff_series(a: np.ndarray, b: np.ndarray, c: np.ndarray, w: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """2F1(a, b; c; w) for w <= 0 by its series, and whether each sum converged keeping at
    least 8 of its 16 digits (its largest term within 1e8 of the sum); a sum that does not
    (|w| >= 1, or its terms grow past 1e12) is left to the caller."""
    total, term = np.ones_like(a), np.ones_like(a)
    largest = np.ones_like(a)
    converged = np.zeros(len(a), dtype=bool)
    active = np.arange(len(a))
    for n in range(SERIES_TERMS):
        ratio = (a[active] + n) * (b[active] + n) / ((c[active] + n) * (n + 1)) * w[active]
        term[active] *= ratio
        total[active] += term[active]
        largest[active] = np.maximum(largest[active], np.abs(term[active]))
        done = (np.abs(term[active]) <= np.abs(total[active]) * 1e-17) & (np.abs(ratio) < 1)
        converged[active[done]] = True
        active = active[~done & (largest[active] < 1e12)]
        if not len(active):
            break
    return total, converged & (largest < np.abs(total) * 1e8)


def _log_series(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(a, b; c; z) by its series, each term from the last (for positive a, b, c,
    so no digit is lost), the terms and the sum kept divided by a running scale so that a
    sum past 1e300 never overflows."""
    total, term = np.ones_like(a), np.ones_like(a)
    log_scale = np.zeros_like(a)
    active = np.arange(len(a))
    for n in range(SERIES_TERMS):
        ratio = (a[active] + n) * (b[active] + n) / ((c[active] + n) * (n + 1)) * z[active]
        term[active] *= ratio
        total[active] += term[active]
        big = total[active] > 1e300
        if big.any():
            rows = active[big]
            log_scale[rows] += np.log(total[rows])
            term[rows] /= total[rows]
            total[rows] = 1.0
        moving = (term[active] > total[active] * 1e-17) | (ratio >= 1)
        active = active[moving]
        if not len(active):
            break
    return np.log(total) + log_scale


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
    spend = Spend.of(h.mean_repeat[buyers], h.x[buyers])
    start = np.log([1.0, 1.0, max(float(np.mean(h.mean_repeat[buyers])), 1.0)])
    theta, fitted = maximise(spend.loss, start)
    p, q, gamma = np.exp(theta)
    return GammaGamma(float(p), float(q), float(gamma), -fitted, int(buyers.sum()))


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


class Forecasts(Protocol):
    def expected(self, h: History, weeks: float | np.ndarray) -> np.ndarray: ...


def discounted_value(model: Forecasts, spend: np.ndarray, h: History, months: int,
                     annual_rate: float, margin: float) -> np.ndarray:
    """margin x expected spend x the expected purchases of each coming month, discounted to
    today at the annual rate."""
    ends = np.arange(1, months + 1, dtype=np.float64)
    upto = model.expected(h, (ends * MONTH_WEEKS)[:, None])  # months x customers
    each = np.diff(upto, axis=0, prepend=0.0)
    return margin * spend * (((1 + annual_rate) ** -(ends / 12)) @ each)


# ---- fitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Groups:
    """Distinct (x, t_x, T) triples and how many customers share each: the likelihood is
    the same for all of them, so it is evaluated once a triple. The terms that depend on
    x alone (the gamma functions, the costly part) are evaluated once a distinct x."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weights: np.ndarray
    levels: np.ndarray  # the distinct values of x
    level: np.ndarray  # each triple's index into levels
    level_weights: np.ndarray  # customers per distinct x
    repeat: np.ndarray  # x > 0

    def bgnbd_loss(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Minus the BG/NBD log-likelihood (FHL 2005, eq. 6) and its gradient in
        log-parameters: analytic, since finite differences cost five evaluations a step."""
        params = np.exp(theta)
        r, alpha, a, b = params
        X, n, w_ = self.levels, self.level_weights, self.weights
        rx = r + self.x
        log_T, log_tx = np.log(alpha + self.T), np.log(alpha + self.t_x)
        after = np.where(X > 0, b + X - 1, 1.0)  # b + x - 1, used only when x > 0
        log_b = np.log(after)
        no_dropout = -rx * log_T
        dropout = np.where(self.repeat, np.log(a) - log_b[self.level] - rx * log_tx, -np.inf)
        head = (n @ (gammaln(r + X) + betaln(a, b + X)) + w_.sum() * (
            r * np.log(alpha) - gammaln(r) - betaln(a, b)))
        value = head + w_ @ np.logaddexp(no_dropout, dropout)
        share = w_ * expit(dropout - no_dropout)  # weight of the dropout term, by triple
        keep = w_ - share
        ab = n @ (digamma(a + b) - digamma(a + b + X))
        total = w_.sum()
        gradient = np.array([
            n @ digamma(r + X) + total * (np.log(alpha) - digamma(r))
            - keep @ log_T - share @ log_tx,
            total * r / alpha - rx @ (keep / (alpha + self.T) + share / (alpha + self.t_x)),
            ab + share.sum() / a,
            ab + n @ digamma(b + X) - total * digamma(b)
            - share @ (1 / after)[self.level],
        ])
        return -float(value), -gradient * params


def compressed(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> Groups:
    keys = np.stack([x, np.round(t_x * WEEK), np.round(T * WEEK)], axis=1)
    unique, counts = np.unique(keys, axis=0, return_counts=True)
    weights = counts.astype(np.float64)
    levels, level = np.unique(unique[:, 0], return_inverse=True)
    return Groups(unique[:, 0], unique[:, 1] / WEEK, unique[:, 2] / WEEK, weights, levels,
                   level, np.bincount(level, weights=weights), unique[:, 0] > 0)


@dataclass(frozen=True)
class Spend:
    """The repeat buyers' mean spends m over x purchases, with every sum that does not
    depend on the parameters taken once, and the gamma functions once a distinct x."""

    m: np.ndarray
    x: np.ndarray
    levels: np.ndarray
    level_counts: np.ndarray
    sum_log_m: float
    sum_x_log_mx: float  # sum of x log m + x log x

    @classmethod
    def of(cls, m: np.ndarray, x: np.ndarray) -> Spend:
        levels, counts = np.unique(x, return_counts=True)
        return cls(m, x, levels, counts.astype(np.float64), float(np.log(m).sum()),
                   float((x * (np.log(m) + np.log(x))).sum()))

    def loss(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Minus the Gamma-Gamma log-likelihood and its gradient in log-parameters."""
        params = np.exp(theta)
        p, q, gamma = params
        X, n, N = self.levels, self.level_counts, float(len(self.m))
        total = gamma + self.m * self.x
        log_total = np.log(total)
        x_log_total = self.x @ log_total
        sum_log_total = log_total.sum()
        both = digamma(p * X + q)
        value = (n @ (gammaln(p * X + q) - gammaln(p * X)) - N * gammaln(q)
                 + N * q * np.log(gamma) + p * self.sum_x_log_mx - self.sum_log_m
                 - p * x_log_total - q * sum_log_total)
        gradient = np.array([
            n @ (X * (both - digamma(p * X))) + self.sum_x_log_mx - x_log_total,
            n @ both - N * digamma(q) + N * np.log(gamma) - sum_log_total,
            N * q / gamma - (p * self.x + q) @ (1 / total),
        ])
        return -float(value), -gradient * params


def maximise(loss: Callable[[np.ndarray], Any], start: np.ndarray, gradient: bool = True,
             ftol: float = 1e-15, bound: float = 20.0) -> tuple[np.ndarray, float]:
    """Minimise `loss` (value and gradient, or the value alone with `gradient=False`) over
    log-parameters with L-BFGS-B; the best point and its loss. `ftol` is the relative
    change of the loss at which it stops.

    The bounds (e^-20 to e^20 unless `bound` says otherwise) keep a fit that runs to a
    boundary of the parameter space (Gamma-Gamma's p without limit when each customer spends
    the same every time) from taking thousands of steps towards infinity.
    """
    bounds = [(-bound, bound)] * len(start)
    found = minimize(loss, start, jac=gradient, method="L-BFGS-B", bounds=bounds,
                     options={"ftol": ftol, "gtol": 1e-7, "maxiter": 2000})
    return np.asarray(found.x), float(found.fun)
