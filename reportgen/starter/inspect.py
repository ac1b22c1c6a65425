"""What `reportgen init` finds in a data file: a sample of its first rows, how the file
is written (encoding, delimiter, day-first dates), what each column is (an id, a date, a
measure, a category, free text), whether rows are customers or sales lines, and what the
config should therefore cluster on and profile, each choice with its reason."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from reportgen.config.roles import is_code, words
from reportgen.data.files import (
    check_not_binary,
    parquet_head,
    parse_text,
    read_workbook,
    text_layout,
)
from reportgen.data.raw import check_regular_file, decompressed, file_kind
from reportgen.errors import DataError

SAMPLE_ROWS = 50_000
MAX_CLUSTERED = 8          # more numeric features make segments hard to tell apart
MAX_MISSING = 0.30         # above this share missing, a column describes but does not cluster
MAX_CATEGORIES = 20        # more distinct text values are too many to profile
REDUNDANT_R = 0.90         # |correlation| above which a second column adds nothing
MONEY_RE = re.compile(r"income|salary|wage|earning|spend|amount|revenue|sales|price|value|"
                      r"monetary|mnt|cost|balance|profit|k\$|\$|€|£", re.IGNORECASE)
NOT_MONEY_RE = re.compile(r"score|rating|rank|index|percent|pct|share|ratio|rate|frequency|freq",
                         re.IGNORECASE)
CODE_RE = re.compile(r"(^|[^a-z])(id|code|zip|postcode|postal|phone|number|no)([^a-z]|$)",
                     re.IGNORECASE)
BIRTH_RE = re.compile(r"birth|born|yob", re.IGNORECASE)
SALES_ROLES = {
    "customer": re.compile(r"customer|client|member|user|account|buyer", re.IGNORECASE),
    "invoice": re.compile(r"invoice|order|receipt|transaction|basket|ticket|bill",
                          re.IGNORECASE),
    "quantity": re.compile(r"qty|quantity|units|pieces", re.IGNORECASE),
    "price": re.compile(r"^(?!.*total).*price", re.IGNORECASE),  # TotalPrice is an amount
    "amount": re.compile(r"amount|revenue|sales|line.?total|total|value|dollar|spent|spend|paid",
                         re.IGNORECASE),
}
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
COMMENT_COLUMN = 32


@dataclass
class Sample:
    """The first rows of the file and how it is written."""

    path: Path
    frame: pd.DataFrame
    kind: str
    encoding: str = "utf-8"
    sep: str | None = None
    columns: list[str] | None = None  # names guessed for a file without a header row
    decimal: str = "."  # "," in a European export: 261,96
    thousands: str | None = None  # "." beside a decimal comma: 1.706,18


@dataclass
class Column:
    name: str
    role: str      # id, date, numeric, category, excluded
    reason: str
    log: bool = False
    dayfirst: bool = False


@dataclass
class Starter:
    """Everything the written config says, with the reasons."""

    sample: Sample
    columns: list[Column]
    id: str | None
    sales: dict[str, str] | None = None
    dayfirst: bool = False
    clustered: list[Column] = field(default_factory=list)
    profile: list[Column] = field(default_factory=list)
    derive: list[tuple[str, str, str]] = field(default_factory=list)  # name, expression, why
    labels: dict[str, str] = field(default_factory=dict)  # readable names of derived columns
    sales_look_cancelled: bool = False  # invoices start with the cancel prefix, and sell


def inspect(path: Path) -> Starter:
    sample = read_sample(path)
    columns = [classify(sample.frame[name], name) for name in sample.frame.columns]
    sales = sales_columns(sample.frame, columns)
    if sales is not None:
        return _sales_starter(sample, columns, sales)
    return _customer_starter(sample, columns)


# --- reading a sample ----------------------------------------------------------------------


def read_sample(path: Path) -> Sample:
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    check_regular_file(path, "reportgen init")
    kind = file_kind(path)
    if kind == "parquet":
        sample = Sample(path, parquet_head(path, SAMPLE_ROWS), kind)
    elif kind == "xlsx":
        sample = Sample(path, read_workbook(path, 0, SAMPLE_ROWS), kind)
    elif kind == "jsonl":
        with decompressed(path) as handle:
            sample = Sample(path, pd.read_json(handle, lines=True, dtype=False,
                                               nrows=SAMPLE_ROWS), kind)
    else:
        sample = _text_sample(path)
    if sample.frame.empty or len(sample.frame.columns) < 2:
        raise DataError(f"{path.name}: found {len(sample.frame)} rows and "
                        f"{len(sample.frame.columns)} column(s), and could not tell its "
                        "columns apart; give it a header row, or write the config by hand "
                        "with data.read.sep (a character, or whitespace) and "
                        "data.read.columns (the names, for a file without a header)")
    return sample


def _text_sample(path: Path) -> Sample:
    layout = text_layout(path, None, None)
    check_not_binary(layout, path)
    sep = layout.sep
    if len(layout.header) < 2 and _whitespace_columns(layout.head, layout.encoding) >= 2:
        sep = "whitespace"  # columns lined up by blanks: CDNOW's published order log
        layout = text_layout(path, layout.encoding, sep)
    columns = None
    if _headerless(layout.header):
        placeholder = [f"_{i}" for i in range(len(layout.header))]
        raw = parse_text(path, text_layout(path, layout.encoding, sep, placeholder), 1.0,
                         nrows=SAMPLE_ROWS, dtype=str)
        columns = guess_names(raw)
        layout = text_layout(path, layout.encoding, sep, columns)
    spacing = {} if sep == "whitespace" else {"skipinitialspace": True}
    frame = parse_text(path, layout, 1.0, nrows=SAMPLE_ROWS, **spacing)
    decimal, thousands = number_marks(frame, sep)
    if decimal != ".":
        frame = parse_text(path, layout, 1.0, nrows=SAMPLE_ROWS, decimal=decimal,
                           thousands=thousands, **spacing)
    frame.columns = [str(c).strip() for c in frame.columns]
    encoding = layout.encoding
    return Sample(path, frame, "text", encoding="utf-8" if encoding == "utf-8-sig"
                  else encoding, sep=sep, columns=columns, decimal=decimal,
                  thousands=thousands)


DECIMAL_COMMA = re.compile(r"[-+]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")
GROUPED = re.compile(r"[-+]?\d{1,3}(?:\.\d{3})+(?:,\d+)?")


def number_marks(frame: pd.DataFrame, sep: str | None) -> tuple[str, str | None]:
    """The decimal mark and thousands separator of a file whose numbers read as text
    because they are written 261,96 (and 1.706,18): a European export, separated by
    semicolons. Read with the point, its sales amounts were text and init clustered rows
    on a quantity (Tableau's Superstore saved that way). A column counts when every value
    is a number written so and one has a comma; a comma-separated file has none."""
    if sep == ",":
        return ".", None
    comma = grouped = False
    for name in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[name]):
            continue
        values = frame[name].dropna().astype(str).str.strip()
        if values.empty or not values.str.fullmatch(DECIMAL_COMMA).all():
            continue
        if values.str.contains(",", regex=False).any():
            comma = True
            grouped = grouped or bool(values.str.fullmatch(GROUPED).any())
    return (",", "." if grouped else None) if comma else (".", None)


def is_yyyymmdd(values: pd.Series) -> bool:
    """Whole numbers such as 19970101 that all read as dates: a date column, never a
    measure (clustered on, CDNOW's dates made personas called "Low date")."""
    if not len(values) or not pd.api.types.is_integer_dtype(values):
        return False
    if not values.between(19_000_101, 21_001_231).all():
        return False
    head = values.head(2000).astype(str)
    return bool(pd.to_datetime(head, format="%Y%m%d", errors="coerce").notna().all())


def _whitespace_columns(head: bytes, encoding: str) -> int:
    """How many blank-separated fields every one of the first lines has (0: they differ)."""
    lines = [line for line in head.decode(encoding, "replace").splitlines()[:50] if line.strip()]
    counts = {len(line.split()) for line in lines[:-1] or lines}  # the last may be cut
    return counts.pop() if len(counts) == 1 else 0


def _headerless(header: list[str]) -> bool:
    """A first line of numbers and dates only is data, not a header."""
    return len(header) >= 2 and all(
        re.fullmatch(r"[-+]?[\d.,/:]+", field.strip()) for field in header)


def guess_names(raw: pd.DataFrame) -> list[str]:
    """Names for a headerless file's columns, from their values: an id that repeats
    (customer_id), YYYYMMDD or written dates (date), small whole numbers (quantity),
    decimals (amount). What it cannot tell is column_N."""
    names: list[str] = []
    for position, column in enumerate(raw.columns):
        values = raw[column].dropna().astype(str).str.strip()
        names.append(_name_from_values(values, names, position))
    return names


def _name_from_values(values: pd.Series, taken: list[str], position: int) -> str:
    def free(name: str) -> str:
        return name if name not in taken else f"{name}_{position + 1}"

    if values.empty:
        return free(f"column_{position + 1}")
    if values.str.fullmatch(r"(19|20)\d{6}").all() and pd.to_datetime(
            values.head(2000), format="%Y%m%d", errors="coerce").notna().all():
        return free("date")
    if _as_dates(values) is not None:
        return free("date")
    whole = values.str.fullmatch(r"\d+").all()
    padded = whole and values.str.fullmatch(r"0\d+").any()  # 00017: written as a code
    if whole and "customer_id" not in taken and values.nunique() < 0.9 * len(values):
        return "customer_id"
    if padded:
        return free(f"code_{position + 1}")
    if whole and pd.to_numeric(values).max() <= 10_000:
        return free("quantity")
    if values.str.fullmatch(r"[-+]?\d*\.\d+").mean() > 0.5 and pd.to_numeric(
            values, errors="coerce").notna().all():
        return free("amount")
    return free(f"column_{position + 1}")


# --- what each column is -------------------------------------------------------------------


def classify(values: pd.Series, name: str) -> Column:
    present = values.dropna()
    if present.empty:
        return Column(name, "excluded", "empty in the rows read")
    distinct = present.nunique()
    if distinct == 1:
        return Column(name, "excluded", f"the same value ({_short(present.iloc[0])}) in "
                      "every row")
    if pd.api.types.is_datetime64_any_dtype(values):
        return Column(name, "date", "a date")
    if pd.api.types.is_bool_dtype(values):
        return Column(name, "category", "a yes/no flag")
    if pd.api.types.is_numeric_dtype(values):
        return _classify_number(values, name, distinct)
    return _classify_text(values.astype("str").where(values.notna()), name, distinct)


def _classify_number(values: pd.Series, name: str, distinct: int) -> Column:
    present = values.dropna()
    if is_yyyymmdd(present):
        return Column(name, "date", "dates written as YYYYMMDD numbers")
    unique = distinct == len(present) and len(present) > 20
    integral = bool(np.all(np.mod(present, 1) == 0))
    if CODE_RE.search(_words(name)) and integral and (unique or not MONEY_RE.search(name)):
        return Column(name, "id" if unique else "excluded",
                      "unique in every row: an id" if unique
                      else "a code or number, not a measure")
    if is_code(name, present):
        return Column(name, "category", f"a code ({distinct} values, named like a category): "
                      "profiled as categories with their shares; features.as_numbers to average")
    if distinct <= 3 and integral:
        shown = ", ".join(_short(v) for v in sorted(present.unique()))
        return Column(name, "category", f"only {distinct} values ({shown}): too coarse to "
                      "cluster on; described per segment")
    missing = values.isna().mean()
    if missing > MAX_MISSING:
        return Column(name, "category" if distinct <= MAX_CATEGORIES else "profile",
                      f"{missing:.0%} missing: describes segments but does not cluster")
    money = bool(MONEY_RE.search(name)) and not NOT_MONEY_RE.search(name)
    skew = float(present.skew()) if len(present) > 2 else 0.0
    positive = bool(present.min() >= 0)
    if positive and (skew > 2 or (money and skew > 0.5)):
        kind = "money" if money else "a measure"
        return Column(name, "numeric", f"{kind}, skewed (skew {skew:.1f}): logged so a few "
                      "big values do not dominate", log=True)
    if money:
        return Column(name, "numeric", f"money, but not skewed (skew {skew:.1f}): not logged")
    return Column(name, "numeric", "a measure")


def _classify_text(values: pd.Series, name: str, distinct: int) -> Column:
    present = values.dropna()
    dates = _as_dates(present)
    if dates is not None:
        return Column(name, "date", "dates" + (", written day first" if dates else ""),
                      dayfirst=dates)
    if distinct == len(present) and len(present) > 20:
        return Column(name, "id", "unique in every row: an id")
    if distinct <= MAX_CATEGORIES:
        return Column(name, "category", f"{distinct} categories; to cluster on it, move it "
                      "to categorical")
    return Column(name, "excluded", f"text with {distinct:,} distinct values in the "
                  f"first {len(values):,} rows: too many to describe")


def _as_dates(values: pd.Series) -> bool | None:
    """None when the text is not dates; else whether it is written day first."""
    head = values.head(2000).astype("str").str.strip()
    if not head.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).mean() > 0.9:
        return None
    parts = head.str.extract(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})").astype("float")
    dayfirst = bool((parts[0] > 12).any() and (parts[0] <= 31).all())
    parsed = pd.to_datetime(head, dayfirst=dayfirst, errors="coerce", format="mixed")
    return dayfirst if parsed.notna().mean() > 0.9 else None


