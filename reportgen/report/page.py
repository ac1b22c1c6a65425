"""What the templates receive: the page context, field by field, built from the content.

Numbers stay numbers here; the templates format them with the filters of templating.py
(`count`, `share`, `number`, `fixed`, `grouped`, `signed`, `points`, `timestamp`), so a
template override shows any number as it likes. Sentences come from the wording modules:
wording.py, changes.py (what changed) and worthwording.py (the value sections); the
features table's cells (how each column was prepared) are labels made here. Each field
documents itself (`help`), docs/templates.md's table is generated from those, and a test
checks that the templates use exactly the documented fields.
"""

from __future__ import annotations

import datetime as dt
import platform
import typing
from dataclasses import dataclass, field, fields, is_dataclass, replace
from importlib import metadata
from typing import Any

import yaml

from reportgen.data.transactions import Reconciliation
from reportgen.model.continuity import PALETTE
from reportgen.model.features import CATEGORY_VARIANCE_SHARE
from reportgen.model.lift import Lift, SegmentLift
from reportgen.model.profile import everyone_share
from reportgen.model.recommend import Recommendation
from reportgen.model.segment import Segmentation
from reportgen.model.stability import band
from reportgen.report import liftwording, wording
from reportgen.report.changes import (
    PROFILE_SHIFT,
    SegmentChange,
    changes_intro,
    returning_sentence,
)
from reportgen.report.chartdata import SCATTER_POINTS
from reportgen.report.chartset import ChartSpec
from reportgen.report.content import ReportContent, SegmentFacts
from reportgen.report.facts import doc
from reportgen.report.worthview import ValueView, value_view
from reportgen.text import format_number, period_label

DEFAULT_ACCENT = PALETTE[0]  # the first segment's colour, also the archive's
VERSIONED_PACKAGES = ("reportgen", "pandas", "numpy", "scikit-learn", "kneed", "altair",
                      "vl-convert-python", "jinja2", "weasyprint", "pydantic")


@dataclass(frozen=True)
class StatRow:
    label: str = field(metadata=doc("the feature's label"))
    mean: float = field(metadata=doc("the segment's mean, in the data's units"))
    median: float = field(metadata=doc("the segment's median"))
    average: float = field(metadata=doc("the mean of all customers"))
    z: float = field(metadata=doc("the segment mean's z-score against all customers"))
    level: str = field(metadata=doc("very low, low, average, high or very high"))


@dataclass(frozen=True)
class MixRow:
    label: str = field(metadata=doc("the column's label"))
    values: list[tuple[str, float, float]] = field(metadata=doc(
        "(value, share in the segment, share of all customers), most common first"))


@dataclass(frozen=True)
class SegmentView:
    id: int = field(metadata=doc("the stable segment id"))
    name: str = field(metadata=doc("the persona's name"))
    description: str = field(metadata=doc("one line about the segment"))
    color: str = field(metadata=doc("its colour, #rrggbb, the same in every chart and period"))
    size: int = field(metadata=doc("customers in the segment"))
    share: float = field(metadata=doc("its share of all customers, 0 to 1"))
    revenue_share: float | None = field(metadata=doc(
        "its share of net revenue (sales lines), else none"))
    traits: list[str] = field(metadata=doc("up to three distinctive traits, as sentences"))
    short_traits: list[str] = field(metadata=doc("the same, short, for the summary cards"))
    recommendations: list[Recommendation] = field(metadata=doc(
        "actions (`action`, `priority`), high priority first"))
    stats: list[StatRow] = field(metadata=doc("a row per numeric column"))
    mix: list[MixRow] = field(metadata=doc("a row per categorical column"))
    named_by: str = field(metadata=doc("the rule that named it, in words"))
    advised_by: list[str] = field(metadata=doc("the rules its actions came from"))
    stability: float | None = field(default=None, metadata=doc(
        "its mean Jaccard over the resamples, 0 to 1 (none for a saved model)"))
    stability_band: str | None = field(default=None, metadata=doc(
        "unstable, doubtful, stable or highly stable"))

    @property
    def top_action(self) -> str:
        return self.recommendations[0].action

    @property
    def check_first(self) -> bool:
        """An unstable segment's actions are marked "check before acting"."""
        return self.stability_band == "unstable"


