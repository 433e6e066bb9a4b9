"""The wording shared by prompt strategies: how a task's instruction, label set and input are
put into words. One place, so that every rung asks the same question the same way and rungs
differ only in what they add (demos, reasoning, constraints)."""

from __future__ import annotations

from adaptlab.data.task import Example, Task
from adaptlab.models.base import ChatMessage


def default_instruction(task: Task) -> str | None:
    """The task's own instruction, or a neutral one for classification tasks that have none."""
    if task.instruction:
        return task.instruction
    if task.labels:
        return "Classify the input."
    return None


def label_constraint(task: Task) -> str | None:
    """One line telling the model which answers are allowed, for closed-label tasks."""
    if not task.labels:
        return None
    return "Answer with exactly one of: " + ", ".join(task.labels) + "."


def user_message(task: Task, example: Example) -> str:
    """Instruction, allowed answers and the input, separated by blank lines.

    A free-text task without an instruction (typically chat data whose system prompt already
    says what to do) gets the input verbatim, exactly as the user's data has it.
    """
    header = [part for part in (default_instruction(task), label_constraint(task)) if part]
    if not header:
        return example.input
    return "\n".join(header) + "\n\nInput: " + example.input


def with_system(example: Example, messages: list[ChatMessage]) -> list[ChatMessage]:
    """Prefix the example's own system prompt (from chat-format data), if it has one."""
    if example.system:
        return [{"role": "system", "content": example.system}, *messages]
    return messages