# --- sales lines ---------------------------------------------------------------------------


def sales_columns(frame: pd.DataFrame, columns: list[Column]) -> dict[str, str] | None:
    """The transactions: block's columns when rows look like sales lines, else None.

    An invoice number is optional: order logs such as CDNOW's have a customer, a date
    and an amount per line, and customers that come back on several rows. A customer
    column that repeats at all makes the rows lines: a public bank table of 22,349
    transactions by 22,270 customers was taken for one row a customer, keyed on its
    TransactionID, and its report counted 22,349 customers."""
    kinds = {c.name: c.role for c in columns}
    dates = [c.name for c in columns if c.role == "date"]
    found: dict[str, str] = {}
    for role, pattern in SALES_ROLES.items():
        numeric = role in ("quantity", "price", "amount")
        for name in frame.columns:
            if name in found.values() or not pattern.search(name):
                continue
            if numeric and (not pd.api.types.is_numeric_dtype(frame[name])
                            or not expressible(name)):
                continue
            if not numeric and kinds.get(name) == "date":
                continue
            found[role] = name
            break
    if not dates or "customer" not in found:
        return None
    if not ({"quantity", "price"} <= found.keys() or "amount" in found):
        return None
    customers = frame[found["customer"]].dropna()
    if customers.nunique() == len(customers):  # one row a customer: not sales lines
        return None
    found["date"] = next((d for d in dates if re.search("date|time", d, re.I)), dates[0])
    return found


