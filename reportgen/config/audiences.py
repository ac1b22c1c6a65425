"""The `audiences:` section: the lists a CRM imports (written with `value:`), and the
control group kept out of the campaign so that the next period can say whether the
actions worked (model/control.py)."""

from __future__ import annotations

from pydantic import Field

from reportgen.config.base import Section


class AudiencesSection(Section):
    control_share: float = Field(
        0.0, ge=0.0, le=0.5, description="The share of each segment's audience kept out of "
        "the campaign as a control group (0.1: one customer in ten; 0 turns it off). Each "
        "audience file gets a `group` column, treatment or control, from a keyed hash of "
        "the report, the period and the customer id, stratified by segment; "
        "`<id>-<persona>.treatment.csv` is what a CRM upload takes.")
    used: bool = Field(
        True, description="Whether last period's audiences were used in a campaign; false: "
        "the lift of last period's actions is not measured, and the page says there is no "
        "evidence.")
