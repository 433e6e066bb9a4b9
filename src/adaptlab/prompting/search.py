"""Automatic prompt search: choose, on the dev split, the best of everything the ladder could ask.

The candidates (`candidates.candidate_space`) are the ladder's own prompt rungs — zero-shot,
few-shot-random-K and few-shot-knn-K for K = 2, 4, 8, label scoring plain and calibrated — and
every instruction (the task's, two template rewordings, two the model writes) with no demos, two
seeded random demo sets and similar (kNN) demos: at most 28 candidates on a closed-label task
(9 rungs + 5 instructions × 4 demo sets, less the task's instruction without demos, which is
label scoring's own prompt) and at most 23 on free text (7 + 4 × 4); fewer when the train split
is small, there is no embedder, or a candidate repeats another.

Candidates are scored by the evaluation layer (`StrategyContext.dev_score`, the same engine
and cache as the rungs) in two rounds (successive halving): every candidate on a stratified
screening sample of `SCREEN_EXAMPLES` dev examples, then the best `FINALISTS` on the whole dev
split — and any screened-out candidate whose screening score beats the best finalist's dev
score is scored on the whole dev split too. So the chosen candidate scores at least as well on
dev as every finalist, and at least as well as any other candidate scored on the screen. When
the dev split is no larger than the screen, screening *is* the whole dev split and the winner
is the best of all candidates outright. Ties go to the shorter prompt, then the earlier (simpler)
candidate.

The ``search`` rung then is its winner: it renders, answers (generation, or label scoring with
the winner's calibration) and parses exactly as the winner does, and only it is evaluated on
test. The search cannot see test data: it only ever receives a `StrategyContext`, which holds
the train and dev splits and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adaptlab.data.split import stratified_sample
from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.models.base import ChatMessage
from adaptlab.prompting.candidates import Candidate, InstructedPrompt, candidate_space
from adaptlab.prompting.parsing import ParsedAnswer
from adaptlab.prompting.strategy import Strategy, StrategyContext, get_strategy, register_strategy

SCREEN_EXAMPLES = 50
"""Dev examples every candidate is scored on in the first round."""
FINALISTS = 4
"""Candidates scored on the whole dev split in the second round (at least)."""


@dataclass(frozen=True)
class Trial:
    """One candidate and its scores on the dev split (the task's primary metric)."""

    candidate: str
    kind: str
    """``rung`` (one of the ladder's prompt rungs) or ``prompt`` (an instruction with a demo set)."""
    settings: dict[str, Any]
    """The candidate's own `describe()`: answer mode, instruction, demos, calibration …"""
    screen_score: float
    prompt_chars: float = 0.0
    """Characters per request on the screening sample: the tie-breaker."""
    dev_score: float | None = None
    """Score on the whole dev split; None for candidates that did not reach the final round."""
    chosen: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "kind": self.kind,
            **self.settings,
            "prompt_chars": self.prompt_chars,
            "screen_score": self.screen_score,
            "dev_score": self.dev_score,
            "chosen": self.chosen,
        }

    @classmethod
    def from_dict(cls, recorded: dict[str, Any]) -> Trial:
        """A recorded trial; one recorded before rungs were candidates is an instruction prompt."""
        own = ("candidate", "kind", "prompt_chars", "screen_score", "dev_score", "chosen")
        return cls(
            candidate=str(recorded.get("candidate", "")),
            kind=str(recorded.get("kind", "prompt")),
            settings={key: value for key, value in recorded.items() if key not in own},
            screen_score=recorded["screen_score"],
            prompt_chars=recorded.get("prompt_chars", 0.0),
            dev_score=recorded.get("dev_score"),
            chosen=bool(recorded.get("chosen")),
        )


