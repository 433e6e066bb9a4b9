"""Training throughput: adaptlab's SFT vs TRL's ``SFTTrainer`` with its default arguments.

Both sides fine-tune the bundled model on the same training examples of the bundled task (a
seeded stratified sample of the train split, rendered with the zero-shot prompt exactly as
``adaptlab tune`` renders it) with the same
LoRA adapter (or full SFT), batch size, epochs and seed, each in a fresh subprocess so neither
inherits the other's memory. Only ``trainer.train()`` is timed (no model loading, no saving).

* **adaptlab** builds its trainer with ``build_trainer()``, as ``finetune()`` does (padding-free
  rows, attention within each packed example, LM head only at completion positions, no
  gradient checkpointing) on the rows ``build_rows()`` makes. Checkpoint saving is turned off
  here so that the time is training steps only (``finetune()`` saves once per epoch).
* **TRL defaults** is what a user writes first: ``SFTConfig`` left at its defaults except what
  the comparison needs (output dir, epochs, batch size, seed, no reporting, no saving) and what
  a CPU needs (``use_cpu=True``; ``bf16=False``, since TRL defaults to bf16 and fp32 is what
  adaptlab trains in on a CPU); the same examples as a conversational prompt-completion
  dataset, so TRL applies the chat template itself. Its defaults pad each batch, turn on
  gradient checkpointing and, on a CPU (no Triton), score every position through the LM head.

Useful tokens are prompt plus completion tokens, padding excluded (TRL's completion keeps the
newline the chat template writes after the end-of-turn token: one more token per example).

**MFU.** Model FLOPs are what the *task* needs, counted over matmuls only (norms, activations,
softmax and RoPE left out), per example of length ``T`` with ``C`` completion tokens:

* linear layers, ``N`` = their weights (embedding and LM head excluded): ``2N`` per token
  forward, ``2N`` backward to the activations, and ``2N`` more for weight gradients when they
  are trained: ``6N·T`` for full SFT, ``4N·T`` for LoRA, plus ``6·N_lora·T`` for the adapters'
  own matmuls (``N_lora = r·(in+out)`` per adapted layer);
* attention, ``q`` = heads·head_dim: ``4·q`` per query per key for QKᵀ and AV, causal within
  the example (``T(T+1)/2`` query-key pairs), times 3 with the backward: ``6·layers·q·T(T+1)``;
* LM head, ``d``·vocab weights, only at the ``C`` positions whose next token is trained:
  ``6·d·V·C`` for full SFT, ``4·d·V·C`` for LoRA (the LM head is frozen).

Padding, cross-example attention in a packed row, recomputation and logits at prompt positions
are not model FLOPs. Achieved FLOP/s = model FLOPs / training seconds; MFU divides it by the
FLOP/s of a large matmul timed in the same subprocess, same threads, before and after training
(the best of both; fp32 2048² on a CPU; 8192² in the training's dtype on a GPU, bf16 there).

Run: ``python benchmarks/train_throughput.py [--examples 64] [--epochs 1] [--batch-size 8]
[--mode lora|full] [--threads N]``. The last line gives the setup,
``ratio=<adaptlab useful tokens/s / TRL's>`` and ``mfu=<adaptlab's model FLOP/s / matmul FLOP/s>``.
On a machine shared with other work, ``--threads 1`` gives steadier figures: with every core's
thread in use, a descheduled thread stalls each of the thousands of small ops a step runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

import torch

from adaptlab.data import load_task, split_task, stratified_sample
from adaptlab.models import load_backend
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import StrategyContext, get_strategy
from adaptlab.tuning import TrainingRow, TuneConfig, build_rows
from adaptlab.tuning.examples import IGNORE_INDEX, useful_tokens
from adaptlab.tuning.sft import (
    PeakMemory,
    build_trainer,
    current_rss_bytes,
    load_base_model,
    lora_config,
)

MODEL = "smollm2-135m"
RESULT = "RESULT "
"""Prefix of the line a side's subprocess prints its measurements on (as JSON)."""
MiB = 2**20


