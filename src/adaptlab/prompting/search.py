"""Automatic prompt search: try instructions × demo sets on the dev split, keep the best.

Candidate instructions come from two places: templates (the task's own instruction, a detailed
one with label meanings, a plain rewording) and the model itself, asked — APE-style — to write
an instruction after seeing a few solved train examples. Each instruction is tried with no
demos and with a few seeded random demo sets from the train split.

Candidates are scored by the evaluation layer (`StrategyContext.dev_score`) in two rounds
(successive halving): every candidate on a stratified screening sample of the dev split, then
the best few on the whole dev split. The best finalist (ties go to the shorter prompt) becomes
the ``search`` rung, and only that one is evaluated on test.

The search cannot see test data: it only ever receives a `StrategyContext`, which holds the
train and dev splits and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adaptlab.data.quality import duplicate_key
from adaptlab.data.split import stratified_sample
from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.models.base import ChatMessage
from adaptlab.prompting.demos import random_demos, reorder_demos
from adaptlab.prompting.strategy import Strategy, StrategyContext, register_strategy
from adaptlab.prompting.templates import (
    default_instruction,
    demo_turns,
    label_definitions,
    label_list,
    user_message,
    with_system,
)

GENERATED_INSTRUCTION_TOKENS = 60
SCREEN_EXAMPLES = 50
"""Dev examples every candidate is scored on in the first round."""
FINALISTS = 4
"""Candidates scored on the whole dev split in the second round."""
_META_DEMOS = 6


class FixedPrompt(Strategy):
    """One concrete prompt: an instruction and a fixed demo set (possibly empty)."""

    def __init__(self, instruction: str, demos: Sequence[Example] = (), *, origin: str = "template") -> None:
        self.instruction = instruction
        self.demos = tuple(demos)
        self.origin = origin

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        query = duplicate_key(example.input)
        ordered = reorder_demos(self.demos, self.order_seed)
        demos = [d for d in ordered if d.id != example.id and duplicate_key(d.input) != query]
        if demos:
            return with_system(example, demo_turns(task, demos, example, instruction=self.instruction))
        content = user_message(task, example, instruction=self.instruction, phrasing=self.phrasing)
        return with_system(example, [{"role": "user", "content": content}])

    def variants(self) -> list[Strategy]:
        """Reordered demos when there are demos to reorder, rephrasings otherwise."""
        if len(self.demos) < 2:
            return super().variants()
        return [self.with_demo_order(1), self.with_demo_order(2)]

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "instruction": self.instruction,
            "origin": self.origin,
            "demo_ids": [demo.id for demo in self.demos],
        }


@dataclass(frozen=True)
class Trial:
    """One candidate prompt and its score on the dev split (the task's primary metric)."""

    instruction: str
    origin: str
    demo_ids: tuple[str, ...]
    screen_score: float
    dev_score: float | None = None
    """Accuracy on the whole dev split; None for candidates that did not reach the final round."""
    chosen: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "instruction": self.instruction,
            "origin": self.origin,
            "demo_ids": list(self.demo_ids),
            "screen_score": self.screen_score,
            "dev_score": self.dev_score,
            "chosen": self.chosen,
        }


@register_strategy("search")
class PromptSearch(Strategy):
    """The best of instructions × demo sets on the dev split, reported on test."""

    needs_splits = ("dev",)

    def __init__(self, k: int = 4, demo_sets: int = 2, generated_instructions: int = 2) -> None:
        self.k = k
        self.demo_sets = demo_sets
        self.generated_instructions = generated_instructions
        self.best: FixedPrompt | None = None
        self.trials: list[Trial] = []
        self.dev_size = 0

    def prepare(self, context: StrategyContext) -> None:
        if not context.dev:
            raise UsageError("search needs a dev split to choose on, and this task's dev split is empty")
        if context.dev_score is None:
            raise UsageError("search needs the evaluation layer's dev scorer (StrategyContext.dev_score)")
        # Closed-label tasks are searched and reported with label scoring: fast, and immune to
        # format failures, so the search compares what the prompts make the model *believe*.
        self.answer_mode = "score" if context.task.labels else "generate"
        candidates = candidate_prompts(
            context, k=self.k, demo_sets=self.demo_sets, generated=self.generated_instructions
        )
        for candidate in candidates:
            candidate.answer_mode = self.answer_mode
        screen = stratified_sample(context.dev, min(SCREEN_EXAMPLES, len(context.dev)), seed=context.seed)
        screened = [(context.dev_score(c, screen), -prompt_size(c), i) for i, c in enumerate(candidates)]
        finalists = sorted(screened, reverse=True)[:FINALISTS]
        final = {i: context.dev_score(candidates[i], context.dev) for _, _, i in finalists}
        best = max(final, key=lambda i: (final[i], -prompt_size(candidates[i]), -i))
        self.best = candidates[best]
        self.dev_size = len(context.dev)
        self.trials = [
            Trial(
                c.instruction, c.origin, tuple(d.id for d in c.demos), screened[i][0], final.get(i), i == best
            )
            for i, c in enumerate(candidates)
        ]

    @classmethod
    def restored(cls, recorded: dict[str, Any], pool: Sequence[Example]) -> PromptSearch:
        """The prompt a finished search chose, rebuilt from what `describe` recorded (instruction,
        origin, demo ids, answer mode) with its demos looked up in `pool`, the train split.

        Searching again could choose differently (another dev split, another model), so a
        served or re-examined search rung asks exactly the prompt that was measured.
        """
        by_id = {example.id: example for example in pool}
        missing = [demo_id for demo_id in recorded["demo_ids"] if demo_id not in by_id]
        if missing:
            raise UsageError(
                f"the searched prompt's demos {', '.join(missing)} are not in the train split any more;"
                " the task or its split has changed since the search"
            )
        search = cls()
        search.answer_mode = recorded["answer_mode"]
        search.best = FixedPrompt(
            recorded["instruction"], [by_id[i] for i in recorded["demo_ids"]], origin=recorded["origin"]
        )
        search.best.answer_mode = search.answer_mode
        search.dev_size = recorded.get("dev_examples", 0)
        search.trials = [
            Trial(**{**trial, "demo_ids": tuple(trial["demo_ids"])}) for trial in recorded.get("trials", [])
        ]
        return search

    def chosen(self) -> FixedPrompt:
        if self.best is None:
            raise RuntimeError("PromptSearch.prepare must run before the searched prompt is used")
        return self.best

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        return self.chosen().render(example, task)

    def variants(self) -> list[Strategy]:
        return self.chosen().variants()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        if self.best is not None:
            chosen = self.best.describe()
            info.update(
                {key: chosen[key] for key in ("instruction", "origin", "demo_ids")},
                dev_examples=self.dev_size,
                screen_examples=min(SCREEN_EXAMPLES, self.dev_size),
                dev_score=next(trial.dev_score for trial in self.trials if trial.chosen),
                trials=[trial.to_dict() for trial in self.trials],
            )
        return info