@dataclass(frozen=True)
class ScoreRow:
    k: int = field(metadata=doc("the number of segments tried"))
    inertia: float = field(metadata=doc("K-Means' within-segment sum of squares"))
    silhouette: float = field(metadata=doc("the silhouette score (on a sample of 10,000 at most)"))
    calinski_harabasz: float = field(metadata=doc("the Calinski-Harabasz score"))
    davies_bouldin: float = field(metadata=doc("the Davies-Bouldin score (lower is better)"))
    chosen: bool = field(metadata=doc("whether this k was chosen"))
    stability: float | None = field(default=None, metadata=doc(
        "the weakest segment's mean Jaccard at this k, 0 to 1 (none without resamples)"))
    smallest_share: float | None = field(default=None, metadata=doc(
        "the smallest segment's share of customers at this k"))


@dataclass(frozen=True)
class FeatureRow:
    column: str = field(metadata=doc("the column"))
    use: str = field(metadata=doc("clustering or profile only, numeric or categorical"))
    treatment: str = field(metadata=doc("how it was prepared (log, scaling, one-hot), in words"))


@dataclass(frozen=True)
class SalesView:
    lines_read: int = field(metadata=doc("sales lines read"))
    as_of: dt.date = field(metadata=doc("the day recency is counted to"))
    first_date: dt.date = field(metadata=doc("the first sale's date"))
    last_date: dt.date = field(metadata=doc("the last sale's date"))
    excluded: int = field(metadata=doc(
        "customers with zero or negative net revenue, not segmented"))
    line_counts: list[tuple[str, int]] = field(metadata=doc(
        "(what, lines) for each kind of line kept or dropped"))
    reconciliation: Reconciliation = field(metadata=doc(
        "from the lines read to the revenue segmented (below)"))


@dataclass(frozen=True)
class ChangeRow:
    name: str = field(metadata=doc("the segment's persona name"))
    color: str = field(metadata=doc("its colour"))
    status: str = field(metadata=doc("empty, new or retired"))
    size_before: int | None = field(metadata=doc("customers last period (none if new)"))
    share_before: float | None = field(metadata=doc("its share last period"))
    size_now: int | None = field(metadata=doc("customers now (none if retired)"))
    share_now: float | None = field(metadata=doc("its share now"))
    change: float | None = field(metadata=doc("the share's change, 0 to 1"))
    new: int | None = field(metadata=doc("customers new to the data in it"))
    lost: int | None = field(metadata=doc("its customers of last period who left the data"))


@dataclass(frozen=True)
class ShiftRow:
    segment: str = field(metadata=doc("the segment's persona name"))
    feature: str = field(metadata=doc("the feature's label"))
    before: float | None = field(metadata=doc("the segment's mean last period"))
    now: float = field(metadata=doc("its mean now"))
    moved: float = field(metadata=doc("how far it moved, in standard deviations"))


@dataclass(frozen=True)
class ChangesView:
    previous_label: str = field(metadata=doc("the earlier period, e.g. October 2026"))
    intro: str = field(metadata=doc("how this period relates to that one, in words"))
    findings: list[str] = field(metadata=doc("what changed, as sentences"))
    rows: list[ChangeRow] = field(metadata=doc(
        "a row per segment: sizes then and now, new and lost"))
    shifts: list[ShiftRow] = field(metadata=doc("features whose segment mean moved"))
    returning: str | None = field(metadata=doc("the returning customers, in a sentence"))
    migration_note: str | None = field(metadata=doc("why customers could not be followed, if so"))
    shift_threshold: float = field(metadata=doc("how far a mean must move to be a shift (SD)"))


