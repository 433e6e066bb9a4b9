"""The wording shared by prompt strategies: how a task's instruction, label set and input are
put into words. One place, so that every rung asks the same question the same way and rungs
differ only in what they add (demos, reasoning, constraints).

Phrasing 0 puts the instruction first and the input last, so every prompt of a rung shares the
longest possible prefix (the backend computes that prefix once). Phrasings 1 and 2 say the same
thing in other words and another order; they exist to measure consistency.
"""

from __future__ import annotations

from collections.abc import Sequence

from adaptlab.data.task import Example, Task
from adaptlab.models.base import ChatMessage

PHRASINGS = 3


def default_instruction(task: Task) -> str | None:
    """The task's own instruction, or a neutral one for classification tasks that have none."""
    if task.instruction:
        return task.instruction
    if task.labels:
        return "Classify the input."
    return None


def label_list(labels: Sequence[str], conjunction: str = "or") -> str:
    """``a, b or c``: labels as a reader would list them."""
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + f" {conjunction} " + labels[-1]


def label_constraint(task: Task) -> str | None:
    """One line telling the model which answers are allowed, for closed-label tasks."""
    if not task.labels:
        return None
    return "Answer with exactly one of: " + ", ".join(task.labels) + "."


def label_definitions(task: Task) -> str | None:
    """One line per label, with its meaning where the task spec gives one."""
    if not task.labels:
        return None
    meanings = dict(task.label_descriptions or ())
    lines = [f"- {label}: {meanings[label]}" if label in meanings else f"- {label}" for label in task.labels]
    return "Labels:\n" + "\n".join(lines)


def user_message(task: Task, example: Example, *, instruction: str | None = None, phrasing: int = 0) -> str:
    """Instruction, allowed answers and the input, framed by one of the `PHRASINGS`.

    A free-text task without an instruction (typically chat data whose system prompt already
    says what to do) gets the input verbatim, exactly as the user's data has it.
    """
    header_parts = [
        part for part in (instruction or default_instruction(task), label_constraint(task)) if part
    ]
    if not header_parts:
        return example.input
    header = "\n".join(header_parts)
    if phrasing == 1:
        return f"Task: {' '.join(header_parts)}\n\nText:\n{example.input}"
    if phrasing == 2:
        return f"Here is an input.\n\n{example.input}\n\n{header}"
    return f"{header}\n\nInput: {example.input}"


def with_system(
    example: Example, messages: list[ChatMessage], system: str | None = None
) -> list[ChatMessage]:
    """Prefix a system prompt: the example's own (from chat-format data) wins over a strategy's."""
    prompt = example.system or system
    if prompt:
        return [{"role": "system", "content": prompt}, *messages]
    return messages


def demo_turns(
    task: Task, demos: Sequence[Example], query: Example, *, instruction: str | None = None
) -> list[ChatMessage]:
    """Few-shot demos as a multi-turn chat: the instruction rides on the first user turn, each
    demo's gold answer is an assistant turn, and the query is the last user turn.

    Demos as earlier turns show a chat model the exact answer format (a bare label), and keep
    the prompt a stable prefix followed by the query, which the prefix cache reuses.
    """
    if not demos:
        return [{"role": "user", "content": user_message(task, query, instruction=instruction)}]
    # Later turns repeat the first turn's "Input: " cue, or nothing when the input stands alone.
    cue = "Input: " if (instruction or default_instruction(task) or task.labels) else ""
    messages: list[ChatMessage] = [
        {"role": "user", "content": user_message(task, demos[0], instruction=instruction)},
        {"role": "assistant", "content": demos[0].output},
    ]
    for demo in demos[1:]:
        messages.append({"role": "user", "content": cue + demo.input})
        messages.append({"role": "assistant", "content": demo.output})
    messages.append({"role": "user", "content": cue + query.input})
    return messages
