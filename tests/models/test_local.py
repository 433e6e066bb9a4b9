import functools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from adaptlab.models import load_backend
from adaptlab.models.local import (
    PLAIN_PROMPT_VERSION,
    PLAIN_TURN_END,
    LocalBackend,
    StopStrings,
    left_pad,
    length_buckets,
    plain_prompt,
)


def test_length_buckets_cover_every_index_once_within_budget() -> None:
    lengths = [5, 100, 7, 60, 61, 3, 99, 8, 8, 8]
    batches = length_buckets(lengths, max_batch_tokens=200, max_batch_size=3)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3
        assert max(lengths[i] for i in batch) * len(batch) <= 200
    # longest first, so memory trouble shows at once
    assert batches[0][0] == 1


def test_length_buckets_put_an_oversized_prompt_alone() -> None:
    assert length_buckets([500, 10], max_batch_tokens=100, max_batch_size=8) == [[0], [1]]


def test_left_pad_aligns_prompt_ends() -> None:
    ids, mask = left_pad([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_plain_prompt_for_models_without_chat_template() -> None:
    text = plain_prompt([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}])
    assert text == "Be brief.\n\n2+2?\nAnswer:"


def test_plain_prompt_keeps_the_answers_of_few_shot_demos() -> None:
    """A base model is shown each demo's gold answer in the form it is asked to complete."""
    conversation = [
        {"role": "system", "content": "Label the tweet."},
        {"role": "user", "content": "Input: great crew"},
        {"role": "assistant", "content": "positive"},
        {"role": "user", "content": "Input: lost my bag"},
        {"role": "assistant", "content": "negative"},
        {"role": "user", "content": "Input: on time"},
    ]
    assert plain_prompt(conversation) == (
        "Label the tweet.\n\nInput: great crew\nAnswer: positive\n\n"
        "Input: lost my bag\nAnswer: negative\n\nInput: on time\nAnswer:"
    )


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir: Path) -> LocalBackend:
    backend = load_backend(str(tiny_model_dir), max_batch_tokens=256, max_batch_size=4)
    assert isinstance(backend, LocalBackend)
    return backend


def test_backend_renders_with_the_chat_template(tiny_backend: LocalBackend) -> None:
    rendered = tiny_backend.render([{"role": "user", "content": "hello"}])
    assert rendered == "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"


def test_batched_generation_equals_one_at_a_time(tiny_backend: LocalBackend) -> None:
    texts = ["hi", "the crew was lovely, great service, thank you so much", "what time", "Input: delayed"] * 3
    conversations = [[{"role": "user", "content": t}] for t in texts]
    batched = tiny_backend.generate(conversations, max_new_tokens=10)
    single = [tiny_backend.generate([c], max_new_tokens=10)[0] for c in conversations]
    assert [g.text for g in batched] == [g.text for g in single]
    assert [g.prompt_tokens for g in batched] == [g.prompt_tokens for g in single]


def test_generation_accounts_tokens_and_progress(tiny_backend: LocalBackend) -> None:
    conversations = [[{"role": "user", "content": "x" * n}] for n in (1, 20, 40, 5, 9)]
    finished: list[int] = []
    generations = tiny_backend.generate(conversations, max_new_tokens=6, on_progress=finished.append)
    assert sum(finished) == len(conversations)
    assert len(finished) > 1  # several batches under the small token budget
    for conversation, generation in zip(conversations, generations, strict=True):
        rendered = tiny_backend.render(conversation)
        assert generation.prompt_tokens == tiny_backend.count_tokens(rendered)
        assert 1 <= generation.output_tokens <= 6
        assert generation.latency_s > 0


def test_describe_records_identity(tiny_backend: LocalBackend, tiny_model_dir: Path) -> None:
    info = tiny_backend.describe()
    assert info["model_id"] == tiny_model_dir.name
    assert len(info["fingerprint"]) == 12
    assert info["chat_template"] is True
    assert info["parameters"] > 0


def ids(backend: LocalBackend, *pieces: str) -> list[int]:
    """Token ids of `pieces`, each encoded on its own: a scripted stream whose token boundaries
    are known."""
    return [token for piece in pieces for token in backend.tokenizer.encode(piece, add_special_tokens=False)]


