"""A seeded synthetic customer table with real structure, for the sample report and tests.

Five latent groups (the kind a retail analyst finds: affluent high spenders, careful
affluent, budget-conscious, young enthusiasts, mainstream) with overlapping but separable
distributions, a right-skewed money column (`last_purchase_amount`, log-normal), and a
few missing values. `generate` also returns the true group of every customer, so tests can
check that the report recovers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SAMPLE_FILE = "customers.csv"
DEFAULT_ROWS = 2_000
DEFAULT_SEED = 20261123
CATEGORIES = ["Electronics", "Fashion", "Groceries", "Home & Garden", "Luxury", "Sports"]


@dataclass(frozen=True)
class Group:
    name: str
    weight: float
    income: tuple[float, float]
    spending: tuple[float, float]
    frequency: tuple[float, float]
    amount: tuple[float, float]  # median and log-sd of a log-normal
    age: tuple[float, float]
    membership: tuple[float, float]
    categories: tuple[float, ...]  # preference weights over CATEGORIES


GROUPS = (
    Group("Affluent high spenders", 0.14, (118_000, 12_000), (80, 7), (28, 5), (420, 0.35),
          (41, 8), (6, 2), (2, 3, 0.5, 1.5, 4, 1)),
    Group("Careful affluent", 0.16, (112_000, 12_000), (22, 7), (8, 3), (160, 0.35),
          (50, 9), (4, 2), (1, 1, 2, 3, 1, 1)),
    Group("Budget-conscious", 0.24, (32_000, 7_000), (24, 8), (6, 2.5), (45, 0.4),
          (46, 11), (3, 2), (0.5, 1, 5, 2, 0.1, 0.5)),
    Group("Young enthusiasts", 0.16, (36_000, 8_000), (79, 7), (24, 5), (90, 0.35),
          (24, 4), (1.5, 1), (4, 3, 0.5, 0.3, 0.3, 3)),
    Group("Mainstream", 0.30, (68_000, 9_000), (50, 7), (15, 4), (120, 0.35),
          (38, 10), (4, 2.5), (2, 2, 2, 2, 0.5, 1.5)),
)


def generate(n: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED,
             weights: Sequence[float] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The customer table and each row's true group index (into GROUPS)."""
    rng = np.random.default_rng(seed)
    shares = np.array(weights if weights is not None else [g.weight for g in GROUPS])
    groups = rng.choice(len(GROUPS), size=n, p=shares / shares.sum())
    columns = {name: np.empty(n) for name in
               ("income", "spending", "frequency", "amount", "age", "membership")}
    category = np.empty(n, dtype=object)
    for index, group in enumerate(GROUPS):
        rows = np.flatnonzero(groups == index)
        _fill_group(rng, group, rows, columns, category)
    frame = _assemble(rng, n, columns, category)
    return frame, groups


def _fill_group(rng: np.random.Generator, group: Group, rows: np.ndarray,
                columns: dict[str, np.ndarray], category: np.ndarray) -> None:
    size = len(rows)
    for name in ("income", "spending", "frequency", "age", "membership"):
        mean, sd = getattr(group, name)
        columns[name][rows] = rng.normal(mean, sd, size)
    median, log_sd = group.amount
    columns["amount"][rows] = rng.lognormal(np.log(median), log_sd, size)
    prefs = np.array(group.categories) / sum(group.categories)
    category[rows] = rng.choice(CATEGORIES, size=size, p=prefs)


def _assemble(rng: np.random.Generator, n: int, columns: dict[str, np.ndarray],
              category: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(1, n + 1)],
        "age": np.clip(np.round(columns["age"]), 18, 85).astype(int),
        "gender": rng.choice(["Female", "Male", "Non-binary"], size=n, p=[0.52, 0.46, 0.02]),
        "income": np.round(np.clip(columns["income"], 8_000, None), -2),
        "spending_score": np.clip(np.round(columns["spending"]), 1, 100).astype(int),
        "membership_years": np.round(np.clip(columns["membership"], 0, None), 1),
        "purchase_frequency": np.clip(np.round(columns["frequency"]), 0, None).astype(int),
        "last_purchase_amount": np.round(columns["amount"], 2),
        "preferred_category": category,
    })
    for column, fraction in (("income", 0.015), ("age", 0.01)):
        missing = rng.random(n) < fraction
        frame[column] = frame[column].astype("Int64").where(~missing)
    return frame


