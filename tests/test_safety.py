"""Hostile content: values that spreadsheets would run, paths and URLs the PDF must not
fetch. (Escaping in the page itself is checked in headless Chromium in test_browser.)"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers import blobs_frame, run_cli, write_config

from reportgen import run_report
from reportgen.record import neutralise_formulas, restore_formulas

HOSTILE_IDS = ["=1+2", "+44 20 7946", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "plain",
               "-5", "+17850", "-1.5"]


def test_formula_cells_are_neutralised_and_read_back():
    """Text a spreadsheet would run gets an apostrophe; a plain signed number (an id such
    as -5, which a spreadsheet reads as a number) is left exactly as it is."""
    values = pd.Series(HOSTILE_IDS)
    safe = neutralise_formulas(values)
    assert list(safe) == ["'=1+2", "'+44 20 7946", "'-2+3+cmd|' /C calc'!A0", "'@SUM(A1)",
                          "'\tx", "plain", "-5", "+17850", "-1.5"]
    assert list(restore_formulas(safe)) == HOSTILE_IDS
    numbers = pd.Series([-5, 3])
    assert neutralise_formulas(numbers).tolist() == [-5, 3]


def test_segments_csv_is_safe_and_months_still_match(tmp_path):
    """Ids and a persona name that start with '=' are written inert; next month the same
    customers are recognised as returning."""
    frame = blobs_frame().drop(columns="group")
    frame["customer_id"] = [f"={i}+1" if i % 2 else f"-{i}+A1" for i in range(len(frame))]
    frame.to_csv(tmp_path / "customers.csv", index=False)
    config = write_config(tmp_path, """
report: {name: small, title: Small}
data: {path: customers.csv, id: customer_id}
features: {numeric: [income, score], profile: [age]}
segmentation: {k: 3}
personas:
  rules:
    - when: {income: high}
      name: '=HYPERLINK("http://evil.example","click")'
output: {dir: out, formats: [html]}
""")
    first = run_report(config, period="2026-10")
    cells = pd.read_csv(first.folder / "segments.csv", dtype=str, keep_default_na=False)
    assert not cells["id"].str.match(r"^[=+\-@]").any()
    assert cells["id"].str.startswith("'").all()
    assert (cells["persona"] == '\'=HYPERLINK("http://evil.example","click")').any()
    second = run_report(config, period="2026-11")
    migration = json.loads((second.folder / "summary.json").read_text())["migration"]
    assert migration["returning"] == len(frame)
    assert migration["new_customers"] == 0 and migration["lost_customers"] == 0


# --- what the PDF and the HTML may load ---------------------------------------------------

def png_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "#882255").save(buffer, format="PNG")
    return buffer.getvalue()


PNG = png_bytes()


def project_with_template(tmp_path, markup: str, formats: str = "[pdf]"):
    """The small project whose report template adds `markup` at the end."""
    blobs_frame().drop(columns="group").to_csv(tmp_path / "customers.csv", index=False)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.html.j2").write_text(
        '{% extends "default:report.html.j2" %}\n'
        "{% block content %}{{ super() }}" + markup + "{% endblock %}\n")
    return write_config(tmp_path, f"""
