"""The local backend's fast paths (shared-prefix KV cache, label scoring) must give the answers
the plain computation gives: checked against unbatched, uncached forward passes of a tiny model."""

from pathlib import Path

import pytest
import torch

from adaptlab.models.local import LocalBackend

INSTRUCTION = (
    "Classify the sentiment of the tweet as negative, neutral or positive. "
    "Answer with exactly one of: negative, neutral, positive."
)
INPUTS = [
    "@united my flight was delayed again",
    "the crew was lovely",
    "what time does the gate open for the flight to Boston? thank you so much",
    "great service",
]
LABELS = ["negative", "neutral", "positive"]


def conversations() -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": f"{INSTRUCTION}\n\nInput: {text}"}] for text in INPUTS]


@pytest.fixture(scope="module")
def backends(tiny_model_dir: Path) -> tuple[LocalBackend, LocalBackend]:
    cached = LocalBackend(tiny_model_dir, model_id="tiny", prefix_cache=True)
    plain = LocalBackend(tiny_model_dir, model_id="tiny", prefix_cache=False)
    return cached, plain


def reference_logprob(backend: LocalBackend, prompt: list[int], answer: list[int]) -> float:
    """log P(answer | prompt) from one unbatched, uncached forward over prompt + answer."""
    ids = torch.tensor([prompt + answer])
    with torch.inference_mode():
        logprobs = torch.log_softmax(backend.model(input_ids=ids).logits[0].float(), dim=-1)
    return sum(logprobs[len(prompt) - 1 + j, token].item() for j, token in enumerate(answer))


def assert_scores_match_reference(backend: LocalBackend, labels: list[str]) -> None:
    scores = backend.score(conversations(), labels)
    prompts = backend.encode_prompts(conversations())
    answers = [backend.answer_ids(conversations()[0], label) for label in labels]
    for prompt, row in zip(prompts, scores, strict=True):
        expected = [reference_logprob(backend, prompt, answer) for answer in answers]
        assert list(row.logprobs) == pytest.approx(expected, abs=1e-3)
        assert row.prompt_tokens == len(prompt)


def test_generation_with_the_prefix_cache_matches_generation_without(
    backends: tuple[LocalBackend, LocalBackend],
) -> None:
    cached, plain = backends
    with_cache = cached.generate(conversations(), max_new_tokens=6)
    without = plain.generate(conversations(), max_new_tokens=6)
    assert [g.text for g in with_cache] == [g.text for g in without]
    assert [g.prompt_tokens for g in with_cache] == [g.prompt_tokens for g in without]
    assert cached.tokens_reused > 0, "the shared instruction should have come from the prefix cache"
    assert plain.tokens_reused == 0


def test_generation_matches_one_prompt_at_a_time(backends: tuple[LocalBackend, LocalBackend]) -> None:
    """Padding between prefix and suffix must not change what any row sees."""
    cached, _ = backends
    batched = [g.text for g in cached.generate(conversations(), max_new_tokens=6)]
    single = [cached.generate([c], max_new_tokens=6)[0].text for c in conversations()]
    assert batched == single


@pytest.mark.parametrize("which", ["cached", "plain"])
def test_label_scores_equal_the_reference_log_likelihood(
    backends: tuple[LocalBackend, LocalBackend], which: str
) -> None:
    assert_scores_match_reference(backends[0] if which == "cached" else backends[1], LABELS)


def test_answer_ids_end_with_the_end_of_turn_token(backends: tuple[LocalBackend, LocalBackend]) -> None:
    backend = backends[0]
    ids = backend.answer_ids(conversations()[0], "negative")
    assert backend.tokenizer.decode(ids) == "negative<|im_end|>"


def test_score_of_nothing_is_nothing(backends: tuple[LocalBackend, LocalBackend]) -> None:
    assert backends[0].score([], LABELS) == []


def test_label_scores_with_eager_attention_match_too(tiny_model_dir: Path) -> None:
    """The packed-candidates mask is built differently for eager attention (additive floats)."""
    backend = LocalBackend(tiny_model_dir, model_id="tiny")
    backend.model.set_attn_implementation("eager")
    assert backend.model.config._attn_implementation == "eager"
    assert_scores_match_reference(backend, [*LABELS, "not negative at all"])
