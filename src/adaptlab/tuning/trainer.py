"""TRL's `SFTTrainer`, with the loss computed only where it is needed.

Two things decide how fast small-model SFT runs on a CPU, and TRL's defaults get both wrong
for classification-style data (a ~100-token prompt, a ~3-token answer):

* **Vocabulary logits.** TRL's fused LM head scores every position in tiles on devices without
  Triton (CPUs included) and also computes entropy and top-1 accuracy for its logs. With loss on
  completion tokens only, all but a few positions are thrown away; here the LM head runs only at
  the positions whose next token is a completion token (`logits_to_keep` takes their indices).
* **Padding.** Rows are concatenated into one padding-free row (TRL's collator with
  `padding_free=True`), so no compute goes to pad tokens. Attention must still keep examples
  apart: without flash-attention kernels transformers would build a block-diagonal mask over
  the whole packed row and compute (and keep for backward) every score of it — 8x the
  attention the examples need at batch 8. `packed_sdpa_attention` instead runs causal SDPA on
  each example's slice of the row, using the sequence boundaries the collator provides.

Gradient checkpointing (TRL turns it on by default) is left off: it recomputes the forward
during backward, a third more compute to save memory a 135M model does not need.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from transformers import TrainerCallback
from trl import SFTTrainer

from adaptlab.tuning.examples import IGNORE_INDEX

PACKED_ATTENTION = "adaptlab_packed_sdpa"


def packed_sdpa_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Causal SDPA over each packed example separately (query/key/value: [1, heads, T, dim]).

    Registered as a transformers attention implementation. Being unknown to transformers' mask
    builders, it gets no mask at all, and takes the example boundaries from ``cu_seq_lens_q``
    (the padding-free collator's cumulative lengths). Without them (a plain batch) it is
    ordinary causal SDPA.
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    bounds = kwargs.pop("cu_seq_lens_q", None)
    for name in ("cu_seq_lens_k", "max_length_q", "max_length_k", "seq_idx", "is_causal"):
        kwargs.pop(name, None)
    if bounds is None or query.size(0) != 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, is_causal=True, **kwargs)
    edges = bounds.tolist()
    outputs = [
        sdpa_attention_forward(
            module,
            query[:, :, start:end],
            key[:, :, start:end],
            value[:, :, start:end],
            None,
            is_causal=True,
            **kwargs,
        )[0]
        for start, end in itertools.pairwise(edges)
        if end > start
    ]
    return torch.cat(outputs, dim=1), None


def use_packed_attention(model: torch.nn.Module) -> bool:
    """Switch `model` to `packed_sdpa_attention` unless it already uses a flash-attention kernel
    (which handles packed rows natively). Returns whether it switched."""
    from transformers import AttentionInterface

    current = str(getattr(model.config, "_attn_implementation", ""))
    if "flash" in current:
        return False
    AttentionInterface.register(PACKED_ATTENTION, packed_sdpa_attention)
    model.set_attn_implementation(PACKED_ATTENTION)
    return True


class CompletionOnlySFTTrainer(SFTTrainer):
    """`SFTTrainer` whose loss projects only completion positions through the LM head.

    The loss is the same token-level negative log-likelihood TRL computes (summed over
    completion tokens, divided by their count across the accumulated batch and processes), so
    results are comparable; only the wasted vocabulary projections are skipped.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokens_seen = 0
        """Non-padding tokens run through the model in training steps (for tokens/s)."""

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        labels = inputs.pop("labels")
        if labels.size(0) != 1:
            raise RuntimeError("CompletionOnlySFTTrainer expects padding-free batches (one row)")
        targets = labels[0, 1:]
        positions = (targets != IGNORE_INDEX).nonzero().squeeze(-1)
        outputs = model(**inputs, use_cache=False, logits_to_keep=positions)
        logits = outputs.logits[0]
        loss = F.cross_entropy(logits.float(), targets[positions], reduction="sum")
        count = positions.numel() if num_items_in_batch is None else num_items_in_batch
        loss = loss / torch.as_tensor(count, device=loss.device).clamp(min=1)
        # As in TRL: `num_items_in_batch` counts every process's tokens and DDP averages gradients.
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes
        if model.training:
            self.tokens_seen += int(inputs["input_ids"].numel())
        return (loss, outputs) if return_outputs else loss


@dataclass
class StepReport:
    """What the progress bar shows after each optimizer step."""

    step: int
    total_steps: int
    loss: float | None
    tokens_per_s: float
    epoch: float


StepCallback = Callable[[StepReport], None]


class StepTimer(TrainerCallback):
    """Seconds spent in optimizer steps only: the throughput figure, free of the dev-loss
    evaluations, checkpoint writes and best-model reload that the wall time also contains."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started: float | None = None

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self._started = None


class ProgressCallback(TrainerCallback):
    """Forwards step, last logged loss and tokens/s to `on_step` (the CLI draws a bar)."""

    def __init__(self, trainer: CompletionOnlySFTTrainer, on_step: StepCallback) -> None:
        self.trainer = trainer
        self.on_step = on_step
        self.loss: float | None = None
        self._started = time.perf_counter()
        self._tokens_at_start = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()
        self._tokens_at_start = self.trainer.tokens_seen

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.loss = float(logs["loss"])

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        tokens = self.trainer.tokens_seen - self._tokens_at_start
        self.on_step(
            StepReport(
                step=state.global_step,
                total_steps=state.max_steps,
                loss=self.loss,
                tokens_per_s=tokens / elapsed,
                epoch=float(state.epoch or 0.0),
            )
        )
