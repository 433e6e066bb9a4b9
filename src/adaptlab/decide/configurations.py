"""Every (model × rung) that several runs of one task measured, as a configuration one could
serve: its scores, what a request costs, and what has to be paid once before the first request.

The one-off cost is training (measured time × machine $/h) plus the answers it learned from:
gold labels at ``labelling_usd_per_example`` each, or — for a student tuned on another model's
answers (``training.teacher``) — that teacher configuration's price per request for each
training example, found in the teacher model's own run. A teacher without a price leaves the
student's one-off cost unknown, and the configuration says why, rather than counting it as free.
A context-distilled rung (``distill-lora-N``: the same model's long prompt, no other model)
costs what `rung_cost` says, as in a single run.

>>> configs = configurations([("tiny", {"model": {"model_id": "tiny", "backend": "local"},
...     "rungs": [{"rung": "zero-shot", "metrics": {"score": 0.5, "examples_per_s": 10.0}}]})],
...     CostSettings(machine_usd_per_hour=3.6))
>>> configs[0].label, round(configs[0].usd_per_1k_requests, 6), configs[0].upfront_usd
('tiny zero-shot', 0.1, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from adaptlab.decide.costs import CostSettings, RungCost, rung_cost
from adaptlab.decide.rungs import (
    measured,
    metric,
    metric_of,
    number,
    rung_kind,
    score,
    selection_n,
    selection_score,
    training_examples,
)
from adaptlab.decide.wording import score_text, usd

KIND_ORDER = ("prompt", "tuned", "hybrid", "distilled")
"""From the simplest to serve and maintain to the most involved: a prompt needs no weights of its
own, tuned weights need training data, a hybrid needs a prompt on top, a student a teacher."""


@dataclass(frozen=True, eq=False)
class Configuration:
    """One rung of one model's run, as a candidate to serve; equal only to itself (the decision
    keeps sets of configurations, and two runs may measure rungs of the same name)."""

    spec: str
    """The model as the user named it (``smollm2-135m``, ``openai:gpt-4o-mini``)."""
    model: dict[str, Any]
    """The run's ``model`` block: ``model_id``, ``backend``, ``parameters`` …"""
    rung: dict[str, Any]
    """The rung dict of that run's ``results.json``."""
    cost: RungCost
    teacher: tuple[str, str] | None
    """(model spec, rung) whose answers a student was trained on; None for any other rung."""
    teacher_usd: float | None
    """What the teacher's answers cost (per request × training examples, plus the teacher's own
    one-off cost); None when there is no teacher or it cannot be priced."""
    upfront_unknown: str
    """Why the one-off cost is unknown; empty when it is known."""

    @property
    def name(self) -> str:
        return str(self.rung["rung"])

    @property
    def label(self) -> str:
        """``smollm2-135m lora-64``: how sentences and tables name the configuration."""
        return f"{self.spec} {self.name}"

    @property
    def ref(self) -> dict[str, str]:
        """``{"spec", "rung"}``: how ``results.json`` points at a configuration."""
        return {"spec": self.spec, "rung": self.name}

    @property
    def kind(self) -> str:
        return rung_kind(self.rung)

    @property
    def parameters(self) -> int | None:
        value = number(self.model.get("parameters"))
        return None if value is None else int(value)

    @property
    def score(self) -> float:
        """The test score: the figure every sentence cites."""
        return score(self.rung)

    @property
    def selection_score(self) -> float | None:
        """The dev score, what the choice is made on when every configuration has one."""
        return selection_score(self.rung)

    @property
    def n(self) -> int | None:
        """Test examples scored."""
        value = metric(self.rung, "n")
        return None if value is None else int(value)

    @property
    def selection_n(self) -> int | None:
        return selection_n(self.rung)

    def selection_bound(self, end: str) -> float | None:
        """The dev score's interval end, `end` ``score_low`` or ``score_high``."""
        return number((self.rung.get("selection") or {}).get(end))

    @property
    def usd_per_request(self) -> float | None:
        return self.cost.usd_per_request

    @property
    def usd_per_1k_requests(self) -> float | None:
        return self.cost.usd_per_1k_requests

    @property
    def upfront_usd(self) -> float | None:
        """Training, plus labels or a teacher's answers; None when some part cannot be priced."""
        if self.upfront_unknown:
            return None
        return (self.cost.training_usd or 0.0) + (self.cost.labelling_usd or 0.0) + (self.teacher_usd or 0.0)

    def total_usd(self, requests: int) -> float | None:
        """The one-off cost and `requests` requests: what serving that volume costs in all."""
        upfront, per_request = self.upfront_usd, self.usd_per_request
        if upfront is None or per_request is None:
            return None
        return upfront + requests * per_request

    @property
    def tokens_per_request(self) -> float | None:
        prompt, output = metric(self.rung, "prompt_tokens_mean"), metric(self.rung, "output_tokens_mean")
        return None if prompt is None or output is None else prompt + output

    def text(self, value: float | None = None) -> str:
        """A score in this configuration's metric as a sentence cites it (``73.8%``, ``chrF
        41.3``): its test score unless `value` is given."""
        name, display = metric_of(self.rung)
        return score_text(self.score if value is None else value, name, display)

    def figures(self) -> str:
        """``73.8%, $0.0210 per 1,000 requests``: its test score and price."""
        per_1k = self.usd_per_1k_requests
        price = "unpriced" if per_1k is None else f"{usd(per_1k)} per 1,000 requests"
        return f"{self.text()}, {price}"

    def simplicity(self) -> tuple[bool, float, float, int]:
        """Sorts the simpler first among equals: a prompt (nothing to make) before trained
        weights, then the smaller one-off cost (unknown last), then the model with fewer
        parameters (an endpoint, of unknown size, counts as the largest), then by kind."""
        kind = KIND_ORDER.index(self.kind) if self.kind in KIND_ORDER else len(KIND_ORDER)
        upfront, parameters = self.upfront_usd, self.parameters
        return (
            self.kind != "prompt",
            math.inf if upfront is None else upfront,
            math.inf if parameters is None else float(parameters),
            kind,
        )

    def to_dict(self) -> dict[str, Any]:
        """The configuration's figures as the parent run's ``results.json`` lists them."""
        name, display = metric_of(self.rung)
        training = self.rung.get("training") or {}
        return {
            **self.ref,
            "model_id": self.model.get("model_id"),
            "backend": self.model.get("backend"),
            "parameters": self.parameters,
            "kind": self.kind,
            "metric": name,
            "metric_display": display,
            "n": self.n,
            **{key: metric(self.rung, key) for key in ("score", "score_low", "score_high")},
            "selection_score": self.selection_score,
            "selection_score_low": self.selection_bound("score_low"),
            "selection_score_high": self.selection_bound("score_high"),
            "selection_n": self.selection_n,
            "usd_per_request": self.usd_per_request,
            "usd_per_1k_requests": self.usd_per_1k_requests,
            "priced_by": self.cost.priced_by,
            "seconds_per_request": self.cost.seconds_per_request,
            "prompt_tokens": metric(self.rung, "prompt_tokens_mean"),
            "output_tokens": metric(self.rung, "output_tokens_mean"),
            "tokens_per_request": self.tokens_per_request,
            "latency_p50_s": metric(self.rung, "latency_p50_s"),
            "training_examples": training_examples(self.rung),
            "targets": training.get("targets"),
            "teacher": None if self.teacher is None else {"model": self.teacher[0], "rung": self.teacher[1]},
            "training_usd": self.cost.training_usd,
            "labelling_usd": self.cost.labelling_usd,
            "teacher_usd": self.teacher_usd,
            "upfront_usd": self.upfront_usd,
            "upfront_unknown": self.upfront_unknown or None,
        }


