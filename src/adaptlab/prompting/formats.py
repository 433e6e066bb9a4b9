"""Output-format rungs: constrain what the model may answer.

* ``format-label`` — the instruction demands the bare label, and the token budget leaves room
  for little else.
* ``format-json`` — the answer must be a JSON object of a fixed schema
  (``{"label": ...}``, or ``{"answer": ...}`` for free text); compliance means valid JSON with
  an allowed value.
* ``label-scoring`` — closed-label tasks only: no text is generated; the label whose answer has
  the highest log-likelihood under the model wins, so a parsing failure is impossible.
* ``label-scoring-calibrated`` — label scoring with contextual calibration (Zhao et al.,
  "Calibrate Before Use", ICML 2021): the label prior of the prompt, measured on content-free
  inputs, is divided out before the argmax.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.models.base import ChatMessage
from adaptlab.prompting.parsing import ParsedAnswer, parse_free_text, parse_label
from adaptlab.prompting.strategy import Strategy, StrategyContext, register_strategy
from adaptlab.prompting.templates import label_list, user_message, with_system

_LABEL_ONLY_SLACK_TOKENS = 2


@register_strategy("format-label")
class LabelOnly(Strategy):
    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        rule = (
            f"Reply with a single word, {label_list(task.labels)}, in lowercase and nothing else."
            if task.labels
            else "Reply with the answer only, with no explanation."
        )
        content = user_message(task, example, phrasing=self.phrasing) + "\n\n" + rule
        return with_system(example, [{"role": "user", "content": content}])

    def max_new_tokens(self, answer_tokens: int) -> int:
        """Room for the answer and a closing token or two: a longer reply is cut off."""
        return answer_tokens + _LABEL_ONLY_SLACK_TOKENS


@register_strategy("format-json")
class JsonSchema(Strategy):
    multiline_answers = True
    """Models often reply with a fenced or pretty-printed object (```json, then the object)."""

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        content = user_message(task, example, phrasing=self.phrasing) + "\n\n" + self.schema_rule(task)
        return with_system(example, [{"role": "user", "content": content}])

    @staticmethod
    def key(task: Task) -> str:
        return "label" if task.labels else "answer"

    def schema_rule(self, task: Task) -> str:
        if task.labels:
            allowed = " | ".join(f'"{label}"' for label in task.labels)
            value = f"one of {allowed}"
        else:
            value = "your answer as a string"
        return f'Reply with a JSON object only, of the form {{"{self.key(task)}": <{value}>}}.'

    def parse(self, output: str, task: Task) -> ParsedAnswer:
        """Compliant: the whole reply is one JSON object whose key holds an allowed value.
        Otherwise the first ``{…}`` object inside the reply, then the plain text, are tried."""
        key = self.key(task)
        whole = _json_object(output.strip().removeprefix("```json").removesuffix("```").strip())
        embedded = whole if whole is not None else _first_json_object(output)
        value = embedded.get(key) if embedded is not None else None
        if isinstance(value, str):
            parsed = parse_label(value, task.labels) if task.labels else parse_free_text(value)
            return ParsedAnswer(parsed.value, compliant=parsed.compliant and whole is not None)
        fallback = parse_label(output, task.labels) if task.labels else parse_free_text(output)
        return ParsedAnswer(fallback.value, compliant=False)


@register_strategy("label-scoring")
class LabelScoring(Strategy):
    """The zero-shot question, answered by likelihood instead of generation.

    With `calibrate`, `prepare` asks the model the content-free inputs (``N/A``, an empty input,
    ``[MASK]``) through this prompt and each of its phrasing variants, and the chosen label is
    the argmax of p(label | input) / p̄(label), p̄ being their average label probability: a
    small model that says "positive" to anything no longer says it to everything.

    >>> LabelScoring(calibrate=True).describe()["calibration"]["content_free_inputs"]
    ['N/A', '', '[MASK]']
    """

    answer_mode = "score"
    needs_labels = True
    content_free_inputs: tuple[str, ...] = ("N/A", "", "[MASK]")
    """The paper's three: inputs that carry no sentiment, topic or answer of their own."""

    def __init__(self, *, calibrate: bool = False) -> None:
        self.calibrate = calibrate
        self.prepared_per_model = calibrate
        self.priors: dict[int, dict[str, float]] = {}
        """Log-prior per label, by phrasing (the consistency variants are asked in their own)."""

    def prepare(self, context: StrategyContext) -> None:
        if not context.task.labels:
            raise UsageError(
                f"{self.name} needs a closed label set, and this task's outputs are free text;"
                " declare --labels if they are classes"
            )
        if not self.calibrate:
            return
        if context.label_prior is None:
            raise UsageError(
                f"{self.name} needs the evaluation layer's label prior (StrategyContext.label_prior)"
            )
        # Chat-format tasks give each example its own system prompt: the usual one frames the
        # content-free inputs as it frames the evaluated ones.
        system = (
            Counter(example.system for example in context.train).most_common(1)[0][0]
            if context.train
            else None
        )
        inputs = [
            Example(id=f"content-free-{i}", input=text, output="", system=system)
            for i, text in enumerate(self.content_free_inputs)
        ]
        self.priors = {
            asked.phrasing: context.label_prior(asked, inputs) for asked in (self, *self.variants())
        }

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        content = user_message(task, example, phrasing=self.phrasing)
        return with_system(example, [{"role": "user", "content": content}])

    def calibration_prior(self) -> dict[str, float] | None:
        if not self.calibrate:
            return None
        if self.phrasing not in self.priors:
            raise RuntimeError(f"{self.name}: prepare must measure the label prior before the rung is asked")
        return self.priors[self.phrasing]

    def describe(self) -> dict[str, Any]:
        info = {
            **super().describe(),
            "scoring": "sum of answer-token log-probabilities, end of turn included",
        }
        if self.calibrate:
            prior = self.priors.get(self.phrasing)
            info["calibration"] = {
                "method": "contextual calibration (Zhao et al., 2021): argmax p(label|input) / prior(label)",
                "content_free_inputs": list(self.content_free_inputs),
                "prior": {label: math.exp(value) for label, value in prior.items()} if prior else None,
                "ties": "first label in declared order",
            }
        return info


@register_strategy("label-scoring-calibrated")
class CalibratedLabelScoring(LabelScoring):
    """`label-scoring` with calibration on."""

    def __init__(self) -> None:
        super().__init__(calibrate=True)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _first_json_object(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for start, char in enumerate(text):
        if char == "{":
            try:
                value, _ = decoder.raw_decode(text, start)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None
