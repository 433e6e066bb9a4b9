"""Chain of thought: reason first, then answer on a last line the parser can find.

The model is asked to end with ``Answer: <label>``; the parser reads the *last* such line, so a
label mentioned while reasoning ("it is not positive because …") cannot be taken for the
answer. Reasoning needs room, so this rung gets a larger token budget than a bare answer.
"""

from __future__ import annotations

import re
from typing import Any

from adaptlab.data.task import Example, Task
from adaptlab.models.base import ChatMessage
from adaptlab.prompting.parsing import ParsedAnswer, parse_free_text, parse_label
from adaptlab.prompting.strategy import Strategy, register_strategy
from adaptlab.prompting.templates import label_list, user_message, with_system

COT_MAX_NEW_TOKENS = 160
_FINAL_ANSWER = re.compile(r"(?:final\s+)?answer\s*[:=]\s*(?P<answer>[^\n]*)", re.IGNORECASE)


@register_strategy("cot")
class ChainOfThought(Strategy):
    multiline_answers = True

    def __init__(self, max_new_tokens: int = COT_MAX_NEW_TOKENS) -> None:
        self.budget = max_new_tokens

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        answer_form = f"one of {label_list(task.labels)}" if task.labels else "your answer"
        cue = (
            "Think step by step in two or three short sentences, then give your final answer on "
            f"the last line in exactly this form:\nAnswer: <{answer_form}>"
        )
        content = user_message(task, example, phrasing=self.phrasing) + "\n\n" + cue
        return with_system(example, [{"role": "user", "content": content}])

    def parse(self, output: str, task: Task) -> ParsedAnswer:
        """The last ``Answer:`` line; without one, the last line, and never compliant."""
        matches = list(_FINAL_ANSWER.finditer(output))
        if matches:
            final = matches[-1]["answer"]
            parsed = parse_label(final, task.labels) if task.labels else parse_free_text(final)
            return parsed
        lines = [line for line in output.splitlines() if line.strip()]
        last = lines[-1] if lines else ""
        parsed = parse_label(last, task.labels) if task.labels else parse_free_text(last)
        return ParsedAnswer(parsed.value, compliant=False)

    def max_new_tokens(self, answer_tokens: int) -> int:
        return max(answer_tokens + self.budget // 4, self.budget)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "max_new_tokens": self.budget}
