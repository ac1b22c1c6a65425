"""Which column measures what the presets' rules talk about: roles bound by meaning.

A role (spending, frequency, recency, tenure, income, balance, age) is bound only to a
column whose name says it measures that thing, read as words ("PURCHASES_FREQUENCY" is
"purchases frequency"). A name that also says it is something else is left out: purchase
frequency is a count or rate of purchases, not of balance updates (BALANCE_FREQUENCY on a
public credit-card table) or cash advances; spending is money spent, not a count of
purchases. A total beats a part (PURCHASES over ONEOFF_PURCHASES; a sum init derives over
NumDealsPurchases, a count of discounted purchases only). Where no column is clearly the
role, the role is unbound: rules that need it do not fire. `init` writes the bindings as
a `roles:` block with the reason for each; the appendix lists them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Meaning:
    says: tuple[tuple[str, ...], ...]  # any of these word groups, all words present
    not_if: frozenset[str]  # a word that makes the column something else
    what: str  # for the reason: "money spent"


PART_WORDS = frozenset({"oneoff", "one", "installments", "installment", "deals", "deal",
                        "discount", "web", "catalog", "store", "online", "instore", "wines",
                        "fruits", "meat", "meatproducts", "fish", "sweet", "gold", "fresh",
                        "milk", "grocery", "frozen", "detergents", "delicassen", "paper"})
COUNT_WORDS = frozenset({"num", "number", "count", "trx", "frequency", "freq", "times",
                         "visits", "orders", "transactions"})

MEANINGS: dict[str, Meaning] = {
    "spending": Meaning(
        (("spending",), ("spend",), ("spent",), ("monetary",), ("mnt",), ("amount",),
         ("revenue",), ("sales",), ("purchases",), ("purchase", "amount"),
         ("total", "spend")),
        frozenset({"balance", "cash", "advance", "payments", "payment", "minimum", "limit",
                   "credit", "income", "predicted", "expected", "order"}) | COUNT_WORDS,
        "money spent"),
    "frequency": Meaning(
        (("frequency",), ("freq",), ("trx",), ("orders",), ("transactions",),
         ("num", "purchases"), ("number", "purchases"), ("purchases", "count")),
        frozenset({"balance", "cash", "advance", "payments", "visits", "expected",
                   "predicted"}),
        "a count or rate of purchases"),
    "recency": Meaning((("recency",), ("days", "since", "last"), ("last", "purchase")),
                       frozenset(), "time since the last purchase"),
    "tenure": Meaning((("tenure",), ("membership",), ("customer", "years"),
                       ("days", "since", "first"), ("since", "customer")),
                      frozenset(), "time as a customer"),
    "income": Meaning((("income",), ("salary",), ("earnings",), ("wage",)), frozenset(),
                      "income"),
    # An account's balance is money held, not owed: bound, a bank table's wealthiest
    # depositors (CustAccountBalance) would be told to consolidate what they owe.
    "balance": Meaning((("balance",),), frozenset({"frequency", "freq", "account", "deposit",
                                                  "deposits", "savings", "saving"}),
                       "money owed"),
    "age": Meaning((("age",),), frozenset(), "age in years"),
}


CODE_WORDS = frozenset({"channel", "region", "segment", "type", "class", "status", "store",
                        "zip", "code", "group", "category", "cluster", "area", "zone",
                        "branch", "state", "country", "gender", "sex"})
MAX_CODES = 20  # more distinct values than this are not a code list


def is_code(column: str, values: object) -> bool:
    """Integers that name categories (Channel 1 = Horeca, 2 = Retail; Region 1-3): few
    distinct values and a code-like name. Their mean means nothing ("Lower channel (1.01
    vs 1.32 average)" on a public wholesale table), so they are profiled as categories."""
    import pandas as pd

    series, named = pd.Series(values), words(column)
    if not named or named[-1] not in CODE_WORDS or not pd.api.types.is_numeric_dtype(series):
        return False  # the code word names the column (StoreType), not a count (NumStorePurchases)
    present = series.dropna()
    return bool(len(present)) and bool((present % 1 == 0).all()) \
        and present.nunique() <= MAX_CODES


@dataclass(frozen=True)
class Binding:
    column: str | None
    reason: str


def words(column: str) -> list[str]:
    """`MntWines` -> [mnt, wines], `PURCHASES_TRX` -> [purchases, trx],
    `Annual Income (k$)` -> [annual, income, k]."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column)
    return re.findall(r"[a-z0-9]+", spaced.lower())


def measures(role: str, column: str) -> bool:
    """The column's name says it measures the role, and nothing that rules it out."""
    meaning, found = MEANINGS[role], set(words(column))
    return any(set(group) <= found for group in meaning.says) and not found & meaning.not_if


def is_part(column: str) -> bool:
    return bool(set(words(column)) & PART_WORDS)


def role_of(column: str, roles: Iterable[str] = MEANINGS) -> str | None:
    """The role a column measures, if one (a fallback action's subject)."""
    return next((role for role in roles if role in MEANINGS and measures(role, column)), None)


def bind_by_meaning(roles: Iterable[str], columns: Sequence[str],
                    explicit: Mapping[str, str | None] | None = None) -> dict[str, Binding]:
    """Each role's column, with why: the config's choice, else the one column (a total
    before its parts, then file order) whose name says it measures the role; a column is
    bound to one role at most."""
    explicit = explicit or {}
    taken = {c for c in explicit.values() if c}
    out: dict[str, Binding] = {}
    for role in roles:
        if role in explicit:
            chosen = explicit[role]
            out[role] = Binding(chosen, "set in the config" if chosen else
                                "left unbound in the config")
            continue
        out[role] = _by_name(role, [c for c in columns if c not in taken])
        if out[role].column:
            taken.add(out[role].column)  # type: ignore[arg-type]
    return out


def _by_name(role: str, columns: Sequence[str]) -> Binding:
    meaning = MEANINGS[role]
    fits = [c for c in columns if measures(role, c)]
    if not fits:
        return Binding(None, f"no column's name says it is {meaning.what}: unbound, so "
                             "rules on it do not fire")
    totals = [c for c in fits if not is_part(c)]
    if not totals:
        return Binding(None, f"only parts of {meaning.what} ({', '.join(fits[:3])}): "
                             "unbound; bind a total (derive: it) if the rules should use one")
    chosen = next((c for c in totals if "total" in words(c)), totals[0])
    parts = [c for c in fits if is_part(c)]
    rivals = [c for c in totals if c != chosen]
    said = f"its name says {meaning.what}"
    if parts:
        said += f", a total (its parts {', '.join(parts[:3])} are not bound)"
    if rivals:
        said += f"; {', '.join(rivals[:2])} would fit too: set roles.{role} to choose"
    return Binding(chosen, said)
