"""What a fine-tuning run is asked to do: the settings that change the trained weights.

Everything in `TuneConfig` goes into the adapter's content hash (see `registry.py`), so two
requests that would train the same weights share one stored adapter, and any change (one more
epoch, another rank) trains a new one. Settings that only change *how* training is observed or
interrupted (checkpoint interval, progress) live outside it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TuneMode = Literal["lora", "full"]

DEFAULT_SIZES = (25, 50, 100, 200, 400, 800)
"""Learning-curve sizes; the runner caps them at the train split (and adds the full split)."""


class TuneConfig(BaseModel):
    """Hyperparameters of one supervised fine-tuning run.

    Defaults are for small data on a small model: a few hundred examples, a few epochs, a
    learning rate LoRA tolerates (full SFT moves every weight, so it takes a much smaller one),
    and early stopping on dev loss so the extra epochs cost nothing when they stop helping.

    >>> TuneConfig(mode="full").learning_rate
    2e-05
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: TuneMode = "lora"
    epochs: float = Field(3.0, gt=0)
    learning_rate: float | None = Field(None, gt=0)
    """None picks the mode's default: 3e-4 for LoRA, 2e-5 for full SFT."""
    batch_size: int = Field(8, ge=1)
    """Examples per optimizer step (all of them in one padding-free row)."""
    warmup: float = Field(0.1, ge=0, lt=1)
    """Share of the steps spent warming the learning rate up."""
    weight_decay: float = Field(0.0, ge=0)
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    lora_targets: str = "all-linear"
    early_stopping_patience: int | None = Field(2, ge=1)
    """Evaluations without a better dev loss before stopping; None trains every epoch."""
    seed: int = 0

    @model_validator(mode="after")
    def _fill_learning_rate(self) -> TuneConfig:
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", 3e-4 if self.mode == "lora" else 2e-5)
        return self
