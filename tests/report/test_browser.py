"""The report of a real run in headless Chromium: every chart renders, nothing errs, nothing is
fetched, the drill-down filters work; leaves a screenshot in test-artifacts/report.png. The
report of a free-text run: its drill-down switches rungs and sorts by score
(test-artifacts/report-free-text.png). The report of a run across models: its table, its
frontier chart and its links to the model runs (test-artifacts/report-models.png).

Needs /usr/bin/chromium (Debian: ``apt-get install -y chromium``): skipped without it, except
under CI (the CI variable set), where a browser test that cannot run is a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from adaptlab.report import write_models_report, write_report
from adaptlab.report.examples import drilldown
from adaptlab.report.model_figures import FRONTIER_TRACE
from model_runs import three_models

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "test-artifacts" / "report.png"
FREE_TEXT_SCREENSHOT = REPO / "test-artifacts" / "report-free-text.png"
MODELS_SCREENSHOT = REPO / "test-artifacts" / "report-models.png"
CHROMIUM = Path("/usr/bin/chromium")


def screenshot_script() -> ModuleType:
    """scripts/screenshot_report.py, whose `open_report` and `screenshot` this test shares (Playwright
    is a dev dependency only, so that code lives with the script, not in the adaptlab package)."""
    spec = importlib.util.spec_from_file_location(
        "screenshot_report", REPO / "scripts" / "screenshot_report.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")  # session scope: checked before the runs are made, not after
def browser_script() -> ModuleType:
    if not CHROMIUM.exists():
        how = "install it with `sudo apt-get update && sudo apt-get install -y chromium` (Debian)"
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI: {how}")
        pytest.skip(f"{CHROMIUM} is missing: {how}")
    return screenshot_script()


def visible_rows(page: Any) -> int:
    return page.locator("#examples-table tbody tr:visible").count()


def shown_ids(page: Any) -> list[str]:
    """The ids of the drill-down's visible rows, top to bottom."""
    return page.locator("#examples-table tbody tr:visible td.id").all_text_contents()


def test_the_report_renders_every_chart_offline_and_filters_examples(
    browser_script: ModuleType, ladder_results: dict[str, Any], tmp_path: Path
) -> None:
    report = write_report(ladder_results, tmp_path / "report.html")
    rows = drilldown(ladder_results).rows
    disagreeing = sum(row.disagree for row in rows)
    assert 0 < disagreeing < len(rows)  # see conftest: the runs answered different examples

    with browser_script.open_report(report) as (page, problems):
        figure_ids = list(json.loads(page.locator("#figure-data").text_content()))
        assert len(figure_ids) == 7  # accuracy, curve, cost, latency, tokens, break-even, robustness
        assert page.locator("#robustness-table tbody tr").count() == len(ladder_results["rungs"])
        assert page.locator(".js-plotly-plot").count() == len(figure_ids)
        for figure_id in figure_ids:
            plot = page.locator(f"#{figure_id}")
            assert plot.locator(".main-svg").count() >= 1
            assert plot.locator(".plot .trace, .barlayer .trace, .scatterlayer .trace").count() >= 1

        assert visible_rows(page) == len(rows)
        page.check("#only-disagreements")
        assert visible_rows(page) == disagreeing
        assert (
            page.locator("#examples-count").text_content() == f"{disagreeing} of {len(rows)} examples shown"
        )
        page.uncheck("#only-disagreements")
        page.fill("#examples-filter", "FLIGHT DELAYED")
        assert 0 < visible_rows(page) == sum("flight delayed" in row.input for row in rows) < len(rows)
        page.fill("#examples-filter", "")
        assert visible_rows(page) == len(rows)

        browser_script.screenshot(page, SCREENSHOT)
        assert problems == []
    assert SCREENSHOT.stat().st_size > 50_000