class CountingCollator:
    """Wraps a trainer's collator to count the positions it hands the model and the real ones."""

    def __init__(self, collate: Callable[[list[Any]], dict[str, Any]]) -> None:
        self.collate = collate
        self.positions = 0
        self.useful = 0

    def __call__(self, examples: list[Any]) -> dict[str, Any]:
        batch = self.collate(examples)
        self.positions += int(batch["input_ids"].numel())
        mask = batch.get("attention_mask")
        self.useful += int(mask.sum()) if mask is not None else int(batch["input_ids"].numel())
        return batch


def model_flops(model: Any, rows: list[TrainingRow], mode: str, lora_r: int, epochs: float) -> float:
    """Matmul FLOPs the task needs (see the module docstring for the formula)."""
    config = model.config
    head = model.get_output_embeddings()
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m is not head]
    n_linear = sum(m.in_features * m.out_features for m in linears)
    n_lora = lora_r * sum(m.in_features + m.out_features for m in linears) if mode == "lora" else 0
    weight_factor = 6 if mode == "full" else 4
    q_dim = config.num_attention_heads * getattr(
        config, "head_dim", config.hidden_size // config.num_attention_heads
    )
    per_epoch = 0.0
    for row in rows:
        length, completion = len(row.prompt_ids) + len(row.completion_ids), len(row.completion_ids)
        per_epoch += (weight_factor * n_linear + 6 * n_lora) * length
        per_epoch += 6 * config.num_hidden_layers * q_dim * length * (length + 1)
        per_epoch += weight_factor * head.in_features * head.out_features * completion
    return per_epoch * epochs


def matmul_flops_per_s() -> tuple[float, str]:
    """Best FLOP/s of a large square matmul on this device (and what was timed)."""
    on_gpu = torch.cuda.is_available()
    size = 8192 if on_gpu else 2048
    dtype = torch.bfloat16 if on_gpu and torch.cuda.is_bf16_supported() else torch.float32
    device = "cuda" if on_gpu else "cpu"
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = 0.0
    for _ in range(8):
        if on_gpu:
            torch.cuda.synchronize()
        started = time.perf_counter()
        a @ b
        if on_gpu:
            torch.cuda.synchronize()
        best = max(best, 2 * size**3 / (time.perf_counter() - started))
    return best, f"{str(dtype).removeprefix('torch.')} {size}x{size}"


def adaptlab_trainer(data: dict[str, Any], config: TuneConfig, output_dir: Path) -> Any:
    """The trainer `finetune()` builds (`build_trainer`), without dev rows or checkpoints."""
    rows = [TrainingRow(tuple(p), tuple(c)) for p, c in data["rows"]]
    interval = math.ceil(len(rows) / config.batch_size)
    prepared = build_trainer(
        Path(data["base_dir"]), rows, [], config, output_dir, interval=interval, checkpoints=False
    )
    return prepared.trainer


