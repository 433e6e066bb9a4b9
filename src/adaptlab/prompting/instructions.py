"""Instruction variants: the same question asked three ways, weights and demos untouched.

How much wording alone moves accuracy is the first thing to know before anything costlier:
* ``instruction-terse`` — the input, then the allowed answers as a question; nothing else.
* ``instruction-detailed`` — the task's description and instruction, every label with its
  meaning (from the task spec's ``label_descriptions``), and an explicit answer format.
* ``instruction-role`` — a system prompt casting the model as an expert annotator.
"""

from __future__ import annotations

from adaptlab.data.task import Example, Task
from adaptlab.models.base import ChatMessage
from adaptlab.prompting.strategy import Strategy, register_strategy
from adaptlab.prompting.templates import (
    default_instruction,
    label_definitions,
    label_list,
    user_message,
    with_system,
)


@register_strategy("instruction-terse")
class TerseInstruction(Strategy):
    """``<input>`` then ``negative, neutral or positive?`` — the shortest prompt that names the
    answers (the input first, as people often write it; phrasings vary it for consistency)."""

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        if self.phrasing:
            content = user_message(task, example, phrasing=self.phrasing)
        elif task.labels:
            content = f"{example.input}\n\n{label_list(task.labels)}?"
        else:
            content = f"{default_instruction(task) or ''}\n\n{example.input}".strip()
        return with_system(example, [{"role": "user", "content": content}])


@register_strategy("instruction-detailed")
class DetailedInstruction(Strategy):
    """Everything the task spec knows, spelled out: description, instruction, label meanings."""

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        return with_system(example, [{"role": "user", "content": self.detailed(task, example)}])

    def detailed(self, task: Task, example: Example) -> str:
        parts = [task.description, default_instruction(task), label_definitions(task)]
        if task.labels:
            parts.append("Reply with the label only, in lowercase, with no explanation.")
        instruction = "\n\n".join(part for part in parts if part)
        return user_message(task, example, instruction=instruction or None, phrasing=self.phrasing)


@register_strategy("instruction-role")
class RoleInstruction(Strategy):
    """A system prompt giving the model a role; the user turn is the zero-shot question."""

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        content = user_message(task, example, phrasing=self.phrasing)
        return with_system(example, [{"role": "user", "content": content}], system=self.role(task))

    @staticmethod
    def role(task: Task) -> str:
        if task.labels:
            return (
                "You are an expert data annotator. You label each input with exactly one of the "
                f"allowed labels ({label_list(task.labels)}), carefully and consistently, and you "
                "reply with the label alone."
            )
        return "You are an expert assistant. You answer precisely and concisely, with the answer alone."
