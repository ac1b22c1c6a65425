"""What the templates receive for the value sections ("What each segment is worth" and "How
far to trust the forecast"), and the sentences that say what the figures mean."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reportgen.model.backtest import ModelScore
from reportgen.model.intervals import ridges
from reportgen.report.facts import doc
from reportgen.report.worth import Worth
from reportgen.report.worthwording import (
    MEANINGS,
    at_risk_sentence,
    citation,
    holdout_note,
    interval_note,
    intro,
    one_time_note,
    reliability_note,
    ridge_sentences,
    segment_note,
    verdict,
)


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
        segment_note=segment_note(worth),
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
