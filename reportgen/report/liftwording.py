"""The sentences of "Did last period's actions work?" (model/lift.py): each segment's lift
in words a marketer reads, and never a lift where the numbers show none.

A segment whose interval holds 0 is "no clear effect": its sentence gives the two groups'
spend and the interval, not a percentage more or less, since a reader takes "spent 3%
more" as the campaign's doing. Audiences not used (audiences.used: false) give no figures
at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportgen.model.lift import MAX_SKEW, MIN_BUYERS, MIN_GROUP, Lift, Measure, SegmentLift
from reportgen.text import format_number, format_share, period_label

WORKED, HURT, UNCLEAR, TOO_FEW = "worked", "hurt", "no clear effect", "too few customers to tell"
NOT_USED = ("Last period's audiences were not used in a campaign (audiences.used: false), "
            "so there is no evidence either way of what the actions do: no lift is shown.")


def percent(share: float) -> str:
    """A relative difference as a signed whole percentage: +12%, -4%, 0%."""
    rounded = round(share * 100) + 0
    return f"{rounded:+d}%" if rounded else "0%"


def interval_text(revenue: Measure) -> str:
    """The interval of a revenue lift as the page prints it: relative where the held-out
    customers spent anything ("+8% to +24%"), else in money a customer."""
    if revenue.relative_low is None or revenue.relative_high is None:
        return f"{format_number(revenue.low)} to {format_number(revenue.high)} a customer"
    return f"{percent(revenue.relative_low)} to {percent(revenue.relative_high)}"


def day(value: object) -> str:
    return f"{value:%d %b %Y}".lstrip("0")


def lift_intro(lift: Lift) -> str:
    """What was done and over which days: the reader's frame for every figure below."""
    if not lift.used:
        return NOT_USED
    judged = sum(s.verdict != TOO_FEW for s in lift.segments)
    together = (f" The intervals are 95% for the {judged} segments together (each at "
                f"{lift.level:.1%}), so a lucky month in one segment is not read as a "
                "success." if judged > 1 else " The interval is 95%." if judged else "")
    return (f"In {period_label(lift.period)} each segment's audience held "
            f"{format_share(lift.share)} of its customers out of the campaign, picked at "
            f"random. From {day(lift.since)} to {day(lift.end)} ({lift.days} days), the "
            "treated customers are set against those held out: the difference is what the "
            f"action did.{together}")


def segment_sentence(s: SegmentLift) -> str:
    """One segment's result, the verdict's words agreeing with the interval printed."""
    revenue = s.measures.get("revenue")
    if revenue is None or s.incremental_revenue is None:
        return unjudged_sentence(s)
    interval = f"interval {interval_text(revenue)}"
    size = (f"{format_number(abs(revenue.difference))} a customer" if revenue.relative is None
            else percent(abs(revenue.relative)).lstrip("+"))
    if s.verdict == WORKED:
        return (f"Treated {s.name} spent {size} more than those held out ({interval}): about "
                f"{format_number(s.incremental_revenue)} more revenue from the "
                f"{s.treated:,} treated customers.")
    if s.verdict == HURT:
        return (f"Treated {s.name} spent {size} less than those held out ({interval}): about "
                f"{format_number(-s.incremental_revenue)} less revenue from the "
                f"{s.treated:,} treated customers.")
    return (f"Treated {s.name} spent {format_number(revenue.treatment)} a customer and those "
            f"held out {format_number(revenue.control)} ({interval}): no evidence that the "
            "action changed what they spent.")


def unjudged_sentence(s: SegmentLift) -> str:
    """Why a segment's lift is not told, and what would tell it."""
    if s.unjudged == "customers":
        return (f"{s.name}: {s.treated:,} treated and {s.held_out:,} held out are too few "
                f"customers to tell; it takes at least {MIN_GROUP} in each group.")
    if s.unjudged == "buyers":
        return (f"{s.name}: {s.buyers[0]:,} of the treated and {s.buyers[1]:,} of those held "
                f"out bought since, too few to tell; it takes at least {MIN_BUYERS} buyers in "
                "each group.")
    share = s.needed_share or 0.5
    return (f"{s.name}: a few customers spend most of this segment's revenue, so with "
            f"{s.held_out:,} held out a difference cannot be told from chance; holding out "
            f"{format_share(share)} (audiences.control_share: {share:g}) would.")


def lift_finding(lift: Lift) -> str:
    """The executive summary's (and the email's) sentence on last period's actions."""
    if not lift.used:
        return NOT_USED
    parts = []
    worked = [s for s in lift.segments if s.verdict == WORKED]
    hurt = [s for s in lift.segments if s.verdict == HURT]
    if worked:
        parts.append(f"worked for {names(worked)} (about "
                     f"{format_number(added(worked))} more "
                     "revenue)")
    if hurt:
        parts.append(f"cut the spending of treated {names(hurt)} (about "
                     f"{format_number(-added(hurt))} less "
                     "revenue)")
    for verdict, words in ((UNCLEAR, "no clear effect"), (TOO_FEW, "too few customers to tell")):
        count = sum(s.verdict == verdict for s in lift.segments)
        if count:
            other = " other" if worked or hurt else ""
            parts.append(f"{words} in {count}{other} segment{'s' if count > 1 else ''}")
    see = ' (see "Did last period\'s actions work?").'
    if not worked and not hurt and all(s.verdict == TOO_FEW for s in lift.segments):
        return ("Whether last period's actions worked cannot be told yet: too few customers "
                f"to tell in {segments_word(len(lift.segments))}{see}")
    if not worked and not hurt:
        return "Last period's actions made no clear difference: " + "; ".join(parts) + see
    return "Last period's actions " + "; ".join(parts) + "."


def segments_word(n: int) -> str:
    return "its one segment" if n == 1 else f"all {n} segments"


def added(segments: Sequence[SegmentLift]) -> float:
    return sum(s.incremental_revenue or 0.0 for s in segments)


def names(segments: Sequence[SegmentLift]) -> str:
    listed = [s.name for s in segments]
    return listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]


def method_note(lift: Lift) -> str:
    """The appendix's recipe, enough to redo every figure with pandas."""
    return (f"Last period's actions: the customers of {lift.period}'s audiences/assignment.csv "
            f"(its signature checked), each with the net amount and the number of purchase "
            f"days from {lift.since.isoformat()} to {lift.end.isoformat()} in this period's "
            "sales lines as the reconciliation cleans them (exact duplicate lines dropped, "
            "lines without a positive price left out; a day's lines merged and its returns "
            "netted, a day with a sale that nets to 0 or more being a purchase; a customer "
            "absent from them counts as 0, a customer new since is not in the test). "
            "Per segment, "
            "the treated group's mean minus the held-out group's, with Welch's interval "
            f"(unequal variances) at {lift.level:.2%}, 95% for the segments together "
            "(Bonferroni); the relative lift's interval by the delta method; a segment with "
            f"under {MIN_GROUP} customers, or {MIN_BUYERS} who bought, in either group is not "
            "judged, nor one whose revenue is so uneven that the difference of the means is "
            f"still skewed (over {MAX_SKEW} by Cochran's rule for two groups: g x |1/n1^2 - "
            "1/n0^2| / (1/n1 + 1/n0)^1.5, g the skewness of the segment's revenue).")
