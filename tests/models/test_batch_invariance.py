"""The same rungs asked one prompt at a time and 32 at a time give the same answers, on a tiny
model (the bundled model: tests/slow/test_batch_invariance_bundled.py)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from adaptlab.data.task import Example, Task
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import StrategyContext
from batch_invariance import BATCH_SIZES, ask_at_each_size, assert_same_generations, assert_same_label_scores
from sample_tasks import SENTIMENT_EXAMPLES

from tiny_model import build_tiny_model

# Two tweets of the sample task joined, so that no two inputs are alike: 81 examples.
EXAMPLES = tuple(
    Example(id=f"e{i}", input=f"{first} {second}" if i % 2 else f"{second}, {first}", output=label)
    for i, ((first, label), (second, _)) in enumerate(itertools.product(SENTIMENT_EXAMPLES, repeat=2))
)
TASK = Task(
    name="tweets",
    examples=EXAMPLES,
    labels=("negative", "neutral", "positive"),
    instruction="Classify the sentiment of the tweet as negative, neutral or positive.",
)
TRAIN, TEST = EXAMPLES[:16], EXAMPLES[16:48]  # 32 test examples: one full batch at size 32
CONTEXT = StrategyContext(task=TASK, train=TRAIN, seed=0)


@pytest.fixture(scope="module")
def lively_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model at the default init answers every prompt with newlines, which any batching
    would reproduce; this one's answers vary with the prompt."""
    return build_tiny_model(tmp_path_factory.mktemp("lively-model"), init_std=0.2)


def tiny_backends(directory: Path) -> dict[int, LocalBackend]:
    return {size: LocalBackend(directory, model_id="tiny", max_batch_size=size) for size in BATCH_SIZES}


@pytest.fixture(scope="module")
def backends(lively_model_dir: Path) -> dict[int, LocalBackend]:
    return tiny_backends(lively_model_dir)


@pytest.mark.parametrize("rung", ["zero-shot", "few-shot-random-4"])
def test_generation_is_the_same_at_batch_size_1_and_32(backends: dict[int, LocalBackend], rung: str) -> None:
    """Identical text on all 32 examples, 8 greedy tokens each, both rungs reading their shared
    instruction (and demos) from the prefix cache at batch size 32.

    Equal here by measurement, not by construction: batch sizes 1 and 32 compute different
    shapes, so the logits differ in the last bits (at most 3.9e-6 over these 2 x 256 steps,
    whose smallest gap between the two most likely tokens is 1.7e-4), and a prompt whose top two
    tokens were closer than that drift could flip. Bit-exact logits would need batch-invariant
    kernels (every row reduced in the same order whatever the batch's shape), which PyTorch does
    not provide: `torch.use_deterministic_algorithms` makes a run repeatable, not independent of
    the batch. Exact ties go to the lowest token id at any batch size (see the tie test below).
    """
    reused_before = backends[32].tokens_reused
    one, many = ask_at_each_size(TASK, TEST, backends, rung, CONTEXT, max_new_tokens=8)
    assert backends[32].tokens_reused > reused_before, "the batched run should reuse the shared prefix"
    assert len({p.output for p in one.predictions}) > len(TEST) // 2, "answers should vary with the prompt"
    assert_same_generations(one, many)


def test_label_scoring_is_the_same_at_batch_size_1_and_32(backends: dict[int, LocalBackend]) -> None:
    """The same label chosen for all 32 examples, log-likelihoods within `LOGPROB_TOLERANCE`
    (measured: at most 3.6e-6 apart; the closest two labels of any example are 0.085 apart).
    Exact ties go to the first label in the task's order, whatever the batch."""
    assert_same_label_scores(*ask_at_each_size(TASK, TEST, backends, "label-scoring", CONTEXT))


def test_exact_ties_go_to_the_lowest_token_id_at_any_batch_size(lively_model_dir: Path) -> None:
    """Greedy decoding takes torch.argmax, whose ties go to the first index. Here token `low` is
    made a copy of token `high`, the first token the model answers some prompts with: its logit
    then equals `high`'s bit for bit, and those prompts must open with `low` instead, at batch
    size 1 and 32 alike, while every other prompt keeps its first token."""
    conversations = [[{"role": "user", "content": f"{TASK.instruction}\n\nInput: {e.input}"}] for e in TEST]
    backends = tiny_backends(lively_model_dir)
    tokenizer = backends[1].tokenizer
    before = [g.text for g in backends[1].generate(conversations, max_new_tokens=1)]
    (high,) = tokenizer(before[0], add_special_tokens=False)["input_ids"]
    in_prompts = "".join(backends[1].render(c) for c in conversations)
    low = next(
        token
        for token in range(high)
        if token not in tokenizer.all_special_ids
        and (text := tokenizer.decode([token])).isascii()
        and text.strip()
        and text not in in_prompts
    )
    for backend in backends.values():
        embeddings = backend.model.get_output_embeddings().weight  # tied: the input embeddings too
        with torch.no_grad():
            embeddings[low] = embeddings[high]
    expected = [tokenizer.decode([low]) if text == before[0] else text for text in before]
    for backend in backends.values():
        assert [g.text for g in backend.generate(conversations, max_new_tokens=1)] == expected
