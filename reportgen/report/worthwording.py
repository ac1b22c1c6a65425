"""The value sections' sentences: what each segment is worth, how far to trust the
forecast, and the value finding of the executive summary (wording.py has the rest of the
report's). Each is made from the figures printed beside it, so it cannot say otherwise."""

from __future__ import annotations

from collections.abc import Mapping

from reportgen.model.backtest import MIN_BAND
from reportgen.model.intervals import LEVEL, ridges
from reportgen.model.value import LAPSING
from reportgen.report.worth import Worth
from reportgen.text import format_number, format_share

CLOSE_ENOUGH = 0.15  # a backtest total within this of what happened is "close"


def reliability_note(worth: Worth) -> str:
    """The reliability table's verdict: does a low P(alive) mean a customer did not
    come back? A check with one band of repeat buyers shows only the average: on Tableau's
    Superstore all 737 sat in "0.75 and above", and "P(alive) can be read as it stands"
    was printed under the warning that it says nothing about who is lapsing."""
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
    elif gap <= 0.10 and (big.index > 0).sum() < 2:  # row 0: the one-time buyers
        out.append(f"In every band of {MIN_BAND} customers or more, the share who bought came "
                   f"within {gap * 100:.0f} points of the share expected, but only one band "
                   f"of repeat buyers holds {MIN_BAND} or more, so this cannot show that "
                   "P(alive) tells those who come back from those who do not.")
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
    made = (f"The {LEVEL:.0%} intervals are the range of each segment's expected figure over "
            "200 sets of parameters drawn from their fitted uncertainty (a parametric "
            "bootstrap), each set predicting up to 300 of the segment's customers chosen at "
            "random; they leave out the chance in what a segment actually buys.")
    if any(s.value_low is None for s in worth.segments):
        made += (" A dash: no interval could be drawn, because the data determine the "
                 "model's parameters too loosely (their uncertainty cannot be computed, or "
                 "parameter sets drawn from it give no finite forecast).")
    return made


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


LAPSE_WORDS = ("lost", "hibernat", "at risk", "can't lose", "about to sleep", "laps", "churn",
               "dormant", "inactive", "sleep", "gone")
ALIVE_FOR_SURE = 0.9  # a lapse-named segment with a mean P(alive) above this is reconciled


def lapse_sentences(worth: Worth, names: Mapping[int, str],
                    recency: Mapping[int, tuple[float, float]]) -> tuple[str, ...]:
    """A segment named for lapsing ("Lost", "Hibernating", "At risk") whose repeat buyers
    the model calls almost surely alive: the two said side by side, so a reader does not
    have to choose between the name and the number. `recency`: segment id -> (its mean
    days since the last purchase, everyone's). Only where recency does say so: on
    Tableau's Superstore, "About to sleep" (named from its R score, a rank) had bought
    more recently than everyone on average (126 days against 147), and a sentence saying
    recency called it gone would have been contradicted by its own figures."""
    out = []
    for s in worth.segments:
        name, alive = names[s.id], s.mean_p_alive_repeat
        if alive is None or alive <= ALIVE_FOR_SURE or not any(
                word in name.lower() for word in LAPSE_WORDS):
            continue
        if s.id not in recency or not recency[s.id][0] > recency[s.id][1]:
            continue
        since = (f" (last purchase {format_number(recency[s.id][0])} days ago on average, "
                 f"against {format_number(recency[s.id][1])} for everyone)")
        cannot = ("the model cannot tell who has left in this data" if not worth.churn_visible
                  else "their purchase rhythm is slow enough for that gap to be usual")
        out.append(f"{name}: recency says these customers are gone{since}, but the value "
                   f"model gives its repeat buyers a mean P(alive) of {alive:.2f}: {cannot}.")
    return tuple(out)


def value_finding(worth: Worth, names: Mapping[int, str]) -> str:
    """The executive summary's sentence: the segment with the most last-year spend among
    its probably lapsing customers, or, if none lapses, where the value is."""
    risky = max(worth.segments, key=lambda s: (s.lapsing_last_year_spend, s.value_at_risk))
    if risky.lapsing == 0 or not worth.churn_visible:
        top = max(worth.segments, key=lambda s: s.value_share)
        lapsing = ("no segment has customers who are probably lapsing" if worth.churn_visible
                   else "the model cannot tell who is lapsing in this data (read recency)")
        return (f"{names[top.id]} holds {format_share(top.value_share)} of the predicted value "
                f"of the next {worth.horizon_months} months from "
                f"{format_share(top.customer_share)} of customers; {lapsing}.")
    return (f"{names[risky.id]} holds {format_share(risky.value_share)} of predicted value; "
            f"{risky.lapsing:,} of its customers are probably lapsing, who spent "
            f"{format_number(risky.lapsing_last_year_spend)} in the last 12 months.")


def segment_note(worth: Worth) -> str:
    return (f"Segments are today's: a customer who bought after "
            f"{worth.backtest.calibration_end.isoformat()} looks more recent now, so segments "
            "of recent buyers show more purchases than the model expected of them and lapsed "
            "segments fewer. The total is the fair test.")


def doubts(worth: Worth) -> tuple[str, ...]:
    """The warnings of the value model: P(alive) blind to churn, the backtest's doubts."""
    blind = () if worth.churn_visible else (f"P(alive): {worth.notes[0]}",)
    return blind + tuple(f"Predicted value: {note}" for note in worth.backtest.trust)