@register_strategy("search")
class PromptSearch(Strategy):
    """The best candidate prompt on the dev split, reported on test as that candidate."""

    needs_splits = ("dev",)

    def __init__(self, k: int = 4, demo_sets: int = 2, generated_instructions: int = 2) -> None:
        self.k = k
        self.demo_sets = demo_sets
        self.generated_instructions = generated_instructions
        self.best: Candidate | None = None
        self.trials: list[Trial] = []
        self.left_out: list[dict[str, str]] = []
        self.dev_size = 0

    def prepare(self, context: StrategyContext) -> None:
        """Search, or — for a search that has chosen already (restored from its record, or the
        same choice for other weights) — prepare the chosen candidate only."""
        if self.best is not None:
            self.best.strategy.prepare(context)
            self.adopt(self.best)
            return
        if not context.dev:
            raise UsageError("search needs a dev split to choose on, and this task's dev split is empty")
        if context.dev_score is None:
            raise UsageError("search needs the evaluation layer's dev scorer (StrategyContext.dev_score)")
        space = candidate_space(
            context, k=self.k, demo_sets=self.demo_sets, generated=self.generated_instructions
        )
        candidates = space.candidates
        screen = stratified_sample(context.dev, min(SCREEN_EXAMPLES, len(context.dev)), seed=context.seed)
        screened = [context.dev_score(c.strategy, screen) for c in candidates]
        sizes = [prompt_chars(c.strategy, screen, context.task) for c in candidates]
        if len(screen) == len(context.dev):
            final = dict(enumerate(screened))
        else:
            dev_score, dev = context.dev_score, context.dev
            final = final_scores(screened, sizes, lambda i: dev_score(candidates[i].strategy, dev))
        best = min(final, key=lambda i: (-final[i], sizes[i], i))
        self.dev_size = len(context.dev)
        self.left_out = space.left_out
        self.trials = [
            Trial(c.label, c.kind, settings(c.strategy), screened[i], sizes[i], final.get(i), i == best)
            for i, c in enumerate(candidates)
        ]
        self.adopt(candidates[best])

    def adopt(self, chosen: Candidate) -> None:
        """Become `chosen`: answer, budget and record as it does."""
        self.best = chosen
        self.answer_mode = chosen.strategy.answer_mode
        self.multiline_answers = chosen.strategy.multiline_answers
        self.prepared_per_model = chosen.strategy.prepared_per_model

    @classmethod
    def restored(cls, recorded: dict[str, Any], pool: Sequence[Example]) -> PromptSearch:
        """The candidate a finished search chose, rebuilt from what `describe` recorded, its
        fixed demos looked up in `pool` (the train split); `prepare` then prepares that candidate
        alone (kNN demos, a calibration prior measured on the weights it is asked with).

        Searching again could choose differently (another dev split, another model), so a
        served or re-examined search rung asks exactly the prompt that was measured.
        """
        chosen = recorded.get("chosen") or {"kind": "prompt", "candidate": ""}
        if chosen["kind"] == "rung":
            strategy: Strategy = get_strategy(chosen["candidate"])
        else:
            by_id = {example.id: example for example in pool}
            missing = [demo_id for demo_id in recorded["demo_ids"] if demo_id not in by_id]
            if missing:
                raise UsageError(
                    f"the searched prompt's demos {', '.join(missing)} are not in the train split any more;"
                    " the task or its split has changed since the search"
                )
            demos = [by_id[i] for i in recorded["demo_ids"]]
            knn = int(recorded.get("k", 0)) if recorded.get("demos") == "knn" else 0
            strategy = InstructedPrompt(recorded["instruction"], demos, origin=recorded["origin"], knn=knn)
            strategy.answer_mode = recorded["answer_mode"]
        search = cls()
        search.adopt(Candidate(chosen["candidate"], chosen["kind"], strategy))
        search.dev_size = recorded.get("dev_examples", 0)
        search.trials = [Trial.from_dict(trial) for trial in recorded.get("trials", [])]
        search.left_out = list(recorded.get("left_out", []))
        return search

    def fresh(self) -> Strategy:
        """The same choice, unprepared: on other weights it is prepared again, not searched again."""
        again = PromptSearch(self.k, self.demo_sets, self.generated_instructions)
        chosen = self.chosen()
        again.adopt(Candidate(chosen.label, chosen.kind, chosen.strategy.fresh()))
        again.dev_size, again.trials, again.left_out = self.dev_size, self.trials, self.left_out
        return again

    def chosen(self) -> Candidate:
        if self.best is None:
            raise RuntimeError("PromptSearch.prepare must run before the searched prompt is used")
        return self.best

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        return self.chosen().strategy.render(example, task)

    def render_many(self, examples: Sequence[Example], task: Task) -> list[list[ChatMessage]]:
        return self.chosen().strategy.render_many(examples, task)

    def parse(self, output: str, task: Task) -> ParsedAnswer:
        return self.chosen().strategy.parse(output, task)

    def calibration_prior(self) -> dict[str, float] | None:
        return self.chosen().strategy.calibration_prior()

    def max_new_tokens(self, answer_tokens: int) -> int:
        return self.chosen().strategy.max_new_tokens(answer_tokens)

    def variants(self) -> list[Strategy]:
        return self.chosen().strategy.variants()

    def describe(self) -> dict[str, Any]:
        """The winner's own settings (so ``k``, ``demo_ids``, ``embedder``, ``calibration`` … read
        as for that rung), which candidate it was, and the whole search's trace."""
        if self.best is None:
            return super().describe()
        info = {**self.best.strategy.describe(), **super().describe()}
        info.update(
            chosen={"candidate": self.best.label, "kind": self.best.kind},
            dev_examples=self.dev_size,
            screen_examples=min(SCREEN_EXAMPLES, self.dev_size),
            dev_score=next((trial.dev_score for trial in self.trials if trial.chosen), None),
            trials=[trial.to_dict() for trial in self.trials],
            left_out=self.left_out,
        )
        return info


def final_scores(
    screened: Sequence[float], sizes: Sequence[float], dev_score: Callable[[int], float]
) -> dict[int, float]:
    """The second round: whole-dev scores of the best `FINALISTS` by screening score (ties to
    the shorter prompt, then the earlier candidate), then of every other candidate whose
    screening score is above the best whole-dev score so far, best screened first."""
    order = sorted(range(len(screened)), key=lambda i: (-screened[i], sizes[i], i))
    final = {i: dev_score(i) for i in order[:FINALISTS]}
    for i in order[FINALISTS:]:
        if screened[i] <= max(final.values()):
            break
        final[i] = dev_score(i)
    return final


def prompt_chars(strategy: Strategy, examples: Sequence[Example], task: Task) -> float:
    """Characters per request on `examples`: what the prompt costs, the tie-breaker between
    equal candidates."""
    conversations = strategy.render_many(examples, task)
    total = sum(len(message["content"]) for conversation in conversations for message in conversation)
    return total / max(1, len(conversations))


def settings(strategy: Strategy) -> dict[str, Any]:
    """A candidate's settings as its trial records them (its name is the trial's `candidate`)."""
    return {key: value for key, value in strategy.describe().items() if key != "strategy"}