def trl_trainer(data: dict[str, Any], config: TuneConfig, output_dir: Path) -> Any:
    """`SFTTrainer` with `SFTConfig` defaults, fed conversations; same model, LoRA, epochs, seed."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    base_dir = Path(data["base_dir"])
    on_cpu = {} if torch.cuda.is_available() else {"use_cpu": True, "bf16": False}
    args = SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        seed=config.seed,
        report_to="none",
        save_strategy="no",
        **on_cpu,
    )
    dataset = Dataset.from_list(
        [
            {"prompt": conversation, "completion": [{"role": "assistant", "content": answer}]}
            for conversation, answer in zip(data["conversations"], data["answers"], strict=True)
        ]
    )
    return SFTTrainer(
        model=load_base_model(base_dir),
        args=args,
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(base_dir, local_files_only=True),
        peft_config=lora_config(config) if config.mode == "lora" else None,
    )


def run_side(side: str, data_path: Path, config: TuneConfig) -> dict[str, Any]:
    """Train one side in this (fresh) process and measure it."""
    from transformers import set_seed
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore")
    data = json.loads(data_path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="train-throughput-") as tmp:
        set_seed(config.seed)
        build = adaptlab_trainer if side == "adaptlab" else trl_trainer
        trainer = build(data, config, Path(tmp))
        counter = CountingCollator(trainer.data_collator)
        trainer.data_collator = counter
        before = matmul_flops_per_s()
        memory = PeakMemory()
        start_bytes = torch.cuda.memory_allocated() if torch.cuda.is_available() else current_rss_bytes()
        with memory:
            started = time.perf_counter()
            output = trainer.train()
            seconds = time.perf_counter() - started
        first = trainer.train_dataset[0]
        completion = [t for t in first["labels"] if t != IGNORE_INDEX] if "labels" in first else []
        completion_text = trainer.processing_class.decode(completion)
    # The better of a timing before and one after training: a burst of other work on a shared
    # machine during one of them must not pass for this machine's peak.
    peak, timed = max(before, matmul_flops_per_s())
    return {
        "side": side,
        "useful_tokens": counter.useful,
        "positions": counter.positions,
        "seconds": seconds,
        "peak_bytes": memory.peak_bytes,
        "start_bytes": start_bytes,
        "loss": float(output.training_loss),
        "steps": trainer.state.global_step,
        "gradient_checkpointing": bool(trainer.args.gradient_checkpointing),
        "bf16": bool(trainer.args.bf16),
        "learning_rate": float(trainer.args.learning_rate),
        "completion_example": completion_text,
        "matmul_flops_per_s": peak,
        "matmul": timed,
        "threads": torch.get_num_threads(),
        "device": str(trainer.args.device),
    }


def prepare_data(examples: int, path: Path, mode: str, lora_r: int, epochs: float) -> tuple[float, int]:
    """Write the rows and conversations both sides train on; return (model FLOPs, useful tokens)."""
    task = load_task("tweet-sentiment")
    split = split_task(task, fractions=(0.6, 0.1, 0.3), seed=0)
    selected = stratified_sample(split.train, examples, seed=0)
    strategy = get_strategy("zero-shot")
    strategy.prepare(StrategyContext(task=task, train=split.train, dev=split.dev, seed=0))
    conversations = strategy.render_many(selected, task)
    answers = [example.output for example in selected]
    backend = load_backend(MODEL)
    assert isinstance(backend, LocalBackend)
    rows = build_rows(backend, conversations, answers)
    data = {
        "base_dir": str(backend.directory),
        "rows": [[row.prompt_ids, row.completion_ids] for row in rows],
        "conversations": [list(conversation) for conversation in conversations],
        "answers": answers,
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return model_flops(backend.model, rows, mode, lora_r, epochs), round(useful_tokens(rows) * epochs)


def measure(side: str, data_path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run one side in a fresh interpreter and read back its result line."""
    command = [
        sys.executable,
        __file__,
        "--side",
        side,
        "--data",
        str(data_path),
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--mode",
        args.mode,
        *(["--threads", str(args.threads)] if args.threads else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    results = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not results:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        sys.exit(f"train_throughput: the {side} side failed (exit {done.returncode})")
    return json.loads(results[-1].removeprefix(RESULT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=64, help="training examples (default 64)")
    parser.add_argument("--epochs", type=float, default=1.0, help="epochs (default 1)")
    parser.add_argument("--batch-size", type=int, default=8, help="examples per step (default 8)")
    parser.add_argument("--mode", choices=("lora", "full"), default="lora", help="default lora (r=16)")
    parser.add_argument(
        "--threads", type=int, help="torch threads in each side (default: torch's, one per core)"
    )
    parser.add_argument("--side", choices=("adaptlab", "trl"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = TuneConfig(mode=args.mode, epochs=args.epochs, batch_size=args.batch_size)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.side:
        print(RESULT + json.dumps(run_side(args.side, args.data, config)), flush=True)
        return

    with tempfile.TemporaryDirectory(prefix="train-throughput-") as tmp:
        data_path = Path(tmp) / "data.json"
        flops, expected = prepare_data(args.examples, data_path, args.mode, config.lora_r, args.epochs)
        ours = measure("adaptlab", data_path, args)
        theirs = measure("trl", data_path, args)

    report(args, config, flops, expected, ours, theirs)


def tokens_per_s(result: dict[str, Any]) -> float:
    return result["useful_tokens"] / result["seconds"]


def report(
    args: argparse.Namespace,
    config: TuneConfig,
    flops: float,
    expected: int,
    ours: dict[str, Any],
    theirs: dict[str, Any],
) -> None:
    """The table, the checks that both sides did the same work, and the one-line summary."""
    on_gpu = torch.cuda.is_available()
    print(
        f"{'side':<13}{'useful tok':>11}{'positions':>10}{'seconds':>9}{'tok/s':>8}"
        f"{'peak MiB':>9}{'start MiB':>10}{'mean loss':>10}{'GFLOP/s':>9}{'MFU':>6}"
    )
    for name, r in (("adaptlab", ours), ("TRL defaults", theirs)):
        achieved = flops / r["seconds"]
        print(
            f"{name:<13}{r['useful_tokens']:>11}{r['positions']:>10}{r['seconds']:>9.1f}"
            f"{tokens_per_s(r):>8.0f}{r['peak_bytes'] / MiB:>9.0f}{r['start_bytes'] / MiB:>10.0f}"
            f"{r['loss']:>10.3f}{achieved / 1e9:>9.1f}{achieved / r['matmul_flops_per_s']:>6.2f}"
        )
    extra = (theirs["useful_tokens"] - ours["useful_tokens"]) / max(ours["useful_tokens"], 1)
    print(
        f"useful tokens: rows {expected}, adaptlab {ours['useful_tokens']}, TRL {theirs['useful_tokens']} "
        f"({extra:+.1%}); first completion: adaptlab {ours['completion_example']!r}, "
        f"TRL {theirs['completion_example']!r}"
        + ("" if abs(extra) <= 0.05 else "  WARNING: the sides differ by more than 5%")
    )
    bf16_note = "" if on_gpu else " (set off: TRL defaults to bf16; adaptlab trains fp32 on a CPU)"
    print(
        f"TRL defaults in effect: lr {theirs['learning_rate']:g} (adaptlab {ours['learning_rate']:g}), "
        f"gradient checkpointing {theirs['gradient_checkpointing']}, bf16 {theirs['bf16']}{bf16_note}, "
        f"{theirs['positions'] - theirs['useful_tokens']} padding positions"
    )
    print(
        f"model FLOPs {flops / 1e12:.2f} TFLOP; matmul {ours['matmul']}: "
        f"{ours['matmul_flops_per_s'] / 1e9:.0f} GFLOP/s (adaptlab side), "
        f"{theirs['matmul_flops_per_s'] / 1e9:.0f} (TRL side)"
    )
    method = f"LoRA r={config.lora_r}" if args.mode == "lora" else "full SFT"
    epochs = f"{args.epochs:g} epoch{'' if args.epochs == 1 else 's'}"
    hardware = (
        torch.cuda.get_device_name() if on_gpu else f"{platform.machine()} cpu {ours['threads']} threads"
    )
    ratio = tokens_per_s(ours) / tokens_per_s(theirs)
    mfu = flops / ours["seconds"] / ours["matmul_flops_per_s"]
    print(
        f"train_throughput: {MODEL} {method}, {args.examples} examples x {epochs}, "
        f"batch {args.batch_size}, {hardware}, torch {torch.__version__}: "
        f"adaptlab {tokens_per_s(ours):.0f} tok/s vs TRL defaults {tokens_per_s(theirs):.0f} tok/s, "
        f"peak mem {ours['peak_bytes'] / MiB:.0f} vs {theirs['peak_bytes'] / MiB:.0f} MiB, "
        f"matmul {ours['matmul_flops_per_s'] / 1e9:.0f} GFLOP/s ratio={ratio:.2f} mfu={mfu:.2f}"
    )


if __name__ == "__main__":
    main()
