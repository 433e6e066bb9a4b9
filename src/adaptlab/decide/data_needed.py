"""How much labelled data fine-tuning needs: the smallest training set that does the job.

The learning curve trains the same mode and prompt on growing training sets. The largest
usually scores best, but not always by more than the noise: the smallest size whose
score reaches the lower bound of the best size's 95% interval is as good as the best can be
shown to be, and labelling more would buy nothing measurable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adaptlab.decide.rungs import best_rung, learning_curve, metric, score, training_examples


@dataclass(frozen=True)
class DataNeeded:
    """`rung`, trained on `examples`, is the smallest that matched `best_rung`."""

    rung: str
    examples: int
    score: float
    best_rung: str


def data_needed(tuned_rungs: Sequence[dict[str, Any]]) -> DataNeeded | None:
    """The smallest tuned rung on the best tuned rung's curve within that rung's interval.

    >>> def rung(name, size, acc, low):
    ...     return {"rung": name, "training": {"examples": size},
    ...             "metrics": {"score": acc, "score_low": low}}
    >>> data_needed([rung("lora-25", 25, 0.6, 0.5), rung("lora-50", 50, 0.78, 0.7),
    ...              rung("lora-100", 100, 0.8, 0.75)]).rung
    'lora-50'
    """
    best = best_rung(tuned_rungs)
    if best is None:
        return None
    low = metric(best, "score_low")
    floor = score(best) if low is None else low
    enough = [
        r
        for r in tuned_rungs
        if learning_curve(r) == learning_curve(best)
        and training_examples(r) is not None
        and metric(r, "score") is not None
        and score(r) >= floor
    ]
    if not enough:
        return None
    smallest = min(enough, key=lambda r: training_examples(r) or 0)
    return DataNeeded(smallest["rung"], training_examples(smallest) or 0, score(smallest), best["rung"])
