"""Fine-tuning: LoRA and full SFT on TRL/PEFT, stored by content hash, resumable.

`finetune()` trains (or reuses) weights for a list of `TrainingRow`s built by `build_rows()`
from the same prompts evaluation uses.
"""

from adaptlab.tuning.config import DEFAULT_SIZES, TuneConfig, TuneMode
from adaptlab.tuning.examples import TrainingRow, build_rows
from adaptlab.tuning.registry import StoredWeights, WeightsRegistry
from adaptlab.tuning.sft import TrainingRun, finetune
from adaptlab.tuning.trainer import StepReport

__all__ = [
    "DEFAULT_SIZES",
    "StepReport",
    "StoredWeights",
    "TrainingRow",
    "TrainingRun",
    "TuneConfig",
    "TuneMode",
    "WeightsRegistry",
    "build_rows",
    "finetune",
]
