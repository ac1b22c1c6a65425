"""The archive index pages: every period, newest first, relative links only."""

from __future__ import annotations

import re

from reportgen import run_report
from reportgen.deliver.archive import rebuild_indexes
from reportgen.report import pages


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_three_periods_are_listed_newest_first_with_working_relative_links(small_project):
    for period in ("2026-08", "2026-09", "2026-10"):
        result = run_report(small_project, period=period, output={"formats": ["html", "pdf"]})
    out = result.folder.parent.parent
    index = (out / "small" / "index.html").read_text()
    assert [m for m in re.findall(r"<strong>(\d{4}-\d\d)</strong>", index)] == [
        "2026-10", "2026-09", "2026-08"]
    for link in links(index):
        assert not re.match(r"^(/|[a-z]+:)", link), link  # relative only
        assert (out / "small" / link).is_file(), link
    assert "180" in index and "Small test report" in index
    root = (out / "index.html").read_text()
    for link in links(root):
        assert not re.match(r"^(/|[a-z]+:)", link) and (out / link).is_file(), link
    assert "small/2026-10/report.html" in root


def test_a_rerun_replaces_its_period_and_the_index_keeps_one_entry(small_project):
    run_report(small_project, period="2026-10")
    result = run_report(small_project, period="2026-10", segmentation={"k": 4})
    index = (result.folder.parent / "index.html").read_text()
    assert index.count("<strong>2026-10</strong>") == 1
    assert '<td class="num">4</td>' in index


def test_a_period_with_a_broken_summary_is_listed_without_numbers(small_project):
    result = run_report(small_project, period="2026-10")
    broken = result.folder.parent / "2026-07"
    broken.mkdir()
    (broken / "summary.json").write_text("{not json")
    (broken / "report.html").write_text("<html></html>")
    rebuild_indexes(result.folder.parent.parent, pages(None))
    index = (result.folder.parent / "index.html").read_text()
    rows = {m.group(1): m.group(0) for m in re.finditer(
        r"<tr>\s*<td><strong>(\d{4}-\d\d)</strong>.*?</tr>", index, re.S)}
    assert list(rows) == ["2026-10", "2026-07"]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows["2026-07"], re.S)
    assert cells == ["<strong>2026-07</strong>", '<a href="2026-07/report.html">HTML</a>',
                     "", "", "", ""]  # linked, without numbers
    numbers = re.findall(r"<td[^>]*>(.*?)</td>", rows["2026-10"], re.S)
    assert numbers[2:4] == ["180", "3"] and numbers[5]


def test_the_index_is_built_from_the_summaries_alone(tmp_path):
    """Hand-made periods (tests/handmade.py), no pipeline: the index shows each period's
    numbers as its summary.json records them, newest first."""
    import handmade

    from reportgen import record
    from reportgen.report.summary import build_summary

    model = {"file": "model.json", "format": "f", "version": 1, "sha256": "ef" * 32}
    for period in ("2026-10", "2026-11"):
        folder = tmp_path / "six" / period
        folder.mkdir(parents=True)
        summary = build_summary(handmade.content(period=period), {}, ["report.html"], model)
        (folder / "summary.json").write_bytes(record.summary_bytes(summary))
        (folder / "report.html").write_text("<html></html>")
    rebuild_indexes(tmp_path, pages(None))
    index = (tmp_path / "six" / "index.html").read_text()
    assert re.findall(r"<strong>(\d{4}-\d\d)</strong>", index) == ["2026-11", "2026-10"]
    row = index[index.index("<strong>2026-11</strong>"):index.index("<strong>2026-10</strong>")]
    assert '<td class="num">6</td>' in row and '<td class="num">2</td>' in row
    assert "Budget fans (67%)" in row and "2026-11-30 06:00 UTC" in row
    assert 'href="2026-11/report.html"' in row and "PDF" not in row
    root = (tmp_path / "index.html").read_text()
    assert "Six customers" in root and 'href="six/index.html"' in root
