"""The transactions stage: from sales lines to one row a customer, with RFM scores.

Real exports are dirty. In this order, and counted: lines without a customer id, exact
duplicate lines, lines priced zero or below (or with a zero amount), lines without a
date are dropped; cancellations (invoice numbers starting with the cancel prefix) and
returns (negative quantities) are netted against the customer's revenue, not counted as
purchases. Customers whose net revenue is zero or negative are set aside and reported,
never clustered.

Per customer: recency_days (as_of minus the last purchase day), frequency (distinct
invoices), monetary (net revenue), tenure_days (as_of minus the first purchase day),
avg_order_value (monetary / frequency), and r/f/m scores 1-5 by quintile.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reportgen.config.expressions import parse
from reportgen.config.sources import TransactionsSection
from reportgen.data.derive import Context, evaluate
from reportgen.data.files import missing_ids, row_hashes
from reportgen.errors import DataError, ExpressionError

RFM_COLUMNS = ["recency_days", "frequency", "monetary", "tenure_days", "avg_order_value"]
SCORE_COLUMNS = ["r_score", "f_score", "m_score", "rfm_score"]
OUTPUT_COLUMNS = RFM_COLUMNS + SCORE_COLUMNS
NO_CUSTOMER = "lines without a customer id"
DUPLICATE = "exact duplicate lines"
BAD_PRICE = "lines priced zero or below"
ZERO_AMOUNT = "lines with a zero amount"
NO_DATE = "lines without a date"
NETTED = "cancellation and return lines (netted against revenue)"
NOT_POSITIVE = "customers with zero or negative net revenue (not segmented)"
KEPT_REASONS = (NETTED, NOT_POSITIVE)  # counted, but no line is dropped for them


@dataclass
class SalesSummary:
    """What the aggregation did, for summary.json and the report's appendix."""

    lines_read: int
    as_of: dt.date
    first_date: dt.date
    last_date: dt.date
    line_counts: dict[str, int] = field(default_factory=dict)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)
    segmented_cents: int = 0  # net revenue of the customers kept, in cents
    segmented: int = 0  # customers kept (net revenue above zero)
    line_columns: tuple[str, ...] = ()  # other columns of the lines, taken per customer

    @property
    def lines_dropped(self) -> int:
        return sum(n for reason, n in self.line_counts.items() if reason not in KEPT_REASONS)

    def reconciliation(self) -> Reconciliation:
        dropped = tuple((r, n) for r, n in self.line_counts.items() if r not in KEPT_REASONS)
        excluded_cents = int(cents(self.excluded["monetary"]).sum()) if len(self.excluded) else 0
        return Reconciliation(
            lines_read=self.lines_read, dropped=dropped,
            lines_used=self.lines_read - sum(n for _, n in dropped),
            lines_netted=self.line_counts.get(NETTED, 0),
            customers=self.segmented + len(self.excluded),
            net_revenue_cents=self.segmented_cents + excluded_cents,
            excluded=len(self.excluded), excluded_cents=excluded_cents,
            segmented=self.segmented, segmented_cents=self.segmented_cents)


@dataclass(frozen=True)
class Reconciliation:
    """From the lines read to the revenue segmented, each step a subtraction an auditor
    can redo: lines read minus each reason dropped is the lines used; their net revenue
    (returns netted) is every customer's, and minus the customers whose net is zero or
    below it is the revenue the report segments. Money in whole cents, so it adds up
    exactly (each customer's net revenue is rounded to the cent first)."""

    lines_read: int = field(metadata={"help": "lines read"})
    dropped: tuple[tuple[str, int], ...] = field(metadata={
        "help": "(reason, lines) for each reason a line was dropped"})
    lines_used: int = field(metadata={"help": "lines used"})
    lines_netted: int = field(metadata={"help": "of those, cancellations and returns netted"})
    customers: int = field(metadata={"help": "customers with a line used"})
    net_revenue_cents: int = field(metadata={"help": "their net revenue, in cents"})
    excluded: int = field(metadata={"help": "customers at zero or below, not segmented"})
    excluded_cents: int = field(metadata={"help": "their net revenue, in cents"})
    segmented: int = field(metadata={"help": "customers segmented"})
    segmented_cents: int = field(metadata={"help": "their net revenue, in cents"})


def cents(money: pd.Series | np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(money, dtype=float) * 100).astype(np.int64)