def _sales_starter(sample: Sample, columns: list[Column], sales: dict[str, str]) -> Starter:
    used = set(sales.values())
    date = next(c for c in columns if c.name == sales["date"])
    profile = [c for c in columns if c.role == "category" and c.name not in used
               and sample.frame[c.name].dtype.kind not in "iufb"]
    return Starter(sample=sample, columns=columns, id=None, sales=sales,
                   dayfirst=date.dayfirst, profile=profile,
                   sales_look_cancelled=prefix_marks_sales(sample.frame, sales))


def prefix_marks_sales(frame: pd.DataFrame, sales: dict[str, str]) -> bool:
    """Whether invoices starting with the default cancel prefix have positive amounts:
    then they are sales (Superstore's "CA-2019-100867"), and the config must say
    cancel_prefix: null (a run refuses them otherwise, data/transactions.py)."""
    from reportgen.config.sources import TransactionsSection
    from reportgen.data.transactions import marked_by_prefix

    prefix = TransactionsSection.model_fields["cancel_prefix"].default
    if "invoice" not in sales:
        return False
    marked = marked_by_prefix(frame[sales["invoice"]], prefix)
    if "amount" in sales:
        amount = pd.to_numeric(frame[sales["amount"]], errors="coerce")
    else:
        amount = (pd.to_numeric(frame[sales["quantity"]], errors="coerce")
                  * pd.to_numeric(frame[sales["price"]], errors="coerce"))
    return bool((marked & (amount > 0)).any())