def test_the_free_text_drilldown_switches_rungs_and_sorts_by_score(
    browser_script: ModuleType, free_text_results: dict[str, Any], tmp_path: Path
) -> None:
    report = write_report(free_text_results, tmp_path / "report.html")
    test_order = ["doc-1", "doc-2", "doc-3", "doc-4"]

    with browser_script.open_report(report) as (page, problems):
        assert page.locator(".js-plotly-plot").count() == len(
            json.loads(page.locator("#figure-data").text_content())
        )
        first = page.locator("#examples-table tbody tr").first
        assert first.locator("td[data-rung]:visible").count() == 4  # one rung's answer and its 3 scores
        assert first.locator("td.text:visible").nth(2).text_content() == "Adds two numbers."  # zero-shot's

        page.select_option("#examples-rung", label="few-shot-knn-2")
        assert first.locator("td.text:visible").nth(2).text_content() == "Return the sum of a and b."
        page.select_option("#examples-sort", label="chrF, highest first")
        # few-shot-knn-2's chrF: doc-1 100, doc-3 100, doc-4 43; doc-2's grading failed: always last
        assert shown_ids(page) == ["doc-1", "doc-3", "doc-4", "doc-2"]
        chrf = page.locator('#examples-table th[data-metric="0"]')
        assert chrf.get_attribute("aria-sort") == "descending"
        chrf.locator("button").click()
        assert shown_ids(page) == ["doc-4", "doc-1", "doc-3", "doc-2"]
        assert chrf.get_attribute("aria-sort") == "ascending"
        page.locator('#examples-table th[data-metric="1"] button').click()  # similarity, highest first
        assert shown_ids(page) == ["doc-1", "doc-3", "doc-2", "doc-4"]
        page.select_option("#examples-rung", label="zero-shot")  # re-sorted by zero-shot's similarity
        assert shown_ids(page) == ["doc-3", "doc-2", "doc-4", "doc-1"]
        page.select_option("#examples-sort", label="test order")
        assert shown_ids(page) == test_order

        page.fill("#examples-filter", "ZERODIVISIONERROR")  # in doc-4's reference
        assert shown_ids(page) == ["doc-4"]
        page.fill("#examples-filter", "")
        page.check("#only-disagreements")
        assert shown_ids(page) == test_order  # every rung wrote something else somewhere
        page.uncheck("#only-disagreements")

        failed = page.locator('td[data-rung="1"][data-metric="0"][data-score=""]')
        assert failed.count() == 1 and failed.get_attribute("title") == "grading failed"
        browser_script.screenshot(page, FREE_TEXT_SCREENSHOT)
        assert problems == []
    assert FREE_TEXT_SCREENSHOT.stat().st_size > 50_000


def test_the_report_across_models_tables_charts_and_links_the_model_runs(
    browser_script: ModuleType, tmp_path: Path
) -> None:
    payload = three_models()
    decision = payload["decision"]
    report = write_models_report(payload, tmp_path / "p" / "report.html")

    with browser_script.open_report(report) as (page, problems):
        table = page.locator("#configurations-table tbody tr")
        assert table.count() == len(decision["configurations"])
        chosen = page.locator("#configurations-table tbody tr.chosen")
        assert chosen.count() == 1
        assert chosen.get_attribute("data-rung") == decision["chosen"]["rung"]
        assert page.locator("#configurations-table tr.frontier").count() == len(decision["frontier"])

        assert page.locator(".js-plotly-plot").count() == 2  # the frontier chart and the student's
        traces = page.evaluate("() => document.getElementById('fig-frontier').data.map((t) => t.name)")
        assert FRONTIER_TRACE in traces
        frontier = page.locator("#fig-frontier .scatterlayer .trace")
        assert frontier.count() == len(traces)
        assert page.locator("#unpriced-list li").count() == len(decision["unpriced"])

        links = page.locator("#models-table a.run-link")
        assert links.count() == len(payload["models"])
        for link, model in zip(links.all(), payload["models"], strict=True):
            href = link.get_attribute("href")
            assert href == f"../{model['run_id']}/report.html"
            assert link.evaluate("(a) => a.href") == (tmp_path / model["run_id"] / "report.html").as_uri()

        browser_script.screenshot(page, MODELS_SCREENSHOT)
        assert problems == []
    assert MODELS_SCREENSHOT.stat().st_size > 50_000
