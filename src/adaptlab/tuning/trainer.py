"""TRL's `SFTTrainer`, with the loss computed only where it is needed.

Two things decide how fast small-model SFT runs on a CPU, and TRL's defaults get both wrong
for classification-style data (a ~100-token prompt, a ~3-token answer):

* **Vocabulary logits.** TRL's fused LM head scores every position in tiles on devices without
  Triton (CPUs included) and also computes entropy and top-1 accuracy for its logs. With loss on
  completion tokens only, all but a few positions are thrown away; here the LM head runs only at
  the positions whose next token is a completion token (`logits_to_keep` takes their indices).
* **Padding.** Rows are concatenated into one padding-free row (TRL's collator with
  `padding_free=True`); transformers builds the block-diagonal causal mask from the restarting
  position ids, so no compute goes to pad tokens and no example attends to another.

Gradient checkpointing (TRL turns it on by default) is left off: it recomputes the forward
during backward, a third more compute to save memory a 135M model does not need.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from transformers import TrainerCallback
from trl import SFTTrainer

from adaptlab.tuning.examples import IGNORE_INDEX

# Only the flash-attention kernels read these; eager/SDPA attention derives the same
# block-diagonal mask from `position_ids`, and some models reject the extra keywords.
_VARLEN_KEYS = ("cu_seq_lens_q", "cu_seq_lens_k", "max_length_q", "max_length_k", "seq_idx")


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
        self._flash = "flash" in str(getattr(self.model.config, "_attn_implementation", ""))

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        labels = inputs.pop("labels")
        if not self._flash:
            for key in _VARLEN_KEYS:
                inputs.pop(key, None)
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
