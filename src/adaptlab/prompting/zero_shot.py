"""Zero-shot: the instruction and the input, nothing else — the bottom rung of the ladder."""

from __future__ import annotations

from adaptlab.data.task import Example, Task
from adaptlab.models.base import ChatMessage
from adaptlab.prompting.strategy import Strategy, register_strategy
from adaptlab.prompting.templates import user_message, with_system


@register_strategy("zero-shot")
class ZeroShot(Strategy):
    """Ask once, with no examples.

    >>> ZeroShot().render(example, task)
    [{'role': 'user', 'content': 'Classify ...\\nAnswer with exactly one of: ...\\n\\nInput: ...'}]
    """

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        content = user_message(task, example, phrasing=self.phrasing)
        return with_system(example, [{"role": "user", "content": content}])
