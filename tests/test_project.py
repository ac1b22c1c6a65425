"""Project-level promises: docs match the config schema, the wheel carries the templates."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile

import pytest
from helpers import ROOT

from reportgen.config.docs import SCHEMA_PATH, config_keys, schema_text
from reportgen.docs import CONFIG_PAGE, DOCS, TEMPLATES_PAGE, current
from reportgen.sample import generate


def test_the_config_reference_documents_every_config_key():
    reference = CONFIG_PAGE.read_text()
    missing = [key for key, _ in config_keys() if f"`{key}`" not in reference]
    assert missing == []


def test_generated_pages_and_json_schema_are_current():
    """They come from the config models and the page context; `python -m reportgen.docs`
    rewrites them."""
    for page in (CONFIG_PAGE, TEMPLATES_PAGE):
        text = page.read_text()
        assert current(page, text) == text, f"run: python -m reportgen.docs ({page.name})"
    assert SCHEMA_PATH.read_text() == schema_text(), "run: python -m reportgen.docs"


def test_the_template_reference_documents_every_field_nested_ones_included():
    from reportgen.report.page import PageContext, context_fields

    documented = context_fields(PageContext)
    assert [name for name, text in documented if text == "UNDOCUMENTED"] == []
    assert ("value.reliability[].expected_share", "the share the model expected to buy "
            "again in the holdout") in documented
    reference = TEMPLATES_PAGE.read_text()
    assert all(f"`{name}`" in reference for name, _ in documented)


def test_the_readme_is_short_and_every_docs_page_is_in_the_site():
    """A newcomer's five minutes: at most 200 lines; the rest is the mkdocs site, whose
    navigation lists every page in docs/."""
    import yaml

    assert len((ROOT / "README.md").read_text().splitlines()) <= 200
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]

    def pages(items: list) -> set[str]:
        out: set[str] = set()
        for item in items:
            for value in item.values():
                out |= pages(value) if isinstance(value, list) else {value}
        return out

    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages(nav) == on_disk


def test_only_engines_know_which_engine_runs():
    """Where the rows are is the engines' business (issue 30): api.py calls the stages through
    model/rows.Rows and never asks which engine runs, no module outside engines/ names
    Spark or reads `engine:`, and config/ only declares the choice."""
    package = ROOT / "reportgen"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package)
        if where.parts[0] in ("engines", "config"):
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"(?i)spark", r"\.engine\.(name|spark|master)\b",
                        r"(?<!reportgen\.)config\.engine\b"):
            offenders += [f"{where}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == []
    steps = re.compile(r"rows\.(load|features|refine|label|summarize|migration|population|"
                       r"write_segments|commit)\(")
    calling = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                     if steps.search(p.read_text(encoding="utf-8")))
    assert calling == ["api.py"]  # the one orchestrator calls every step, for both engines


def test_every_example_config_passes_the_json_schema():
    """What an editor checks with the schema must agree with what reportgen accepts."""
    import json

    import jsonschema
    import yaml

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    configs = sorted((ROOT / "configs").glob("*.yaml"))
    assert len(configs) >= 5
    for path in configs:
        raw = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        errors = [e.message for e in validator.iter_errors(raw)]
        assert errors == [], path.name
    wrong = {"report": {"name": "x", "title": "x"}, "data": {"path": "a.csv"},
             "features": {"numeric": ["a"]}, "segmentation": {"k": "five"}}
    assert not validator.is_valid(wrong)
    assert not validator.is_valid({**wrong, "segmentation": {}, "extra": 1})


def test_readme_starts_with_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("```")[1]
    assert setup.split() [:2] == ["make", "report"] and "make test" in setup


def test_sample_generator_is_seeded_and_has_the_promised_shape():
    frame, groups = generate()
    again, _ = generate()
    assert frame.equals(again) and len(frame) == 2000
    assert list(frame.columns) == ["customer_id", "age", "gender", "income", "spending_score",
                                   "membership_years", "purchase_frequency",
                                   "last_purchase_amount", "preferred_category"]
    assert 4 <= len(set(groups)) <= 6
    assert frame["income"].isna().sum() > 0 and frame["age"].isna().sum() > 0
    amount = frame["last_purchase_amount"]
    assert amount.mean() > 1.2 * amount.median()  # right-skewed money column


def test_wheel_ships_the_templates_and_renders_from_them(tmp_path):
    pytest.importorskip("hatchling")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("reportgen-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for template in ("reportgen/report/templates/report.html.j2",
                     "reportgen/report/templates/base.html.j2",
                     "reportgen/report/templates/css/print.css",
                     "reportgen/report/templates/partials/_summary.html.j2",
                     "reportgen/config/presets/retail.yaml", "reportgen/config/config.schema.json"):
        assert template in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = ("import reportgen.report.templating as r; "
             "from reportgen.config.presets import load_preset; "
             "print(r.builtin_templates()); print(len(load_preset('retail').personas))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    where, count = result.stdout.split()
    assert where == str(site / "reportgen" / "report" / "templates") and int(count) > 5


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="3"
skipped="{skipped}" failures="0" errors="0">
<testcase classname="tests.test_sql" name="test_query"/>
<testcase classname="tests.test_cli" name="test_help"/>
<testcase classname="tests.test_spark" name="tests.test_spark">{skip}</testcase>
</testsuite></testsuites>"""


@pytest.mark.parametrize("java", [True, False], ids=["all-ran", "no-java"])
def test_ci_fails_on_a_skip_and_names_it(tmp_path, java):
    """CI's verdict (.ci/run): on a machine without Java the Spark module skips, and CI
    fails with a line naming it and why; with everything run, it passes."""
    skip = "" if java else '<skipped type="pytest.skip" message="no Java runtime: apt-get ' \
        'install default-jre-headless">tests/test_spark.py:30: no Java</skipped>'
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT.format(skipped=0 if java else 1, skip=skip))
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "ci_check.py"), str(junit)],
                          capture_output=True, text=True)
    if java:
        assert done.returncode == 0 and done.stdout == "ci: 3 tests ran, 0 skipped, 0 failed\n"
        return
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "ci: 2 tests ran, 1 skipped, 0 failed",
        "ci: skipped tests.test_spark::tests.test_spark: no Java runtime: apt-get install "
        "default-jre-headless",
        "ci: failing: 1 tests skipped; in CI every test must run (scripts/system-deps.sh "
        "installs what they need)"]
    assert "scripts/ci_check.py" in (ROOT / ".ci" / "run").read_text()
