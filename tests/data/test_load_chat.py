"""Chat-format JSONL: single-turn conversations become examples with an optional system prompt."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adaptlab.data import Example, load_task

Write = Callable[..., str]
Problems = Callable[..., list[str]]

EXTRA_HINT = "pass allow_extra_fields / --allow-extra-fields to ignore extra fields"


def chat(
    user: str = "hi", assistant: str = "hello", system: str | None = None, **extra: Any
) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system is not None else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages, **extra}


def test_chat_rows_become_examples_with_system_prompts(write_jsonl: Write) -> None:
    rows = [
        chat("Where is my bag?", "negative", system="Classify sentiment.", id="c1", metadata={"src": "x"}),
        chat("Thanks!", "positive"),
        chat("Gate?", "neutral", system="Be brief."),
    ]
    task = load_task(write_jsonl("chat.jsonl", rows))
    assert task.examples == (
        Example("c1", "Where is my bag?", "negative", "chat.jsonl line 1", system="Classify sentiment."),
        Example("2", "Thanks!", "positive", "chat.jsonl line 2"),
        Example("3", "Gate?", "neutral", "chat.jsonl line 3", system="Be brief."),
    )


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}] * 2},
            "multi-turn conversations are not supported yet; give one user message and one assistant message "
            "(after an optional system message)",
        ),
        ({"messages": "hi"}, 'field "messages" must be a list, got string'),
        ({"messages": []}, 'field "messages" is empty'),
        (
            {"messages": [{"role": "user", "content": "a"}, "b"]},
            "message 2 must be a JSON object, got string",
        ),
        (
            {"messages": [{"role": "usr", "content": "a"}, {"role": "assistant", "content": "b"}]},
            'message 1: role must be system, user or assistant, got "usr" (did you mean "user"?)',
        ),
        (
            {"messages": [{"content": "a"}, {"role": "assistant", "content": "b"}]},
            'message 1: field "role" is missing',
        ),
        (
            {"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "b"}]},
            'message 1: field "content" must be a string, got number; chat messages hold text, '
            'so write it in quotes: "5"',
        ),
        (
            # Unlike a plain file's output, a chat answer is never read from a number.
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": 1.0}]},
            'message 2: field "content" must be a string, got number; chat messages hold text, '
            'so write it in quotes: "1.0"',
        ),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": False}]},
            'message 2: field "content" must be a string, got boolean; chat messages hold text, '
            'so write it in quotes: "false"',
        ),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": None}]},
            'message 2: field "content" must be a string, got null',
        ),
        (chat(assistant="  "), 'message 2: field "content" is empty'),
        (
            {"messages": [{"role": "user"}, {"role": "assistant", "content": "b"}]},
            'message 1: field "content" is missing',
        ),
        (
            {"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "s"}]},
            "a system message may only come first",
        ),
        (
            {"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "b"}]},
            "the conversation has no user message",
        ),
        (
            {"messages": [{"role": "user", "content": "a"}]},
            "the last message must be from the assistant, got user",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "a", "name": "x"},
                    {"role": "assistant", "content": "b"},
                ]
            },
            f'message 1: unexpected field "name" (expected role, content; {EXTRA_HINT})',
        ),
        (
            chat(label="x"),
            f'unexpected field "label" (expected messages, id; {EXTRA_HINT})',
        ),
    ],
)
def test_chat_problems(write_jsonl: Write, problems: Problems, row: dict[str, Any], expected: str) -> None:
    assert problems(write_jsonl("chat.jsonl", [chat(), row, chat()])) == [f"chat.jsonl line 2: {expected}"]


def test_a_file_must_not_mix_chat_and_plain_rows(write_jsonl: Write, problems: Problems) -> None:
    plain = {"input": "a", "output": "b"}
    name = write_jsonl("chat.jsonl", [chat(), chat(), plain, chat(), plain])
    assert problems(name) == [
        "chat.jsonl line 3: this line is a plain example (input/output) "
        'but line 1 is a chat example ("messages"); a file must use one format'
    ]
