"""The report's charts, made from its content's chart data (chartdata.py) by the chart
functions (charts.py), each with the id the page places it by and its text alternative."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from altair.utils.schemapi import debug_mode

from reportgen.report import chartdata, charts
from reportgen.report.content import ReportContent
from reportgen.report.worth import P_ALIVE_BANDS, Worth


@dataclass
class ChartSpec:
    """One chart, identified for the page, with the text a screen reader or PDF reader gets.

    `spec` is the Vega-Lite dict, made once: both outputs need it, and Altair's
    validation makes `to_dict()` cost tens of milliseconds per chart.
    """

    id: str
    chart: Any
    alt: str
    raster: bool = False
    spec: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.spec = self.chart.to_dict(validate=False)


def build_charts(content: ReportContent,
                 ready: Callable[[ChartSpec], None] | None = None) -> dict[str, ChartSpec]:
    """Every chart of the report. `ready` gets each one as soon as it is made, so the PDF
    process converts a chart while the next is being built.

    Altair validates every schema object against the Vega-Lite schema as it is created
    (its "debug mode"): half of the sample's chart stage, for charts whose specs the test
    suite validates (tests/test_report_content.py). It is off while the report's charts are made.
    """
    with debug_mode(False):
        return _all_charts(content, ready)


def _all_charts(content: ReportContent,
                ready: Callable[[ChartSpec], None] | None) -> dict[str, ChartSpec]:
    out: dict[str, ChartSpec] = {}

    def add(key: str, chart: ChartSpec) -> None:
        out[key] = chart
        if ready is not None:
            ready(chart)

    for key, chart in _overview(content):
        add(key, chart)
    for key, chart in (*_sales(content), *_value(content), *_changes(content)):
        add(key, chart)
    for key, chart in _distributions(content):
        add(key, chart)
    return out


def _overview(content: ReportContent) -> list[tuple[str, ChartSpec]]:
    data, fit = content.charts, content.fit
    names, colors = list(content.names.values()), list(content.colors.values())
    out = [
        ("sizes", ChartSpec("chart-sizes", charts.segment_sizes(data.sizes, colors),
                            "Share of customers in each segment.")),
        ("elbow", ChartSpec("chart-elbow", charts.elbow(data.scores, fit.k, fit.knee),
                            "Inertia by number of segments, with the elbow marked.")),
        ("scores", ChartSpec("chart-scores", charts.k_scores(data.scores, fit.k),
                             "Silhouette, Calinski-Harabasz and Davies-Bouldin scores by k.")),
    ]
    if data.heatmap is not None:
        out.append(("heatmap", ChartSpec(
            "chart-heatmap", charts.zscore_heatmap(data.heatmap),
            "How far each segment sits from the average on each feature.")))
    out.append(("map", ChartSpec("chart-map", charts.segment_map(
        data.map_points, names, colors, data.map_explained),
        "A sample of customers on the two main axes of variation, coloured by segment.",
        raster=True)))
    return out


def _sales(content: ReportContent) -> list[tuple[str, ChartSpec]]:
    data = content.charts
    if data.revenue is None or data.rfm_boxes is None or data.rfm_grid is None:
        return []
    names, colors = list(content.names.values()), list(content.colors.values())
    labels = {c: content.features.label(c) for c in ("recency_days", "frequency", "monetary")}
    revenue = [] if content.worth is not None else [  # the value section's chart has it too
        ("revenue", ChartSpec("chart-revenue", charts.revenue_vs_customers(data.revenue),
                              "Each segment's share of customers and of net revenue."))]
    return [
        *revenue,
        ("rfm-boxes", ChartSpec("chart-rfm-boxes", charts.distribution_boxes(
            data.rfm_boxes, names, colors, labels, logged=["frequency", "monetary"]),
            "Recency, frequency and monetary value by segment.")),
        ("rfm-grid", ChartSpec("chart-rfm-grid", charts.rfm_grid(data.rfm_grid),
                               "Customers by recency score and frequency score.")),
    ]


def _value(content: ReportContent) -> list[tuple[str, ChartSpec]]:
    worth = content.worth
    if worth is None:
        return []
    shares, bands, weeks = chartdata.value_tables(worth, content.names)
    test = worth.backtest
    return [
        ("value-share", ChartSpec("chart-value-share", charts.revenue_vs_customers(shares),
                                  "Each segment's share of customers, of past revenue and of "
                                  "predicted value.")),
        *_value_range(worth, content.names, content.colors),
        ("p-alive", ChartSpec("chart-p-alive", charts.p_alive_bands(
            bands, list(content.names.values()),
            [b for b, _ in P_ALIVE_BANDS]),
            "Each segment's customers by their probability of still being a customer.")),
        ("tracking", ChartSpec("chart-tracking", charts.tracking(
            weeks, test.calibration_end.isoformat()),
            "Cumulative repeat purchases week by week: actual against the model's forecast.")),
    ]


def _value_range(worth: Worth, names: Mapping[int, str],
                 colors: Mapping[int, str]) -> list[tuple[str, ChartSpec]]:
    rows = chartdata.value_ranges(worth, names)
    if rows.empty:
        return []
    return [("value-range", ChartSpec("chart-value-range", charts.value_ranges(
        rows, list(names.values()), list(colors.values())),
        "Each segment's predicted value with its 90% interval."))]


def _changes(content: ReportContent) -> list[tuple[str, ChartSpec]]:
    data, changes = content.charts, content.changes
    if changes is None:
        return []
    names, colors = list(content.names.values()), list(content.colors.values())
    out = []
    if data.trend is not None:
        out.append(("trend", ChartSpec("chart-trend", charts.share_trend(
            data.trend, names, colors),
            "Each segment's share of customers in every period since segment ids were kept.")))
    if data.migration is not None:
        since = changes.previous_label
        out.append(("migration", ChartSpec("chart-migration", charts.migration_heatmap(
            data.migration, data.migration_sources, names, f"In {since}", "Now"),
            f"Where the customers of {since} are now, by segment: the share of each old "
            "segment and the number of customers.")))
    return out


def _distributions(content: ReportContent) -> list[tuple[str, ChartSpec]]:
    features = content.features
    labels = {c: features.label(c) for c in features.numeric}
    return [(f"dist-{s.id}", ChartSpec(
        f"chart-dist-{s.id}", charts.distributions(content.charts.distributions[s.id], labels,
                                                   features.log, s.color),
        f"Distributions of {s.name} against all customers."))
        for s in content.segments if s.id in content.charts.distributions]
