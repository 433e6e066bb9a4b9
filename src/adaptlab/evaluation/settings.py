"""How a command evaluates: which prompt rungs, on which split, on how many examples, probed how."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, TypeVar

from pydantic import Field, field_validator

from adaptlab.evaluation.evaluate import DEFAULT_CONSISTENCY_SAMPLE, DEFAULT_ROBUSTNESS_SAMPLE
from adaptlab.prompting import DEFAULT_SHOTS
from adaptlab.settings import Cli, Settings

SplitName = Literal["train", "dev", "test"]
SettingsT = TypeVar("SettingsT", bound="EvaluationSettings")
DEFAULT_DEMO_SEEDS = 3
MAX_DEMO_SEEDS = 10
"""Each draw costs a full evaluation of the rung; ten already show the spread well."""


class EvaluationSettings(Settings):
    """The rungs to measure and how; shared by ``eval``, ``tune`` and ``run``."""

    group: ClassVar[str] = "Evaluation"

    strategies: Annotated[list[str], Cli("--strategies", "--strategy", "-s", metavar="RUNG,...")] = Field(
        default_factory=lambda: ["zero-shot"]
    )
    """Prompt strategies (rungs), comma-separated or repeated; `ladder` runs them all. Few-shot
    families take the shot counts of --shots, or a count of their own (few-shot-knn-8)."""
    shots: Annotated[list[int], Cli(metavar="K,...")] = Field(default_factory=lambda: list(DEFAULT_SHOTS))
    """Demo counts for few-shot rungs named without one."""
    split: SplitName = "test"
    """The split the rungs are measured on."""
    limit: Annotated[int | None, Field(ge=1)] = None
    """Evaluate a label-stratified sample of this many examples [default: the whole split]."""
    cache: bool = True
    """Reuse answers stored by earlier runs (same weights, prompt and decoding)."""
    max_new_tokens: Annotated[int | None, Field(ge=1)] = None
    """Cap on generated tokens [default: from the longest gold answer and the strategy]."""
    consistency_sample: Annotated[int, Field(ge=0)] = DEFAULT_CONSISTENCY_SAMPLE
    """Examples per rung also asked through two variants (rephrased / demos reordered) to
    measure consistency; 0 turns it off."""
    robustness_sample: Annotated[int, Field(ge=0)] = DEFAULT_ROBUSTNESS_SAMPLE
    """Examples per rung also asked under a prompt-injection attack and with a small
    meaning-preserving edit (attack success rate, input stability); 0 turns it off."""
    demo_seeds: Annotated[int, Field(ge=1, le=MAX_DEMO_SEEDS)] = DEFAULT_DEMO_SEEDS
    """Demo draws per few-shot-random rung: each draw is evaluated on the same examples, and a
    difference smaller than the spread of their scores counts as noise; 1 turns it off."""

    def without_probes(self: SettingsT, **changes: object) -> SettingsT:
        """These settings with no consistency or robustness probes (and `changes`): how the
        dev scores and the extra demo draws are measured, and rungs that are not contenders."""
        return self.model_copy(update={"consistency_sample": 0, "robustness_sample": 0, **changes})

    @field_validator("strategies")
    @classmethod
    def _some_strategy(cls, names: list[str]) -> list[str]:
        if not names:
            raise ValueError("name at least one prompt strategy, e.g. zero-shot")
        return names

    @field_validator("shots")
    @classmethod
    def _positive_shots(cls, shots: list[int]) -> list[int]:
        if not shots or any(k < 1 for k in shots):
            raise ValueError("must be positive whole numbers of demos, e.g. 4,8")
        return shots