def configurations(runs: Sequence[tuple[str, dict[str, Any]]], settings: CostSettings) -> list[Configuration]:
    """Every measured rung of every run, in the runs' order and each run's ladder order, priced
    with `settings`; `runs` holds (model spec, that run's parsed ``results.json``)."""
    own = [
        Configuration(
            spec=spec,
            model=dict(results.get("model") or {}),
            rung=rung,
            cost=rung_cost(rung, settings, results.get("model")),
            teacher=teacher_of(rung),
            teacher_usd=None,
            upfront_unknown=untrained(rung),
        )
        for spec, results in runs
        for rung in measured(results.get("rungs") or [])
    ]
    by_ref = {(c.spec, c.name): c for c in own}
    return [with_teacher(c, by_ref.get(c.teacher)) if c.teacher else c for c in own]


def teacher_of(rung: dict[str, Any]) -> tuple[str, str] | None:
    """The (model spec, rung) a student learned from: ``training.teacher``, else its targets
    ``teacher:<spec>:<rung>``. A context-distilled rung's ``teacher:<rung>`` names no other
    model, and gives None."""
    training = rung.get("training") or {}
    teacher = training.get("teacher")
    if isinstance(teacher, dict) and teacher.get("model") and teacher.get("rung"):
        return str(teacher["model"]), str(teacher["rung"])
    targets = str(training.get("targets") or "")
    if not targets.startswith("teacher:"):
        return None
    spec, _, name = targets.removeprefix("teacher:").rpartition(":")
    return (spec, name) if spec and name else None


def untrained(rung: dict[str, Any]) -> str:
    """Why a trained rung's one-off cost cannot be known: its training time was not recorded."""
    training = rung.get("training")
    if training is None or number(training.get("wall_time_s")) is not None:
        return ""
    return f"{rung['rung']} has no recorded training time"


def with_teacher(student: Configuration, teacher: Configuration | None) -> Configuration:
    """`student` with what its teacher's answers cost: the teacher's price per request for each
    training example, plus whatever the teacher itself cost to make."""
    assert student.teacher is not None
    spec, name = student.teacher
    if teacher is None:
        unknown = f"its teacher, {spec} {name}, is not among the runs measured"
    elif teacher.usd_per_request is None:
        model_id = teacher.model.get("model_id") or spec
        unknown = f"its teacher, {teacher.label}, is unpriced: add {model_id} to the cost settings' prices"
    elif teacher.upfront_usd is None:
        unknown = f"its teacher's own one-off cost is unknown ({teacher.upfront_unknown})"
    else:
        answers = teacher.usd_per_request * (training_examples(student.rung) or 0)
        return replace(student, teacher_usd=answers + teacher.upfront_usd)
    return replace(student, upfront_unknown=student.upfront_unknown or unknown)
