"""Label scoring: adaptlab's engine vs lm-evaluation-harness on identical (context, continuation) pairs.

lm-evaluation-harness (lm-eval) is the field's reference for scoring a model by log-likelihood:
``HFLM.loglikelihood`` takes (context, continuation) strings and returns log P(continuation |
context). adaptlab's label scoring (``LocalBackend.score``) computes the same quantity for every
label of a closed-label task. Both are given the same pairs here — each test example's prompt,
rendered through the model's chat template exactly as adaptlab renders it for a rung, with every
written form adaptlab scores for each label (as declared and Capitalised, end-of-turn token
included) — on the same model directory (the bundled model as adaptlab prepared it, in
safetensors, fp32), in one process, with the same torch threads, each warmed up first.

lm-eval moves the whitespace that ends a context into the continuation (its rule for word
boundaries), so for a chat prompt ending in ``assistant\\n`` it scores ``\\n`` + label: the same
token sequence, one token more. That token's log-probability, the same for every label of a
prompt, is asked of lm-eval separately (not timed) and subtracted before the two are compared.

Needs the benchmark extra: ``pip install -c constraints.txt -e ".[bench]"`` (lm-eval[hf]==0.4.13).
Run: ``python benchmarks/vs_lm_eval.py [--examples 24] [--lm-eval-batch-size 8]``. The last line
gives the setup and ``ratio=<lm-eval seconds / adaptlab seconds>`` over both rungs.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

import torch
from transformers.utils import logging as hf_logging

from adaptlab.data import load_task, split_task, stratified_sample
from adaptlab.evaluation.engine import combine_surfaces, label_surfaces
from adaptlab.models import load_backend
from adaptlab.models.base import Conversation
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import StrategyContext, get_strategy

LM_EVAL_VERSION = "0.4.13"


@dataclass(frozen=True)
class Pairs:
    """Every (context, continuation) pair adaptlab scores for one rung: each prompt x each label form."""

    conversations: list[Conversation]
    contexts: list[str]
    """The rendered prompts, as `LocalBackend.render` writes them and `LocalBackend.score` scores them."""
    surfaces: list[tuple[str, str]]
    """(label, written form) in the order `label_surfaces` gives them."""
    continuations: list[str]
    """Each written form as the model would write it after the prompt, end-of-turn token included."""
    token_ids: list[list[list[int]]]
    """[prompt][form]: the token sequence adaptlab scores, prompt and answer together."""

    def strings(self) -> list[tuple[str, str]]:
        return [(context, continuation) for context in self.contexts for continuation in self.continuations]


def build_pairs(backend: LocalBackend, conversations: list[Conversation], labels: tuple[str, ...]) -> Pairs:
    surfaces = label_surfaces(labels)
    answers = [backend.answer_ids(conversations[0], surface) for _, surface in surfaces]
    prompts = backend.encode_prompts(conversations)
    return Pairs(
        conversations=conversations,
        contexts=[backend.render(conversation) for conversation in conversations],
        surfaces=surfaces,
        continuations=[backend.tokenizer.decode(ids) for ids in answers],
        token_ids=[[prompt + ids for ids in answers] for prompt in prompts],
    )


def adaptlab_logprobs(backend: LocalBackend, pairs: Pairs) -> tuple[list[list[float]], float]:
    """[prompt][form] log-probabilities from label scoring, and its seconds (shared-prefix memo cold)."""
    backend._prefix_memo.clear()
    started = time.perf_counter()
    rows = backend.score(pairs.conversations, [surface for _, surface in pairs.surfaces])
    return [list(row.logprobs) for row in rows], time.perf_counter() - started


def lm_eval_loglikelihood(lm: Any, pairs: list[tuple[str, str]]) -> list[float]:
    from lm_eval.api.instance import Instance

    requests = [Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=0) for pair in pairs]
    return [logprob for logprob, _ in lm.loglikelihood(requests, disable_tqdm=True)]


def lm_eval_logprobs(lm: Any, pairs: Pairs) -> tuple[list[list[float]], float]:
    """[prompt][form] log-probabilities from ``HFLM.loglikelihood``, and its seconds."""
    started = time.perf_counter()
    flat = lm_eval_loglikelihood(lm, pairs.strings())
    elapsed = time.perf_counter() - started
    width = len(pairs.continuations)
    return [flat[i : i + width] for i in range(0, len(flat), width)], elapsed


def moved_whitespace_logprobs(lm: Any, contexts: list[str]) -> list[float]:
    """lm-eval's log-probability of the whitespace it moves from each context into the continuation."""
    split = [(c.rstrip(), c[len(c.rstrip()) :]) for c in contexts]
    asked = lm_eval_loglikelihood(lm, [pair for pair in split if pair[1]])
    found = iter(asked)
    return [next(found) if tail else 0.0 for _, tail in split]


def same_tokens(lm: Any, pairs: Pairs) -> int:
    """Pairs whose token sequence in lm-eval (context + continuation) is the one adaptlab scores."""
    same = 0
    for context, row in zip(pairs.contexts, pairs.token_ids, strict=True):
        for continuation, ids in zip(pairs.continuations, row, strict=True):
            context_ids, continuation_ids = lm._encode_pair(context, continuation)
            same += context_ids + continuation_ids == ids
    return same


