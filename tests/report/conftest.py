"""Real results of small runs of the tiny model, made once per session, and a decision block;
and a free-text run written by hand (see sample_free_text.py).

The eval run answers a stratified 4 of the 9 test examples and the tune run 8, so the merged
results have examples every rung answered and examples only the tuned rungs answered: the
drill-down then has rows where rungs disagree (label scoring always names a label, the tiny
random model never generates one) and rows where they agree.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sample_decision import decision_for
from sample_free_text import free_text_results as build_free_text_results

from adaptlab.configs import EvalConfig, TuneRunConfig
from adaptlab.learning_curve import run_tune
from adaptlab.runs import run_eval
from sample_tasks import write_sentiment_task


@pytest.fixture(scope="session")
def report_runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report-runs")


@pytest.fixture(scope="session")
def report_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sentiment_task(tmp_path_factory.mktemp("report-task") / "tweets.jsonl", repeat=3)


@pytest.fixture(scope="session")
def eval_results(report_task: Path, tiny_model_dir: Path, report_runs_dir: Path) -> dict[str, Any]:
    config = EvalConfig(
        task=str(report_task),
        model=str(tiny_model_dir),
        strategies=["zero-shot", "few-shot-random-2", "label-scoring"],
        limit=4,
        consistency_sample=2,
        max_new_tokens=3,
    )
    outcome = run_eval(config, out_dir=report_runs_dir)
    return json.loads((outcome.directory / "results.json").read_text())


@pytest.fixture(scope="session")
def tune_results(report_task: Path, tiny_model_dir: Path, report_runs_dir: Path) -> dict[str, Any]:
    config = TuneRunConfig(
        task=str(report_task),
        model=str(tiny_model_dir),
        sizes=[4, 8],
        epochs=1,
        limit=8,
        train_batch_size=4,
        consistency_sample=0,
        forgetting=False,  # the general-ability probe doubles the run's time; tests/tuning covers it
        max_new_tokens=3,
    )
    outcome = run_tune(config, out_dir=report_runs_dir)
    return json.loads((outcome.directory / "results.json").read_text())


@pytest.fixture(scope="session")
def ladder_results(eval_results: dict[str, Any], tune_results: dict[str, Any]) -> dict[str, Any]:
    """What `adaptlab run` would write: the eval run's prompt rungs, the tune run's tuned rungs,
    a decision over them, a skipped phase and the budget."""
    merged = copy.deepcopy(eval_results)
    names = {rung["rung"] for rung in merged["rungs"]}
    merged["rungs"] += [copy.deepcopy(r) for r in tune_results["rungs"] if r["rung"] not in names]
    merged["command"] = "run"
    merged["decision"] = decision_for(merged)
    merged["skipped"] = [
        {"rung": "search", "reason": "the dev split has 3 examples; prompt search needs at least 20"},
        {"phase": "hybrid", "reason": "the time budget was spent"},
    ]
    merged["budget"] = {
        "limits": {"minutes": 10.0, "tokens": None, "usd": None},
        "spent": {"minutes": 0.8, "tokens": 5210, "usd": 0.016},
    }
    return merged


@pytest.fixture
def free_text_results() -> dict[str, Any]:
    """A decided free-text run scored by chrF, with similarity and exact match reported."""
    return build_free_text_results()
