"""The report stage on hand-made inputs (tests/handmade.py: six customers, two segments):
what the page says, the page context the templates get, the charts and summary.json,
each without running the pipeline."""

from __future__ import annotations

import re
from dataclasses import fields

import handmade
import jinja2.meta
import pytest

from reportgen import record
from reportgen.report.chartset import build_charts
from reportgen.report.page import RENDERER_ADDS, PageContext, page_context
from reportgen.report.summary import build_summary
from reportgen.report.templating import builtin_templates, make_environment, render_page
from reportgen.report.wording import selection_reason


@pytest.fixture(scope="module")
def content():
    return handmade.content()


def page_text(content, **context_changes) -> str:
    """The PDF page's text (its HTML without tags), as WeasyPrint would be given it."""
    charts = build_charts(content)
    context = {**vars(page_context(content, charts, None)), **context_changes}
    html = render_page(make_environment(None), {
        **context, "target": "pdf", "chart_specs": {}, "vega_bundle": "",
        "images": {c.id: "data:," for c in charts.values()}})
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_segments_are_named_sized_and_advised_by_their_rules(content):
    budget, affluent = content.segments
    assert (budget.id, budget.name, budget.size) == (1, "Budget fans", 4)
    assert (affluent.id, affluent.name, affluent.size) == (2, "Careful affluent", 2)
    assert budget.share == pytest.approx(4 / 6)
    assert budget.named_by == "personas.rules[0] (income low)"
    assert [r.action for r in budget.recommendations] == ["Reward them with loyalty points."]
    assert budget.advised_by == ("recommendations.rules[0] (score high)",)
    fallback = affluent.recommendations[0]  # no rule: an action from its income, 2.1x avg
    assert fallback.rule == "fallback: its trait income (income, high)"
    assert fallback.action.startswith("Lead with premium products and personal service: ")
    assert budget.rules_fired == ("personas.rules[0]", "recommendations.rules[0]")


def test_the_findings_state_the_numbers(content):
    assert content.findings == (
        "Budget fans is the largest segment: 4 customers (67%).",
        # income: 92k against the mean of all six, 44.3k
        "Careful affluent is only 33% of customers but has the highest income: 2.1x the "
        "average.",
        "The data show no natural groups (best silhouette 0.20): treat the segments as a "
        "useful partition of a continuum.",
        "Careful affluent stands apart most: Mostly York city (100% vs 33% overall).")


def test_why_this_k_names_the_criterion_and_where_silhouette_peaks(content):
    assert selection_reason(content.fit) == (
        "k=2: the elbow of the inertia curve; silhouette peaks at k=3 (0.20).")
    silhouette = handmade.fit(scores=((2, 0.61), (3, 0.4)), method="silhouette")
    assert selection_reason(silhouette) == ("k=2: highest silhouette (0.61); the elbow is "
                                            "also at 2.")


def test_weak_structure_states_the_best_silhouette_not_the_chosen_one(content):
    """The elbow chose k=2 (silhouette 0.10); the page's claim about the best silhouette
    must give the best one (0.20, at k=3), and the threshold it is compared with."""
    text = page_text(content)
    verdict = ("No natural groups: the best silhouette is 0.20 (below 0.25). The customers "
               "form a continuum")
    assert text.count(verdict) == 2  # in the summary and in how k was chosen
    assert "Silhouette 0.10" in text  # the cover's figure is the chosen k's


def test_numbers_are_formatted_by_the_templates(content):
    text = page_text(content)
    assert "67% of customers · 4" in text  # a summary card
    assert "Segment 1 · 4 customers · 67%" in text
    assert "2026-11-30 06:00 UTC" in text
    assert "Customers 6" in text
    assert "k=2: the elbow of the inertia curve" in text


def test_the_templates_use_exactly_the_documented_fields():
    """Every variable a built-in page template reads is a documented PageContext field (or
    one the renderer adds), and every documented field is read by some template."""
    env = make_environment(None)
    used: set[str] = set()
    for path in builtin_templates().rglob("*.html.j2"):
        if path.name.startswith(("archive_", "email")):
            continue  # their own contexts (archive.py, deliver/email.py)
        source = path.read_text(encoding="utf-8")
        used |= jinja2.meta.find_undeclared_variables(env.parse(source))
    loop_names = {"s", "ui", "super"}  # a partial's loop variable and macro import
    documented = {f.name for f in fields(PageContext)} | set(RENDERER_ADDS)
    assert used - loop_names == documented


def test_charts_are_made_from_the_content_alone(content):
    from altair.vegalite.v6.schema.core import Root

    charts = build_charts(content)
    assert list(charts) == ["sizes", "elbow", "scores", "heatmap", "map", "dist-1", "dist-2"]
    for chart in charts.values():
        Root.validate(chart.spec)
    sizes = charts["sizes"].spec["datasets"]
    rows = next(iter(sizes.values()))
    assert [(r["name"], r["size"]) for r in rows] == [("Budget fans", 4),
                                                      ("Careful affluent", 2)]


def test_summary_json_is_the_typed_record_of_the_content(content, tmp_path):
    model = {"file": "model.json", "format": "f", "version": 1, "sha256": "ef" * 32}
    summary = build_summary(content, {"data": 0.5}, ["report.html"], model)
    assert [(s.id, s.name, s.size) for s in summary.segments] == [
        (1, "Budget fans", 4), (2, "Careful affluent", 2)]
    assert summary.k_selected == 2 and summary.selection.method == "elbow"
    assert summary.selection.reason == selection_reason(content.fit)
    assert summary.warnings[-1].startswith("No natural groups: the best silhouette is 0.20 "
                                           "(below 0.25)")
    assert summary.segments[0].profile["income"].level in ("low", "very low")
    (tmp_path / "summary.json").write_bytes(record.summary_bytes(summary))
    assert record.read_summary(tmp_path) == summary


def test_a_segment_that_does_not_come_back_is_flagged_everywhere():
    """Segment 2 keeps only half its members in a typical refit (mean Jaccard 0.50):
    its badge says unstable, its actions say check before acting, and the executive
    summary names it; segment 1 (0.96) is highly stable."""
    import dataclasses

    from reportgen.model.stability import KStability, Stability

    measured = Stability(by_k=(KStability(2, 0.55, (0.96, 0.50)),
                               KStability(3, 0.40, (0.7, 0.5, 0.4))), resamples=20, rows=6)
    fit = dataclasses.replace(handmade.fit(), stability=measured, smallest_shares=(0.33, 0.1))
    flagged = handmade.content(segmentation=fit)
    warning = next(w for w in flagged.warnings if w.startswith("Not every segment is stable"))
    assert warning.startswith("Not every segment is stable: Careful affluent (unstable, 0.50).")
    text = page_text(flagged)
    assert "highly stable 0.96" in text and "unstable 0.50" in text
    assert text.count("Check before acting: this segment comes back only partly") == 1
    assert "Top action · check before acting" in text
    summary = build_summary(flagged, {}, [], {})
    assert [(s.id, s.band) for s in summary.stability.segments] == [
        (1, "highly stable"), (2, "unstable")]
    assert summary.selection.natural_groups is False  # silhouette 0.20 < 0.25 here
