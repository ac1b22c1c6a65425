"""What the templates receive for the value sections ("What each segment is worth" and "How
far to trust the forecast"), and the sentences that say what the figures mean."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reportgen.model.backtest import MIN_BAND, ModelScore
from reportgen.model.intervals import LEVEL, ridges
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
    value_low: float | None = field(metadata=doc(
        "the low end of total_value's 90% interval (none without one)"))
    value_high: float | None = field(metadata=doc("its high end"))
    expected_purchases: float = field(metadata=doc(
        "its customers' expected purchases in the horizon, together"))
    purchases_low: float | None = field(metadata=doc(
        "the low end of expected_purchases' 90% interval"))
    purchases_high: float | None = field(metadata=doc("its high end"))


@dataclass(frozen=True)
class TierRow:
    name: str = field(metadata=doc("the tier, e.g. Top 1%"))
    lowest_value: float = field(metadata=doc("the lowest predicted value in it"))
    customers: int = field(metadata=doc("customers in it"))
    value_share: float = field(metadata=doc("its share of all predicted value"))
    counts: list[int] = field(metadata=doc("customers of each segment in it, in report order"))


@dataclass(frozen=True)
class ParamRow:
    name: str = field(metadata=doc("the parameter's name"))
    meaning: str = field(metadata=doc("what it describes"))
    now: float = field(metadata=doc("its value in the fit on all history"))
    backtest: float = field(metadata=doc("its value in the fit up to calibration_end"))
    flat: bool = field(default=False, metadata=doc(
        "whether it is on a flat ridge in the fit on all history"))
    flat_backtest: bool = field(default=False, metadata=doc(
        "whether it is on one in the backtest's fit"))


@dataclass(frozen=True)
class ModelRow:
    label: str = field(metadata=doc("BG/NBD, MBG/NBD or Pareto/NBD"))
    chosen: bool = field(metadata=doc("whether it was chosen"))
    expected: float = field(metadata=doc("holdout repeat purchases it expected"))
    error: float | None = field(metadata=doc(
        "expected over actual, minus 1 (none without holdout purchases)"))
    mae: float = field(metadata=doc("its mean absolute error a customer"))
    worst_gap: float | None = field(metadata=doc(
        "the largest gap between the expected and actual share who bought, over bands of "
        "200 customers or more"))
    calibrated: bool = field(metadata=doc("whether that gap is within 10 points"))
    log_likelihood: float = field(metadata=doc("its log-likelihood on the calibration period"))


@dataclass(frozen=True)
class BandRow:
    band: str = field(metadata=doc("the P(alive) band at the calibration end"))
    customers: int = field(metadata=doc("customers in it"))
    p_alive: float | None = field(metadata=doc("their mean P(alive)"))
    expected_share: float | None = field(metadata=doc(
        "the share the model expected to buy again in the holdout"))
    actual_share: float | None = field(metadata=doc("the share who did"))


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
        "the purchase model's and Gamma-Gamma's: (now, backtest)"))
    model: str = field(metadata=doc("the purchase model used: BG/NBD, MBG/NBD or Pareto/NBD"))
    choice: str = field(metadata=doc("which model was chosen and why, in a sentence"))
    models: list[ModelRow] = field(metadata=doc(
        "backtest, per model fitted: label, chosen, expected, error, mae, worst_gap, "
        "calibrated, log_likelihood"))
    reliability: list[BandRow] = field(metadata=doc(
        "backtest, the chosen model's P(alive) bands: band, customers, p_alive, "
        "expected_share, actual_share"))
    reliability_note: str = field(metadata=doc("what the reliability table says, in a sentence"))
    ridges: list[str] = field(metadata=doc(
        "parameters the data cannot pin down, each in a sentence"))
    interval_note: str = field(metadata=doc("how the 90% intervals were made"))
    citation: str = field(metadata=doc("the models and their sources"))


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
                       s.lapsing_last_year_spend, s.holdout_actual, s.holdout_expected,
                       s.value_low, s.value_high, s.expected_purchases,
                       s.expected_purchases_low, s.expected_purchases_high)
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
        log_likelihood={worth.purchases.label: (worth.purchases.log_likelihood,
                                                test.purchases.log_likelihood),
                        "Gamma-Gamma": (worth.gamma_gamma.log_likelihood,
                                        test.gamma_gamma.log_likelihood)},
        model=worth.purchases.label, choice=test.reason,
        models=[model_row(s, s.model.key == test.purchases.key) for s in test.scores],
        reliability=[BandRow(r["band"], int(r["customers"]), _or_none(r["p_alive"]),
                             _or_none(r["expected_share"]), _or_none(r["actual_share"]))
                     for r in test.chosen.reliability.to_dict("records")],
        reliability_note=reliability_note(worth), ridges=ridge_sentences(worth),
        interval_note=interval_note(worth), citation=citation(worth))


def _or_none(number: float) -> float | None:
    return None if number != number else float(number)  # NaN: an empty band


def model_row(score: ModelScore, chosen: bool) -> ModelRow:
    return ModelRow(score.label, chosen, score.expected, score.error, score.mae,
                    score.worst_gap, score.calibrated, score.model.log_likelihood)


def reliability_note(worth: Worth) -> str:
    """The reliability table's verdict: does a low P(alive) mean a customer did not
    come back?"""
    table = worth.backtest.chosen.reliability
    big = table[table["customers"] >= MIN_BAND]
    low = table.iloc[1]
    out = []
    if low["customers"]:
        out.append(f"Of the {int(low['customers']):,} repeat buyers the model gave a P(alive) "
                   f"below 0.25, {format_share(low['actual_share'])} bought again in the "
                   f"holdout; it expected {format_share(low['expected_share'])}.")
    gap = worth.backtest.chosen.worst_gap
    if gap is None:
        out.append(f"No band has {MIN_BAND} customers, too few to judge P(alive) by.")
    elif gap <= 0.10:
        out.append(f"In every band of {MIN_BAND} customers or more, the share who bought came "
                   f"within {gap * 100:.0f} points of the share expected: P(alive) can be "
                   "read as it stands.")
    else:
        worst = big.iloc[int((big["expected_share"] - big["actual_share"]).abs().argmax())]
        out.append(f"In the band \"{worst['band']}\" the model expected "
                   f"{format_share(worst['expected_share'])} to buy and "
                   f"{format_share(worst['actual_share'])} did: read P(alive) as a ranking, "
                   "not as a probability.")
    return " ".join(out)


def ridge_sentences(worth: Worth) -> list[str]:
    test = worth.backtest
    now = [(r, "") for r in worth.ridges]
    seen = {r.parameters for r in worth.ridges}
    then = [(r, f"In the fit up to {test.calibration_end}, ")
            for r in ridges(test.purchases, test.gamma_gamma) if r.parameters not in seen]
    return [f"{where}{' and '.join(r.parameters)} are on a flat ridge: the data cannot tell "
            f"their values apart from much larger ones, so the table does not print them. "
            f"What it does pin down is {r.quantity} = {r.value:.4g}: {r.meaning}."
            for r, where in now + then]


def interval_note(worth: Worth) -> str:
    return (f"The {LEVEL:.0%} intervals are the range of each segment's expected figure over "
            "200 sets of parameters drawn from their fitted uncertainty (a parametric "
            "bootstrap), each set predicting up to 300 of the segment's customers chosen at "
            "random; they leave out the chance in what a segment actually buys.")


CITATIONS = {
    "BG/NBD": "BG/NBD (Fader, Hardie & Lee 2005)",
    "MBG/NBD": "MBG/NBD (Batislam, Denizel & Filiztekin 2007)",
    "Pareto/NBD": "Pareto/NBD (Schmittlein, Morrison & Colombo 1987)",
}


def citation(worth: Worth) -> str:
    fitted = (f", on {worth.fitted_customers:,} customers chosen at random"
              if worth.fitted_customers < len(worth.customers) else "")
    return (f"{CITATIONS[worth.purchases.label]} and Gamma-Gamma (Fader & Hardie 2013), "
            f"fitted by maximum likelihood{fitted}; a purchase is a day on which a customer "
            "bought, time is in weeks.")


def intro(worth: Worth) -> str:
    margin = "" if worth.margin == 1 else f", counting {format_share(worth.margin)} of revenue"
    return (f"Predicted value is what a customer is expected to spend in the next "
            f"{worth.horizon_months} months, discounted at {format_share(worth.discount_rate)} "
            f"a year{margin}: how often they will buy ({worth.purchases.label}, chosen by the "
            "backtest) times what they spend a purchase (Gamma-Gamma), both learnt from "
            "every customer's purchase days. "
            f"All customers together: {format_number(worth.total_value)}.")


def one_time_note(worth: Worth) -> str:
    n, total = worth.one_time_buyers, len(worth.customers)
    head = f"{n:,} customers ({format_share(n / total if total else 0.0)}) bought on one day only."
    if worth.purchases.key == "bgnbd":
        return (f"{head} BG/NBD counts a customer as possibly gone only after a repeat "
                "purchase, so their P(alive) is 1 by definition, not a sign they are active: "
                "their low predicted value says how rarely such customers come back. They are "
                "shown apart below, and the mean P(alive) of each segment is that of its "
                "repeat buyers.")
    once = worth.customers.loc[worth.customers["repeat_purchases"] == 0, "p_alive"]
    mean = f" (their mean P(alive) is {once.mean():.2f})" if len(once) else ""
    return (f"{head} {worth.purchases.label} lets a customer leave before buying again, so "
            f"their P(alive) is estimated like anyone's{mean}. They are shown apart below, "
            "and the mean P(alive) of each segment is that of its repeat buyers, as a "
            "one-time buyer's says more about how rarely such customers return.")


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


MEANINGS = {
    "r": "shape of the purchase rates across customers",
    "alpha": "scale of the purchase rates, in weeks",
    "a": "dropout after a purchase (a / (a + b) is its mean)",
    "b": "dropout, second shape",
    "s": "shape of the rates of leaving across customers",
    "beta": "scale of the rates of leaving, in weeks (s / beta is the mean a week)",
    "p": "Gamma-Gamma: shape of spend per purchase",
    "q": "Gamma-Gamma: shape of average spend across customers",
    "gamma": "Gamma-Gamma: scale of average spend, in the data's currency",
}


def param_rows(worth: Worth) -> list[ParamRow]:
    test, model = worth.backtest, worth.purchases
    spend = ("p", "q", "gamma")
    now = dict(zip(model.names, model.values, strict=True)) | dict(zip(spend, (
        worth.gamma_gamma.p, worth.gamma_gamma.q, worth.gamma_gamma.gamma), strict=True))
    then = dict(zip(test.purchases.names, test.purchases.values, strict=True)) | dict(zip(
        spend, (test.gamma_gamma.p, test.gamma_gamma.q, test.gamma_gamma.gamma), strict=True))
    flat = {name for ridge in worth.ridges for name in ridge.parameters}
    flat_then = {name for ridge in ridges(test.purchases, test.gamma_gamma)
                 for name in ridge.parameters}
    return [ParamRow(name, (f"{model.label}: " if name not in spend else "") + MEANINGS[name],
                     now[name], then[name], name in flat, name in flat_then)
            for name in (*model.names, *spend)]
