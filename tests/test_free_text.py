"""Free-text tasks end to end through the CLI: a tiny model climbs the ladder (prompt rungs, one
tuned size, the hybrid) on a summary-like task scored by chrF with a declared format, and the
results, the decision and the report speak chrF, per example and with intervals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sacrebleu
import yaml
from typer.testing import CliRunner

from adaptlab.cli import app

runner = CliRunner()
SUMMARIES = [
    ("def add(a, b): return a + b", "Return the sum of a and b."),
    ("def mul(a, b): return a * b", "Return the product of a and b."),
    ("def neg(x): return -x", "Return x negated."),
    ("def first(xs): return xs[0]", "Return the first item of xs."),
    ("def last(xs): return xs[-1]", "Return the last item of xs."),
    ("def size(xs): return len(xs)", "Return how many items xs holds."),
    ("def half(x): return x / 2", "Return half of x."),
    ("def square(x): return x * x", "Return x squared."),
    ("def is_empty(xs): return not xs", "Tell whether xs is empty."),
    ("def upper(s): return s.upper()", "Return s in capital letters."),
]


@pytest.fixture()
def spec(tmp_path: Path) -> Path:
    rows = [
        {"id": f"f{i}-{j}", "input": f"{code}  # v{j}", "output": summary}
        for j in range(3)
        for i, (code, summary) in enumerate(SUMMARIES)
    ]
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    path = tmp_path / "docs.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "docs",
                "instruction": "Summarise the function in one sentence.",
                "data": "docs.jsonl",
                "metric": "chrf",
                "metrics": ["rouge-l", "exact"],
                "format": {"regex": r"^[A-Z][^\n]*\.$"},
            }
        )
    )
    return path


def test_the_ladder_on_a_free_text_task_speaks_chrf(spec: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    # The best prompt rung is then a few-shot one, so the hybrid asks the tuned weights with it.
    args = ["run", str(spec), "--model", str(tiny_model_dir), "-s", "few-shot-random-2,label-scoring"]
    args += ["--sizes", "6", "--epochs", "1", "--consistency-sample", "0", "--robustness-sample", "0"]
    args += ["--no-distill", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "skipping label-scoring: label-scoring needs a closed label set" in flat
    assert "chrF (95% CI)" in flat and "Every metric (0-100)" in flat

    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and p.name[0].isdigit()]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["schema_version"] == 6
    assert results["task"]["metric"] == {"name": "chrf", "display": "chrF"}
    assert [m["name"] for m in results["task"]["metrics"]] == ["rouge-l", "exact"]
    assert results["task"]["format"] == {"regex": r"^[A-Z][^\n]*\.$"}
    assert results["baseline"]["kind"] in ("most-common-output", "copy-input")
    rungs = {rung["rung"]: rung for rung in results["rungs"]}
    assert set(rungs) == {"few-shot-random-2", "lora-6", "lora-6+few-shot-random-2"}
    assert "label-scoring" not in rungs
    assert any(entry.get("rung") == "label-scoring" for entry in results["skipped"])
    for rung in rungs.values():
        metrics = rung["metrics"]
        assert (metrics["metric"], metrics["metric_display"]) == ("chrf", "chrF")
        assert 0.0 <= metrics["score_low"] <= metrics["score"] <= metrics["score_high"] <= 1.0
        assert set(metrics["by_metric"]) == {"chrf", "rouge-l", "exact"}
        for prediction in rung["predictions"]:
            expected = sacrebleu.sentence_chrf(prediction["parsed"] or "", [prediction["gold"]]).score / 100
            if prediction["parsed"] is None:
                expected = 0.0
            assert prediction["score"] == pytest.approx(min(expected, 1.0))
            assert set(prediction["metric_scores"]) == {"chrf", "rouge-l", "exact"}
        # Format compliance is the declared pattern's share, not "a non-empty answer".
        shares = [bool(re.search(r"^[A-Z][^\n]*\.$", p["output"], re.DOTALL)) for p in rung["predictions"]]
        assert metrics["format_compliance"] == pytest.approx(sum(shares) / len(shares))

    decision = results["decision"]
    assert "chrF" in decision["headline"] + " ".join(decision["reasons"])
    assert "accura" not in decision["headline"]
    assert set(decision["best_prompt"]) == {
        "rung",
        "score",
        "score_low",
        "score_high",
        "selection_score",
        "selection_n",
    }
    # Chosen on dev, in chrF too.
    assert decision["best_prompt"]["selection_score"] == rungs["few-shot-random-2"]["selection"]["score"]
    assert "on dev" in decision["selection"] and "chrF" in decision["selection"]

    report = (run_dir / "report.html").read_text()
    assert "chrF" in report and "Reference" in report
    first = rungs["lora-6"]["predictions"][0]
    assert json.dumps(first["gold"])[1:-1] in report or first["gold"] in report


def test_a_judge_grades_a_run_once_and_the_run_records_it(spec: Path, tmp_path: Path) -> None:
    """The judge's gradings are kept in the run store: the same evaluation again asks it nothing."""
    from adaptlab.configs import EvalConfig
    from adaptlab.runs import run_eval
    from fake_openai_server import FakeOpenAIServer, serve

    from fakes import ScriptedBackend

    def answers(*args: object, **kwargs: object) -> ScriptedBackend:
        return ScriptedBackend(lambda text: "Return something.")

    grades = {code: "Grade: 4" for code, _ in SUMMARIES}  # the rubric quotes each example's input
    with serve(FakeOpenAIServer(grades, logprobs="omit")) as server:
        config = EvalConfig(
            task=str(spec),
            metric="judge",
            metrics=["chrf"],
            judge_model="openai:grader",
            judge_base_url=server.base_url,
            limit=6,
            consistency_sample=0,
            robustness_sample=0,
        )
        first = run_eval(config, out_dir=tmp_path / "runs", backend_factory=answers)
        asked = len(server.asked)
        assert asked >= 6
        again = run_eval(config, out_dir=tmp_path / "runs", backend_factory=answers)
        assert len(server.asked) == asked, "every grading came back from the run store"
    for outcome in (first, again):
        (rung,) = outcome.results
        assert [p.score for p in rung.predictions] == [0.75] * 6, "grade 4 of 1-5 is 0.75"
        assert rung.metrics.metric == "judge" and rung.metrics.score == 0.75
    payload = json.loads((again.directory / "results.json").read_text())
    judge = next(s for s in payload["scoring"]["scorers"] if s["name"] == "judge")
    assert judge["model"] == "openai:grader" and judge["usage"]["reused_from_cache"] == 6
    assert "{answer}" in judge["rubric"] and "{reference}" in judge["rubric"], "the rubric as written"
    assert payload["baseline"] is None, "no floor is asked of a judge"
