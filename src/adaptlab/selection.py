"""Choose on dev, confirm on test: the winners of a run are chosen on data their figures do
not come from.

With nine rungs and 80–150 test examples, the best of nine noisy test scores is biased upward
(the winner's curse), and a decision made on the numbers that chose its contenders flatters
them. So ``adaptlab run`` and ``adaptlab tune`` also score every rung on a label-stratified
sample of the dev split — its *selection* score — and choose there: the best prompt rung, the
prompt the hybrid reuses, whether the learning curve goes on, the best tuned rung. The decision
then cites the chosen rungs' *test* scores (the confirmation) and pairs its gains on test
examples only (`adaptlab.decide`).

Why the dev split rather than cross-fitting on test (choose on one half, report on the other,
swap): the run makes its choices while it climbs — which rungs are hopeless, which prompt the
hybrid reuses, whether the curve goes on — and those need selection data before the test
figures are looked at; the rung chosen on dev is one rung, the one the report shows and
``adaptlab serve`` answers with, where two halves of test may choose two; and pruning saves
test evaluations only when the choice is made elsewhere. Dev answers carry no probes
(consistency, injection), so they cost a plain pass over the sample.

Pruning races the prompt rungs: each is first scored on `screen_examples` of the selection
sample, and a rung whose paired gain over the best there lies wholly below zero (95% bootstrap)
is pruned — not scored further, not evaluated on test, not probed — and the report says so with
the figures. The others are scored on the whole selection sample; the *contenders*, those not
worse than the best there beyond the interval, are probed on test, the rest are measured on test
without probes. The screen is a subset of the selection sample, so its answers come back from
the result cache.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from adaptlab.configs import EvalConfig, SelectionSettings
from adaptlab.data import Example, TaskSplit, stratified_sample
from adaptlab.decide import paired_gain
from adaptlab.decide.gain import Gain
from adaptlab.decide.rungs import best_rung, shown
from adaptlab.decide.wording import gain_interval, points
from adaptlab.evaluation import ResultCache, RungResult
from adaptlab.models import Backend
from adaptlab.prompting import Strategy
from adaptlab.runs import RunListener, RunOutcome, evaluate_in_run

SELECTION_SPLIT = "dev"


@dataclass(frozen=True)
class Pruned:
    """A prompt rung left out after the screen, and the comparison that ruled it out."""

    rung: str
    examples: int
    score: float
    best: str
    best_score: float
    gain: Gain
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rung": self.rung,
            "split": SELECTION_SPLIT,
            "examples": self.examples,
            "score": self.score,
            "best": self.best,
            "best_score": self.best_score,
            "gain": self.gain.gain,
            "gain_low": self.gain.low,
            "gain_high": self.gain.high,
            "reason": self.reason,
        }


@dataclass
class Selection:
    """The selection sample of one run and every rung's result on it."""

    examples: tuple[Example, ...]
    screen: tuple[Example, ...]
    results: dict[str, RungResult] = field(default_factory=dict)
    """Each rung's result on the whole selection sample, by rung name."""
    screened: dict[str, RungResult] = field(default_factory=dict)
    """Each prompt rung's result on the screen, by rung name."""
    pruned: list[Pruned] = field(default_factory=list)

    @classmethod
    def for_run(cls, config: SelectionSettings, split: TaskSplit, evaluated: int) -> Selection | None:
        """The sample `config` asks for, or None when the run chooses on its test figures
        (``selection_examples`` 0, no dev split, or the rungs are measured on dev itself)."""
        size = config.selection_examples
        measured_on = getattr(config, "split", "test")
        if size == 0 or not split.dev or measured_on == SELECTION_SPLIT:
            return None
        seed = int(getattr(config, "seed", 0))
        examples = stratified_sample(split.dev, size or max(1, evaluated), seed=seed)
        screen = stratified_sample(examples, min(config.screen_examples, len(examples)), seed=seed)
        return cls(examples, screen)

    def score(
        self,
        config: EvalConfig,
        outcome: RunOutcome,
        backend: Backend,
        strategy: Strategy,
        cache: ResultCache | None,
        listener: RunListener,
        *,
        rung: str | None = None,
        screen: bool = False,
    ) -> RungResult:
        """Score a rung on the screen or (kept in `results`) the whole selection sample: the
        run's evaluation without probes, on dev."""
        name = rung or strategy.name
        plain = config.without_probes(split=SELECTION_SPLIT)
        examples = self.screen if screen else self.examples
        label = f"{name} ({SELECTION_SPLIT})"
        result = evaluate_in_run(
            plain, outcome, backend, strategy, cache, listener, examples=examples, rung=label
        )
        result = replace(result, rung=name)
        (self.screened if screen else self.results)[name] = result
        listener.selection_scored(result, screen=screen)
        return result

    def spent(self) -> list[RungResult]:
        """Every dev result, for the budget's account of tokens."""
        return [*self.screened.values(), *self.results.values()]

    def summary(self, rung: str) -> dict[str, Any] | None:
        """The ``selection`` block of a rung in ``results.json``, None when it was not scored."""
        result = self.results.get(rung)
        if result is None:
            return None
        m = result.metrics
        return {
            "split": SELECTION_SPLIT,
            "n": m.n,
            "score": m.score,
            "score_low": m.score_low,
            "score_high": m.score_high,
        }

    def attach(self, result: RungResult) -> RungResult:
        """`result` (a test result) carrying its rung's selection score."""
        return replace(result, selection=self.summary(result.rung))

    def prune(self, keep: Collection[str] = ()) -> list[str]:
        """The screened rungs that are worse than the best on the screen beyond the interval,
        `keep` excepted (a reference the decision needs measured); each is recorded in `pruned`
        with its reason."""
        rows = {name: result.to_dict() for name, result in self.screened.items()}
        best = best_rung(list(rows.values()))
        if best is None:
            return []
        out = []
        for name, row in rows.items():
            if name == best["rung"] or name in keep:
                continue
            gain = paired_gain(best, row)
            if gain.worse:
                out.append(name)
                self.pruned.append(self.pruned_entry(row, best, gain))
        return out

    def pruned_entry(self, row: dict[str, Any], best: dict[str, Any], gain: Gain) -> Pruned:
        n = int(row["metrics"]["n"])
        reason = (
            f"pruned after {n} dev examples: {shown(row)} against {best['rung']}'s"
            f" {shown(best)}, {points(gain.gain)} ({gain_interval(gain.low, gain.high)}),"
            " worse beyond the noise"
        )
        return Pruned(
            row["rung"], n, row["metrics"]["score"], best["rung"], best["metrics"]["score"], gain, reason
        )

    def contenders(self, names: Sequence[str]) -> set[str]:
        """Of `names`, the rungs not worse than the best on the selection sample beyond the
        interval: the ones worth probing on test."""
        rows = {name: self.results[name].to_dict() for name in names if name in self.results}
        best = best_rung(list(rows.values()))
        if best is None:
            return set(names)
        return {name for name, row in rows.items() if not paired_gain(best, row).worse}

    def to_dict(self) -> dict[str, Any]:
        """The ``selection`` block of ``results.json``."""
        return {
            "split": SELECTION_SPLIT,
            "examples": len(self.examples),
            "screen_examples": len(self.screen),
            "pruned": [entry.to_dict() for entry in self.pruned],
        }