@dataclass(frozen=True)
class LiftRow:
    name: str = field(metadata=doc("the segment, as last period named it"))
    actions: str = field(metadata=doc("the actions last period recommended for it"))
    treated: int = field(metadata=doc("customers who were in the campaign"))
    held_out: int = field(metadata=doc("customers held out of it (the control group)"))
    revenue: tuple[float, float] | None = field(metadata=doc(
        "revenue a customer since: treated, held out"))
    bought: tuple[float, float] | None = field(metadata=doc(
        "share who bought since: treated, held out"))
    purchases: tuple[float, float] | None = field(metadata=doc(
        "purchase days a customer since: treated, held out"))
    lift: str = field(metadata=doc(
        "the revenue lift and its interval; the interval alone when it holds 0"))
    added: str = field(metadata=doc("the revenue the action added (or cost), or a dash"))
    verdict: str = field(metadata=doc(
        "worked, hurt, no clear effect or too few customers to tell"))


@dataclass(frozen=True)
class LiftView:
    intro: str = field(metadata=doc("what was held out, when, and over which days"))
    sentences: list[str] = field(metadata=doc("each segment's result in a sentence"))
    rows: list[LiftRow] = field(metadata=doc("a row per segment of last period"))


@dataclass(frozen=True)
class PageContext:
    """Everything the templates receive, besides what the renderer adds for one output
    (`target`, `images`, `chart_specs`, `vega_bundle`)."""

    title: str = field(metadata=doc("the report's title (report.title)"))
    company: str | None = field(metadata=doc("report.company, or none"))
    logo: str | None = field(metadata=doc("the logo as a data URL, or none"))
    accent: str = field(metadata=doc("the accent colour, #rrggbb"))
    footer_text: str = field(metadata=doc("the text at the foot of every PDF page"))
    period: str = field(metadata=doc("the period, YYYY-MM"))
    period_label: str = field(metadata=doc("the period in words, e.g. November 2026"))
    generated_at: dt.datetime = field(metadata=doc("when the report was made (UTC)"))
    n_customers: int = field(metadata=doc("customers segmented"))
    n_rows_read: int = field(metadata=doc("rows (or sales lines) read"))
    silhouette: float = field(metadata=doc("the silhouette of the chosen k"))
    structure_note: str | None = field(metadata=doc(
        "the verdict when the data have no natural groups, else none"))
    warnings: list[str] = field(metadata=doc(
        "sentences: a feature over 30% missing, a segment under 1%, numbering started afresh"))
    segments: list[SegmentView] = field(metadata=doc("the segments in report order"))
    findings: list[str] = field(metadata=doc("three to five sentences for the executive summary"))
    selection_reason: str = field(metadata=doc("why this k, in a sentence"))
    scores: list[ScoreRow] = field(metadata=doc("k, inertia, silhouette, calinski_harabasz, "
                                    "davies_bouldin and chosen, a row per k"))
    charts: dict[str, ChartSpec] = field(metadata=doc(
        "by name: sizes, elbow, scores, heatmap, map, dist-<id>; for sales revenue, "
        "rfm-boxes, rfm-grid; with an earlier period trend, migration"))
    map_note: str = field(metadata=doc("what the segment map shows"))
    source_name: str = field(metadata=doc("where the data came from"))
    data_sha256: str = field(metadata=doc("the data's sha256"))
    dropped: list[tuple[str, int]] = field(metadata=doc("rows left out, by reason"))
    sales: SalesView | None = field(metadata=doc("the sales lines (none for a customer table)"))
    changes: ChangesView | None = field(metadata=doc(
        "what changed (none without an earlier period)"))
    feature_rows: list[FeatureRow] = field(metadata=doc(
        "column, use and treatment of each feature"))
    method_notes: list[str] = field(metadata=doc("how the segments were made, as sentences"))
    role_rows: list[tuple[str, str, str]] = field(metadata=doc(
        "role, the column bound to it (or 'unbound') and why, for the rules' roles"))
    config_text: str = field(metadata=doc("the config as YAML"))
    versions: dict[str, str] = field(metadata=doc("Python's and the libraries' versions"))
    sections: list[dict[str, Any]] = field(metadata=doc(
        "id, title, short, parts and template of each section, in the page's order: the "
        "navigation, the contents and report.html.j2 follow it"))
    value: ValueView | None = field(default=None, metadata=doc(
        "what each segment is worth and the backtest (none without value:)"))
    lift: LiftView | None = field(default=None, metadata=doc(
        "whether last period's actions worked (none unless it held a control group out)"))


