"""The `value:` section: what each customer is worth next, from their purchase history
(BG/NBD, MBG/NBD or Pareto/NBD with Gamma-Gamma; model/value.py), and the backtest that
chooses the model and says how far to trust it."""

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


MODEL_RULE = (
    "`auto` fits BG/NBD, MBG/NBD and Pareto/NBD on the calibration period and scores each on "
    "the holdout. A model is calibrated when, in every P(alive) band of 200 or more "
    "customers, the share who bought in the holdout is within 10 points of the share it "
    "expected to buy. Of the calibrated models (of all three, if none is), the one whose "
    "total repeat purchases in the holdout came closest to what happened is chosen; where "
    "another came within 2 points of it, the one with the smaller mean absolute error per "
    "customer. With no purchase in the holdout, the highest likelihood on the calibration "
    "period decides. The chosen model is then refitted on all history.")


class ValueSection(Section):
    model: Literal["auto", "bgnbd", "mbgnbd", "pnbd"] = Field(
        "auto", description="The model of how often customers buy and whether they are "
        "still customers: bgnbd, mbgnbd or pnbd fixes it; " + MODEL_RULE)
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
