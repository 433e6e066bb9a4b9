"""Hand-built model runs of one task for the choice across models, whose costs are easy to
work out, and the parent run ``adaptlab run --model A --model B`` writes over them.

At $3.60 per machine hour a second costs $0.001, so a rung answering 50 examples per second
costs $0.00002 per request ($0.0200 per 1,000) and one answering 10 costs $0.0001 ($0.100); 60 s
of training costs $0.06.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adaptlab.decide import CostSettings
from adaptlab.decide.model_choice import choose_configuration

SMALL, LARGE, HOSTED = "smollm2-135m", "gemma3-270m", "openai:big"
TEACHER = {"model": LARGE, "rung": "few-shot-knn-4"}


def rung(
    name: str,
    kind: str,
    test: float,
    dev: float | None = None,
    *,
    per_s: float = 10.0,
    examples: int | None = None,
    targets: str = "gold",
    teacher: dict[str, str] | None = None,
    dev_interval: bool = True,
) -> dict[str, Any]:
    """A rung scored `test` on 200 test examples (95% CI ±0.05) and `dev` on 80 dev examples
    (±0.10); `examples` makes it trained, for 60 s."""
    result: dict[str, Any] = {
        "rung": name,
        "kind": kind,
        "metrics": {
            "n": 200,
            "metric": "accuracy",
            "metric_display": "accuracy",
            "score": test,
            "score_low": test - 0.05,
            "score_high": test + 0.05,
            "examples_per_s": per_s,
            "prompt_tokens_mean": 100.0,
            "output_tokens_mean": 2.0,
            "latency_p50_s": 0.1,
        },
        "training": None,
    }
    if examples is not None:
        result["training"] = {"examples": examples, "wall_time_s": 60.0, "targets": targets}
        if teacher:
            result["training"]["teacher"] = teacher
    if dev is not None:
        result["selection"] = {"split": "dev", "n": 80, "score": dev}
        if dev_interval:
            result["selection"] |= {"score_low": dev - 0.1, "score_high": dev + 0.1}
    return result


def run(model_id: str, *rungs: dict[str, Any], parameters: int | None = None, backend: str = "local") -> dict:
    return {
        "model": {"model_id": model_id, "backend": backend, "parameters": parameters},
        "rungs": list(rungs),
    }


def small(*extra: dict[str, Any]) -> tuple[str, dict]:
    return SMALL, run(
        SMALL,
        rung("zero-shot", "prompt", 0.50, 0.50, per_s=50),
        rung("lora-64", "tuned", 0.74, 0.72, per_s=50, examples=64),
        *extra,
        parameters=135_000_000,
    )


def large(*extra: dict[str, Any]) -> tuple[str, dict]:
    return LARGE, run(
        LARGE,
        rung("zero-shot", "prompt", 0.60, 0.60),
        rung("few-shot-knn-4", "prompt", 0.75, 0.75),
        *extra,
        parameters=270_000_000,
    )


def hosted(test: float = 0.80) -> tuple[str, dict]:
    return HOSTED, run(HOSTED, rung("few-shot-knn-4", "prompt", test, test), backend="openai")


def student(examples: int = 64, teacher: dict[str, str] = TEACHER) -> dict[str, Any]:
    return rung(
        f"teacher-lora-{examples}",
        "distilled",
        0.73,
        0.71,
        per_s=50,
        examples=examples,
        targets=f"teacher:{teacher['model']}:{teacher['rung']}",
        teacher=teacher,
    )


def settings(**overrides: Any) -> CostSettings:
    return CostSettings(machine_usd_per_hour=3.6, **overrides)


def parent_payload(
    runs: Sequence[tuple[str, dict[str, Any]]], costs: CostSettings, *, teacher: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The parent run's ``results.json`` over `runs`, its model runs ``p-1``, ``p-2`` … beside it."""
    return {
        "schema_version": 6,
        "run_id": "p",
        "command": "run",
        "created_at": "2026-11-30T15:00:00+00:00",
        "adaptlab_version": "0.1.0",
        "config": {"models": [spec for spec, _ in runs], "target": None},
        "task": {"name": "tweets", "metric": {"name": "accuracy", "display": "accuracy"}},
        "models": [
            {"spec": spec, "run_id": f"p-{i}", "directory": f"/runs/p-{i}", "model": results["model"]}
            for i, (spec, results) in enumerate(runs, 1)
        ],
        "teacher": teacher,
        "decision": choose_configuration(runs, costs, None).to_dict(),
    }


TEACHER_BLOCK = {"spec": LARGE, "rung": "few-shot-knn-4", "examples": 64, "unlabeled": 0, "answered": 62}
"""The parent run's ``teacher``: the large model's best prompt answered 62 of 64 train inputs."""


def three_models() -> dict[str, Any]:
    """A parent run over three models, one an unpriced endpoint; the small one tuned on gold
    labels and on the large one's answers at 16 and 64 examples."""
    gold_16 = rung("lora-16", "tuned", 0.60, 0.60, per_s=50, examples=16)
    runs = [small(gold_16, student(16), student(64)), large(), hosted()]
    return parent_payload(runs, settings(), teacher=TEACHER_BLOCK)
