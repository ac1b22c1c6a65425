"""Charts: small functions from aggregated data to an Altair chart, used by both outputs.

Every chart receives already-aggregated data (histogram bins, scores by k, a sample of at
most 5,000 points), so the HTML stays small and Altair's row limit is never hit. The font
is the one the PDF uses, so vl-convert measures text as WeasyPrint draws it.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from typing import Any, Literal

import altair as alt
import pandas as pd

from reportgen.model.continuity import PALETTE

FONT = "DejaVu Sans"
INK = "#1f2933"
MUTED = "#6b7785"
GRID = "#e4e7eb"
POPULATION = "#b8c0c8"
WIDTH = 600
THEME: dict[str, Any] = {
    "font": FONT, "background": "white",
    "view": {"stroke": None},
    "axis": {"labelColor": MUTED, "titleColor": INK, "gridColor": GRID, "domainColor": GRID,
             "tickColor": GRID, "labelFontSize": 11, "titleFontSize": 11,
             "titleFontWeight": "normal"},
    "legend": {"labelColor": INK, "titleColor": INK, "labelFontSize": 11, "titleFontSize": 11,
               "labelLimit": 260},
    "title": {"color": INK, "fontSize": 13, "fontWeight": "bold", "anchor": "start"},
    "header": {"labelColor": INK, "labelFontSize": 11, "titleFontSize": 11},
}


def themed(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The house style, set on a top-level chart in place.

    Altair's `configure_*` methods deep-copy the whole chart, data included, once per call:
    six calls per chart were 0.7 s of the sample report's chart stage.
    """
    chart.config = alt.Config(**THEME)  # type: ignore[attr-defined]
    return chart


def _text_on_dark(test: str) -> alt.ColorValue:
    """White text where the cell behind it is dark (`test`), ink elsewhere.

    Channels are given as Altair objects throughout, never as strings or dicts: Altair
    turns those into objects through `from_dict`, which re-hashes the whole Vega-Lite
    schema each time (9 ms a call, 0.4 s of the sample's charts).
    """
    return alt.ColorValue(INK, condition={"test": test, "value": "white"})


NAME_LINE = 30  # characters a line of a segment name on an axis; longer names wrap


def name_axis(names: Sequence[str], limit: int = 200) -> alt.Axis:
    """An axis of segment names that wraps a long name onto lines instead of cutting it
    ("Hibernating (very high average order val..." was cut mid-word)."""
    return alt.Axis(labelLimit=limit, labelExpr=wrapped_names(names))


def name_lines(names: Sequence[str]) -> int:
    """The most lines a wrapped name takes: a row must be that tall or names overlap."""
    return max((len(textwrap.wrap(n, NAME_LINE)) for n in names), default=1)


def row_height(names: Sequence[str], least: int) -> int:
    return max(least, 13 * name_lines(names) + 6)


def wrapped_names(names: Sequence[str]) -> str:
    """A Vega expression mapping each name to its lines (an array draws as lines)."""
    lines = {name: textwrap.wrap(name, NAME_LINE) or [name] for name in names}
    return f"({json.dumps(lines)})[datum.label] || datum.label"


def _segment_scale(names: Sequence[str], colors: Sequence[str]) -> alt.Scale:
    return alt.Scale(domain=list(names), range=list(colors))


def segment_sizes(sizes: pd.DataFrame, colors: Sequence[str]) -> alt.TopLevelMixin:
    """Share of customers per segment. Columns: name, size, share."""
    base = alt.Chart(sizes).encode(
        y=alt.Y("name:N", sort=None, title=None, axis=name_axis(list(sizes["name"]))),
        x=alt.X("share:Q", title="Share of customers", axis=alt.Axis(format="%", tickCount=5)),
    )
    bars = base.mark_bar(height={"band": 0.7}).encode(
        color=alt.Color("name:N", scale=_segment_scale(sizes["name"], colors), legend=None),
        tooltip=[alt.Tooltip("name:N", title="Segment"),
                 alt.Tooltip("size:Q", title="Customers", format=","),
                 alt.Tooltip("share:Q", title="Share", format=".1%")],
    )
    labels = base.mark_text(align="left", dx=4, color=INK, fontSize=11).encode(
        text=alt.Text("share:Q", format=".0%"))
    return themed((bars + labels).properties(
        width=WIDTH - 260, height=row_height(list(sizes["name"]), 28) * len(sizes)))


