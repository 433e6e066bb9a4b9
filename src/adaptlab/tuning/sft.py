"""Supervised fine-tuning, as one story: look up → load → wrap with LoRA → train → save.

TRL and PEFT do the work; this module chooses their settings for small data and makes the run
safe to interrupt:

* the weights are keyed by a content hash (`registry.py`): asking twice reuses the entry,
  and two processes asking at once train it once (the second waits on the key's lock);
* checkpoints (weights, optimizer, scheduler, RNG states, data position) are written every
  `checkpoint_steps` under the registry's work directory, and a re-run of the same request
  resumes from the newest one — `kill -9` costs at most one interval, and the resumed run ends
  with the same weights as an uninterrupted one;
* the finished weights are written to a staging directory and renamed into place;
* training can continue stored weights (`start_from`): the same LoRA adapter trains on, or the
  fully tuned model is loaded instead of the base, and the result is again one adapter on the
  base (or one full model), keyed by the start weights' key too.

>>> weights = finetune(base_dir, rows, dev_rows, TuneConfig(), registry=WeightsRegistry(root),
...                    base_fingerprint="smollm2-135m@ab12")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from adaptlab.models.local import quiet_peft
from adaptlab.tuning.config import TuneConfig
from adaptlab.tuning.examples import TrainingRow, rows_hash, useful_tokens
from adaptlab.tuning.registry import StoredWeights, WeightsRegistry, weights_key
from adaptlab.tuning.trainer import (
    CompletionOnlySFTTrainer,
    ProgressCallback,
    StepCallback,
    StepTimer,
    use_packed_attention,
)

CHECKPOINTS = "checkpoints"
TRAINER_STATE = "trainer_state.json"


@dataclass(frozen=True)
class TrainingRun:
    """Trained weights and what the training that produced them cost."""

    weights: StoredWeights
    reused: bool
    """True when the registry already held these weights and nothing was trained."""

    @property
    def training(self) -> dict[str, Any]:
        return dict(self.weights.manifest["training"])


def finetune(
    base_dir: Path,
    rows: Sequence[TrainingRow],
    dev_rows: Sequence[TrainingRow],
    config: TuneConfig,
    *,
    registry: WeightsRegistry,
    base_fingerprint: str,
    checkpoint_steps: int | None = None,
    on_step: StepCallback | None = None,
    start_from: StoredWeights | None = None,
) -> TrainingRun:
    """Train `config.mode` weights on `rows` (early-stopped on `dev_rows`), or reuse them.

    Every dev row is scored at every checkpoint, so callers pass a small, label-stratified
    sample (the learning curve uses `DEV_LOSS_EXAMPLES`).

    `checkpoint_steps` defaults to one checkpoint (and one dev-loss evaluation) per epoch.

    With `start_from` (weights trained on the same base in the same mode), training continues
    from them instead of the base: for LoRA the stored adapter keeps training (its own rank,
    alpha and targets), for full fine-tuning the stored model is loaded. The optimizer and
    schedule start afresh.
    """
    if not rows:
        raise ValueError("fine-tuning needs at least one training example")
    if start_from is not None and start_from.mode != config.mode:
        raise ValueError(
            f"cannot continue {start_from.mode} weights {start_from.key} with {config.mode} fine-tuning"
        )
    start_key = start_from.key if start_from is not None else None
    key = weights_key(base_fingerprint, rows_hash(rows), rows_hash(dev_rows), config, start_key)
    stored = registry.get(key)
    if stored is not None:
        return TrainingRun(stored, reused=True)
    with registry.training(key):
        # Another process may have trained these very weights while this one waited.
        stored = registry.get(key)
        if stored is not None:
            return TrainingRun(stored, reused=True)
        return train_and_publish(
            base_dir,
            rows,
            dev_rows,
            config,
            key,
            registry=registry,
            base_fingerprint=base_fingerprint,
            checkpoint_steps=checkpoint_steps,
            on_step=on_step,
            start_from=start_from,
        )


def train_and_publish(
    base_dir: Path,
    rows: Sequence[TrainingRow],
    dev_rows: Sequence[TrainingRow],
    config: TuneConfig,
    key: str,
    *,
    registry: WeightsRegistry,
    base_fingerprint: str,
    checkpoint_steps: int | None,
    on_step: StepCallback | None,
    start_from: StoredWeights | None = None,
) -> TrainingRun:
    """Train the weights `key` names (resuming from its newest checkpoint) and publish them."""
    work = registry.work_dir(key)
    checkpoints = work / CHECKPOINTS
    checkpoints.mkdir(parents=True, exist_ok=True)
    interval = checkpoint_steps or math.ceil(len(rows) / config.batch_size)
    training = build_trainer(
        base_dir,
        rows,
        dev_rows,
        config,
        checkpoints,
        interval=interval,
        on_step=on_step,
        start_from=start_from.directory if start_from is not None else None,
    )
    trainer, timer = training.trainer, training.timer

    resume_from = last_complete_checkpoint(checkpoints)
    memory = PeakMemory()
    started = time.perf_counter()
    with memory, quiet_peft():
        output = trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.perf_counter() - started

    # Under `accelerate launch` every process trained on its shard; count all their tokens.
    tokens = int(trainer.accelerator.reduce(torch.tensor(trainer.tokens_seen), reduction="sum"))
    staging = work / "final"
    if trainer.accelerator.is_main_process:
        shutil.rmtree(staging, ignore_errors=True)
    if training.packed_attention:  # saved weights must load with a stock attention implementation
        trainer.model.set_attn_implementation("sdpa")
    # Every rank takes part: under FSDP the full weights are gathered from all of them. The
    # adapter (LoRA) or model and tokenizer (full) are written as safetensors on rank 0.
    trainer.save_model(str(staging))
    if not trainer.accelerator.is_main_process:
        trainer.accelerator.wait_for_everyone()
        stored = registry.get(key)
        assert stored is not None, "the main process publishes the weights"
        return TrainingRun(stored, reused=False)
    # Trainer also pickles its arguments next to the weights; nothing here ever unpickles.
    (staging / "training_args.bin").unlink(missing_ok=True)
    history = [entry for entry in trainer.state.log_history if "eval_loss" in entry]
    data: dict[str, Any] = {
        "train_examples": len(rows),
        "train_hash": rows_hash(rows),
        "dev_examples": len(dev_rows),
        "dev_hash": rows_hash(dev_rows),
    }
    if start_from is not None:
        data["start_from"] = start_from.key
    manifest = {
        "key": key,
        "base": {"directory": str(base_dir), "fingerprint": base_fingerprint},
        "config": config.model_dump(mode="json"),
        "data": data,
        "training": {
            "steps": trainer.state.global_step,
            "epochs": float(trainer.state.epoch or 0.0),
            "train_loss": float(output.training_loss),
            "best_dev_loss": trainer.state.best_metric,
            "dev_losses": [float(entry["eval_loss"]) for entry in history],
            "tokens_per_epoch": useful_tokens(rows),
            "tokens": tokens,
            "wall_time_s": seconds,
            "step_time_s": timer.seconds,
            "tokens_per_s": tokens / timer.seconds if timer.seconds > 0 else 0.0,
            "peak_memory_bytes": memory.peak_bytes,
            "resumed_from_step": _checkpoint_step(resume_from),
            "device": str(trainer.args.device),
            "processes": trainer.accelerator.num_processes,
        },
        "trainable_parameters": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
        "versions": library_versions(),
    }
    stored = registry.commit(key, staging, manifest)
    trainer.accelerator.wait_for_everyone()
    return TrainingRun(stored, reused=False)


@dataclass
class PreparedTrainer:
    """A trainer ready to `train()`, with the timer of its optimizer steps."""

    trainer: CompletionOnlySFTTrainer
    timer: StepTimer
    packed_attention: bool


def build_trainer(
    base_dir: Path,
    rows: Sequence[TrainingRow],
    dev_rows: Sequence[TrainingRow],
    config: TuneConfig,
    output_dir: Path,
    *,
    interval: int,
    on_step: StepCallback | None = None,
    checkpoints: bool = True,
    start_from: Path | None = None,
) -> PreparedTrainer:
    """The trainer `finetune()` runs (the training benchmark builds the same one, without
    checkpoints, so that it times exactly what users get).

    `start_from` is a stored weights directory to continue: a LoRA adapter (loaded trainable
    onto the base; the trainer gets no `peft_config`, so no second adapter is added) or, in
    full mode, a fully tuned model loaded instead of the base."""
    from datasets import Dataset
    from transformers import AutoTokenizer, EarlyStoppingCallback, PrinterCallback

    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    lora = config.mode == "lora"
    model = load_base_model(start_from if start_from is not None and not lora else base_dir)
    packed = use_packed_attention(model)
    if start_from is not None and lora:
        from peft import PeftModel

        with quiet_peft():
            model = PeftModel.from_pretrained(model, str(start_from), is_trainable=True)
    args = training_arguments(config, output_dir, interval=interval, has_dev=bool(dev_rows))
    if not checkpoints:
        args.save_strategy = "no"
    callbacks: list[Any] = []
    if dev_rows and config.early_stopping_patience and checkpoints:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    with quiet_peft():
        trainer = CompletionOnlySFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_dict(_columns(rows)),
            eval_dataset=Dataset.from_dict(_columns(dev_rows)) if dev_rows else None,
            processing_class=tokenizer,
            peft_config=lora_config(config) if lora and start_from is None else None,
            callbacks=callbacks,
        )
    # `disable_tqdm` swaps the bar for a callback printing every log line; the caller draws its own.
    trainer.remove_callback(PrinterCallback)
    timer = StepTimer()
    trainer.add_callback(timer)
    if on_step is not None:
        trainer.add_callback(ProgressCallback(trainer, on_step))
    return PreparedTrainer(trainer, timer, packed)


def load_base_model(base_dir: Path) -> Any:
    """The base weights in fp32 (safetensors only: no pickled code from a user's directory)."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        return AutoModelForCausalLM.from_pretrained(
            base_dir, local_files_only=True, use_safetensors=True, dtype=torch.float32
        )
    finally:
        hf_logging.enable_progress_bar()


