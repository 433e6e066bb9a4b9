"""Answer a group of requests with one backend call: the work the batcher's thread does.

Two models share the weights of a served rung:

* the **task model** takes a bare input, renders it through the rung's prompt (system prompt,
  instruction, demos — kNN demos picked for this input) and answers as the rung did: greedy
  generation read by the rung's parser, or label scoring through the evaluation engine. Its
  content is the parsed answer when the parser finds one, else the raw text, so a client gets
  exactly the value the run scored.
* the **plain model** passes chat messages to the weights as they are (chat template applied),
  like vLLM: the text as generated, and on request the first token's log-probabilities.

Requests whose prompt and token budget do not fit the model's context fail alone with a 400;
the rest of their group is answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from adaptlab.data import Example
from adaptlab.evaluation.engine import answer_now, chosen_by
from adaptlab.models.base import Conversation, Generation
from adaptlab.models.local import LocalBackend
from adaptlab.serve.errors import ApiError
from adaptlab.serve.rung import ServedRung
from adaptlab.serve.schemas import Reply

DEFAULT_CONTEXT_LENGTH = 2048
"""Assumed when a model's config states no maximum position."""


@dataclass(frozen=True)
class TaskInput:
    """What a client sends the task model: the input, and the system prompt of chat-format
    tasks (whose examples carry their own, which the prompt then uses)."""

    text: str
    system: str | None = None


@dataclass(frozen=True)
class GroupKey:
    """Requests answerable by one backend call: same model, same token budget, same logprobs,
    same stop strings (the plain model's; the task model's are its rung's)."""

    model: Literal["task", "plain"]
    max_tokens: int
    top_logprobs: int | None = None
    stop: tuple[str, ...] = ()


def context_length(backend: LocalBackend) -> int:
    """The most tokens (prompt + answer) the model takes."""
    return int(getattr(backend.model.config, "max_position_embeddings", None) or DEFAULT_CONTEXT_LENGTH)


def answer_group(served: ServedRung, key: GroupKey, payloads: Sequence[object]) -> list[Reply | ApiError]:
    """One `Reply` (or the `ApiError` of a request that cannot be answered) per payload."""
    backend = served.backend
    if key.model == "task":
        examples = [as_example(payload) for payload in payloads]  # type: ignore[arg-type]
        conversations = served.strategy.render_many(examples, served.task)
    else:
        conversations = list(payloads)  # type: ignore[arg-type]
    results: list[Reply | ApiError | None] = [None] * len(conversations)
    fits = []
    limit = context_length(backend)
    for index, ids in enumerate(backend.encode_prompts(conversations)):
        if len(ids) + key.max_tokens > limit:
            results[index] = ApiError(
                400,
                f"the prompt takes {len(ids)} tokens and the answer up to {key.max_tokens} more, over"
                f" this model's context of {limit} tokens; send a shorter input or lower max_tokens",
                param="messages",
                code="context_length_exceeded",
            )
        else:
            fits.append(index)
    chosen = [conversations[i] for i in fits]
    if chosen:
        if key.model == "task":
            replies = task_replies(served, chosen, key.max_tokens)
        else:
            replies = plain_replies(backend, chosen, key.max_tokens, key.top_logprobs, key.stop)
        for index, reply in zip(fits, replies, strict=True):
            results[index] = reply
    return [result for result in results if result is not None]


def as_example(payload: TaskInput) -> Example:
    """A request's input as an example with no id and no gold answer. The empty id matches no
    loaded example (ids are never empty), so kNN leaves out of its demos only a train example
    with the same text, exactly as it did for evaluated examples."""
    return Example(id="", input=payload.text, output="", system=payload.system)


def task_replies(served: ServedRung, conversations: Sequence[Conversation], max_tokens: int) -> list[Reply]:
    """The rung's answers: the best label (label scoring, calibrated as the rung was), or the
    parsed generation (ended by the rung's stop strings, as the run's were)."""
    if served.request.mode == "score":
        asked = answer_now(served.backend, conversations, served.request, None)
        answers = chosen_by(served.strategy, served.request.labels, asked)
        return [Reply(a.text, "stop", a.prompt_tokens, a.output_tokens) for a in answers]
    generations = served.backend.generate(conversations, max_new_tokens=max_tokens, stop=served.request.stop)
    replies = []
    for generation in generations:
        parsed = served.strategy.parse(generation.text, served.task).value
        content = parsed if parsed is not None else generation.text
        replies.append(reply(generation, max_tokens, content))
    return replies


def plain_replies(
    backend: LocalBackend,
    conversations: Sequence[Conversation],
    max_tokens: int,
    top_logprobs: int | None,
    stop: Sequence[str] = (),
) -> list[Reply]:
    """The weights' own answers to the messages, ended at the client's `stop` strings, with the
    first token's top log-probabilities when asked (one extra forward pass over the prompts,
    batched like the generation)."""
    generations = backend.generate(conversations, max_new_tokens=max_tokens, stop=stop)
    tops: list[list[tuple[str, float]] | None] = [None] * len(generations)
    if top_logprobs is not None:
        tops = list(backend.next_token_logprobs(conversations, max(top_logprobs, 1)))
    return [reply(g, max_tokens, g.text, top) for g, top in zip(generations, tops, strict=True)]


def reply(
    generation: Generation, max_tokens: int, content: str, top: list[tuple[str, float]] | None = None
) -> Reply:
    stopped = generation.stopped
    if stopped is None:
        stopped = generation.output_tokens < max_tokens
    return Reply(
        content=content,
        finish_reason="stop" if stopped else "length",
        prompt_tokens=generation.prompt_tokens,
        completion_tokens=generation.output_tokens,
        top_logprobs=top,
    )
