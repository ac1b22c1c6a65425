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


SUPERSTORE = pd.DataFrame([  # the shape of "Sample - Superstore": order ids by country
    ("US-2019-103800", "03/01/2019", 16.45, "DP-13000"),
    ("CA-2019-115238", "21/01/2019", 24.30, "JW-15220"),
    ("CA-2019-115238", "21/01/2019", 9.48, "JW-15220"),
    ("US-2019-112326", "04/01/2019", 3.54, "JW-15220"),
    ("CA-2019-100867", "02/02/2019", 60.00, "BG-18435"),
], columns=["Order ID", "Order Date", "Sales", "Customer ID"])
SUPERSTORE_SPEC = TransactionsSection(customer="Customer ID", invoice="Order ID",
                                      date="Order Date", amount="Sales")


def test_sales_that_the_cancel_prefix_marks_stop_the_run_with_the_fix():
    """Superstore's Canadian order ids start with "CA-": netted as cancellations, a
    customer's revenue would count them but their frequency not (BG-18435 bought once and
    would have made 0 purchases). Whichever reading is right, the run cannot guess it."""
    with pytest.raises(DataError) as refused:
        aggregate(SUPERSTORE, SUPERSTORE_SPEC, dayfirst=True, extra=[])
    message = str(refused.value)
    assert "marks 3 lines with a positive amount as cancellations" in message
    assert "first invoice: CA-2019-100867" in message
    assert "set transactions.cancel_prefix: null" in message


def test_without_a_cancel_prefix_every_order_is_a_purchase():
    spec = SUPERSTORE_SPEC.model_copy(update={"cancel_prefix": None})
    customers, sales, _ = aggregate(SUPERSTORE, spec, dayfirst=True, extra=[])
    assert customers["frequency"].to_dict() == {"BG-18435": 1, "DP-13000": 1, "JW-15220": 2}
    assert customers.loc["JW-15220", "monetary"] == pytest.approx(37.32)
    assert sales.line_counts[NETTED] == 0


def test_cancellations_with_negative_amounts_still_pass_the_prefix_check(result):
    """Online Retail's "C" invoices carry negative quantities: the check lets them by."""
    _, sales, _ = result
    assert sales.line_counts[NETTED] == 2


def test_a_tie_between_a_customers_line_values_goes_to_the_first_in_text_order():
    """As the Spark engine breaks it, whichever way the file is sorted; the appendix says
    so (page.line_columns_note)."""
    lines = pd.DataFrame([("1", 1, "01/10/2026", 5.0, 7.0, "United Kingdom"),
                          ("2", 1, "02/10/2026", 5.0, 7.0, "France"),
                          ("3", 1, "03/10/2026", 5.0, 8.0, "Germany")], columns=COLUMNS)
    for order in (lines, lines.iloc[::-1]):
        customers, sales, _ = aggregate(order.reset_index(drop=True), SPEC, dayfirst=True,
                                        extra=["Country"])
        assert customers.loc[7, "Country"] == "France"
        assert sales.line_columns == ("Country",)
    mixed = lines.assign(Country=["M7A", 77095, "G1B"])  # Superstore's postal codes
    customers, _, _ = aggregate(mixed, SPEC, dayfirst=True, extra=["Country"])
    assert customers.loc[7, "Country"] == 77095  # "77095" comes before "M7A" as text