# --- customer tables -----------------------------------------------------------------------


def _customer_starter(sample: Sample, columns: list[Column]) -> Starter:
    ids = [c for c in columns if c.role == "id"]
    chosen_id = next((c for c in ids if re.search("id|customer|client", c.name, re.I)),
                     ids[0] if ids else None)
    for column in ids:
        if column is not chosen_id:
            column.role, column.reason = "excluded", "unique in every row: an id or free text"
    starter = Starter(sample=sample, columns=columns,
                      id=chosen_id.name if chosen_id else None,
                      dayfirst=any(c.dayfirst for c in columns if c.role == "date"))
    _add_derived(starter)
    numeric = [c for c in columns if c.role == "numeric"]
    starter.clustered, spare = choose_clustered(sample.frame, numeric)
    starter.profile = spare + [c for c in columns if c.role in ("category", "profile")]
    return starter


def _add_derived(starter: Starter) -> None:
    """Ages from birth years and days since each date: readable profile columns."""
    this_year = dt.date.today().year
    for column in list(starter.columns):
        values = starter.sample.frame[column.name]
        if not expressible(column.name):
            continue
        if column.role == "numeric" and BIRTH_RE.search(column.name) and \
                values.dropna().between(1900, this_year).mean() > 0.95:
            name = _free_name("age", starter)
            starter.derive.append((name, f"{this_year} - {ref(column.name)}",
                                   f"age from {column.name}"))
            column.role, column.reason = "excluded", f"a birth year: used for {name}"
            _insert_after(starter.columns, column, Column(name, "numeric",
                                                          f"from {column.name}"))
        elif column.role == "date":
            name = _free_name(f"days_since_{slug(column.name, '_')}", starter)
            starter.derive.append((name, f"days_since({ref(column.name)})",
                                   f"days from {column.name} to the report date"))
            column.reason += f"; used for {name}"
            starter.labels[name] = f"days since {column.name}"
            starter.columns.append(Column(name, "profile", f"from {column.name}"))
    for prefix, parts in money_families(starter.columns).items():
        _add_total(starter, f"total_{slug(prefix, '_')}", parts, parts, f"{prefix}*",
                   f"total {prefix} ({len(parts)} columns)",
                   Column("", "numeric", f"money, the sum of {len(parts)} parts: logged",
                          log=True))
    for (first, last), parts in count_families(starter.columns).items():
        summed = [p for p in parts if not set(words(p.name)) & OVERLAPPING_WORDS]
        _add_total(starter, f"{first}_{last}", parts, summed, f"{first}*{last}",
                   f"{last} ({', '.join(p.name for p in summed)})",
                   Column("", "numeric", f"a count, the sum of {len(summed)} parts"))