def training_arguments(config: TuneConfig, output_dir: Path, *, interval: int, has_dev: bool) -> Any:
    """TRL's `SFTConfig` with defaults for small data and no compute wasted on padding."""
    from trl import SFTConfig

    on_gpu = torch.cuda.is_available()
    evaluate = has_dev
    return SFTConfig(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup,
        weight_decay=config.weight_decay,
        lr_scheduler_type="linear",
        seed=config.seed,
        data_seed=config.seed,
        padding_free=True,
        max_length=None,
        completion_only_loss=True,
        activation_checkpointing=False,
        ddp_find_unused_parameters=False,  # LoRA leaves base weights frozen, not unused
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        use_cpu=not on_gpu,
        save_strategy="steps",
        save_steps=interval,
        save_total_limit=2 if evaluate else 1,
        eval_strategy="steps" if evaluate else "no",
        eval_steps=interval if evaluate else None,
        load_best_model_at_end=evaluate,
        metric_for_best_model="eval_loss" if evaluate else None,
        greater_is_better=False if evaluate else None,
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
    )


def lora_config(config: TuneConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_targets,
        task_type="CAUSAL_LM",
    )


def library_versions() -> dict[str, str]:
    import peft
    import transformers
    import trl

    import adaptlab

    return {
        "adaptlab": adaptlab.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "trl": trl.__version__,
    }