def write_sample(folder: Path, n: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED) -> Path:
    """Write the sample table as CSV; the same seed always writes the same bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    frame, _ = generate(n, seed)
    path = folder / SAMPLE_FILE
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


# ---- months with drift ---------------------------------------------------------------------

FEATURE_COLUMNS = ["age", "gender", "income", "spending_score", "membership_years",
                   "purchase_frequency", "last_purchase_amount", "preferred_category"]


@dataclass(frozen=True)
class Month:
    """One monthly snapshot: the table, each row's true group, and which returning
    customers changed behaviour (moved to another group) since the month before."""

    frame: pd.DataFrame
    groups: np.ndarray
    switched: np.ndarray  # bool per row; False for new and unchanged customers


def drifting_months(months: int = 3, n: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED,
                    leave: float = 0.08, arrive: float = 0.12, switch: float = 0.03,
                    growing: str = "Young enthusiasts") -> list[Month]:
    """Consecutive months of the sample customers, as a monthly export would change.

    Each month a share of customers leaves, new ones arrive (three times as likely to be
    of the `growing` group, so it grows), a few returning customers change behaviour (their
    values are redrawn from another group), and the others keep their values with the small
    noise of a month's activity.
    """
    frame, groups = generate(n, seed)
    out = [Month(frame, groups, np.zeros(len(frame), dtype=bool))]
    next_number = n + 1
    weights = [g.weight * (3 if g.name == growing else 1) for g in GROUPS]
    for month in range(1, months):
        rng = np.random.default_rng([seed, month])
        stay = rng.random(len(frame)) >= leave
        frame, groups = frame[stay].reset_index(drop=True), groups[stay]
        frame = _jitter(frame, rng)
        switched = rng.random(len(frame)) < switch
        pool, pool_groups = generate(len(frame), seed + 100 + month)
        targets = np.flatnonzero(switched)
        chosen = np.empty(len(targets), dtype=int)
        for group in np.unique(groups[targets]):  # a row of any other group
            these = groups[targets] == group
            chosen[these] = rng.choice(np.flatnonzero(pool_groups != group), these.sum())
        if len(targets):
            frame.loc[targets, FEATURE_COLUMNS] = pool.loc[chosen, FEATURE_COLUMNS].to_numpy()
            groups = groups.copy()
            groups[targets] = pool_groups[chosen]
        newcomers, new_groups = generate(round(arrive * n), seed + 200 + month, weights)
        newcomers["customer_id"] = [f"C{i:05d}" for i in
                                    range(next_number, next_number + len(newcomers))]
        next_number += len(newcomers)
        frame = pd.concat([frame, newcomers], ignore_index=True)
        groups = np.concatenate([groups, new_groups])
        switched = np.concatenate([switched, np.zeros(len(newcomers), dtype=bool)])
        out.append(Month(frame, groups, switched))
    return out


def _jitter(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A month of ordinary activity: small changes that do not change who a customer is."""
    frame = frame.copy()
    n = len(frame)
    frame["income"] = (frame["income"].astype("Float64") * (1 + rng.normal(0, 0.01, n))
                       ).round(-2).astype("Int64")
    frame["spending_score"] = np.clip(frame["spending_score"] + rng.integers(-1, 2, n), 1, 100)
    frame["purchase_frequency"] = np.clip(frame["purchase_frequency"] + rng.integers(-1, 2, n),
                                          0, None)
    frame["last_purchase_amount"] = (frame["last_purchase_amount"]
                                     * rng.lognormal(0, 0.05, n)).round(2)
    frame["membership_years"] = (frame["membership_years"] + 0.1).round(1)
    return frame


# ---- sales lines -------------------------------------------------------------------------

SALES_FILE = "transactions.csv.gz"
SALES_CUSTOMERS = 2_500
SALES_END = np.datetime64("2026-10-31T18:00")


@dataclass(frozen=True)
class Behaviour:
    """How one type of customer buys: invoices, timing (days before the end) and baskets."""

    name: str
    weight: float
    invoices: tuple[int, int]     # inclusive range of purchases
    recency: tuple[int, int]      # days from the last purchase to the end of the data
    history: tuple[int, int]      # days from the first to the last purchase
    lines: tuple[int, int]        # lines per invoice
    quantity: tuple[int, int]
    price: tuple[float, float]    # median unit price and log-sd


BEHAVIOURS = (
    Behaviour("Frequent big spenders", 0.15, (18, 40), (0, 20), (400, 700), (3, 6), (2, 6),
              (35.0, 0.3)),
    Behaviour("Loyal small baskets", 0.25, (14, 30), (0, 30), (400, 700), (1, 2), (1, 3),
              (4.0, 0.3)),
    Behaviour("Lapsed", 0.20, (4, 9), (220, 400), (100, 250), (2, 3), (1, 4), (12.0, 0.3)),
    Behaviour("One-off buyers", 0.25, (1, 1), (90, 330), (0, 0), (1, 3), (1, 3), (10.0, 0.35)),
    Behaviour("Rare big orders", 0.15, (2, 3), (40, 250), (60, 250), (4, 8), (10, 25),
              (30.0, 0.3)),
)