def page_context(content: ReportContent, charts: dict[str, ChartSpec],
                 logo: str | None) -> PageContext:
    """The page context of a report; `logo` is the logo as a data URL (render.py)."""
    report, fit = content.report, content.fit
    views = [segment_view(s, content) for s in content.segments]
    return PageContext(
        title=report.title, company=report.company, logo=logo,
        accent=report.accent_color or DEFAULT_ACCENT,
        footer_text=report.footer or report.company or report.title, period=content.period,
        period_label=period_label(content.period), generated_at=content.generated_at,
        n_customers=content.data.n_customers, n_rows_read=content.data.n_rows_read,
        silhouette=fit.score_for(fit.k).silhouette,
        structure_note=wording.structure_warning(fit),
        warnings=list(content.warnings), segments=views, findings=list(content.findings),
        selection_reason=wording.selection_reason(fit),
        scores=score_rows(fit),
        charts=charts, map_note=wording.map_note(
            content.data.n_customers, min(content.data.n_customers, SCATTER_POINTS)),
        source_name=content.data.source, data_sha256=content.data.sha256,
        dropped=list(content.data.dropped.items()), sales=sales_view(content),
        changes=changes_view(content), feature_rows=feature_rows(content),
        role_rows=[(role, b.column or "unbound", b.reason)
                   for role, b in content.role_bindings.items()],
        method_notes=wording.method_notes(fit, content.method, bool(content.features.log),
                                          content.roles, content.continuity)
        + line_columns_note(content)
        + ([content.engine_note] if content.engine_note else [])
        + ([liftwording.method_note(content.lift)]
           if content.lift is not None and content.lift.used else []),
        config_text=yaml.safe_dump(dict(content.config_raw), sort_keys=False,
                                   allow_unicode=True).strip(),
        versions=versions(), sections=sections(content, views),
        value=value_view(content.worth, content.names, content.colors),
        lift=lift_view(content.lift))


def lift_view(lift: Lift | None) -> LiftView | None:
    if lift is None:
        return None
    return LiftView(intro=liftwording.lift_intro(lift),
                    sentences=[liftwording.segment_sentence(s) for s in lift.segments],
                    rows=[_lift_row(s) for s in lift.segments])


DASH = "\u2013"  # a cell with nothing to show


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _lift_row(s: SegmentLift) -> LiftRow:
    def pair(measure: str) -> tuple[float, float] | None:
        return s.means.get(measure)

    revenue = s.measures.get("revenue")
    lift, added = DASH, DASH
    if revenue is not None and s.incremental_revenue is not None:
        interval = liftwording.interval_text(revenue)
        shown = s.verdict in (liftwording.WORKED, liftwording.HURT)
        point = (liftwording.percent(revenue.relative) if revenue.relative is not None
                 else format_number(revenue.difference))
        lift = f"{point} ({interval})" if shown else interval
        added = format_number(s.incremental_revenue) if shown else DASH
    return LiftRow(name=s.name, actions=" ".join(_sentence(a) for a in s.actions) or DASH,
                   treated=s.treated,
                   held_out=s.held_out, revenue=pair("revenue"), bought=pair("bought"),
                   purchases=pair("purchases"), lift=lift, added=added, verdict=s.verdict)


def segment_view(s: SegmentFacts, content: ReportContent) -> SegmentView:
    key = s.profile.key_traits
    jaccard = content.fit.jaccard_of().get(s.id)
    return SegmentView(
        id=s.id, name=s.name, description=s.description, color=s.color, size=s.size,
        share=s.share, revenue_share=s.revenue_share,
        traits=[t.text for t in key] or [wording.NO_TRAITS],
        short_traits=[t.short for t in key] or [wording.NO_TRAITS_SHORT],
        recommendations=list(s.recommendations), stats=_stat_rows(s, content),
        mix=_mix_rows(s, content), named_by=s.named_by, advised_by=list(s.advised_by),
        stability=jaccard, stability_band=band(jaccard) if jaccard is not None else None)


