"""Rebuilding a rung from a finished run: the same answers as recorded, and clear refusals when
the run cannot be served faithfully (unknown rung, weights gone, task changed, API model)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from served_runs import CALIBRATED, HYBRID, TUNED, TinyRun

from adaptlab.errors import UsageError
from adaptlab.serve.app import create_app
from adaptlab.serve.rung import load_served_rung
from sample_tasks import write_sentiment_task


def recorded_answer(prediction: dict[str, Any]) -> str:
    """What the task model must answer: the parsed answer, or the raw output when none parsed."""
    return prediction["parsed"] if prediction["parsed"] is not None else prediction["output"]


def copied_run(tiny_run: TinyRun, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the runs folder (adapters included) and its run's results.json, to damage."""
    runs = tmp_path / "runs"
    shutil.copytree(tiny_run.runs, runs)
    return runs, runs / tiny_run.run_id / "results.json"


def edit(path: Path, change: Any) -> None:
    results = json.loads(path.read_text())
    change(results)
    path.write_text(json.dumps(results))


@pytest.mark.parametrize("rung", [TUNED, HYBRID, CALIBRATED])
def test_a_served_rung_answers_every_test_input_as_the_run_recorded(tiny_run: TinyRun, rung: str) -> None:
    served = load_served_rung(tiny_run.run_id, tiny_run.runs, rung)
    assert served.task_model_id == f"tweets/{rung}"
    assert served.plain_model_id == "tiny-model0+lora-4"
    assert served.backend.adapter is not None
    predictions = tiny_run.rung(rung)["predictions"]
    assert len({recorded_answer(p) for p in predictions}) > 1 or rung != TUNED  # answers differ by input
    with TestClient(create_app(served)) as client:
        for prediction in predictions:
            request = {
                "model": served.task_model_id,
                "messages": [{"role": "user", "content": prediction["input"]}],
            }
            body = client.post("/v1/chat/completions", json=request).json()
            assert body["choices"][0]["message"]["content"] == recorded_answer(prediction)
            assert body["usage"]["prompt_tokens"] == prediction["prompt_tokens"]
            assert body["usage"]["completion_tokens"] == prediction["output_tokens"]


def test_the_default_rung_is_the_recommended_one_and_prompt_rungs_use_the_base(tiny_run: TinyRun) -> None:
    recommended = tiny_run.results["decision"]["rung"]
    served = load_served_rung(str(tiny_run.runs / tiny_run.run_id), Path("elsewhere"))
    assert served.rung == recommended
    base = load_served_rung(tiny_run.run_id, tiny_run.runs, "zero-shot")
    assert base.backend.adapter is None
    assert base.plain_model_id == "tiny-model0"
    assert base.request.max_new_tokens == tiny_run.rung("zero-shot")["strategy"]["max_new_tokens"]
    assert base.sample_input == tiny_run.rung("zero-shot")["predictions"][0]["input"]


def test_unknown_runs_and_rungs_are_refused_with_the_choices(tiny_run: TinyRun, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match='no run "nope"'):
        load_served_rung("nope", tiny_run.runs)
    with pytest.raises(UsageError, match=re.escape(f"its rungs: zero-shot, {TUNED}, {HYBRID}, {CALIBRATED}")):
        load_served_rung(tiny_run.run_id, tiny_run.runs, "lora-800")


def test_a_rung_whose_weights_are_gone_is_refused(tiny_run: TinyRun, tmp_path: Path) -> None:
    runs, results = copied_run(tiny_run, tmp_path)
    shutil.rmtree(runs / "adapters")

    def point_into_the_copy(payload: dict[str, Any]) -> None:
        for rung in payload["rungs"]:
            if rung.get("training"):
                rung["training"]["weights"] = str(runs / "adapters" / rung["training"]["key"])

    edit(results, point_into_the_copy)
    with pytest.raises(UsageError, match=r"weights of rung .* are gone"):
        load_served_rung(tiny_run.run_id, runs, TUNED)
    load_served_rung(tiny_run.run_id, runs, "zero-shot")  # a prompt rung needs no trained weights


def test_a_changed_task_or_another_model_is_refused(tiny_run: TinyRun, tmp_path: Path) -> None:
    runs, results = copied_run(tiny_run, tmp_path)
    other_task = write_sentiment_task(tmp_path / "other.jsonl", repeat=4)
    edit(results, lambda payload: payload["config"].update(task=str(other_task)))
    with pytest.raises(UsageError, match="has changed since run"):
        load_served_rung(tiny_run.run_id, runs, TUNED)

    runs, results = copied_run(tiny_run, tmp_path / "second")
    edit(results, lambda payload: payload["rungs"][1]["model"].update(fingerprint="0" * 12))
    with pytest.raises(UsageError, match="weights have changed"):
        load_served_rung(tiny_run.run_id, runs, TUNED)

    runs, results = copied_run(tiny_run, tmp_path / "third")
    edit(results, lambda payload: payload["rungs"][1]["strategy"].update(example_prompt="something else"))
    with pytest.raises(UsageError, match="cannot be rebuilt faithfully"):
        load_served_rung(tiny_run.run_id, runs, "lora-4")


def test_a_run_of_a_model_behind_an_api_has_nothing_to_serve(tiny_run: TinyRun, tmp_path: Path) -> None:
    runs, results = copied_run(tiny_run, tmp_path)

    def hosted(payload: dict[str, Any]) -> None:
        payload["config"]["model"] = "openai:gpt-4o-mini"
        payload["model"]["backend"] = "openai"

    edit(results, hosted)
    with pytest.raises(UsageError, match="behind an API"):
        load_served_rung(tiny_run.run_id, runs)


def test_a_run_whose_config_is_broken_is_refused(tiny_run: TinyRun, tmp_path: Path) -> None:
    runs, results = copied_run(tiny_run, tmp_path)
    edit(results, lambda payload: payload["config"].update(fractions="most of it"))
    with pytest.raises(UsageError, match="its config is not valid"):
        load_served_rung(tiny_run.run_id, runs)
