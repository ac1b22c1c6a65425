"""Rendering: branding from the config, template overrides, and no network for the PDF."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import pytest
from helpers import chart_specs

from reportgen import run_report
from reportgen.errors import OutputError
from reportgen.report.templating import confined_fetcher, make_environment, render_page

PNG_1PX = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhf"
                           "DwAChwGA60e6kgAAAABJRU5ErkJggg==")


def test_logo_is_embedded_and_accent_colour_used(small_project):
    (small_project.parent / "logo.png").write_bytes(PNG_1PX)
    result = run_report(small_project, period="2026-10", report={
        "logo": "logo.png", "accent_color": "#AA3377", "company": "Acme & Co"})
    html = result.html.read_text()
    assert f'src="data:image/png;base64,{base64.b64encode(PNG_1PX).decode()}"' in html
    assert "--accent: #AA3377" in html
    assert "Acme &amp; Co" in html


def test_missing_logo_is_a_user_error(small_project):
    result = subprocess.run([sys.executable, "-m", "reportgen", "run", str(small_project),
                             "--set", "report.logo=nope.png"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("error: config key 'report.logo': logo file not found")


def test_user_templates_override_and_extend_the_builtin_ones(small_project):
    folder = small_project.parent / "my_templates" / "partials"
    folder.mkdir(parents=True)
    (small_project.parent / "my_templates" / "report.html.j2").write_text(
        '{% extends "default:report.html.j2" %}\n'
        "{% block content %}<p class=\"house-note\">Internal use only</p>{{ super() }}"
        "{% endblock %}\n")
    (folder / "_map.html.j2").write_text("<section id=\"map\"><h2>No map this month</h2>"
                                         "</section>\n")
    result = run_report(small_project, period="2026-10", report={"templates": "my_templates"})
    html = result.html.read_text()
    assert '<p class="house-note">Internal use only</p>' in html
    assert "No map this month" in html and "Segment map" not in html
    assert "Executive summary" in html  # the built-in content is still there


def test_template_syntax_error_names_the_template_and_line(tmp_path):
    (tmp_path / "report.html.j2").write_text("line one\n{% if %}\n")
    with pytest.raises(OutputError) as caught:
        render_page(make_environment(tmp_path), {})
    assert "report.html.j2 line 2" in str(caught.value)


def test_missing_template_folder_is_a_config_error(small_project):
    from reportgen.config.load import load_config
    from reportgen.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape("'report.templates': templates folder")):
        load_config(small_project, ["report.templates=nope"])


def test_the_pdf_fetcher_serves_data_urls_and_files_inside_its_folders_only(tmp_path):
    from weasyprint.urls import FatalURLFetchingError

    (tmp_path / "inside.css").write_text("p {}")
    fetcher = confined_fetcher([tmp_path])
    for url in ("http://example.com/x.png", "https://example.com/f.woff", "file:///etc/passwd",
                "ftp://example.com/x", f"file://{tmp_path}/../outside.css"):
        with pytest.raises(FatalURLFetchingError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    assert fetcher.fetch(f"file://{tmp_path}/inside.css").read() == b"p {}"


def test_content_is_escaped(small_project):
    result = run_report(small_project, period="2026-10", report={
        "title": "<script>alert(1)</script> segments"})
    html = result.html.read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; segments" in html


def test_the_worked_branded_example_changes_the_cover_and_adds_a_section(branded_run):
    from pypdf import PdfReader

    result = branded_run
    html = result.html.read_text()
    assert "Prepared for the marketing leadership team" in html
    assert "Confidential: for internal use only" in html
    assert '<section id="next-steps"' in html and 'href="#next-steps"' in html
    assert "--accent: #882255" in html and 'src="data:image/svg+xml;base64,' in html
    pages = ["".join(p.extract_text().split()) for p in PdfReader(result.pdf).pages]
    cover = pages[0]
    assert "Preparedforthemarketingleadershipteam" in cover
    found = re.search(r"Nextsteps\.+(\d+)", cover)
    assert found and "Nextsteps" in pages[int(found.group(1)) - 1]
    assert "ExampleRetail-confidential" in pages[1]
    for segment in result.summary["segments"]:  # the new section lists every segment
        assert "".join(segment["name"].split()) in pages[-1]


def test_every_chart_is_valid_vega_lite(sample_run, transactions_run, drift_run):
    """The run skips Altair's validation (it costs ~1 s per report); the schema is
    checked here instead, on every kind of chart the reports draw."""
    from altair.vegalite.v6.schema.core import Root

    common = {"chart-sizes", "chart-elbow", "chart-scores", "chart-heatmap", "chart-map"}
    runs = [(sample_run, common),
            (transactions_run, common | {"chart-value-share", "chart-value-range",
                                         "chart-p-alive", "chart-tracking",
                                         "chart-rfm-boxes", "chart-rfm-grid"}),
            (drift_run, common | {"chart-trend", "chart-migration"})]
    for run, expected in runs:
        specs = chart_specs(run.html)
        distributions = {f"chart-dist-{s['id']}" for s in run.summary["segments"]}
        assert set(specs) == expected | distributions, run.html
        for chart_id, spec in specs.items():
            try:
                Root.validate(spec)
            except Exception as exc:
                pytest.fail(f"{run.html}: {chart_id} is not valid Vega-Lite: {exc}")
