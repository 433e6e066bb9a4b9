"""The report of a run over documents: the knowledge section and the retrieved passages in the
drill-down; and a run from before retrieval, which renders exactly as it did."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from test_report import assert_offline, parse, render

from adaptlab.decide import CostSettings, recommend
from adaptlab.report.examples import drilldown
from knowledge_results import knowledge_run, rag

SETTINGS = CostSettings(machine_usd_per_hour=3.6)


def decided(results: dict[str, Any]) -> dict[str, Any]:
    return {**results, "decision": recommend(results, SETTINGS).to_dict()}


def section(html: str, name: str) -> str:
    return html.split(f'<section id="{name}">')[1].split("</section>")[0]


def example_row(html: str, example_id: str) -> str:
    return html.split(f'<td class="id">{example_id}</td>')[1].split("</tr>")[0]


def test_the_knowledge_section_tabulates_every_rung_by_book_with_seen_and_unseen(tmp_path: Path) -> None:
    results = decided(knowledge_run())
    html = render(results, tmp_path)

    assert "knowledge" in parse(html).sections
    knowledge = section(html, "knowledge")
    for sentence in results["decision"]["knowledge"]["sentences"]:
        assert f"<li>{sentence}</li>" in knowledge
    headings = knowledge.split("</thead>")[0]
    for heading in ("Book", "Seen", "Unseen", "Recall@3", "MRR", "Prompt tokens", "p50"):
        assert f">{heading}</th>" in headings
    rag_row = knowledge.split('<td class="rung">rag-3</td>')[1].split("</tr>")[0]
    cells = [cell.split(">", 1)[1] for cell in rag_row.split("</td>")[:-1]]
    assert cells == [
        "open",
        "<b>85.0%</b>",
        "78.0–92.0%",
        "100.0%",
        "70.0%",
        "90.0%",
        "0.81",
        "440.0",
        "500 ms",
    ]
    assert '<tr class="chosen"><td class="rung">rag-3</td>' in knowledge
    assert '<td class="rung">docs-lora-426</td><td>docs-tuned</td>' in knowledge
    assert "<code>countries.jsonl</code>: 40 documents in 426 passages" in knowledge
    assert 'class="tag tag-gold"' not in knowledge and ".tag-gold {" in html
    assert_offline(html)


def test_the_drilldown_shows_each_examples_passages_once_for_the_rungs_given_them(tmp_path: Path) -> None:
    hybrid = rag("lora-64+rag-3", 100, kind="hybrid", prompt_tokens=440)
    html = render(decided(knowledge_run(hybrid)), tmp_path)

    row = example_row(html, "ex-0007")
    assert row.count('<details class="passages">') == 1
    assert "<summary>3 passages · rag-3, lora-64+rag-3</summary>" in row
    assert (
        '<li class="gold"><span class="rung">country-0007#0</span> <span class="muted">1.000</span>'
        ' <span class="tag tag-gold">gold</span><div>Passage 0 about country 0007.</div></li>'
    ) in row
    assert '<li><span class="rung">country-0007#2</span> <span class="muted">0.800</span><div>' in row
    assert row.count("tag-gold") == 1
    assert "the passages a retrieving rung was asked with" in section(html, "examples")


def test_rungs_given_different_passages_get_one_list_each_and_no_gold_without_a_rank() -> None:
    other = rag("rag-3-few-shot-knn-4", 90, base="few-shot-knn-4")
    for prediction in other["predictions"]:
        prediction["passages"] = prediction["passages"][::-1]
        prediction["gold_rank"] = None

    row = drilldown(knowledge_run(other)).rows[3]

    assert [group.rungs for group in row.retrieved] == [("rag-3",), ("rag-3-few-shot-knn-4",)]
    assert [p.gold for p in row.retrieved[0].passages] == [True, False, False]
    assert not any(p.gold for p in row.retrieved[1].passages)
    assert row.retrieved[1].passages[0].id == "country-0003#2"


def test_a_free_text_drilldown_shows_the_passages_under_the_input(
    free_text_results: dict[str, Any], tmp_path: Path
) -> None:
    results = copy.deepcopy(free_text_results)
    prediction = results["rungs"][0]["predictions"][0]
    prediction["passages"] = [{"id": "py#3", "doc_id": "py", "score": 0.0328, "text": "a <b>sum</b>"}]
    prediction["gold_rank"] = 1

    html = render(results, tmp_path)

    row = example_row(html, "doc-1")
    assert '<td class="text"><div>def add(a, b):\n    return a + b</div><details class="passages">' in row
    assert "<summary>1 passages · zero-shot</summary>" in row
    assert '<span class="muted">0.033</span>' in row and "a &lt;b&gt;sum&lt;/b&gt;" in row
    assert "knowledge" not in parse(html).sections  # its decision predates retrieval


def test_a_run_from_before_retrieval_renders_exactly_as_with_the_new_keys_empty(tmp_path: Path) -> None:
    old = knowledge_run(knowledge=False)
    old["rungs"] = [rung for rung in old["rungs"] if rung["rung"] in ("zero-shot", "lora-64")]
    for rung in old["rungs"]:
        rung.pop("retrieval", None)
    empty = copy.deepcopy(old)
    empty["knowledge"] = None
    for rung in empty["rungs"]:
        rung["retrieval"] = None
        for prediction in rung["predictions"]:
            prediction |= {"passages": None, "retrieval_s": None, "gold_rank": None}

    before = render(decided(old), tmp_path, "old.html")
    after = render(decided(empty), tmp_path, "empty.html")

    assert before == after
    assert "knowledge" not in parse(before).sections
    assert "passages" not in before and "Knowledge:" not in before
    assert "knowledge" not in decided(old)["decision"]