def _add_total(starter: Starter, wanted: str, parts: list[Column], summed: list[Column],
               family: str, label: str, total: Column) -> None:
    """A derived total clustered on in place of its parts, which describe the segments."""
    name = _free_name(wanted, starter)
    starter.derive.append((name, " + ".join(ref(p.name) for p in summed),
                           f"the {len(summed)} {family} columns added up"))
    starter.labels[name] = label
    for part in parts:
        part.role, part.reason = "profile", f"part of {name}, which is clustered on"
    total.name = name
    _insert_after(starter.columns, parts[-1], total)


OVERLAPPING_WORDS = {"deals", "deal", "discount", "discounted"}  # how, not where: a subset


def count_families(columns: list[Column]) -> dict[tuple[str, str], list[Column]]:
    """Three or more counts named alike (NumWebPurchases, NumCatalogPurchases,
    NumStorePurchases) are parts of one total: frequency is the total, and a count of
    discounted purchases only (NumDealsPurchases) overlaps the others, so it is described
    but not added."""
    families: dict[tuple[str, str], list[Column]] = {}
    for column in columns:
        named = words(column.name)
        if column.role != "numeric" or MONEY_RE.search(column.name) or len(named) < 3 \
                or not expressible(column.name) or named[-1] in ("month", "year", "week"):
            continue
        families.setdefault((named[0], named[-1]), []).append(column)
    return {key: parts for key, parts in families.items() if len(parts) >= 3
            and len([p for p in parts if not set(words(p.name)) & OVERLAPPING_WORDS]) >= 2}