def generate_sales(n_customers: int = SALES_CUSTOMERS, seed: int = DEFAULT_SEED
                   ) -> tuple[pd.DataFrame, pd.Series]:
    """Sales lines like a shop's export, and each customer's true behaviour index.

    The export is dirty on purpose: cancelled invoices (`C` prefix, negative quantities)
    for about 4% of purchases, 2% of lines without a customer id, 0.5% exact duplicate
    lines and 0.3% of lines priced zero. Dates are written day first.
    """
    rng = np.random.default_rng(seed)
    weights = np.array([b.weight for b in BEHAVIOURS])
    kinds = rng.choice(len(BEHAVIOURS), size=n_customers, p=weights / weights.sum())
    customers = np.arange(10_001, 10_001 + n_customers)
    invoices = _invoices(rng, kinds)
    lines = _lines(rng, invoices, kinds)
    lines = _make_dirty(rng, lines)
    truth = pd.Series(kinds, index=pd.Index(customers, name="CustomerID"), name="behaviour")
    return lines, truth


def _spread(rng: np.random.Generator, ranges: np.ndarray) -> np.ndarray:
    """One integer per row, uniform in that row's inclusive [low, high]."""
    return rng.integers(ranges[:, 0], ranges[:, 1] + 1)


def _per_kind(kinds: np.ndarray, attribute: str) -> np.ndarray:
    return np.array([getattr(BEHAVIOURS[k], attribute) for k in kinds])


def _invoices(rng: np.random.Generator, kinds: np.ndarray) -> pd.DataFrame:
    counts = _spread(rng, _per_kind(kinds, "invoices"))
    recency = _spread(rng, _per_kind(kinds, "recency"))
    history = _spread(rng, _per_kind(kinds, "history"))
    owner = np.repeat(np.arange(len(kinds)), counts)
    first_of_customer = np.r_[0, np.cumsum(counts)[:-1]]
    position = np.arange(len(owner)) - np.repeat(first_of_customer, counts)
    fraction = rng.random(len(owner))
    fraction[position == 0] = 0.0      # every customer buys on their last day ...
    fraction[(position == 1)] = 1.0    # ... and on their first (when they buy twice)
    days_before_end = recency[owner] + fraction * history[owner]
    minutes = rng.integers(9 * 60, 19 * 60, len(owner))
    dates = (SALES_END - (days_before_end.round().astype("timedelta64[D]"))).astype(
        "datetime64[D]") + minutes.astype("timedelta64[m]")
    return pd.DataFrame({"owner": owner, "date": dates,
                         "invoice": np.arange(500_001, 500_001 + len(owner))})


def _lines(rng: np.random.Generator, invoices: pd.DataFrame, kinds: np.ndarray) -> pd.DataFrame:
    kind = kinds[invoices["owner"].to_numpy()]
    n_lines = _spread(rng, _per_kind(kind, "lines"))
    rows = np.repeat(np.arange(len(invoices)), n_lines)
    line_kind = kind[rows]
    price_median, price_sd = _per_kind(line_kind, "price").T
    quantity = _spread(rng, _per_kind(line_kind, "quantity"))
    price = np.round(rng.lognormal(np.log(price_median), price_sd), 2)
    stock = rng.integers(20_000, 23_000, len(rows))
    owner = invoices["owner"].to_numpy()[rows]
    return pd.DataFrame({
        "InvoiceNo": invoices["invoice"].to_numpy()[rows].astype(str),
        "StockCode": stock.astype(str),
        "Quantity": quantity,
        "InvoiceDate": invoices["date"].to_numpy()[rows],
        "UnitPrice": price,
        "CustomerID": (10_001 + owner).astype(float),
        "Country": np.where(owner % 10 == 0, "France", "United Kingdom"),
    })


def _make_dirty(rng: np.random.Generator, lines: pd.DataFrame) -> pd.DataFrame:
    n = len(lines)
    cancelled = lines.sample(frac=0.04, random_state=int(rng.integers(1 << 31))).copy()
    cancelled["InvoiceNo"] = "C" + cancelled["InvoiceNo"]
    cancelled["Quantity"] = -cancelled["Quantity"]
    cancelled["InvoiceDate"] = cancelled["InvoiceDate"] + np.timedelta64(2, "h")
    lines = lines.copy()
    lines.loc[rng.random(n) < 0.02, "CustomerID"] = np.nan
    lines.loc[rng.random(n) < 0.003, "UnitPrice"] = 0.0
    duplicates = lines.sample(frac=0.005, random_state=int(rng.integers(1 << 31)))
    dirty = pd.concat([lines, cancelled, duplicates]).sort_values(["InvoiceDate", "InvoiceNo"],
                                                                 kind="stable")
    dirty["InvoiceDate"] = pd.to_datetime(dirty["InvoiceDate"]).dt.strftime("%d/%m/%Y %H:%M")
    dirty["CustomerID"] = dirty["CustomerID"].astype("Int64")
    return dirty.reset_index(drop=True)


def write_sales_sample(folder: Path, n_customers: int = SALES_CUSTOMERS,
                       seed: int = DEFAULT_SEED) -> Path:
    """Write the sales lines as gzip CSV; the same seed always writes the same bytes."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    lines, _ = generate_sales(n_customers, seed)
    path = folder / SALES_FILE
    with gzip.GzipFile(path, "wb", mtime=0) as handle:
        handle.write(lines.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return path