def elbow(scores: pd.DataFrame, chosen: int, knee: int | None) -> alt.TopLevelMixin:
    """Inertia by k, the chosen k highlighted and the elbow marked. Columns: k, inertia."""
    base = alt.Chart(scores).encode(
        x=alt.X("k:Q", title="Number of segments (k)", axis=alt.Axis(tickMinStep=1,
                                                                       format="d")),
        y=alt.Y("inertia:Q", title="Inertia (within-segment spread)",
                axis=alt.Axis(format="~s")),
    )
    layers = [
        base.mark_line(color=MUTED),
        base.mark_point(filled=True, size=45, color=MUTED).encode(
            tooltip=[alt.Tooltip("k:Q"), alt.Tooltip("inertia:Q", format=",.1f")]),
        base.transform_filter(alt.datum.k == chosen).mark_point(
            filled=True, size=140, color=PALETTE[0]),
    ]
    if knee is not None:
        marker = pd.DataFrame({"k": [knee], "label": [f"elbow at k={knee}"]})
        rule = alt.Chart(marker).encode(x=alt.X("k:Q"))
        layers += [rule.mark_rule(strokeDash=[4, 3], color=PALETTE[5]),
                   rule.mark_text(align="left", dx=5, dy=-6, color=PALETTE[5], fontSize=11)
                   .encode(text=alt.Text("label:N"), y=alt.YValue(8))]
    return themed(alt.layer(*layers).properties(
        width=WIDTH - 60, height=210, title="Elbow: inertia by k"))


SCORE_TITLES = {
    "silhouette": "Silhouette (higher is better)",
    "calinski_harabasz": "Calinski-Harabasz (higher is better)",
    "davies_bouldin": "Davies-Bouldin (lower is better)",
    "stability": "Stability (weakest segment)",
}


