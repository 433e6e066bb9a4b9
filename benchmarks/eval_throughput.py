"""Evaluation throughput: adaptlab's engine vs a per-example transformers pipeline loop.

The obvious way to evaluate a prompt on a task is a loop calling
``pipeline("text-generation")`` once per example with greedy decoding. adaptlab's engine asks
the same prompts of the same model in length-bucketed batches, computes the prompt prefix they
share once (shared-prefix KV cache), and for a closed-label task can score the labels instead
of generating (label scoring). All three are timed here on the same label-stratified sample of
the bundled task's test split (every class, in its share), in one process, with no result cache;
the predictions are compared.

It also times a plain batched forward, ``model(input_ids)`` over the same prompts padded in
batches, to show how close the engine runs to what this machine can compute.

Run: ``python benchmarks/eval_throughput.py [--examples 96] [--strategies zero-shot,few-shot-random-8]``.
The last line gives the setup and ``ratio=<engine label-scoring examples/s / pipeline examples/s>``
over all the strategies measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

os.environ["HF_HUB_OFFLINE"] = "1"

import torch
from transformers import pipeline
from transformers.utils import logging as hf_logging

from adaptlab.data import load_task, split_task, stratified_sample
from adaptlab.evaluation import Request, ask
from adaptlab.models import load_backend
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import StrategyContext, get_strategy


def pipeline_answers(
    backend: LocalBackend, conversations: list, max_new_tokens: int
) -> tuple[list[str], float]:
    """The per-example loop a user writes: one pipeline call per prompt, greedy decoding."""
    generator = pipeline("text-generation", model=backend.model, tokenizer=backend.tokenizer)
    started = time.perf_counter()
    answers = []
    for conversation in conversations:
        output = generator(list(conversation), max_new_tokens=max_new_tokens, do_sample=False)
        answers.append(output[0]["generated_text"][-1]["content"].strip())
    return answers, time.perf_counter() - started


def plain_forward_tokens_per_s(backend: LocalBackend, conversations: list, batch_size: int) -> float:
    """Real (non-padding) prompt tokens per second of ``model(input_ids)`` on padded batches."""
    prompts = backend.encode_prompts(conversations)
    pad = backend.tokenizer.pad_token_id
    real = 0
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            width = max(len(p) for p in batch)
            ids = torch.tensor([[pad] * (width - len(p)) + p for p in batch])
            mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch])
            backend.model(input_ids=ids, attention_mask=mask)
            real += sum(len(p) for p in batch)
    return real / (time.perf_counter() - started)


def engine_run(backend: LocalBackend, conversations: list, request: Request) -> tuple[list, float, int]:
    """Answers, seconds, and prompt tokens the model actually computed (prefix reuse excluded)."""
    backend._prefix_memo.clear()  # every run starts cold: the shared prefix is computed once inside it
    computed_before = backend.tokens_computed
    started = time.perf_counter()
    answers = ask(backend, conversations, request)
    return answers, time.perf_counter() - started, backend.tokens_computed - computed_before


def accuracy(values: list, gold: list[str]) -> float:
    return sum(v == g for v, g in zip(values, gold, strict=True)) / len(gold)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--examples", type=int, default=96, help="label-stratified test examples per strategy (default 96)"
    )
    parser.add_argument("--strategies", default="zero-shot,few-shot-random-8", help="comma-separated rungs")
    args = parser.parse_args()
    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore")

    task = load_task("tweet-sentiment")
    split = split_task(task, fractions=(0.6, 0.1, 0.3), seed=0)
    examples = list(stratified_sample(split.test, args.examples, seed=0))
    backend = load_backend("smollm2-135m")
    assert isinstance(backend, LocalBackend)
    labels = tuple(task.labels or ())
    totals = {"pipeline": 0.0, "generate": 0.0, "score": 0.0}

    for name in args.strategies.split(","):
        strategy = get_strategy(name)
        strategy.prepare(StrategyContext(task=task, train=split.train, dev=split.dev, seed=0))
        conversations = strategy.render_many(examples, task)
        budget = strategy.max_new_tokens(max(backend.count_tokens(label) for label in labels))
        print(f"== {name}: {len(examples)} label-stratified test examples, greedy up to {budget} new tokens")

        reference, pipeline_s = pipeline_answers(backend, conversations, budget)
        generated, generate_s, generate_tokens = engine_run(
            backend, conversations, Request("generate", budget)
        )
        scored, score_s, score_tokens = engine_run(backend, conversations, Request("score", labels=labels))
        totals["pipeline"] += pipeline_s
        totals["generate"] += generate_s
        totals["score"] += score_s

        reference_labels = [strategy.parse(text, task).value for text in reference]
        same_text = sum(a == b.text for a, b in zip(reference, generated, strict=True))
        parsed = [(r, s.text) for r, s in zip(reference_labels, scored, strict=True) if r is not None]
        agree_scored = sum(r == s for r, s in parsed)
        gold = [e.output for e in examples]

        prompt_tokens = sum(a.prompt_tokens for a in scored)
        n = len(examples)
        print(
            f"pipeline loop:          {n / pipeline_s:6.2f} examples/s  "
            f"accuracy {accuracy(reference_labels, gold):.1%}"
        )
        print(
            f"engine, generation:     {n / generate_s:6.2f} examples/s  ({pipeline_s / generate_s:.1f}x)  "
            f"identical text {same_text}/{n}"
        )
        print(
            f"engine, label scoring:  {n / score_s:6.2f} examples/s  ({pipeline_s / score_s:.1f}x)  "
            f"accuracy {accuracy([a.text for a in scored], gold):.1%}; same label as the pipeline on "
            f"{agree_scored}/{len(parsed)} examples whose pipeline answer parsed"
        )
        plain = plain_forward_tokens_per_s(backend, conversations, backend.max_batch_size)
        print(
            f"forward throughput: engine computes {score_tokens / score_s:.0f} prompt tokens/s "
            f"(serves {prompt_tokens / score_s:.0f}/s counting the reused prefix; generation computes "
            f"{generate_tokens / generate_s:.0f}/s); plain batched model(input_ids): {plain:.0f} tokens/s"
        )

    n_total = len(examples) * len(args.strategies.split(","))
    print(
        f"overall: pipeline {n_total / totals['pipeline']:.2f} ex/s, engine generation "
        f"{n_total / totals['generate']:.2f} ex/s ({totals['pipeline'] / totals['generate']:.1f}x), "
        f"engine label scoring {n_total / totals['score']:.2f} ex/s"
    )
    print(
        f"setup: smollm2-135m on tweet-sentiment, {len(examples)} label-stratified test examples x "
        f"{args.strategies}, "
        f"engine label scoring vs per-example pipeline greedy, {platform.machine()} {os.cpu_count()} cpu, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()} "
        f"ratio={totals['pipeline'] / totals['score']:.1f}"
    )


if __name__ == "__main__":
    main()