def _insert_after(columns: list[Column], anchor: Column, new: Column) -> None:
    """Derived columns take their source's place, so file order still ranks features."""
    columns.insert(columns.index(anchor) + 1, new)


def money_families(columns: list[Column]) -> dict[str, list[Column]]:
    """Three or more money columns named alike (MntWines, MntFruits, MntMeat...) are parts
    of one total: clustering on each part would make the product mix the segments."""
    families: dict[str, list[Column]] = {}
    for column in columns:
        if column.role != "numeric" or not MONEY_RE.search(column.name) \
                or not expressible(column.name):
            continue
        prefix = re.match(r"[A-Za-z][a-z]*|[^A-Za-z]*", _words(column.name).split()[0])
        if prefix and len(prefix.group(0)) >= 3:
            families.setdefault(prefix.group(0), []).append(column)
    return {p: parts for p, parts in families.items() if len(parts) >= 3}


def choose_clustered(frame: pd.DataFrame, numeric: list[Column]) -> tuple[list[Column],
                                                                          list[Column]]:
    """Measures to cluster on: in file order, leaving out near-copies of one already
    chosen, up to MAX_CLUSTERED. The rest describe the segments."""
    chosen: list[Column] = []
    spare: list[Column] = []
    for column in numeric:
        values = _comparable(frame, column)
        twin = None
        for earlier in chosen:
            if values is None:
                break
            other = _comparable(frame, earlier)
            r = values.corr(other) if other is not None else np.nan
            if pd.notna(r) and abs(r) >= REDUNDANT_R:
                twin = (earlier.name, r)
                break
        if twin is not None:
            spare.append(Column(column.name, "profile", f"moves with {twin[0]} "
                                f"(r = {twin[1]:.2f}): clustering on both counts it twice"))
        elif len(chosen) >= MAX_CLUSTERED:
            spare.append(Column(column.name, "profile", f"beyond {MAX_CLUSTERED} clustering "
                                "features; swap it in if it matters more"))
        else:
            chosen.append(column)
    return chosen, spare


def _comparable(frame: pd.DataFrame, column: Column) -> pd.Series | None:
    if column.name not in frame or frame[column.name].isna().all():
        return None
    values = pd.to_numeric(frame[column.name], errors="coerce").astype("float64")
    return np.log1p(values.clip(lower=0)) if column.log else values


# --- small helpers -------------------------------------------------------------------------


def _free_name(name: str, starter: Starter) -> str:
    taken = set(starter.sample.frame.columns) | {n for n, _, _ in starter.derive}
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    return candidate


def expressible(column: str) -> bool:
    """An expression names a column bare or in backticks, so never one holding a backtick."""
    return "`" not in column


def ref(column: str) -> str:
    """A column as an expression names it: backticks around anything but an identifier."""
    return column if IDENTIFIER_RE.match(column) else f"`{column}`"


def slug(text: str, joiner: str = "-") -> str:
    return re.sub(r"[^a-z0-9]+", joiner, text.lower()).strip(joiner)


def _words(name: str) -> str:
    """CustomerID -> Customer ID, so that CODE_RE sees the id in CamelCase names."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)


def _short(value: object) -> str:
    text = f"{value:g}" if isinstance(value, float | np.floating) else str(value)
    return text if len(text) <= 20 else text[:17] + "..."