def parse_dates(values: pd.Series, column: str, dayfirst: bool) -> pd.Series:
    """Dates as written in the export; an unparseable value is an error that shows it."""
    parsed = read_dates(values, dayfirst)
    check_dates(values, parsed, column, dayfirst, np.ones(len(values), dtype=bool))
    return parsed


def read_dates(values: pd.Series, dayfirst: bool) -> pd.Series:
    """Dates, NaT where a value cannot be read.

    The format is guessed once from the first value and applied to the whole column in C
    (1M lines: under a second, against 35 s value by value); only values that do not fit
    it are parsed one by one.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    parsed = _parse_with_guessed_format(values, dayfirst)
    leftover = values.notna().to_numpy() & parsed.isna().to_numpy()
    if leftover.any():
        text = values[leftover].astype("string").str.strip()
        parsed[leftover] = pd.to_datetime(text, dayfirst=dayfirst, errors="coerce",
                                          format="mixed")
    return parsed


def check_dates(values: pd.Series, parsed: pd.Series, column: str, dayfirst: bool,
                considered: np.ndarray, rows: bool = True) -> None:
    """Among the considered lines, a value that is present but did not parse is an error,
    naming its row unless `rows` is false (values that are not rows, such as the distinct
    texts an engine reads where the lines are)."""
    candidates = np.flatnonzero(considered & parsed.isna().to_numpy())
    if len(candidates) == 0:
        return
    text = values.iloc[candidates].astype("string").str.strip()
    present = (text.notna() & (text != "")).to_numpy()
    if present.any():
        row = int(candidates[np.flatnonzero(present)[0]])
        where = f" (row {row + 1})" if rows else ""
        raise DataError(
            f"column {column!r} holds a date that cannot be read: {values.iloc[row]!r}"
            f"{where}; check data.read.dayfirst (now {str(dayfirst).lower()}) or fix the value"
        )


def _parse_with_guessed_format(values: pd.Series, dayfirst: bool) -> pd.Series:
    from pandas.tseries.api import guess_datetime_format

    present = values.dropna()
    sample = str(present.iloc[0]).strip() if len(present) else ""
    year_first = re.match(r"\d{4}[-/.]", sample) is not None  # ISO: never day first
    guessed = (guess_datetime_format(sample, dayfirst=dayfirst and not year_first)
               if sample else None)
    codes, uniques = pd.factorize(values)
    if guessed is None or len(uniques) == 0:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    # Each distinct text is parsed once: 10M lines hold about 460k distinct timestamps,
    # and parsing those and spreading them by code takes 2 s against 5 s for every line.
    texts = pd.Series(uniques)
    if pd.api.types.is_integer_dtype(texts.dtype):  # 19970101: a date written as a number
        texts = texts.astype(str)
    parsed = pd.to_datetime(texts, format=guessed, errors="coerce").to_numpy()
    spread = parsed[codes]
    spread[codes < 0] = np.datetime64("NaT")
    return pd.Series(spread, index=values.index)


@dataclass(frozen=True)
class PurchaseDays:
    """One row a customer and a day with a purchase, sorted by customer then day: the unit
    of the customer-value models (a day's lines merged, that day's returns netted).
    `customer` indexes `ids`. A day of a free item (amount 0) is a purchase, as in the
    literature; a day whose returns outweigh its purchases is not, and is counted in
    `negative_days`."""

    customer: np.ndarray
    day: np.ndarray  # datetime64[D]
    amount: np.ndarray
    ids: np.ndarray
    negative_days: int
    zero_days: int


@dataclass(frozen=True)
class _Kept:
    """The lines that survived cleaning, as arrays (the frame is never copied)."""

    rows: np.ndarray  # revenue lines: what the customer table is made of
    amount: np.ndarray
    days: np.ndarray
    returns: np.ndarray
    purchase_rows: np.ndarray  # the revenue lines and the zero-amount ones: the value model's
    counts: dict[str, int]


def aggregate(lines: pd.DataFrame, spec: TransactionsSection, dayfirst: bool,
              extra: list[str], with_days: bool = True, whole: np.ndarray | None = None
              ) -> tuple[pd.DataFrame, SalesSummary, PurchaseDays | None]:
    """Customers (indexed by id) with the RFM columns and `extra` columns, what was done,
    and the purchase days when `with_days` (only the value model needs them: 1.4 s at
    10M lines). `whole` is each line's hash over all the file's columns (default: over
    the columns of `lines`), which finds the duplicates.

    One mask runs through the cleaning steps and rows are selected once at the end: on
    10M lines, copying the frame at every step doubled the peak memory.
    """
    kept = _clean(lines, spec, dayfirst, whole)
    days, counts = kept.days[kept.rows], kept.counts
    as_of = spec.as_of if spec.as_of != "auto" else (
        days.max().astype(dt.date) + dt.timedelta(days=1))
    codes, ids = pd.factorize(lines[spec.customer], sort=True)
    per = _per_customer(lines, kept, codes, ids, spec, as_of, extra)
    customers, summary = finish_customers(per, counts, len(lines), as_of,
                                          (days.min().astype(dt.date),
                                           days.max().astype(dt.date)))
    if not with_days:
        return customers, summary, None
    rows = kept.purchase_rows
    return customers, summary, purchase_days(codes[rows], kept.days[rows], kept.amount[rows],
                                             kept.returns[rows], np.asarray(ids))


def finish_customers(per: pd.DataFrame, counts: dict[str, int], lines_read: int,
                     as_of: dt.date, dates: tuple[dt.date, dt.date]
                     ) -> tuple[pd.DataFrame, SalesSummary]:
    """From the per-customer sums (indexed by id, in id order: the RFM scores break ties
    by it) to the customers that are segmented and what was done; both engines end here."""
    excluded = per[per["monetary"] <= 0]
    customers = per[per["monetary"] > 0]
    if customers.empty:
        raise DataError("no customer has a positive net revenue; check transactions.amount")
    counts[NOT_POSITIVE] = len(excluded)
    customers = customers.join(rfm_scores(customers))
    summary = SalesSummary(lines_read=lines_read, as_of=as_of, first_date=dates[0],
                           last_date=dates[1], line_counts=counts,
                           excluded=excluded[["frequency", "monetary"]].reset_index(),
                           segmented_cents=int(cents(customers["monetary"]).sum()),
                           segmented=len(customers),
                           line_columns=tuple(c for c in per.columns if c not in RFM_COLUMNS))
    return customers, summary


def _clean(lines: pd.DataFrame, spec: TransactionsSection, dayfirst: bool,
           whole: np.ndarray | None) -> _Kept:
    """Which lines stay, with their amounts, days and return flags, and what went why."""
    counts: dict[str, int] = {}
    keep = ~missing_ids(lines[spec.customer]).to_numpy()
    counts[NO_CUSTOMER] = int((~keep).sum())
    if spec.invoice is not None:
        # Without an invoice number two identical lines are two orders of the same
        # amount on the same day (CDNOW has 21); with one, a repeat is an export's echo.
        hashes = whole if whole is not None else row_hashes(lines)
        keep = _discard(keep, repeats(hashes), DUPLICATE, counts)
    else:
        counts[DUPLICATE] = 0
    amount = _amount(lines, spec, dayfirst, keep)
    if spec.price is not None:
        price = pd.to_numeric(lines[spec.price], errors="coerce").to_numpy()
        keep = _discard(keep, price <= 0, BAD_PRICE, counts)
    priced = keep.copy()
    keep = _discard(keep, amount == 0, ZERO_AMOUNT, counts)
    dates = read_dates(lines[spec.date], dayfirst)
    check_dates(lines[spec.date], dates, spec.date, dayfirst, keep)
    dated = dates.notna().to_numpy()
    keep = _discard(keep, ~dated, NO_DATE, counts)
    if not keep.any():
        raise DataError("no sales lines are left after cleaning; check the transactions "
                        f"columns ({', '.join(f'{k}: {n:,}' for k, n in counts.items())})")
    marked = _prefix_marked(lines, spec)
    check_cancellations(lines, spec, keep & marked & (amount > 0))
    returns = _returns(lines, amount, spec, marked)
    counts[NETTED] = int(returns[keep].sum())
    return _Kept(rows=np.flatnonzero(keep), amount=amount,
                 days=dates.to_numpy().astype("datetime64[D]"), returns=returns,
                 purchase_rows=np.flatnonzero(priced & dated), counts=counts)


def purchase_days(codes: np.ndarray, days: np.ndarray, amount: np.ndarray,
                  returns: np.ndarray, ids: np.ndarray) -> PurchaseDays:
    """Lines merged into customer-days: one sort of a 64-bit key (customer, day)."""
    day_number = days.astype(np.int64)
    base, span = int(day_number.min()), int(day_number.max() - day_number.min()) + 1
    keys, inverse = np.unique(codes.astype(np.int64) * span + (day_number - base),
                              return_inverse=True)
    inverse = inverse.ravel()
    net = day_net(np.bincount(inverse, weights=amount, minlength=len(keys)))
    bought = np.bincount(inverse, weights=~returns, minlength=len(keys)) > 0
    purchase = bought & (net >= 0)
    keys = keys[purchase]
    return PurchaseDays(customer=keys // span, day=(keys % span + base).astype("datetime64[D]"),
                        amount=net[purchase], ids=ids,
                        negative_days=int((bought & (net < 0)).sum()),
                        zero_days=int((net[purchase] == 0).sum()))


def day_net(net: np.ndarray) -> np.ndarray:
    """A day's net amount to 6 decimals: a return that cancels a purchase leaves 0, not the
    1e-16 that summing in some order leaves, so neither the order of summing (an engine's
    partitions) nor float noise turns a free day into a negative one."""
    return np.round(net, 6) + 0.0  # + 0.0: no -0.0


def repeats(hashes: np.ndarray) -> np.ndarray:
    """Repeats of an earlier line in every column, found by a 64-bit hash of each line.

    On 10M lines, DataFrame.duplicated took 7 s and 1.4 GB more; hashing takes 5 s and
    0.8 GB. Two different lines collide with odds of about n^2 / 2^65 (3 in a million at
    10M lines). Repeats are then found by a stable sort of the hashes (3 s at 10M, against
    4 s for a hash table of hashes): within equal hashes the earliest line comes first.
    """
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    repeat = np.zeros(len(hashes), dtype=bool)
    repeat[order[1:]] = ordered[1:] == ordered[:-1]
    return repeat


def _discard(keep: np.ndarray, drop: np.ndarray, reason: str,
             counts: dict[str, int]) -> np.ndarray:
    """Lines still kept that this step drops are counted under its reason."""
    dropped = keep & drop
    counts[reason] = int(dropped.sum())
    return keep & ~drop


def _amount(lines: pd.DataFrame, spec: TransactionsSection, dayfirst: bool,
            considered: np.ndarray) -> np.ndarray:
    context = Context(as_of=dt.date.today(),
                      parse_dates=lambda v, c: parse_dates(v, c, dayfirst))
    try:
        value = evaluate(parse(spec.amount_expression()), lines, context)
    except ExpressionError as exc:
        raise DataError(f"transactions.amount: {exc}") from exc
    amount = np.broadcast_to(np.asarray(value, dtype=float), (len(lines),))
    missing = considered & np.isnan(amount)
    if missing.any():
        raise DataError(f"transactions.amount is missing or not a number on "
                        f"{int(missing.sum()):,} lines (first: row "
                        f"{int(np.flatnonzero(missing)[0]) + 1})")
    return amount


def _returns(lines: pd.DataFrame, amount: np.ndarray, spec: TransactionsSection,
             marked: np.ndarray) -> np.ndarray:
    """Cancelled invoices and returned quantities, netted rather than counted as purchases."""
    returned = (amount < 0) | marked
    if spec.quantity is not None:
        returned |= (pd.to_numeric(lines[spec.quantity], errors="coerce") < 0).to_numpy()
    return returned


def _prefix_marked(lines: pd.DataFrame, spec: TransactionsSection) -> np.ndarray:
    """The lines whose invoice number starts with the cancel prefix."""
    if not (spec.cancel_prefix and spec.invoice is not None):
        return np.zeros(len(lines), dtype=bool)
    return marked_by_prefix(lines[spec.invoice], spec.cancel_prefix)


def marked_by_prefix(invoices: pd.Series, prefix: str) -> np.ndarray:
    """Invoice numbers starting with `prefix`, numbers and blanks included (as text)."""
    return invoices.astype("string").str.startswith(prefix).fillna(False).to_numpy(bool)


def check_cancellations(lines: pd.DataFrame, spec: TransactionsSection,
                        positive: np.ndarray) -> None:
    """A line the cancel prefix marks must take revenue back: a positive one is either a
    sale (Superstore's order ids start with "CA-") or a cancellation written unsigned, and
    netting it as a cancellation would add its amount to revenue but not count the
    purchase, a figure true under neither reading. So it stops the run, whichever it is."""
    if positive.any():
        invoices = lines[spec.invoice].astype("string").to_numpy()[positive]
        raise cancelled_sales_error(int(positive.sum()), str(min(invoices)), spec)


def cancelled_sales_error(count: int, example: str, spec: TransactionsSection) -> DataError:
    """The same words from every engine: the check is the same where the rows are."""
    prefix = spec.cancel_prefix
    return DataError(
        f"transactions.cancel_prefix {prefix!r} marks {count:,} lines with a positive amount "
        f"as cancellations (first invoice: {example}), but a cancellation takes revenue back; "
        f"if invoices starting with {prefix!r} are sales in this file, set "
        "transactions.cancel_prefix: null, else give cancellations a negative amount")


def _per_customer(lines: pd.DataFrame, kept: _Kept, all_codes: np.ndarray, all_ids: pd.Index,
                  spec: TransactionsSection, as_of: dt.date,
                  extra: list[str]) -> pd.DataFrame:
    """Aggregate the kept rows on integer codes (not strings): fast and small on millions
    of lines."""
    rows = kept.rows
    codes, ids = all_codes[rows], all_ids
    used = np.flatnonzero(np.bincount(codes, minlength=len(ids)))  # no sort of 10M codes
    if len(used) < len(ids):  # customers whose every line was dropped
        remap = np.full(len(ids), -1)
        remap[used] = np.arange(len(used))
        codes, ids = remap[codes], ids[used]
    n, days, amount = len(ids), kept.days[rows], kept.amount[rows]
    bought = ~kept.returns[rows]
    frequency = _purchases(lines, rows, codes, days, bought, spec, n)
    purchase_days = pd.Series(days.astype(np.int64)[bought]).groupby(codes[bought])
    first = purchase_days.min().reindex(range(n)).to_numpy()
    last = purchase_days.max().reindex(range(n)).to_numpy()
    monetary = np.round(np.bincount(codes, weights=amount, minlength=n), 2)
    reference = np.datetime64(as_of, "D").astype(np.int64)
    has_purchase = frequency > 0
    per = pd.DataFrame({
        "recency_days": reference - last,
        "frequency": frequency,
        "monetary": monetary,
        "tenure_days": reference - first,
        "avg_order_value": np.round(monetary / np.where(has_purchase, frequency, np.nan), 2),
    }, index=pd.Index(ids, name="id"))
    for column in extra:
        per[column] = _customer_value(lines[column].iloc[rows], codes, per.index)
    return per


def _purchases(lines: pd.DataFrame, rows: np.ndarray, codes: np.ndarray, days: np.ndarray,
               bought: np.ndarray, spec: TransactionsSection, n: int) -> np.ndarray:
    """Purchases per customer: distinct invoices, or distinct days without an invoice
    column (an order log of one line a purchase)."""
    if spec.invoice is not None:
        orders = pd.factorize(lines[spec.invoice])[0][rows]
    else:
        orders = days.astype(np.int64) - days.astype(np.int64).min()
    stride = int(orders.max()) + 1
    pairs = pd.unique(codes[bought].astype(np.int64) * stride + orders[bought])
    return np.bincount(pairs // stride, minlength=n)


def _customer_value(values: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """A sales-line column per customer: the mean of a number, the most frequent text
    (ties: the first in text order, as every engine breaks them; the first in the file
    would depend on how the file was sorted)."""
    keyed = pd.DataFrame({"code": codes, "value": values.to_numpy()})
    if pd.api.types.is_numeric_dtype(values):
        per_code = keyed.groupby("code")["value"].mean()
    else:
        counts = keyed.groupby(["code", "value"], sort=False).size().reset_index(name="n")
        counts["text"] = counts["value"].astype(str)  # 77095 beside "M7A": compared as text
        top = counts.sort_values(["code", "n", "text"], ascending=[True, False, True],
                                 kind="stable").drop_duplicates("code")
        per_code = top.set_index("code")["value"]
    return pd.Series(per_code.reindex(range(len(index))).to_numpy(), index=index)


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """1-5 by quintile of rank; ties broken by rank order (the customers' sorted order)."""
    ranks = (values if higher_is_better else -values).rank(method="first")
    scores = np.ceil(ranks * 5 / len(values)).clip(1, 5)
    return scores.astype(int)


def rfm_scores(customers: pd.DataFrame) -> pd.DataFrame:
    """R reversed (recent buyers score 5), F and M straight; rfm_score is their sum."""
    scores = pd.DataFrame({
        "r_score": quintile_score(customers["recency_days"], higher_is_better=False),
        "f_score": quintile_score(customers["frequency"]),
        "m_score": quintile_score(customers["monetary"]),
    }, index=customers.index)
    scores["rfm_score"] = scores.sum(axis=1)
    return scores