def k_scores(scores: pd.DataFrame, chosen: int) -> alt.TopLevelMixin:
    """One small panel per quality score by k. Columns: k and one column per score."""
    panels = []
    shown = {m: t for m, t in SCORE_TITLES.items() if m in scores.columns}
    for metric, title in shown.items():
        base = alt.Chart(scores).encode(
            x=alt.X("k:Q", title="k", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y(f"{metric}:Q", title=None, scale=alt.Scale(zero=False),
                    axis=alt.Axis(format="~s" if metric == "calinski_harabasz" else ".2f")),
        )
        threshold = alt.Chart(pd.DataFrame({"y": [0.75]})).mark_rule(
            color="#1d6b3a", strokeDash=[4, 3]).encode(y=alt.Y("y:Q"))
        layers = [threshold] if metric == "stability" else []
        panels.append(alt.layer(
            *layers,
            base.mark_line(color=MUTED),
            base.mark_point(filled=True, size=35, color=MUTED).encode(
                tooltip=[alt.Tooltip("k:Q"), alt.Tooltip(f"{metric}:Q", format=",.3f")]),
            base.transform_filter(alt.datum.k == chosen).mark_point(
                filled=True, size=110, color=PALETTE[0]),
        ).properties(width=(WIDTH - 50 * len(shown)) // len(shown), height=150,
                     title=alt.TitleParams(title, fontSize=11)))
    return themed(alt.hconcat(*panels, spacing=24))


def zscore_heatmap(cells: pd.DataFrame) -> alt.TopLevelMixin:
    """Segments x features, coloured by z-score where the segment has a level on the
    feature (`shade`, chartdata.heatmap_cells). Columns: feature, segment, z, shade, label,
    mean, level.

    The longer list runs down the page: segments are rows when there are more of them than
    features (persona names read best horizontally), otherwise features are rows, so a
    table of a dozen features still fits the page's width. Column labels are split into
    lines at spaces. There is no colour legend: every cell prints its value, and
    WeasyPrint's SVG renderer drops Vega's gradients.
    """
    features = list(dict.fromkeys(cells["feature"]))
    segments = list(dict.fromkeys(cells["segment"]))
    rows, columns = ("segment", "feature") if len(segments) >= len(features) else (
        "feature", "segment")
    row_order, column_order = (segments, features) if rows == "segment" else (
        features, segments)
    widest = 88 if columns == "segment" else 72  # bold persona names need more room
    cell = max(widest, min(110, (WIDTH - 220) // max(len(column_order), 1)))
    base = _heatmap_axes(cells, rows, columns, row_order, column_order, cell)
    rect = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color("shade:Q", title="z-score", legend=None, scale=alt.Scale(
            scheme="blueorange", domain=[-2, 2], clamp=True)),
        tooltip=[alt.Tooltip("segment:N", title="Segment"),
                 alt.Tooltip("feature:N", title="Feature"),
                 alt.Tooltip("mean:N", title="Segment mean"),
                 alt.Tooltip("z:Q", title="z-score", format="+.2f"),
                 alt.Tooltip("level:N", title="Level")],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("label:N"),
        color=_text_on_dark("abs(datum.shade) > 1.2"),
    )
    return themed((rect + text).properties(width=cell * len(column_order),
                                           height=(30 if rows == "feature" else 34)
                                           * len(row_order)))


def _heatmap_axes(cells: pd.DataFrame, rows: str, columns: str, row_order: list[str],
                  column_order: list[str], cell: int) -> alt.Chart:
    """The grid of the heatmap: names in bold, column labels broken at spaces."""
    return alt.Chart(cells).encode(
        x=alt.X(f"{columns}:N", sort=column_order, title=None,
                axis=alt.Axis(labelAngle=0, orient="bottom", labelLimit=cell + 8, labelPadding=6,
                              labelExpr="split(replace(datum.label, regexp('-', 'g'), '- '), ' ')",
                              labelFontWeight="bold" if columns == "segment" else "normal",
                              labelColor=INK)),
        y=alt.Y(f"{rows}:N", sort=row_order, title=None,
                axis=alt.Axis(labelLimit=220, labelColor=INK,
                              labelFontWeight="bold" if rows == "segment" else "normal")),
    )


def value_axis(low: float, high: float, logged: bool, log_type: Literal["log", "symlog"],
               zero: bool, ticks: int) -> tuple[alt.Scale, alt.Axis]:
    """Scale and axis for a value that may be shown on a log scale (with 1-2-5 ticks)."""
    if logged:
        values = log_ticks(low, high)
        if log_type == "symlog" and low <= 0:
            values = [0.0, *values]
        return alt.Scale(type=log_type), alt.Axis(labelExpr=READABLE_NUMBER, values=values)
    return alt.Scale(zero=zero), alt.Axis(labelExpr=READABLE_NUMBER, tickCount=ticks)


# 1, 10, 100, 1k, 10k, 1.5M: what a reader expects on a money axis (d3's "~s" wrote
# 10m for 0.01 and, in the PDF's fonts, ticks that read "0k 0k")
READABLE_NUMBER = ("abs(datum.value) >= 1e6 ? format(datum.value / 1e6, '~g') + 'M' : "
                   "abs(datum.value) >= 1e3 ? format(datum.value / 1e3, '~g') + 'k' : "
                   "format(datum.value, '~g')")


def log_ticks(low: float, high: float, most: int = 4) -> list[float]:
    """Ticks for a log-like axis: powers of ten from 1 (or the lowest value, if above 1) to
    the highest, 1-2-5 steps where the range is under two decades, thinned evenly to at
    most `most` keeping the largest."""
    floor = max(low, 1.0) if high >= 1 else max(low, 1e-9)
    steps = (1,) if high >= 100 * floor else (1, 2, 5)
    ticks = [m * 10.0**e for e in range(-6, 13) for m in steps if floor <= m * 10.0**e <= high]
    while len(ticks) > most:
        ticks = ticks[::-2][::-1]
    return ticks


def distributions(bins: pd.DataFrame, labels: dict[str, str], logged: Sequence[str],
                  color: str) -> alt.TopLevelMixin:
    """Small multiples: the segment's distribution over everyone's, one panel per feature.

    Columns of `bins`: feature, who ("Segment" or "Everyone"), start, end, share.
    """
    panels = []
    features = list(dict.fromkeys(bins["feature"]))
    across = 4 if len(features) > 6 else 3  # 7-8 panels on two rows: the card fits a page
    for feature in features:
        data = bins[bins["feature"] == feature]
        scale, axis = value_axis(data["start"].min(), data["end"].max(), feature in logged,
                                 log_type="symlog", zero=False, ticks=4)
        panel = alt.Chart(data).mark_bar(opacity=0.75, binSpacing=0).encode(
            x=alt.X("start:Q", title=labels.get(feature, feature), scale=scale, axis=axis),
            x2=alt.X2("end:Q"),
            y=alt.Y("share:Q", title=None, stack=None, axis=alt.Axis(format="%", tickCount=3)),
            y2=alt.Y2Datum(0),
            color=alt.Color("who:N", scale=alt.Scale(domain=["Everyone", "Segment"],
                                                     range=[POPULATION, color]),
                            legend=alt.Legend(title=None, orient="top")),
            tooltip=[alt.Tooltip("who:N", title=""),
                     alt.Tooltip("start:Q", title="From", format=",.4~g"),
                     alt.Tooltip("end:Q", title="To", format=",.4~g"),
                     alt.Tooltip("share:Q", title="Share", format=".1%")],
        ).properties(width=(WIDTH - 40 - 22 * across) // across, height=76)
        panels.append(panel)
    return themed(alt.concat(*panels, columns=across, spacing=22))


def segment_map(points: pd.DataFrame, names: Sequence[str], colors: Sequence[str],
                explained: float) -> alt.TopLevelMixin:
    """A 2-D PCA map of a sample of customers. Columns: pc1, pc2, name."""
    return themed(alt.Chart(points).mark_circle(size=18, opacity=0.6).encode(
        x=alt.X("pc1:Q", title="Component 1", axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("pc2:Q", title="Component 2", axis=alt.Axis(labels=False, ticks=False)),
        color=alt.Color("name:N", title="Segment", scale=_segment_scale(names, colors),
                        legend=alt.Legend(orient="bottom", symbolSize=90, labelLimit=WIDTH - 80,
                                          columns=2 if max(map(len, names)) <= 34 else 1)),
        tooltip=[alt.Tooltip("name:N", title="Segment")],
    ).properties(width=WIDTH - 40, height=340, title=alt.TitleParams(
        f"Customers on the two main axes of variation ({explained:.0%} of the variance)",
        fontSize=12)))


def revenue_vs_customers(shares: pd.DataFrame) -> alt.TopLevelMixin:
    """Each segment's share of customers next to its share of revenue (and, with the value
    stage, of predicted value): bars per segment, one per measure, in the data's order.

    Columns: name, measure ("Customers", "Revenue", "Predicted value"), share.
    """
    names = list(dict.fromkeys(shares["name"]))
    measures = list(dict.fromkeys(shares["measure"]))
    base = alt.Chart(shares).encode(
        y=alt.Y("name:N", sort=names, title=None, axis=name_axis(names)),
        yOffset=alt.YOffset("measure:N", sort=measures),
        x=alt.X("share:Q", title="Share", axis=alt.Axis(format="%", tickCount=5)),
    )
    bars = base.mark_bar(height={"band": 0.8}).encode(
        color=alt.Color("measure:N", title=None, sort=measures,
                        scale=alt.Scale(domain=measures, range=list(MEASURE_COLORS[
                            :len(measures)])),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("name:N", title="Segment"), alt.Tooltip("measure:N", title=""),
                 alt.Tooltip("share:Q", title="Share", format=".1%")],
    )
    labels = base.mark_text(align="left", dx=3, fontSize=10, color=INK).encode(
        text=alt.Text("share:Q", format=".0%"))
    return themed((bars + labels).properties(
        width=WIDTH - 280, height=max(22 * len(measures), row_height(names, 0)) * len(names)))


MEASURE_COLORS = (POPULATION, PALETTE[0], "#1b3a5c")


def p_alive_bands(bands: pd.DataFrame, names: Sequence[str],
                  order: Sequence[str]) -> alt.TopLevelMixin:
    """Each segment's customers by P(alive) band, as a 100% bar; one-time buyers grey.

    Columns: name, band, customers, share (of the segment).
    """
    colors = ["#d5dae0", "#c0392b", "#e59866", "#a9cce3", "#2471a3"]
    base = alt.Chart(bands).encode(
        y=alt.Y("name:N", sort=list(names), title=None, axis=name_axis(names)),
        x=alt.X("share:Q", stack="normalize", title="Share of the segment's customers",
                axis=alt.Axis(format="%", tickCount=5)),
        order=alt.Order("rank:Q"),
    )
    bars = base.mark_bar(height={"band": 0.7}).encode(
        color=alt.Color("band:N", sort=list(order), title="P(still a customer)",
                        scale=alt.Scale(domain=list(order), range=colors),
                        legend=alt.Legend(orient="top", columns=3)),
        tooltip=[alt.Tooltip("name:N", title="Segment"), alt.Tooltip("band:N", title="P(alive)"),
                 alt.Tooltip("customers:Q", title="Customers", format=","),
                 alt.Tooltip("share:Q", title="Share", format=".1%")],
    )
    return themed(bars.transform_calculate(
        rank=f"indexof({list(order)!r}, datum.band)").properties(
        width=WIDTH - 200, height=row_height(names, 34) * len(names)))


def value_ranges(rows: pd.DataFrame, names: Sequence[str],
                 colors: Sequence[str]) -> alt.TopLevelMixin:
    """Each segment's predicted value as a dot on its 90% interval.

    Columns: name, value, low, high.
    """
    base = alt.Chart(rows).encode(
        y=alt.Y("name:N", sort=list(names), title=None, axis=name_axis(names)))
    tooltip = [alt.Tooltip("name:N", title="Segment"),
               alt.Tooltip("value:Q", title="Predicted value", format=",.0f"),
               alt.Tooltip("low:Q", title="90% interval from", format=",.0f"),
               alt.Tooltip("high:Q", title="to", format=",.0f")]
    ranges = base.mark_rule(strokeWidth=3, color=MUTED).encode(
        x=alt.X("low:Q", title="Predicted value, with its 90% interval",
                axis=alt.Axis(labelExpr=READABLE_NUMBER, tickCount=5)),
        x2="high:Q", tooltip=tooltip)
    dots = base.mark_point(filled=True, size=90, opacity=1).encode(
        x="value:Q", color=alt.Color("name:N", scale=_segment_scale(names, colors), legend=None),
        tooltip=tooltip)
    return themed((ranges + dots).properties(
        width=WIDTH - 200, height=row_height(names, 30) * len(names)))


def tracking(weeks: pd.DataFrame, calibration_end: str) -> alt.TopLevelMixin:
    """Cumulative repeat purchases week by week, as they happened and as the model expects,
    with the end of the calibration marked. Columns: week_end, series, purchases."""
    line = alt.Chart(weeks).mark_line(strokeWidth=2.2).encode(
        x=alt.X("week_end:T", title=None, axis=alt.Axis(format="%b %Y", tickCount=6)),
        y=alt.Y("purchases:Q", title="Cumulative repeat purchases",
                axis=alt.Axis(format=",.0f")),
        color=alt.Color("series:N", title=None, sort=["Actual", "Model"],
                        scale=alt.Scale(domain=["Actual", "Model"],
                                        range=[INK, PALETTE[1]]),
                        legend=alt.Legend(orient="top-left")),
        strokeDash=alt.StrokeDash("series:N", sort=["Actual", "Model"],
                                  scale=alt.Scale(domain=["Actual", "Model"],
                                                  range=[[1, 0], [6, 3]]), legend=None),
        tooltip=[alt.Tooltip("week_end:T", title="Week ending", format="%d %b %Y"),
                 alt.Tooltip("series:N", title=""),
                 alt.Tooltip("purchases:Q", title="Purchases", format=",.0f")],
    )
    marker = pd.DataFrame({"day": [calibration_end], "label": ["calibration ends"]})
    rule = alt.Chart(marker).mark_rule(color=MUTED, strokeDash=[2, 2]).encode(x=alt.X("day:T"))
    text = alt.Chart(marker).mark_text(align="left", dx=4, dy=-6, color=MUTED,
                                       fontSize=10).encode(x=alt.X("day:T"), y=alt.YValue(8),
                                                           text=alt.Text("label:N"))
    return themed((line + rule + text).properties(width=WIDTH - 60, height=220))


def distribution_boxes(stats: pd.DataFrame, names: Sequence[str], colors: Sequence[str],
                       labels: dict[str, str], logged: Sequence[str]) -> alt.TopLevelMixin:
    """Per-segment spread of a few columns: 5th-95th percentile line, quartile box, median.

    Columns of `stats`: feature, name, q05, q25, q50, q75, q95.
    """
    panels: list[alt.LayerChart | alt.FacetChart] = []
    for feature in dict.fromkeys(stats["feature"]):
        data = stats[stats["feature"] == feature]
        scale, axis = value_axis(data["q05"].min(), data["q95"].max(), feature in logged,
                                 log_type="log", zero=True, ticks=3)
        base = alt.Chart(data).encode(
            y=alt.Y("name:N", sort=list(names), title=None,
                    axis=name_axis(names, 170) if not panels else None),
            color=alt.Color("name:N", scale=_segment_scale(names, colors), legend=None),
            tooltip=[alt.Tooltip("name:N", title="Segment"),
                     alt.Tooltip("q50:Q", title="Median", format=",.4~g"),
                     alt.Tooltip("q25:Q", title="25th percentile", format=",.4~g"),
                     alt.Tooltip("q75:Q", title="75th percentile", format=",.4~g")],
        )
        x = alt.X("q05:Q", title=labels.get(feature, feature), scale=scale, axis=axis)
        panels.append(alt.layer(
            base.mark_rule().encode(x=x, x2=alt.X2("q95:Q")),
            base.mark_bar(height=12).encode(x=alt.X("q25:Q"), x2=alt.X2("q75:Q")),
            base.mark_tick(color="white", thickness=2, size=12).encode(x=alt.X("q50:Q")),
        ).properties(width=(WIDTH - 190) // 3, height=row_height(names, 30) * len(names)))
    return themed(alt.hconcat(*panels, spacing=14))


def rfm_grid(cells: pd.DataFrame) -> alt.TopLevelMixin:
    """Customers by recency score (rows, 5 = most recent) and frequency score (columns).

    Columns: r_score, f_score, customers, segment (the most common one in the cell).
    """
    base = alt.Chart(cells).encode(
        x=alt.X("f_score:O", title="Frequency score (5 = most orders)",
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("r_score:O", title="Recency score (5 = most recent)", sort="descending"),
    )
    rect = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color("customers:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=[alt.Tooltip("r_score:O", title="R"), alt.Tooltip("f_score:O", title="F"),
                 alt.Tooltip("customers:Q", title="Customers", format=","),
                 alt.Tooltip("segment:N", title="Mostly")],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("customers:Q", format=","),
        color=_text_on_dark("datum.customers > datum.threshold"),
    )
    return themed((rect + text).transform_joinaggregate(
        top="max(customers)").transform_calculate(threshold="datum.top * 0.55").properties(
        width=300, height=250))


def share_trend(rows: pd.DataFrame, names: Sequence[str], colors: Sequence[str]
                ) -> alt.TopLevelMixin:
    """Each segment's share of customers, period by period. Columns: period, name, share."""
    periods = sorted(rows["period"].unique())
    base = alt.Chart(rows).encode(
        x=alt.X("period:O", title=None, sort=periods, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share:Q", title="Share of customers", axis=alt.Axis(format="%", tickCount=5),
                scale=alt.Scale(zero=True)),
        color=alt.Color("name:N", scale=alt.Scale(domain=list(names), range=list(colors)),
                        legend=alt.Legend(title=None, orient="right", labelLimit=200)),
        tooltip=[alt.Tooltip("period:O", title="Period"), alt.Tooltip("name:N", title="Segment"),
                 alt.Tooltip("share:Q", title="Share", format=".1%")],
    )
    return themed((base.mark_line(strokeWidth=2.5) + base.mark_point(filled=True, size=55))
                  .properties(width=max(200, min(WIDTH - 300, 110 * len(periods))), height=150))


def migration_heatmap(cells: pd.DataFrame, sources: Sequence[str], targets: Sequence[str],
                      source_title: str, target_title: str) -> alt.TopLevelMixin:
    """Where last period's customers are now: one row per old segment, one column per new.

    Columns of `cells`: source, target, customers, share (of the source row), label (two
    lines: share and count). Rows read across to 100%.
    """
    cell = max(80, min(110, (WIDTH - 230) // max(len(targets), 1)))
    base = alt.Chart(cells).encode(
        x=alt.X("target:N", sort=list(targets), title=target_title,
                axis=alt.Axis(labelAngle=0, orient="bottom", labelLimit=cell + 8, labelPadding=6,
                              labelExpr="split(replace(datum.label, regexp('-', 'g'), '- '), ' ')",
                              labelFontWeight="bold", labelColor=INK, titleColor=MUTED)),
        y=alt.Y("source:N", sort=list(sources), title=source_title,
                axis=alt.Axis(labelLimit=220, labelColor=INK, labelFontWeight="bold",
                              titleColor=MUTED)),
    )
    rect = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color("share:Q", legend=None,
                        scale=alt.Scale(scheme="blues", domain=[0, 1], clamp=True)),
        tooltip=[alt.Tooltip("source:N", title="Was in"), alt.Tooltip("target:N", title="Now in"),
                 alt.Tooltip("customers:Q", title="Customers", format=","),
                 alt.Tooltip("share:Q", title="Share of the old segment", format=".1%")],
    )
    text = base.mark_text(fontSize=11, lineBreak="\n", lineHeight=13).encode(
        text=alt.Text("label:N"),
        color=alt.condition("datum.share > 0.55", alt.value("white"), alt.value(INK)),
    )
    return themed((rect + text).properties(width=cell * len(targets),
                                           height=36 * len(sources)))
