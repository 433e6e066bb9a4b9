"""Shared-prefix KV cache: an 8-shot evaluation with and without it.

Every prompt of a few-shot rung starts with the same system prompt, instruction and demos; only
the input at the end differs. With the cache, the backend runs that prefix through the model
once and reuses its keys/values for every row of every batch; without it, each prompt is
computed whole. Both runs use the same engine otherwise (batching, length bucketing, greedy
generation), the same model and the same label-stratified sample of the test split, in one
process; their answers are compared.

Run: ``python benchmarks/prefix_cache.py [--examples 128] [--shots 8]``. The last line gives the
setup and ``ratio=<examples/s with the cache / examples/s without>`` for generation.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ["HF_HUB_OFFLINE"] = "1"

import torch

from adaptlab.data import load_task, split_task, stratified_sample
from adaptlab.evaluation import Request, ask
from adaptlab.models import load_backend
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import StrategyContext, get_strategy


def timed_run(backend: LocalBackend, conversations: list, request: Request) -> tuple[list, float, int]:
    backend._prefix_memo.clear()
    computed = backend.tokens_computed
    started = time.perf_counter()
    answers = ask(backend, conversations, request)
    return answers, time.perf_counter() - started, backend.tokens_computed - computed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--examples", type=int, default=128, help="label-stratified test examples (default 128)"
    )
    parser.add_argument("--shots", type=int, default=8, help="demos per prompt (default 8)")
    args = parser.parse_args()

    task = load_task("tweet-sentiment")
    split = split_task(task, fractions=(0.6, 0.1, 0.3), seed=0)
    examples = list(stratified_sample(split.test, args.examples, seed=0))
    strategy = get_strategy(f"few-shot-random-{args.shots}")
    strategy.prepare(StrategyContext(task=task, train=split.train, seed=0))
    conversations = strategy.render_many(examples, task)
    labels = tuple(task.labels or ())

    backend = load_backend("smollm2-135m")
    assert isinstance(backend, LocalBackend)
    budget = strategy.max_new_tokens(max(backend.count_tokens(label) for label in labels))
    n = len(examples)
    prompt_tokens = sum(len(p) for p in backend.encode_prompts(conversations))
    print(f"{args.shots}-shot prompts: {n} examples, {prompt_tokens / n:.0f} prompt tokens each on average")

    results = {}
    for mode, request in (
        ("generation", Request("generate", budget)),
        ("label scoring", Request("score", labels=labels)),
    ):
        backend.prefix_cache = True
        cached, cached_s, cached_tokens = timed_run(backend, conversations, request)
        backend.prefix_cache = False
        plain, plain_s, plain_tokens = timed_run(backend, conversations, request)
        same = sum(a.text == b.text for a, b in zip(cached, plain, strict=True))
        results[mode] = plain_s / cached_s
        print(
            f"{mode}: with cache {n / cached_s:.2f} ex/s ({cached_tokens} prompt tokens computed), "
            f"without {n / plain_s:.2f} ex/s ({plain_tokens} computed): {plain_s / cached_s:.1f}x; "
            f"same answer {same}/{n}"
        )
    print(
        f"setup: smollm2-135m few-shot-random-{args.shots} on tweet-sentiment, "
        f"{n} label-stratified test examples, generation (label scoring {results['label scoring']:.1f}x), "
        f"{platform.machine()} {os.cpu_count()} cpu, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()} ratio={results['generation']:.1f}"
    )


if __name__ == "__main__":
    main()
