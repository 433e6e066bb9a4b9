"""The report of a run over a corpus in headless Chromium (issue 18): the tiny end-to-end run
of test_knowledge_run.py, then its knowledge section on screen and an example of the drill-down
opened to the passages its question was asked with, the gold one marked; nothing errs, nothing
is fetched (screenshot: test-artifacts/report-knowledge.png)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_script import REPO, report_script
from typer.testing import CliRunner

from adaptlab.cli import app
from knowledge_task import fake_sentence_embedder, run_args, write_knowledge_task

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_the_knowledge_report_shows_the_section_and_each_example_s_passages(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = report_script()  # skips before the run where there is no Chromium
    fake_sentence_embedder(monkeypatch)
    spec, corpus = write_knowledge_task(tmp_path / "task")
    result = runner.invoke(app, run_args(spec, corpus, tiny_model_dir, tmp_path / "runs"))
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.name[0].isdigit()]
    rungs = {r["rung"]: r for r in json.loads((run_dir / "results.json").read_text())["rungs"]}
    # an example whose gold passage came second: the mark is not simply on the first passage
    asked = next(p for p in rungs["rag-2"]["predictions"] if p["gold_rank"] == 2)
    gold = asked["passages"][1]

    with script.open_report(run_dir / "report.html") as (page, problems):
        knowledge = page.locator("section#knowledge")
        knowledge.scroll_into_view_if_needed()
        assert knowledge.is_visible()
        table = knowledge.locator("#knowledge-table")
        assert table.is_visible()
        assert table.locator("td.rung").all_text_contents() == list(rungs)

        row = page.locator("#examples-table tbody tr").filter(
            has=page.locator("td.id", has_text=asked["example_id"])
        )
        details = row.locator("details.passages")
        assert details.count() == 1
        items = details.locator("li")
        assert not items.first.is_visible()  # closed until asked for
        details.locator("summary").click()
        assert items.count() == 2 and items.first.is_visible()
        assert [items.nth(i).locator("div").text_content() for i in range(2)] == [
            p["text"] for p in asked["passages"]
        ]
        marked = details.locator("li.gold")
        assert marked.count() == 1 and marked.locator(".tag-gold").is_visible()
        assert marked.locator("div").text_content() == gold["text"]
        script.screenshot(page, REPO / "test-artifacts" / "report-knowledge.png")
        assert problems == []