def prompt_size(candidate: FixedPrompt) -> int:
    """Characters the prompt adds to every request: the tie-breaker between equal candidates."""
    return len(candidate.instruction) + sum(len(d.input) + len(d.output) for d in candidate.demos)


def candidate_prompts(
    context: StrategyContext, *, k: int, demo_sets: int, generated: int
) -> list[FixedPrompt]:
    """Every (instruction, demo set) pair to try, in a fixed order."""
    instructions = template_instructions(context.task)
    if context.backend is not None and generated > 0 and context.train:
        instructions += model_instructions(context, generated)
    unique: dict[str, str] = {}
    for text, origin in instructions:
        unique.setdefault(text, origin)
    demo_choices: list[tuple[Example, ...]] = [()]
    if context.train and k > 0:
        demo_choices += [
            tuple(random_demos(context.train, k, seed=context.seed + 1 + i)) for i in range(demo_sets)
        ]
    return [
        FixedPrompt(text, demos, origin=origin) for text, origin in unique.items() for demos in demo_choices
    ]


def template_instructions(task: Task) -> list[tuple[str, str]]:
    """Hand-written instruction candidates built from what the task spec says."""
    base = default_instruction(task) or "Answer the input."
    candidates = [(base, "task")]
    if task.labels:
        answers = label_list(task.labels)
        candidates.append((f"Decide which label fits the input best: {answers}.", "template"))
        detailed = "\n\n".join(part for part in (task.description, base, label_definitions(task)) if part)
        candidates.append((detailed, "template"))
    else:
        candidates.append(("Answer the input precisely and concisely.", "template"))
    return candidates


def model_instructions(context: StrategyContext, count: int) -> list[tuple[str, str]]:
    """Ask the model to infer the instruction from solved train examples (one request per seed)."""
    assert context.backend is not None
    requests = []
    for i in range(count):
        shown = random_demos(context.train, _META_DEMOS, seed=context.seed + 100 + i)
        solved = "\n\n".join(f"Input: {demo.input}\nOutput: {demo.output}" for demo in shown)
        requests.append(
            [
                {
                    "role": "user",
                    "content": (
                        "Here are some inputs, each with its correct output.\n\n"
                        f"{solved}\n\nWrite one sentence instructing someone how to produce the output "
                        "from the input. Reply with the instruction only."
                    ),
                }
            ]
        )
    answers = context.backend.generate(requests, max_new_tokens=GENERATED_INSTRUCTION_TOKENS)
    instructions = []
    for answer in answers:
        text = clean_instruction(answer.text)
        if text:
            instructions.append((text, "model"))
    return instructions


def clean_instruction(text: str) -> str | None:
    """The first line that reads like an instruction: without an ``Instruction:`` label or
    quotes, not an echoed ``Input:``/``Output:`` line, and long enough to say something."""
    for line in text.splitlines():
        line = line.strip().strip("\"'*` ")
        lowered = line.lower()
        if lowered.startswith(("input:", "output:", "produced output:")):
            continue
        for prefix in ("instruction:", "instructions:"):
            if lowered.startswith(prefix):
                line = line[len(prefix) :].strip()
        if len(line.split()) >= 4:
            return line
    return None