report: {{name: small, title: Small, templates: templates}}
data: {{path: customers.csv, id: customer_id}}
features: {{numeric: [income, score]}}
segmentation: {{k: 3}}
output: {{dir: out, formats: {formats}}}
""")


class Listener:
    """A loopback HTTP server that records whether anyone asked it for anything."""

    def __enter__(self):
        import http.server
        import threading

        asked = self.asked = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                asked.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                self.wfile.write(PNG)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/pixel.png"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def run_period(config) -> tuple[int, str]:
    done = run_cli("run", str(config), "--period", "2026-11")
    return done.returncode, done.stderr


def test_pdf_never_fetches_from_the_network(tmp_path):
    with Listener() as listener:
        config = project_with_template(tmp_path, f'<img src="{listener.url}">')
        code, err = run_period(config)
    assert code == 2
    assert err.startswith(f"error: the report's templates ask for {listener.url}, which "
                          "reportgen does not fetch")
    assert listener.asked == []
    assert not (tmp_path / "out" / "small" / "2026-11").exists()


@pytest.mark.parametrize(("markup", "refused"), [
    ('<img src="file:///etc/passwd">', "file:///etc/passwd"),
    ('<link rel="stylesheet" href="../../../../../../etc/hosts">', "file:///etc/hosts"),
])
def test_pdf_never_reads_files_outside_the_project(tmp_path, markup, refused):
    config = project_with_template(tmp_path, markup)
    code, err = run_period(config)
    assert code == 2
    assert f"ask for {refused}, which reportgen does not fetch" in err
    assert len(err.strip().splitlines()) == 1


def test_pdf_may_embed_an_image_from_the_templates_folder(tmp_path):
    config = project_with_template(tmp_path, '<img src="pixel.png" alt="pixel">')
    (tmp_path / "templates" / "pixel.png").write_bytes(PNG)
    result = run_report(config, period="2026-11")
    from pypdf import PdfReader

    pixels = [image.image for page in PdfReader(result.folder / "report.pdf").pages
              for image in page.images if image.image is not None
              and image.image.size == (4, 4)]
    assert pixels, "the template's 4x4 image is not in the PDF"
    assert pixels[0].convert("RGB").getpixel((1, 1)) == (0x88, 0x22, 0x55)


def test_html_must_not_load_anything_from_elsewhere(tmp_path):
    with Listener() as listener:
        config = project_with_template(
            tmp_path, f'<div style="background: url({listener.url})"></div>', "[html]")
        code, err = run_period(config)
    assert code == 2
    assert err.startswith(f"error: the report's templates load {listener.url}; the HTML "
                          "report must not load anything")
    assert listener.asked == []


def test_a_renamed_text_file_is_not_a_logo(tmp_path):
    from reportgen.errors import ConfigError

    (tmp_path / "passwd.png").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "customers.csv").write_text("a,b\n1,2\n")
    config = write_config(tmp_path, """
report: {name: small, title: Small, logo: passwd.png}
data: {path: customers.csv}
features: {numeric: [a, b]}
""")
    with pytest.raises(ConfigError, match="is not a PNG, JPEG, GIF or SVG image"):
        run_report(config)


# --- warnings: the run goes on, the report says it ----------------------------------------


def test_warnings_for_missing_features_tiny_segments_and_weak_structure(tmp_path):
    import numpy as np

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"customer_id": [f"K{i}" for i in range(400)],
                          "income": rng.uniform(0, 100, 400),
                          "score": rng.uniform(0, 100, 400)})
    frame.loc[:139, "score"] = np.nan                       # 35% missing
    frame.loc[399, ["income", "score"]] = [5_000, 5_000]    # one far-away customer
    frame.to_csv(tmp_path / "customers.csv", index=False)
    config = write_config(tmp_path, """
report: {name: small, title: Small}
data: {path: customers.csv, id: customer_id}
features: {numeric: [income, score]}
segmentation: {k: 3}
output: {dir: out, formats: [html]}
""")
    code, err = run_period(config)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert warnings[0] == ("warning: score is missing for 35% of customers (140 of 400); they "
                           "were given the median (or most common value), which pulls them "
                           "toward the middle. Fill it in or move it to features.profile.")
    assert any("holds only 0.2% of customers (1): too small" in w for w in warnings)
    folder = tmp_path / "out" / "small" / "2026-11"
    summary = json.loads((folder / "summary.json").read_text())
    assert [f"warning: {w}" for w in summary["warnings"]] == warnings
    html = (folder / "report.html").read_text()
    assert "Check before you use these segments." in html
    assert "score is missing for 35% of customers" in html


def test_uniform_noise_is_flagged_as_weak_structure(tmp_path):
    import numpy as np

    rng = np.random.default_rng(4)
    columns = list("abcdef")
    pd.DataFrame(rng.uniform(size=(600, 6)), columns=columns).to_csv(
        tmp_path / "customers.csv", index=False)
    config = write_config(tmp_path, """
report: {name: small, title: Small}
data: {path: customers.csv}
features: {numeric: [a, b, c, d, e, f]}
segmentation: {k: 6}
output: {dir: out, formats: [html]}
""")
    code, err = run_period(config)
    assert code == 0, err
    assert "warning: No natural groups: the best silhouette is 0.1" in err
