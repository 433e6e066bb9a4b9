"""The report of a run across models: the choice, one table row per model × rung, the
score-vs-cost chart with its frontier, the student's curves when a teacher labelled, and links
to each model run's own report. Its rendering in a browser is tested in test_browser.py."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from adaptlab.report import write_models_report
from adaptlab.report.model_figures import FRONTIER_TRACE, frontier_figure, student_figure
from model_runs import (
    HOSTED,
    LARGE,
    SMALL,
    large,
    parent_payload,
    settings,
    small,
    three_models,
)


def between(page: str, start: str, end: str) -> str:
    """The text after the first `start` up to the next `end`."""
    begin = page.index(start) + len(start)
    return page[begin : page.index(end, begin)]


def rows(page: str) -> list[str]:
    table = between(page, '<table id="configurations-table">', "</table>")
    return re.findall(r"<tr class=\"[^\"]*\" data-spec=\"[^\"]*\" data-rung=\"[^\"]*\">", table)


def test_the_report_tables_every_configuration_and_highlights_the_chosen(tmp_path: Path) -> None:
    payload = three_models()
    page = write_models_report(payload, tmp_path / "report.html").read_text()

    assert len(rows(page)) == len(payload["decision"]["configurations"]) == 8
    chosen = payload["decision"]["chosen"]
    assert f'<tr class="chosen frontier" data-spec="{chosen["spec"]}" data-rung="{chosen["rung"]}">' in page
    assert page.count('<span class="tag tag-frontier"') == len(payload["decision"]["frontier"])
    assert html.escape(payload["decision"]["headline"]) in page
    assert "unpriced</span>" in page  # the endpoint's price cell


def test_unpriced_configurations_are_listed_under_the_chart_not_plotted(tmp_path: Path) -> None:
    payload = three_models()
    page = write_models_report(payload, tmp_path / "report.html").read_text()

    listed = between(page, '<ul id="unpriced-list">', "</ul>")
    assert f"{HOSTED} few-shot-knn-4" in listed
    figure = frontier_figure(payload)
    assert figure is not None
    plotted = {html.unescape(trace.name) for trace in figure.data}
    assert HOSTED not in plotted
    assert {SMALL, LARGE, FRONTIER_TRACE} <= plotted


def test_the_frontier_is_a_step_line_through_the_frontier_configurations() -> None:
    payload = three_models()
    figure = frontier_figure(payload)
    assert figure is not None

    frontier = next(trace for trace in figure.data if trace.name == FRONTIER_TRACE)
    expected = payload["decision"]["frontier"]
    assert frontier.line.shape == "hv"
    assert [html.unescape(text) for text in frontier.text] == [f"{c['spec']} {c['rung']}" for c in expected]
    assert list(frontier.x) == sorted(frontier.x)
    assert any(trace.name.startswith("chosen: ") for trace in figure.data)
    target = payload["decision"]["target"]["score"]
    assert [shape.y0 for shape in figure.layout.shapes] == [target]


def test_the_student_chart_sets_gold_labels_against_the_teachers_answers() -> None:
    figure = student_figure(three_models())
    assert figure is not None

    curves = {trace.name: list(trace.x) for trace in figure.data}
    assert curves == {
        f"{SMALL} trained on gold labels": [16, 64],
        f"{SMALL} trained on {LARGE} few-shot-knn-4's answers": [16, 64],
    }
    teacher_line = [a.text for a in figure.layout.annotations]
    assert teacher_line == [f"teacher: {LARGE} few-shot-knn-4 75.0%"]


def test_without_a_teacher_there_is_no_student_section(tmp_path: Path) -> None:
    payload = parent_payload([small(), large()], settings())
    page = write_models_report(payload, tmp_path / "report.html").read_text()

    assert student_figure(payload) is None
    assert 'id="student"' not in page
    assert 'id="unpriced-list"' not in page
    figures = json.loads(between(page, '<script type="application/json" id="figure-data">', "</script>"))
    assert list(figures) == ["fig-frontier"]


def test_the_report_links_each_model_run_as_a_sibling_folder(tmp_path: Path) -> None:
    payload = three_models()
    page = write_models_report(payload, tmp_path / "report.html").read_text()

    links = re.findall(r'<a class="run-link" href="([^"]+)">', page)
    assert links == ["../p-1/report.html", "../p-2/report.html", "../p-3/report.html"]


def test_a_parent_run_that_measured_nothing_still_reports_why(tmp_path: Path) -> None:
    payload = parent_payload([(SMALL, {"model": {"model_id": SMALL}, "rungs": []})], settings())
    page = write_models_report(payload, tmp_path / "report.html").read_text()

    assert "No configuration was measured: there is nothing to choose from." in page
    assert 'id="configurations-table"' not in page
    assert 'href="../p-1/report.html"' in page