def score_rows(fit: Segmentation) -> list[ScoreRow]:
    measured = fit.stability
    return [ScoreRow(s.k, s.inertia, s.silhouette, s.calinski_harabasz, s.davies_bouldin,
                     s.k == fit.k,
                     measured.for_k(s.k).weakest if measured is not None else None,
                     fit.smallest_shares[i] if fit.smallest_shares else None)
            for i, s in enumerate(fit.scores)]


def _stat_rows(s: SegmentFacts, content: ReportContent) -> list[StatRow]:
    return [StatRow(content.features.label(c), s.profile.numeric[c].mean,
                    s.profile.numeric[c].median, content.population[c].mean,
                    s.profile.numeric[c].z, s.profile.numeric[c].level)
            for c in content.features.all_numeric]


def _mix_rows(s: SegmentFacts, content: ReportContent) -> list[MixRow]:
    rows = []
    for column, mix in s.profile.mix.items():
        overall = content.population_mix[column]
        top = sorted(mix.items(), key=lambda kv: (kv[0] == "other", -kv[1]))[:4]
        rows.append(MixRow(content.features.label(column),
                           [(value, share, everyone_share(overall, value, mix))
                            for value, share in top]))
    return rows


def sales_view(content: ReportContent) -> SalesView | None:
    sales = content.data.sales
    if sales is None:
        return None
    return SalesView(sales.lines_read, sales.as_of, sales.first_date, sales.last_date,
                     len(sales.excluded), list(sales.line_counts.items()),
                     sales.reconciliation())


def changes_view(content: ReportContent) -> ChangesView | None:
    changes = content.changes
    if changes is None:
        return None
    colors = content.colors
    migration = changes.migration
    return ChangesView(
        previous_label=changes.previous_label,
        intro=changes_intro(changes, content.data.n_customers),
        findings=list(changes.findings),
        rows=[_change_row(c, colors.get(c.id, "#BBBBBB")) for c in changes.segments],
        shifts=[ShiftRow(s.name, s.label, s.before, s.now, s.shift) for s in changes.shifts],
        returning=returning_sentence(changes), migration_note=migration.note,
        shift_threshold=PROFILE_SHIFT)


STATUS_TEXT = {"kept": "", "new": "new", "retired": "retired"}


def _change_row(change: SegmentChange, color: str) -> ChangeRow:
    return ChangeRow(name=change.name, color=color, status=STATUS_TEXT[change.status],
                     size_before=change.size_before, share_before=change.share_before,
                     size_now=change.size_now, share_now=change.share_now,
                     change=change.share_change, new=change.new_customers,
                     lost=change.lost_customers)


def feature_rows(content: ReportContent) -> list[FeatureRow]:
    f = content.features
    rows = []
    for column in f.numeric:
        steps = (["log(1 + x)"] if column in f.log else []) + [f"{f.scale} scaling"]
        rows.append(FeatureRow(column, "clustering, numeric", _with_imputed(f, column, steps)))
    for column in f.categorical:
        steps = [f"one-hot, weighted to {CATEGORY_VARIANCE_SHARE:.3g} of a numeric "
                 "column's variance"]
        rows.append(FeatureRow(column, "clustering, categorical", _with_imputed(f, column, steps)))
    for column in f.profile_numeric + f.profile_categorical:
        kind = "numeric" if column in f.profile_numeric else "categorical"
        rows.append(FeatureRow(column, f"profile only, {kind}", "described, not clustered on"))
    sales = content.data.sales
    lines = set(sales.line_columns) if sales is not None else set()
    return [replace(row, treatment=f"taken per customer; {row.treatment}")
            if row.column in lines else row for row in rows]


def line_columns_note(content: ReportContent) -> list[str]:
    """How a column of the sales lines (Country, Region) becomes a customer's: the recipe
    behind "Appliances 9.7% vs 2.9%" (data/transactions._customer_value)."""
    sales = content.data.sales
    if sales is None or not sales.line_columns:
        return []
    return [f"Columns of the sales lines taken per customer ({', '.join(sales.line_columns)}): "
            "the mean of the customer's lines where they hold numbers, else their most "
            "frequent value (ties: the first in text order)."]


