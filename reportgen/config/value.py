"""The `value:` section: what each customer is worth next, from their purchase history
(BG/NBD and Gamma-Gamma; model/value.py), and the backtest that says how far to trust it."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from reportgen.config.base import Section


class BacktestSection(Section):
    calibration_end: dt.date | Literal["auto"] = Field(
        "auto", description="The models are refitted on the history up to this date and "
        "scored on what happened after it, up to as_of; `auto` holds out the last quarter "
        "of the history.")


class ValueSection(Section):
    horizon_months: int = Field(
        12, ge=1, le=120, description="Months ahead that expected purchases and value are "
        "predicted for.")
    discount_rate: float = Field(
        0.10, ge=0, lt=1, description="Annual rate that discounts future value to today.")
    margin: float = Field(
        1.0, gt=0, le=1, description="The share of revenue counted as value (1: revenue).")
    backtest: BacktestSection = Field(
        default_factory=lambda: BacktestSection(), description="How the forecast is tested "
        "on data it has not seen.")


VALUE_COLUMNS = ("expected_purchases", "p_alive", "value")  # what the value stage adds
# Described on log(1 + x), like a logged clustering column: a few customers are worth
# hundreds of times the median, and a plain z-score would call every other segment average.
LOGGED_VALUE_COLUMNS = ("expected_purchases", "value")
PROBABILITY_COLUMNS = ("p_alive",)  # written as 0.22 in text, never 3.6e-05


def value_labels(spec: ValueSection) -> dict[str, str]:
    months = spec.horizon_months
    return {"expected_purchases": f"expected purchases ({months} months)",
            "p_alive": "P(still a customer)", "value": f"predicted value ({months} months)"}
