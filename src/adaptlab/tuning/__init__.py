"""Fine-tuning: LoRA and full SFT on TRL/PEFT, stored by content hash, resumable.

`finetune()` (in `adaptlab.tuning.sft`) trains (or reuses) weights for a list of `TrainingRow`s
built by `build_rows()` from the same prompts evaluation uses. This package's top level holds
only what is light to import (settings, rows, the registry): the training modules load torch,
TRL and PEFT, so callers import them from `adaptlab.tuning.sft` and `adaptlab.tuning.trainer`,
and ``adaptlab --help`` stays fast.
"""

from adaptlab.tuning.config import DEFAULT_SIZES, TuneConfig, TuneMode
from adaptlab.tuning.examples import TrainingRow, build_rows
from adaptlab.tuning.registry import StoredWeights, WeightsRegistry

__all__ = [
    "DEFAULT_SIZES",
    "StoredWeights",
    "TrainingRow",
    "TuneConfig",
    "TuneMode",
    "WeightsRegistry",
    "build_rows",
]