def _columns(rows: Sequence[TrainingRow]) -> dict[str, list[list[int]]]:
    return {"input_ids": [row.input_ids for row in rows], "labels": [row.labels for row in rows]}


def last_complete_checkpoint(checkpoints: Path) -> str | None:
    """The newest checkpoint under `checkpoints` that was saved to the end, or None.

    transformers writes a checkpoint in place, its ``trainer_state.json`` last, and resumes
    from the highest-numbered folder whatever it holds: a process killed while saving would
    leave a folder every later resume fails on. Folders without a readable state are deleted
    here (the resumed training saves that step again), and the newest whole one is returned.
    """
    found = [p for p in checkpoints.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    for path in sorted(found, key=lambda p: int(p.name.split("-")[-1]), reverse=True):
        try:
            json.loads((path / TRAINER_STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            shutil.rmtree(path, ignore_errors=True)
            continue
        return str(path)
    return None


def _checkpoint_step(path: str | None) -> int | None:
    return int(path.rsplit("-", 1)[-1]) if path else None


class PeakMemory:
    """Peak resident memory while the block runs (GPU: peak allocated).

    The process-wide high-water mark (`ru_maxrss`) never goes down, so after a first training
    every later one would report the same figure; sampling the current RSS gives each training
    its own peak.
    """

    INTERVAL_S = 0.05

    def __init__(self) -> None:
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self.peak_bytes = current_rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if torch.cuda.is_available():
            self.peak_bytes = int(torch.cuda.max_memory_allocated())

    def _sample(self) -> None:
        while not self._stop.wait(self.INTERVAL_S):
            self.peak_bytes = max(self.peak_bytes, current_rss_bytes())


def current_rss_bytes() -> int:
    """Resident set size of this process, from /proc on Linux (0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