def test_stop_strings_end_each_row_on_its_own_past_leading_whitespace(tiny_backend: LocalBackend) -> None:
    """The stopping criterion fed a scripted token stream, one token a step, as `generate` feeds it."""
    eos = tiny_backend.tokenizer.eos_token_id
    opening, answer, newline = (
        ids(tiny_backend, "\n\n"),
        ids(tiny_backend, "Return the sum."),
        ids(tiny_backend, "\n"),
    )
    width = 32
    streams = [
        opening + answer + newline + ids(tiny_backend, "The function adds two"),  # ends at its newline
        newline * width,  # only blank lines: not an answer yet, so never ended here
        [*ids(tiny_backend, "Sum"), eos],  # ended by its stop token: left to that criterion
        ids(tiny_backend, "No newline in this answer"),
    ]
    # Each row runs on as it began (finished rows are padded with the pad token, here EOS).
    streams = [s + s[-1:] * (width - len(s)) for s in streams]
    assert all(len(s) == width for s in streams)
    prompt = torch.zeros((len(streams), 3), dtype=torch.long)
    criterion = StopStrings(tiny_backend.tokenizer, ["\n"], prompt, tiny_backend._stop_ids)
    ended_at_step: list[int | None] = [None] * len(streams)
    for step in range(1, width + 1):
        done = criterion(torch.cat([prompt, torch.tensor([s[:step] for s in streams])], dim=1), None)
        for row, is_done in enumerate(done.tolist()):
            if is_done and ended_at_step[row] is None:
                ended_at_step[row] = step
    ended = len(opening + answer + newline)
    assert ended_at_step == [ended, None, None, None]
    assert criterion.ended_at == [ended, None, None, None]
    decoded = [
        tiny_backend._decode_answer(tokens, ["\n"], end)
        for tokens, end in zip(streams, criterion.ended_at, strict=True)
    ]
    assert decoded[0] == ("Return the sum.", ended, True)
    assert decoded[1] == ("", width, False)
    assert decoded[2] == ("Sum", len(ids(tiny_backend, "Sum")) + 1, True)
    assert decoded[3] == (tiny_backend.tokenizer.decode(streams[3]), width, False)


@pytest.fixture()
def scripted_model(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[list[list[int]]], LocalBackend]:
    """The tiny model, its forward pass overridden so that row `i` of a batch emits `scripts[i]`,
    one token a step (its last token once it runs out): `generate` then runs transformers' real
    decoding loop over a stream known in advance."""

    def script(scripts: list[list[int]]) -> LocalBackend:
        backend = LocalBackend(tiny_model_dir, model_id="tiny", prefix_cache=False)
        original = backend.model.forward
        step = 0

        @functools.wraps(original)
        def forward(*args: Any, **kwargs: Any) -> Any:
            nonlocal step
            output = original(*args, **kwargs)
            output.logits[:, -1] = -1e9
            for row, tokens in enumerate(scripts):
                output.logits[row, -1, tokens[min(step, len(tokens) - 1)]] = 0.0
            step += 1
            return output

        monkeypatch.setattr(backend.model, "forward", forward)
        return backend

    return script


def test_generation_stops_at_a_stop_string_row_by_row(
    scripted_model: Callable[[list[list[int]]], LocalBackend],
) -> None:
    probe = scripted_model([[0]])
    eos = probe.tokenizer.eos_token_id
    streams = [
        ids(probe, "\n", "Sum.", "\n", "More text"),
        ids(probe, "yes no yes no yes no yes no yes no"),
        [*ids(probe, "Ok"), eos],
    ]
    conversations = [[{"role": "user", "content": letter}] for letter in "abc"]
    lengths = {len(prompt) for prompt in probe.encode_prompts(conversations)}
    assert len(lengths) == 1, "same-length prompts keep their order in the batch"

    generations = scripted_model(streams).generate(conversations, max_new_tokens=8, stop=["\n"])
    assert [(g.text, g.output_tokens, g.stopped) for g in generations] == [
        ("Sum.", len(ids(probe, "\n", "Sum.", "\n")), True),
        (probe.tokenizer.decode(streams[1][:8]).strip(), 8, False),
        ("Ok", len(streams[2]), True),
    ]
    unstopped = scripted_model(streams).generate(conversations, max_new_tokens=8)
    assert unstopped[0].text == probe.tokenizer.decode(streams[0][:8]).strip()
    assert "\n" in unstopped[0].text and unstopped[0].output_tokens == 8


def test_a_reply_of_blank_lines_is_not_ended_by_a_newline_stop(tiny_backend: LocalBackend) -> None:
    """The untuned tiny model writes only newlines: with the stop it runs to the budget as
    without, rather than ending at once with an empty answer."""
    conversation = [{"role": "user", "content": "hi"}]
    (with_stop,) = tiny_backend.generate([conversation], max_new_tokens=6, stop=["\n"])
    (without,) = tiny_backend.generate([conversation], max_new_tokens=6)
    assert with_stop == replace(without, latency_s=with_stop.latency_s)
    assert (with_stop.output_tokens, with_stop.stopped) == (6, False)


def test_a_model_without_chat_template_ends_its_answers_at_the_next_turn(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = LocalBackend(tiny_model_dir, model_id="tiny")
    chat_identity = backend.cache_identity()
    asked: list[tuple[str, ...]] = []

    def generate_batch(prompts, max_new_tokens, stop=()):
        asked.append(tuple(stop))
        return [("neutral", 2, True) for _ in prompts]

    monkeypatch.setattr(backend, "_generate_batch", generate_batch)
    backend.generate([[{"role": "user", "content": "hi"}]], max_new_tokens=4, stop=["."])
    monkeypatch.setattr(backend, "has_chat_template", False)
    backend.generate([[{"role": "user", "content": "hi"}]], max_new_tokens=4, stop=["."])
    assert asked == [(".",), (".", PLAIN_TURN_END)]
    # Its answers are cached apart from those asked before answers ended there.
    assert backend.cache_identity() == f"{chat_identity}+{PLAIN_PROMPT_VERSION}"
    # Tuning and label scoring take the same end: a tuned model learns where to stop.
    ended = backend.tokenizer(" positive" + PLAIN_TURN_END, add_special_tokens=False)["input_ids"]
    assert backend.answer_ids([{"role": "user", "content": "hi"}], "positive") == ended