def picks(labels: tuple[str, ...], pairs: Pairs, logprobs: list[list[float]]) -> list[str]:
    """The label each prompt gets, as adaptlab decides it (sum of its forms' probabilities)."""
    chosen = []
    for row in logprobs:
        scores = combine_surfaces(labels, pairs.surfaces, row)
        chosen.append(max(labels, key=lambda label: scores[label]))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--examples", type=int, default=24, help="test examples per rung, label-stratified (default 24)"
    )
    parser.add_argument("--strategies", default="zero-shot,few-shot-random-8", help="comma-separated rungs")
    parser.add_argument(
        "--lm-eval-batch-size",
        type=int,
        default=8,
        help="HFLM batch_size (default 8; its CLI's default is 1)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=torch.get_num_threads(),
        help="torch threads for both (default: torch's)",
    )
    args = parser.parse_args()
    try:
        from lm_eval.models.huggingface import HFLM
    except ImportError:
        parser.exit(
            2, f'adaptlab: this benchmark needs lm-eval=={LM_EVAL_VERSION}: pip install -e ".[bench]"\n'
        )
    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()

    task = load_task("tweet-sentiment")
    split = split_task(task, fractions=(0.6, 0.1, 0.3), seed=0)
    # The splits are grouped by label: a prefix would be all negatives.
    examples = list(stratified_sample(split.test, args.examples, seed=0))
    labels = tuple(task.labels or ())
    backend = load_backend("smollm2-135m")
    assert isinstance(backend, LocalBackend)
    lm = HFLM(
        pretrained=str(backend.directory), batch_size=args.lm_eval_batch_size, device="cpu", dtype="float32"
    )
    mix = ", ".join(f"{n} {label}" for label, n in sorted(Counter(e.output for e in examples).items()))
    print(
        f"{len(examples)} test examples ({mix}) x {len(label_surfaces(labels))} label forms per rung; "
        f"threads {torch.get_num_threads()}; load average {load_before[0]:.1f} on {os.cpu_count()} cpu"
    )

    rungs = []
    for name in args.strategies.split(","):
        strategy = get_strategy(name)
        strategy.prepare(StrategyContext(task=task, train=split.train, dev=split.dev, seed=0))
        rungs.append((name, build_pairs(backend, strategy.render_many(examples, task), labels)))

    warm = build_pairs(backend, rungs[-1][1].conversations[:2], labels)
    adaptlab_logprobs(backend, warm)
    lm_eval_logprobs(lm, warm)

    totals = {"adaptlab": 0.0, "lm-eval": 0.0}
    n_pairs = agree = 0
    worst = 0.0
    for name, pairs in rungs:
        n = len(pairs.contexts) * len(pairs.continuations)
        tokens = sum(len(ids) for row in pairs.token_ids for ids in row) / n
        identical = same_tokens(lm, pairs)
        ours, ours_s = adaptlab_logprobs(backend, pairs)
        theirs, theirs_s = lm_eval_logprobs(lm, pairs)
        moved = moved_whitespace_logprobs(lm, pairs.contexts)
        differences = [
            abs((t - m) - o)
            for o_row, t_row, m in zip(ours, theirs, moved, strict=True)
            for o, t in zip(o_row, t_row, strict=True)
        ]
        same = sum(
            a == b for a, b in zip(picks(labels, pairs, ours), picks(labels, pairs, theirs), strict=True)
        )
        totals["adaptlab"] += ours_s
        totals["lm-eval"] += theirs_s
        n_pairs += n
        agree += same
        worst = max(worst, *differences)
        print(
            f"== {name}: {n} pairs, {tokens:.0f} tokens each on average; same token sequence {identical}/{n}"
        )
        print(f"adaptlab LocalBackend.score:  {n / ours_s:7.2f} pairs/s ({ours_s:.1f} s)")
        print(
            f"lm-eval HFLM.loglikelihood:   {n / theirs_s:7.2f} pairs/s ({theirs_s:.1f} s)  "
            f"lm-eval/adaptlab {theirs_s / ours_s:.1f}x"
        )
        print(
            f"largest |log-probability difference| {max(differences):.2g} (after the moved newline, "
            f"|log p| at most {max(abs(m) for m in moved):.2g}); same label on {same}/{len(pairs.contexts)} "
            f"examples"
        )

    load_after = os.getloadavg()
    print(
        f"overall: adaptlab {n_pairs / totals['adaptlab']:.2f} pairs/s, lm-eval "
        f"{n_pairs / totals['lm-eval']:.2f} pairs/s; largest |log-probability difference| {worst:.2g}; "
        f"same label on {agree}/{len(examples) * len(rungs)}; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after"
    )
    print(
        f"setup: smollm2-135m fp32 on tweet-sentiment, {len(examples)} stratified test examples x "
        f"{args.strategies}, {n_pairs} pairs, adaptlab LocalBackend.score (batches up to "
        f"{backend.max_batch_size} rows / {backend.max_batch_tokens} tokens) vs lm-eval {LM_EVAL_VERSION} "
        f"HFLM.loglikelihood (batch_size {args.lm_eval_batch_size}), {platform.machine()} {os.cpu_count()} "
        f"cpu, torch {torch.__version__}, threads {torch.get_num_threads()} "
        f"ratio={totals['lm-eval'] / totals['adaptlab']:.1f}"
    )


if __name__ == "__main__":
    main()