def _with_imputed(f: Any, column: str, steps: list[str]) -> str:
    if f.imputed.get(column):
        how = "median" if column in f.numeric else "most frequent value"
        steps = [f"{f.imputed[column]:,} missing values filled with the {how}", *steps]
    return "; ".join(steps)


SECTION_TEMPLATES = {"summary": "_summary", "lift": "_lift", "value": "_value",
                     "changes": "_changes", "revenue": "_sales", "segments": "_profiles",
                     "map": "_map",
                     "method": "_k_selection", "forecast": "_forecast", "appendix": "_appendix"}


def sections(content: ReportContent, views: list[SegmentView]) -> list[dict[str, Any]]:
    """The report's sections in order: the one list the page, the HTML navigation and the
    PDF contents follow (report.html.j2 includes each section's `template`)."""
    entries: list[dict[str, Any]] = [
        {"id": "summary", "title": "Executive summary", "short": "Summary", "parts": []}]
    if content.lift is not None:
        entries.append({"id": "lift", "title": "Did last period's actions work?",
                        "short": "Last actions", "parts": []})
    if content.worth is not None:
        entries.append({"id": "value", "title": "What each segment is worth",
                        "short": "Value", "parts": []})
    if content.changes is not None:
        entries.append({"id": "changes", "title": "What changed since "
                        f"{content.changes.previous_label}", "short": "What changed",
                        "parts": []})
    if content.data.sales is not None:
        entries.append({"id": "revenue", "title": "Revenue and RFM", "short": "Revenue",
                        "parts": []})
    entries += [
        {"id": "segments", "title": "Segment profiles", "short": "Segments",
         "parts": [{"id": f"segment-{v.id}", "title": v.name} for v in views]},
        {"id": "map", "title": "Segment map", "short": "Map", "parts": []},
        {"id": "method", "title": "How k was chosen", "short": "How k was chosen", "parts": []},
        *([{"id": "forecast", "title": "How far to trust the forecast", "short": "Forecast",
            "parts": []}] if content.worth is not None else []),
        {"id": "appendix", "title": "Data appendix", "short": "Appendix", "parts": []},
    ]
    return [{**entry, "template": f"partials/{SECTION_TEMPLATES[entry['id']]}.html.j2"}
            for entry in entries]


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


CONTEXT_TABLE_START = "| variable | what |"
RENDERER_ADDS = {
    "target": '"html" or "pdf": the one output this rendering is for',
    "images": "pdf: each chart's picture as a data URL, by chart id (`ui.chart` uses it)",
    "chart_specs": "html: every chart's Vega-Lite spec, by chart id",
    "vega_bundle": "html: Vega, Vega-Lite and vega-embed, to inline once",
}
def context_reference() -> str:
    """The templates page's table of what templates receive: every field, nested ones
    included (a list's items as `name[].field`), from the fields' help."""
    lines = [CONTEXT_TABLE_START, "|---|---|"]
    lines += [f"| `{name}` | {text} |" for name, text in context_fields(PageContext)]
    lines.append("| `segments[].top_action` | the first recommendation's action |")
    lines += [f"| `{name}` | {text} |" for name, text in RENDERER_ADDS.items()]
    return "\n".join(lines)


def context_fields(view: type, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted name, help) of a view's fields and, depth first, of the dataclasses they
    hold; a field without help has the text "UNDOCUMENTED" (a test fails on it)."""
    out = []
    hints = typing.get_type_hints(view)
    for item in fields(view):
        name = f"{prefix}{item.name}"
        out.append((name, item.metadata.get("help", "UNDOCUMENTED")))
        inner, listed = _held(hints[item.name])
        if inner is not None:
            out += context_fields(inner, f"{name}[]." if listed else f"{name}.")
    return out


def _held(hint: Any) -> tuple[type | None, bool]:
    """The dataclass a field holds, directly, optionally or as a list's items."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is list and args and isinstance(args[0], type) \
            and is_dataclass(args[0]):
        return args[0], True
    if is_dataclass(hint) and isinstance(hint, type):
        return hint, False
    if len(args) == 1 and is_dataclass(args[0]) and isinstance(args[0], type):
        return args[0], False
    return None, False


