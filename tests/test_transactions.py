"""Sales lines to customers: every dirty case counted exactly, RFM by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from reportgen.config.sources import TransactionsSection
from reportgen.data.transactions import (
    BAD_PRICE,
    DUPLICATE,
    NETTED,
    NO_CUSTOMER,
    NOT_POSITIVE,
    aggregate,
    quintile_score,
    rfm_scores,
)
from reportgen.errors import DataError

SPEC = TransactionsSection(customer="CustomerID", invoice="InvoiceNo", date="InvoiceDate",
                           quantity="Quantity", price="UnitPrice")
COLUMNS = ["InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
LINES = pd.DataFrame([
    # customer 1: two invoices, one line returned with a C invoice
    ("100", 2, "01/10/2026 09:00", 10.0, 1.0, "UK"),
    ("100", 1, "01/10/2026 09:00", 5.0, 1.0, "UK"),
    ("101", 4, "20/10/2026 12:30", 2.5, 1.0, "UK"),
    ("C102", -1, "21/10/2026 08:00", 5.0, 1.0, "UK"),
    # customer 2: one invoice, an exact duplicate line, a zero-price line
    ("200", 3, "15/09/2026 10:00", 20.0, 2.0, "France"),
    ("200", 3, "15/09/2026 10:00", 20.0, 2.0, "France"),
    ("200", 1, "15/09/2026 10:00", 0.0, 2.0, "France"),
    # customer 3: bought, then returned everything (net revenue 0)
    ("300", 2, "05/10/2026 10:00", 7.5, 3.0, "UK"),
    ("C301", -2, "06/10/2026 10:00", 7.5, 3.0, "UK"),
    # anonymous lines
    ("400", 1, "30/10/2026 17:00", 3.0, None, "UK"),
    ("401", 1, "30/10/2026 17:05", 3.0, None, "UK"),
], columns=COLUMNS)


@pytest.fixture
def result():
    return aggregate(LINES, SPEC, dayfirst=True, extra=["Country"])


def test_every_dirty_case_is_counted_exactly(result):
    _, sales, _ = result
    assert sales.lines_read == 11
    assert sales.line_counts[NO_CUSTOMER] == 2
    assert sales.line_counts[DUPLICATE] == 1
    assert sales.line_counts[BAD_PRICE] == 1
    assert sales.line_counts[NETTED] == 2
    assert sales.line_counts[NOT_POSITIVE] == 1
    assert sales.lines_dropped == 4  # lines only: the customer set aside is not a line
    assert sales.excluded["id"].tolist() == [3]


def test_customers_get_recency_frequency_monetary_and_tenure(result):
    customers, sales, _ = result
    assert sales.as_of == dt.date(2026, 10, 22)  # the day after the last sale (21 Oct)
    assert customers.index.tolist() == [1, 2]
    one, two = customers.loc[1], customers.loc[2]
    assert one["frequency"] == 2                    # C102 is not a purchase
    assert one["monetary"] == pytest.approx(2 * 10 + 5 + 4 * 2.5 - 5)  # 30, netted
    assert one["recency_days"] == 2                 # 22 Oct - 20 Oct
    assert one["tenure_days"] == 21                 # 22 Oct - 1 Oct
    assert one["avg_order_value"] == pytest.approx(15.0)
    assert two["frequency"] == 1 and two["monetary"] == pytest.approx(60.0)
    assert two["recency_days"] == 37 and two["Country"] == "France"


def test_fixed_as_of_date():
    spec = SPEC.model_copy(update={"as_of": dt.date(2026, 12, 31)})
    customers, sales, _ = aggregate(LINES, spec, dayfirst=True, extra=[])
    assert sales.as_of == dt.date(2026, 12, 31)
    assert customers.loc[1, "recency_days"] == 72


def test_month_first_dates_read_as_month_first():
    lines = LINES.assign(InvoiceDate=["10/01/2026 09:00"] * 11)
    _, sales, _ = aggregate(lines, SPEC, dayfirst=False, extra=[])
    assert sales.last_date == dt.date(2026, 10, 1)


def test_unparseable_date_shows_an_example():
    lines = LINES.copy()
    lines.loc[4, "InvoiceDate"] = "45/13/2026 10:00"
    with pytest.raises(DataError) as caught:
        aggregate(lines, SPEC, dayfirst=True, extra=[])
    assert "'45/13/2026 10:00' (row 5)" in str(caught.value)
    assert "data.read.dayfirst" in str(caught.value)


def test_amount_expression_instead_of_quantity_and_price():
    spec = TransactionsSection(customer="CustomerID", invoice="InvoiceNo",
                               date="InvoiceDate", amount="Quantity * UnitPrice")
    customers, sales, _ = aggregate(LINES, spec, dayfirst=True, extra=[])
    assert customers.loc[1, "monetary"] == pytest.approx(30.0)
    assert sales.line_counts["lines with a zero amount"] == 1


def test_quintile_scores_by_hand():
    # sorted: 5 10 20 30 30 40 50 60 70 100 -> ranks 1..10, score = ceil(rank / 2)
    values = pd.Series([10, 50, 20, 40, 30, 30, 5, 100, 60, 70])
    assert quintile_score(values).tolist() == [1, 4, 2, 3, 2, 3, 1, 5, 4, 5]
    # the two 30s tie: the first one ranks lower. Reversed, the smallest values score 5.
    assert quintile_score(values, higher_is_better=False).tolist() == [
        5, 2, 4, 3, 3, 4, 5, 1, 2, 1]


def test_rfm_scores_reverse_recency():
    customers = pd.DataFrame({"recency_days": [1, 10, 100, 200, 300],
                              "frequency": [9, 7, 5, 3, 1],
                              "monetary": [500.0, 400.0, 300.0, 200.0, 100.0]})
    scores = rfm_scores(customers)
    assert scores["r_score"].tolist() == [5, 4, 3, 2, 1]
    assert scores["f_score"].tolist() == [5, 4, 3, 2, 1]
    assert scores["rfm_score"].tolist() == [15, 12, 9, 6, 3]


def test_uci_online_retail_dates_month_first_without_padding():
    from reportgen.data.transactions import parse_dates

    values = pd.Series(["12/1/2010 8:26", "12/10/2010 14:05", "1/4/2011 10:00", None, ""])
    parsed = parse_dates(values, "InvoiceDate", dayfirst=False)
    assert parsed[:3].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2010-12-01 08:26", "2010-12-10 14:05", "2011-01-04 10:00"]
    assert parsed[3:].isna().all()


def test_mixed_date_styles_fall_back_value_by_value():
    from reportgen.data.transactions import parse_dates

    values = pd.Series(["2026-10-01 09:00", "02/10/2026 10:00", "3 Oct 2026"])
    parsed = parse_dates(values, "d", dayfirst=True)
    assert parsed.dt.strftime("%Y-%m-%d").tolist() == ["2026-10-01", "2026-10-02", "2026-10-03"]
