"""Output-format rungs: constrain what the model may answer.

* ``format-label`` — the instruction demands the bare label, and the token budget leaves room
  for little else.
* ``format-json`` — the answer must be a JSON object of a fixed schema
  (``{"label": ...}``, or ``{"answer": ...}`` for free text); compliance means valid JSON with
  an allowed value.
* ``label-scoring`` — closed-label tasks only: no text is generated; the label whose answer has
  the highest log-likelihood under the model wins, so a parsing failure is impossible.
"""

from __future__ import annotations

import json
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
    """The zero-shot question, answered by likelihood instead of generation."""

    answer_mode = "score"
    needs_labels = True

    def prepare(self, context: StrategyContext) -> None:
        if not context.task.labels:
            raise UsageError(
                "label-scoring needs a closed label set, and this task's outputs are free text;"
                " declare --labels if they are classes"
            )

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        content = user_message(task, example, phrasing=self.phrasing)
        return with_system(example, [{"role": "user", "content": content}])

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "scoring": "sum of answer-token log-probabilities, end of turn included",
        }


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
