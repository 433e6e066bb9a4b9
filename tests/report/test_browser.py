"""The report of a real run in headless Chromium: every chart renders, nothing errs, nothing is
fetched, the drill-down filters work; leaves a screenshot in test-artifacts/report.png.

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

from adaptlab.report import write_report
from adaptlab.report.examples import drilldown

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "test-artifacts" / "report.png"
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
