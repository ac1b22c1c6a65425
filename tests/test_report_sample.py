"""The sample report end to end, checked the way a user checks it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT, chart_specs, page_texts, squash
from sklearn.metrics import adjusted_rand_score

from reportgen.sample import GROUPS, generate


@pytest.fixture(scope="module")
def summary(sample_run) -> dict:
    return json.loads((sample_run.folder / "summary.json").read_text())


@pytest.fixture(scope="module")
def pdf_text(sample_run) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(sample_run.pdf).pages)


def test_writes_every_contract_file_into_report_name_and_period(sample_run):
    assert sample_run.folder.parts[-2:] == ("sample", "2026-11")
    for name in ("report.html", "report.pdf", "segments.csv", "summary.json", "model.json"):
        assert (sample_run.folder / name).stat().st_size > 0
    hidden = [p.name for p in sample_run.folder.parent.iterdir() if p.name.startswith(".")]
    assert hidden == [".reportgen.lock"]  # the run lock stays; nothing temporary does


def test_recovers_the_generators_groups(sample_run, summary):
    assert summary["k_selected"] == len(GROUPS) == 5
    frame, truth = generate()
    segments = pd.read_csv(sample_run.folder / "segments.csv")
    assert segments["id"].tolist() == frame["customer_id"].tolist()
    assert adjusted_rand_score(truth, segments["segment"]) >= 0.9


def test_segment_sizes_match_the_labels_and_add_up(sample_run, summary):
    segments = pd.read_csv(sample_run.folder / "segments.csv")
    counts = segments["segment"].value_counts().to_dict()
    assert [s["size"] for s in summary["segments"]] == [counts[i] for i in range(1, 6)]
    assert sum(s["share"] for s in summary["segments"]) == pytest.approx(1.0)
    sizes = [s["size"] for s in summary["segments"]]
    assert sizes == sorted(sizes, reverse=True)  # numbered by size


def test_personas_name_the_generators_groups(summary):
    names = {s["name"] for s in summary["segments"]}
    assert names == {"Mainstream shoppers", "Budget-conscious", "Careful affluent",
                     "Young enthusiasts", "Affluent high spenders"}


def test_summary_holds_the_contract_keys(summary):
    for key in ("report", "title", "period", "generated_at", "n_rows", "n_customers", "dropped",
                "features", "k_selected", "selection", "k_scores", "segments", "timings",
                "versions", "config_sha256", "data_sha256"):
        assert key in summary, key
    assert summary["n_rows"] == summary["n_customers"] == 2000
    assert summary["dropped"] == {"count": 0, "reasons": {}}
    assert summary["imputed"]["income"] > 0
    assert [s["k"] for s in summary["k_scores"]] == list(range(2, 11))
    assert set(summary["k_scores"][0]) == {"k", "inertia", "silhouette", "calinski_harabasz",
                                           "davies_bouldin"}
    assert summary["selection"]["reason"].startswith("k=5: the best silhouette")
    first = summary["segments"][0]
    assert set(first["profile"]["income"]) >= {"mean", "z", "level"}
    assert first["recommendations"] and first["rules_fired"]
    assert set(summary["timings"]) >= {"data", "features", "segmentation", "html", "pdf"}


def test_html_is_self_contained_and_offline(sample_run):
    html = sample_run.html.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert html.count("<script") == 3  # the Vega bundle once, the specs, the embed call
    specs = chart_specs(sample_run.html)
    containers = re.findall(r'<div class="vega" id="([^"]+)"', html)
    assert sorted(containers) == sorted(specs)
    assert len(specs) == 5 + 5  # sizes, elbow, scores, heatmap, map + one per segment
    assert len(html.encode()) < 2_000_000


def test_pca_scatter_has_at_most_5000_points(sample_run):
    datasets = chart_specs(sample_run.html)["chart-map"]["datasets"]
    assert sum(len(rows) for rows in datasets.values()) <= 5000


def test_pdf_holds_every_segment_name_and_recommendation(summary, pdf_text):
    text = squash(pdf_text)
    for segment in summary["segments"]:
        assert squash(segment["name"]) in text
        for recommendation in segment["recommendations"]:
            assert squash(recommendation["action"]) in text, recommendation["action"]
    for heading in ("Executive summary", "Segment profiles", "Segment map", "How k was chosen",
                    "Data appendix"):
        assert squash(heading) in text


def test_pdf_charts_are_drawn_as_vector_text(pdf_text):
    text = squash(pdf_text)
    for label in ("Share of customers", "Number of segments (k)", "Silhouette (higher is better)",
                  "Inertia (within-segment spread)", "Everyone"):
        assert squash(label) in text, label


def test_pdf_pages_are_a4_numbered_and_none_is_blank(sample_run, tmp_path):
    from pypdf import PdfReader

    reader = PdfReader(sample_run.pdf)
    pages = len(reader.pages)
    assert 8 <= pages <= 20
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    assert f"Page 1 of {pages}" in reader.pages[0].extract_text()
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed: pages not rendered")
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(sample_run.pdf), str(tmp_path / "p")],
                   check=True)
    from PIL import Image

    for png in sorted(tmp_path.glob("p-*.png")):
        pixels = np.asarray(Image.open(png).convert("L"))
        body = pixels[int(pixels.shape[0] * 0.08): int(pixels.shape[0] * 0.92)]
        assert (body < 200).mean() > 0.001, f"{png.name} is blank"


def test_rerun_is_deterministic(sample_run, tmp_path):
    from reportgen import run_report

    again = run_report(ROOT / "configs" / "sample.yaml", out=tmp_path, period="2026-11",
                       output={"formats": []})
    first = pd.read_csv(sample_run.folder / "segments.csv")
    second = pd.read_csv(again.folder / "segments.csv")
    assert first.equals(second)
    assert not (again.folder / "report.html").exists()


def test_pdf_contents_give_the_right_page_numbers(sample_run, summary):
    pages = page_texts(sample_run.pdf)
    cover = pages[0]
    assert "Contents" in cover
    entries = ["Executive summary", "Segment profiles", "Segment map", "How k was chosen",
               "Data appendix", *(s["name"] for s in summary["segments"])]
    for title in entries:
        found = re.search(re.escape(squash(title)) + r"\.+(\d+)", cover)
        assert found, title
        page = int(found.group(1))
        assert squash(title) in pages[page - 1], f"{title} is not on page {page}"


def test_no_chart_is_split_across_pages(sample_run):
    pages = page_texts(sample_run.pdf)
    charts = {
        "elbow": ["Elbow: inertia by k", "Number of segments (k)"],
        "scores": ["Silhouette (higher is better)", "Calinski-Harabasz (higher is better)",
                   "Davies-Bouldin (lower is better)"],
        "sizes": ["Share of customers", "Mainstream shoppers"],
    }
    for name, labels in charts.items():
        holders = [i for i, text in enumerate(pages) if squash(labels[0]) in text]
        assert len(holders) >= 1, name
        assert all(squash(label) in pages[holders[0]] for label in labels), name


def test_running_header_and_page_x_of_y_on_inner_pages(sample_run):
    from pypdf import PdfReader

    reader = PdfReader(sample_run.pdf)
    total = len(reader.pages)
    second = reader.pages[1].extract_text()
    assert "Customer segments" in second and "November 2026" in second
    assert f"Page 2 of {total}" in second
