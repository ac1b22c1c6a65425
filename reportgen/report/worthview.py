"""What the templates receive for the value sections ("What each segment is worth" and "How
far to trust the forecast"), and the sentences that say what the figures mean."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reportgen.model.value import LAPSING
from reportgen.report.facts import doc
from reportgen.report.worth import Worth
from reportgen.text import format_number, format_share

CLOSE_ENOUGH = 0.15  # a backtest total within this of what happened is "close"


@dataclass(frozen=True)
class ValueRow:
    name: str = field(metadata=doc("the segment's persona name"))
    color: str = field(metadata=doc("its colour"))
    customers: int = field(metadata=doc("its customers"))
    customer_share: float = field(metadata=doc("its share of customers, 0 to 1"))
    revenue_share: float | None = field(metadata=doc("its share of past net revenue"))
    value_share: float = field(metadata=doc("its share of all predicted value"))
    total_value: float = field(metadata=doc("its customers' predicted value together"))
    mean_value: float = field(metadata=doc("predicted value per customer"))
    mean_p_alive_repeat: float | None = field(metadata=doc(
        "mean P(alive) of its repeat buyers (none if it has none)"))
    one_time_buyers: int = field(metadata=doc("customers who bought on one day only"))
    lapsing: int = field(metadata=doc("repeat buyers with P(alive) below 0.5"))
    value_at_risk: float = field(metadata=doc("the predicted value of those"))
    lapsing_last_year_spend: float = field(metadata=doc(
        "what those spent in the last 12 months"))
    holdout_actual: int | None = field(metadata=doc("backtest: repeat purchases after the "
                                                    "calibration, of its customers"))
    holdout_expected: float | None = field(metadata=doc("backtest: what the model expected"))


@dataclass(frozen=True)
class TierRow:
    name: str
    lowest_value: float
    customers: int
    value_share: float
    counts: list[int]  # customers of each segment, in report order


@dataclass(frozen=True)
class ParamRow:
    name: str
    meaning: str
    now: float  # the fit on all history
    backtest: float  # the fit up to calibration_end


@dataclass(frozen=True)
class ValueView:
    horizon_months: int = field(metadata=doc("months the value is predicted for"))
    intro: str = field(metadata=doc("what predicted value means, in a sentence"))
    total_value: float = field(metadata=doc("all customers' predicted value"))
    one_time_note: str = field(metadata=doc("why one-time buyers' P(alive) is 1"))
    rows: list[ValueRow] = field(metadata=doc("a row per segment"))
    tiers: list[TierRow] = field(metadata=doc(
        "name, lowest_value, customers, value_share and counts (per segment) of each tier"))
    at_risk: str = field(metadata=doc("the revenue at risk, in a sentence"))
    notes: list[str] = field(metadata=doc("what the models saw that the reader should know"))
    calibration_end: str = field(metadata=doc("backtest: the last day the models saw"))
    holdout_end: str = field(metadata=doc("backtest: the last day of the holdout"))
    holdout_note: str = field(metadata=doc("backtest: how the holdout was chosen"))
    verdict: str = field(metadata=doc("backtest: how close the forecast came, in a sentence"))
    trust: list[str] = field(metadata=doc("backtest: reasons to be careful, if any"))
    customers_tested: int = field(metadata=doc("backtest: customers who had bought by then"))
    actual_transactions: int = field(metadata=doc("backtest: repeat purchases made"))
    expected_transactions: float = field(metadata=doc("backtest: repeat purchases expected"))
    actual_revenue: float = field(metadata=doc("backtest: revenue of those purchases"))
    expected_revenue: float = field(metadata=doc("backtest: revenue expected"))
    mae_per_customer: float = field(metadata=doc("backtest: mean absolute error a customer"))
    deciles: list[dict[str, float]] = field(metadata=doc(
        "backtest: decile, customers, predicted and actual mean purchases"))
    segment_note: str = field(metadata=doc("backtest: why segments' own gaps differ"))
    params: list[ParamRow] = field(metadata=doc("the models' parameters, now and in the backtest"))
    log_likelihood: dict[str, tuple[float, float]] = field(metadata=doc(
        "BG/NBD and Gamma-Gamma: (now, backtest)"))


def value_view(worth: Worth | None, names: Mapping[int, str],
               colors: Mapping[int, str]) -> ValueView | None:
    if worth is None:
        return None
    test = worth.backtest
    return ValueView(
        horizon_months=worth.horizon_months, intro=intro(worth),
        total_value=worth.total_value, one_time_note=one_time_note(worth),
        rows=[ValueRow(names[s.id], colors[s.id], s.customers, s.customer_share,
                       s.revenue_share, s.value_share, s.total_value, s.mean_value,
                       s.mean_p_alive_repeat, s.one_time_buyers, s.lapsing, s.value_at_risk,
                       s.lapsing_last_year_spend, s.holdout_actual, s.holdout_expected)
              for s in worth.segments],
        tiers=[TierRow(t.name, round(t.lowest_value, 2), t.customers, t.value_share,
                       [t.by_segment[s.id] for s in worth.segments]) for t in worth.tiers],
        at_risk=at_risk_sentence(worth), notes=list(worth.notes),
        calibration_end=test.calibration_end.isoformat(),
        holdout_end=test.holdout_end.isoformat(), holdout_note=holdout_note(worth),
        verdict=verdict(worth), trust=list(test.trust), customers_tested=len(test.customers),
        actual_transactions=test.actual_transactions,
        expected_transactions=test.expected_transactions,
        actual_revenue=test.actual_revenue, expected_revenue=test.expected_revenue,
        mae_per_customer=test.mae_per_customer,
        deciles=test.deciles.to_dict("records"),
        segment_note=(f"Segments are today's: a customer who bought after "
                      f"{test.calibration_end.isoformat()} looks more recent now, so segments "
                      "of recent buyers show more purchases than the model expected of them "
                      "and lapsed segments fewer. The total is the fair test."),
        params=param_rows(worth),
        log_likelihood={"BG/NBD": (worth.bgnbd.log_likelihood, test.bgnbd.log_likelihood),
                        "Gamma-Gamma": (worth.gamma_gamma.log_likelihood,
                                        test.gamma_gamma.log_likelihood)})


def intro(worth: Worth) -> str:
    margin = "" if worth.margin == 1 else f", counting {format_share(worth.margin)} of revenue"
    return (f"Predicted value is what a customer is expected to spend in the next "
            f"{worth.horizon_months} months, discounted at {format_share(worth.discount_rate)} "
            f"a year{margin}: how often they will buy (BG/NBD) times what they spend a "
            "purchase (Gamma-Gamma), both learnt from every customer's purchase days. "
            f"All customers together: {format_number(worth.total_value)}.")


def one_time_note(worth: Worth) -> str:
    n, total = worth.one_time_buyers, len(worth.customers)
    return (f"{n:,} customers ({format_share(n / total if total else 0.0)}) bought on one day "
            "only. The model counts a customer as possibly gone only after a repeat purchase, "
            "so their P(alive) is 1 by definition, not a sign they are active: their low "
            "predicted value says how rarely such customers come back. They are shown apart "
            "below, and the mean P(alive) of each segment is that of its repeat buyers.")


def at_risk_sentence(worth: Worth) -> str:
    lapsing = sum(s.lapsing for s in worth.segments)
    if not worth.churn_visible:
        return ("P(alive) cannot show who is lapsing in this data (see the note below): "
                "recency, the days since the last purchase, is the sign to read.")
    if not lapsing:
        return f"No repeat buyer has a P(alive) below {LAPSING}."
    spend = sum(s.lapsing_last_year_spend for s in worth.segments)
    value = sum(s.value_at_risk for s in worth.segments)
    return (f"{lapsing:,} repeat buyers are probably lapsing (P(alive) below {LAPSING}). "
            f"They spent {format_number(spend)} in the last 12 months; the model still "
            f"expects {format_number(value)} from them. That spend is the revenue at risk: "
            "what winning them back is worth.")


def holdout_note(worth: Worth) -> str:
    test = worth.backtest
    how = ("the last quarter of the history is held out (calibration_end: auto)"
           if test.auto else "calibration_end is set in the config")
    return (f"The models were refitted on the purchases up to {test.calibration_end} and asked "
            f"what the {len(test.customers):,} customers who had bought by then would buy in "
            f"the {test.holdout_weeks:.0f} weeks to {test.holdout_end}; {how}. Then the "
            "forecast was set against what they did.")


def verdict(worth: Worth) -> str:
    test = worth.backtest
    actual, expected = test.actual_transactions, test.expected_transactions
    if actual == 0:
        return ("Nobody bought again in the holdout, so the forecast could not be checked; "
                "treat predicted value as unproven.")
    gap = expected / actual - 1
    direction = "high" if gap > 0 else "low"
    close = abs(gap) <= CLOSE_ENOUGH and not test.trust
    judgement = ("close enough to rank customers and plan budgets by" if close else
                 "a rough guide: use it to rank customers, not to promise revenue")
    return (f"The model expected {expected:,.0f} repeat purchases; customers made {actual:,}, "
            f"so the forecast was {format_share(abs(gap))} {direction}. Revenue: expected "
            f"{format_number(test.expected_revenue)}, actual {format_number(test.actual_revenue)}"
            f". The forecast is {judgement}.")


PARAMETERS = (
    ("r", "BG/NBD: shape of the purchase rates across customers"),
    ("alpha", "BG/NBD: scale of the purchase rates, in weeks"),
    ("a", "BG/NBD: dropout after a purchase (a / (a + b) is its mean)"),
    ("b", "BG/NBD: dropout, second shape"),
    ("p", "Gamma-Gamma: shape of spend per purchase"),
    ("q", "Gamma-Gamma: shape of average spend across customers"),
    ("gamma", "Gamma-Gamma: scale of average spend, in the data's currency"),
)


def param_rows(worth: Worth) -> list[ParamRow]:
    now = {"r": worth.bgnbd.r, "alpha": worth.bgnbd.alpha, "a": worth.bgnbd.a,
           "b": worth.bgnbd.b, "p": worth.gamma_gamma.p, "q": worth.gamma_gamma.q,
           "gamma": worth.gamma_gamma.gamma}
    test = worth.backtest
    then = {"r": test.bgnbd.r, "alpha": test.bgnbd.alpha, "a": test.bgnbd.a,
            "b": test.bgnbd.b, "p": test.gamma_gamma.p, "q": test.gamma_gamma.q,
            "gamma": test.gamma_gamma.gamma}
    return [ParamRow(name, meaning, now[name], then[name]) for name, meaning in PARAMETERS]
