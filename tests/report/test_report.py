"""The HTML report of real runs: what it shows, what it hides, and that it is safe offline."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from markupsafe import escape
from sample_decision import decision_for

from adaptlab.decide import CostSettings, recommend
from adaptlab.report import write_comparison, write_report
from adaptlab.report.summary import Metric


class Resources(HTMLParser):
    """Collects every URL-valued attribute and each <section> id of a page."""

    URL_ATTRIBUTES = ("src", "href", "action", "formaction", "poster", "data", "srcset", "xlink:href")

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.sections: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value or "" for name, value in attrs if name in self.URL_ATTRIBUTES]
        if tag == "section":
            self.sections += [value or "" for name, value in attrs if name == "id"]


def parse(html: str) -> Resources:
    resources = Resources()
    resources.feed(html)
    return resources


def render(results: dict[str, Any], tmp_path: Path, name: str = "report.html") -> str:
    path = write_report(results, tmp_path / name)
    assert path == tmp_path / name
    return path.read_text(encoding="utf-8")


def figure_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="figure-data">(.*?)</script>', html, re.S)
    assert match is not None
    return json.loads(match.group(1))


def assert_offline(html: str) -> None:
    """No attribute loads or links anything over the network, and no CSS import does."""
    resources = parse(html)
    remote = [url for url in resources.urls if re.match(r"\s*(https?:)?//", url, re.I)]
    assert remote == []
    assert not re.search(
        r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?\s*(https?:)?//", html, re.I
    )
    assert "@import" not in html
    assert not re.search(r"url\(\s*[\"']?\s*(https?:)?//", html, re.I)


def without_decision(results: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in results.items() if key != "decision"}


def test_an_eval_run_without_a_decision_reports_its_rungs_and_no_recommendation(
    eval_results: dict[str, Any], tmp_path: Path
) -> None:
    html = render(without_decision(eval_results), tmp_path)
    sections = parse(html).sections
    assert sections[0] == "recommendation" and "No recommendation in this run" in html
    assert {"scores", "cost", "latency", "metrics", "examples", "run"} <= set(sections)
    assert not {"learning-curve", "break-even", "factors", "plateau", "skipped"} & set(sections)
    for rung in eval_results["rungs"]:
        assert f'<td class="rung">{rung["rung"]}</td>' in html
    assert set(figure_data(html)) == {
        "fig-scores",
        "fig-cost",
        "fig-latency",
        "fig-tokens",
        "fig-robustness",
    }
    robustness = eval_results["rungs"][0]["robustness"]
    assert "robustness" in sections and 'id="robustness-table"' in html
    for family in robustness["injection"]["by_family"]:
        assert f'<th class="n">{family}</th>' in html
    assert "compute seconds per 1,000 requests" in html  # no decision: nothing priced in dollars
    assert eval_results["run_id"] in html and eval_results["adaptlab_version"] in html
    assert_offline(html)


def test_a_rung_measured_under_several_demo_draws_shows_their_range_beside_its_score(
    eval_results: dict[str, Any], ladder_results: dict[str, Any], tmp_path: Path
) -> None:
    results = copy.deepcopy(without_decision(eval_results))
    few_shot = results["rungs"][1]
    assert few_shot["rung"] == "few-shot-random-2" and few_shot["draws"]["seeds"] == [0, 1, 2]  # the default
    few_shot["draws"]["scores"] = [few_shot["metrics"]["score"], 0.5, 1.0]
    floor = min(few_shot["draws"]["scores"])
    html = render(results, tmp_path)
    assert '<th class="n">95% CI</th><th class="n">Demo draws</th>' in html
    assert f'{floor * 100:.1f}–100.0%</span> <span class="muted">3 draws</span>' in html
    assert "a difference between rungs smaller than this spread is treated as noise" in html

    decided = copy.deepcopy(ladder_results)
    spread = {"rung": "few-shot-random-2", "spread": 0.5, "draws": 3}
    decided["decision"]["tuning_gain"] |= {"gain": 0.1, "draw_spread": spread}
    html = render(decided, tmp_path, "decided.html")
    assert (
        'smaller than the 50.0 pp spread of <span class="rung">few-shot-random-2</span> across 3 demo draws,'
        " so" in html
    )


def test_a_tune_run_draws_its_learning_curve_against_the_base_prompt(
    tune_results: dict[str, Any], tmp_path: Path
) -> None:
    html = render(without_decision(tune_results), tmp_path)
    assert "learning-curve" in parse(html).sections
    curve = figure_data(html)["fig-learning-curve"]
    assert curve["data"][0]["x"] == [4, 8]
    assert [shape["type"] for shape in curve["layout"]["shapes"]].count("rect") == 1  # the prompt's CI band
    assert "best prompt: zero-shot" in json.dumps(curve["layout"]["annotations"])
    assert "lora-8" in html and "Forgetting agreement" in html
    assert_offline(html)


def test_a_decided_run_shows_headline_reasons_factors_and_every_chart(
    ladder_results: dict[str, Any], tmp_path: Path
) -> None:
    html = render(ladder_results, tmp_path)
    decision = ladder_results["decision"]
    assert escape(decision["headline"]) in html
    for reason in decision["reasons"]:
        assert escape(reason) in html
    for factor in decision["factors"]:
        assert f'<th scope="row">{escape(factor["factor"])}</th>' in html
    assert parse(html).sections == [
        "recommendation",
        "scores",
        "learning-curve",
        "cost",
        "latency",
        "break-even",
        "factors",
        "plateau",
        "robustness",
        "metrics",
        "examples",
        "skipped",
        "run",
    ]
    for rung in ladder_results["rungs"]:
        assert f'<td class="rung">{rung["rung"]}</td>' in html
    assert len(figure_data(html)) == 7
    assert "USD per 1,000 requests" in html
    assert "Prompting has plateaued." in html
    assert "the dev split has 3 examples" in html and '<th scope="row">minutes</th>' in html
    assert_offline(html)


def test_the_decision_adaptlab_makes_renders_with_every_part(
    ladder_results: dict[str, Any], tmp_path: Path
) -> None:
    decision = recommend(without_decision(ladder_results), CostSettings()).to_dict()
    html = render({**ladder_results, "decision": decision}, tmp_path)
    assert escape(decision["headline"]) in html
    for factor in decision["factors"]:
        assert f'<th scope="row">{escape(factor["factor"])}</th>' in html
    shown = set(parse(html).sections)
    assert {"recommendation", "learning-curve", "break-even", "factors", "plateau"} <= shown
    assert "USD per 1,000 requests" in html


def test_user_text_is_escaped_everywhere(eval_results: dict[str, Any], tmp_path: Path) -> None:
    results = copy.deepcopy(eval_results)
    attack = '<script>alert("owned")</script>'
    results["rungs"][0]["predictions"][0]["input"] = attack
    results["rungs"][0]["predictions"][0]["output"] = '" onmouseover="alert(1)'
    results["rungs"][0]["rung"] = "<img src=x onerror=alert(1)>"
    results["task"]["name"] = attack
    results["decision"] = {"headline": attack, "reasons": [attack], "factors": []}
    html = render(results, tmp_path)
    assert attack not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html
    assert 'title="&#34; onmouseover=&#34;alert(1)"' in html
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" not in html  # figures get it HTML-escaped too
    assert "&amp;lt;img" not in html  # ... but only once in the page's own text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_sections_without_data_are_left_out(tmp_path: Path) -> None:
    html = render({"run_id": "r1", "rungs": []}, tmp_path)
    assert parse(html).sections == ["run"]
    assert figure_data(html) == {}
    assert len(html) < 100_000  # no charts, so no plotly.js either
    bare = {
        "decision": None,
        "baseline": None,
        "rungs": [{"rung": "zero-shot", "training": None, "metrics": {"score": 0.5}, "predictions": []}],
    }
    assert parse(render(bare, tmp_path)).sections == ["recommendation", "scores", "metrics", "run"]


def test_the_model_section_says_which_request_parameters_an_endpoint_refused(tmp_path: Path) -> None:
    refusal = "HTTP 400 for temperature: Unsupported value: 'temperature' does not support 0 <b>"
    model = {
        "model_id": "openai:o3-mini",
        "decoding": "sampled at the server's default temperature (the server refused temperature 0)",
        "request_parameters": {
            "max_tokens_field": "max_completion_tokens",
            "omitted": ["temperature"],
            "learned_from": ["HTTP 400 for max_tokens: Unsupported parameter", refusal],
        },
        "reasoning_tokens": 1234,
        "cut_short_by_reasoning": 2,
    }
    text = " ".join(render({"run_id": "r1", "rungs": [], "model": model}, tmp_path).split())
    assert (
        "The server refused some request parameters, so adaptlab asked it differently: the token budget"
        " went out as <code>max_completion_tokens</code>; left out: <code>temperature</code>; decoding:"
        " sampled at the server&#39;s default temperature (the server refused temperature 0)."
    ) in text
    assert "does not support 0 &lt;b&gt;" in text
    assert "2 answers came back empty: the token budget ran out while the model was still reasoning" in text

    model["request_parameters"] = {"max_tokens_field": "max_tokens", "omitted": [], "learned_from": []}
    model["cut_short_by_reasoning"] = 0
    text = render({"run_id": "r1", "rungs": [], "model": model}, tmp_path)
    assert "refused some request parameters" not in text and "came back empty" not in text


def test_the_report_replaces_an_existing_file_and_leaves_no_temporary_file(
    eval_results: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "report.html").write_text("old")
    render(eval_results, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_comparison_matches_rungs_by_name_and_lists_the_rest(
    eval_results: dict[str, Any], tune_results: dict[str, Any], tmp_path: Path
) -> None:
    decided = {**tune_results, "decision": decision_for(tune_results)}
    path = write_comparison(without_decision(eval_results), decided, tmp_path / "comparison.html")
    html = path.read_text(encoding="utf-8")
    assert parse(html).sections == ["runs", "side-by-side", "unmatched"]
    pairs = html.split('id="pairs-table"')[1].split("</table>")[0]
    assert re.findall(r'<td class="rung">(.*?)</td>', pairs) == ["zero-shot"]
    unmatched = html.split('id="unmatched-table"')[1].split("</table>")[0]
    for name in ("few-shot-random-2", "label-scoring", "lora-4", "lora-8"):
        assert f'<div class="rung">{name}</div>' in unmatched
    assert eval_results["run_id"] in html and tune_results["run_id"] in html
    assert "none (an <code>adaptlab eval</code> run)" in html
    assert escape(decided["decision"]["headline"]) in html
    assert list(figure_data(html)) == ["fig-side-by-side"]
    assert_offline(html)


def page_text(html: str) -> str:
    """The page as a reader sees it: no scripts, no styles, no tags."""
    visible = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", visible)


def test_a_free_text_run_is_reported_in_its_metric(free_text_results: dict[str, Any], tmp_path: Path) -> None:
    html = render(free_text_results, tmp_path)
    chrf = Metric("chrf", "chrF")
    decision = free_text_results["decision"]
    best = decision["best_prompt"]
    assert parse(html).sections[:2] == ["recommendation", "scores"]
    assert '<a href="#scores">Scores</a>' in html and '<a href="#cost">chrF vs cost</a>' in html
    assert f'<div class="v">{chrf.text(best["score"])}</div>' in html  # "Best prompt · chrF …"
    assert chrf.interval(best["score_low"], best["score_high"]) in html
    assert (
        '<div class="k">Baseline</div><div class="v">chrF 12.0</div><div class="s">copying the input</div>'
        in html
    )
    assert '<th class="n">chrF</th><th class="n">95% CI</th>' in html and "Macro-F1" not in html
    assert f"reached {chrf.text(decision['data_needed']['score'])} with" in html
    plots = figure_data(html)
    assert plots["fig-scores"]["layout"]["xaxis"]["title"]["text"] == "chrF on the test split (95% CI)"
    assert plots["fig-learning-curve"]["layout"]["yaxis"]["title"]["text"] == "chrF (95% CI)"
    assert "accuracy" not in json.dumps(plots).lower()
    assert not re.search(r"accura", page_text(html), re.I)  # no "accuracy" or "most accurate" anywhere
    assert " pp" not in page_text(html)  # gains in chrF points, not percentage points
    assert_offline(html)


def test_a_free_text_run_tabulates_every_metric_with_its_interval(
    free_text_results: dict[str, Any], tmp_path: Path
) -> None:
    html = render(free_text_results, tmp_path)
    table = html.split('id="scores-table"')[1].split("</table>")[0]
    headings = re.findall(r'<th class="n">(.*?)</th>', table)
    assert headings == ['chrF <span class="muted">(primary)</span>', "Similarity", "Exact match"]
    few_shot = next(r for r in free_text_results["rungs"] if r["rung"] == "few-shot-knn-2")
    row = table.split('<td class="rung">few-shot-knn-2</td>')[1].split("</tr>")[0]
    similarity = few_shot["metrics"]["by_metric"]["similarity"]
    assert f"{similarity['mean'] * 100:.1f}" in row
    assert f"{similarity['low'] * 100:.1f}–{similarity['high'] * 100:.1f}" in row
    assert row.count("1 ungraded") == 2  # chrF on doc-2 and similarity on doc-4 failed


def test_a_free_text_drilldown_shows_each_answer_beside_its_reference_and_its_scores(
    free_text_results: dict[str, Any], tmp_path: Path
) -> None:
    html = render(free_text_results, tmp_path)
    examples = html.split('id="examples-table"')[1].split("</table>")[0]
    header = examples.split("</thead>")[0]
    assert re.findall(r"<th>(.*?)</th>", header) == ["Id", "Input", "Reference", "Answer"]
    assert re.findall(r'<button type="button" class="sort"[^>]*>(.*?)</button>', header) == [
        "chrF",
        "Similarity",
        "Exact match",
    ]
    row = examples.split('<td class="id">doc-2</td>')[1].split("</tr>")[0]
    reference = "Read the file at path and return its text.\n\nThe file is closed before returning."
    assert f'<td class="text"><div>{reference}</div></td>' in row  # multi-line text kept as written
    assert (
        '<td class="text" data-rung="1" hidden><div>Read the file at path.\n\nReturns its text.</div></td>'
        in row
    )
    failed = 'data-rung="1" data-metric="0" data-score="" hidden title="grading failed">—</td>'
    assert f'<td class="n primary" {failed}' in row  # a failed grading is a dash, never 0
    assert '<td class="n" data-rung="1" data-metric="1" data-score="0.9" hidden>90.0</td>' in row
    assert '<td class="n primary" data-rung="0" data-metric="0" data-score="0.18">18.0</td>' in row
    assert '<option value="0:desc">chrF, highest first</option>' in html
    assert re.findall(r'<option value="(\d+)">(.*?)</option>', html) == [
        ("0", "zero-shot"),
        ("1", "few-shot-knn-2"),
        ("2", "lora-4"),
        ("3", "lora-8"),
    ]


def test_a_classification_drilldown_keeps_labels_and_no_score_sorting(
    ladder_results: dict[str, Any], tmp_path: Path
) -> None:
    html = render(ladder_results, tmp_path)
    assert 'id="examples-sort"' not in html and 'id="examples-rung"' not in html
    assert "<th>Gold</th>" in html and 'id="scores-table"' not in html
    assert '<div class="k">Majority baseline</div>' in html and '<th class="n">Accuracy</th>' in html
    assert '<a href="#scores">Accuracy</a>' in html and '<a href="#cost">Accuracy vs cost</a>' in html


def test_two_free_text_runs_compare_in_their_metric(
    free_text_results: dict[str, Any], tmp_path: Path
) -> None:
    after = copy.deepcopy(free_text_results)
    zero_shot = after["rungs"][0]
    for prediction in zero_shot["predictions"]:
        prediction["score"] = 1.0 if prediction["score"] is None else min(1.0, prediction["score"] + 0.1)
    html = write_comparison(free_text_results, after, tmp_path / "comparison.html").read_text(
        encoding="utf-8"
    )
    pairs = html.split('id="pairs-table"')[1].split("</table>")[0]
    assert '<th class="n">A chrF</th>' in pairs and '<th class="n">B chrF</th>' in pairs
    row = pairs.split('<td class="rung">zero-shot</td>')[1].split("</tr>")[0]
    assert "<b>+10.0</b>" in row and " pp" not in pairs  # paired over the 4 examples, in chrF points
    assert '<th scope="row">Best-scoring rung</th>' in html and "accura" not in page_text(html).lower()
    assert figure_data(html)["fig-side-by-side"]["layout"]["xaxis"]["title"]["text"] == (
        "chrF on the test split (95% CI)"
    )
