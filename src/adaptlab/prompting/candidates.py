"""What prompt search chooses among: the ladder's own prompt rungs, and instructions × demo sets.

A search that only tried instructions with random demos could end far below a rung the ladder
runs anyway (13% against few-shot-knn-8's 47% on an 8-class task), so the space holds the
ladder's choices as they are, prepared through the same `StrategyContext` as the ladder would
prepare them:

* **rungs** — ``zero-shot``, ``few-shot-random-K`` and ``few-shot-knn-K`` for K in
  `SEARCH_SHOTS` (up to the train split's size), and on closed-label tasks ``label-scoring``
  and ``label-scoring-calibrated``: each with its own answer mode (generation or label scoring)
  and, for calibration, its own label prior measured through the evaluation engine.
* **prompts** — every instruction (the task's, template rewordings, and a few the model writes
  after seeing solved train examples, APE-style) with no demos, with seeded random demo sets, and
  with the K most similar train examples per input. On closed-label tasks these are answered by
  label scoring (fast, immune to format failures), on free text by generation.

Chain of thought is left out: it decodes about 160 tokens per example where every other
candidate decodes a label or a short answer (or none), which would multiply the search's cost
by several, and the ladder measures ``cot`` as its own rung anyway.

Candidates asking exactly what an earlier one asks (the task's instruction without demos *is*
label scoring's prompt on a closed-label task) are dropped, as are those the context cannot
support (kNN without an embedder, calibration without the engine's label prior); each such
omission is recorded with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from adaptlab.data.quality import duplicate_key
from adaptlab.data.task import Example, Task
from adaptlab.errors import AdaptlabError
from adaptlab.models.base import ChatMessage
from adaptlab.prompting.demos import KnnDemoSelector, random_demos, reorder_demos
from adaptlab.prompting.strategy import Strategy, StrategyContext, get_strategy
from adaptlab.prompting.templates import (
    default_instruction,
    demo_turns,
    label_definitions,
    label_list,
    user_message,
    with_system,
)

SEARCH_SHOTS: tuple[int, ...] = (2, 4, 8)
"""Shot counts of the ladder's few-shot rungs tried by the search."""
GENERATED_INSTRUCTION_TOKENS = 60
_META_DEMOS = 6

CandidateKind = Literal["rung", "prompt"]


class InstructedPrompt(Strategy):
    """One instruction with one demo set: none, a fixed one (seeded random), or the `knn` train
    examples most similar to each input (least similar first, as ``few-shot-knn`` shows them)."""

    name = "prompt"

    def __init__(
        self, instruction: str, demos: Sequence[Example] = (), *, origin: str = "template", knn: int = 0
    ) -> None:
        self.instruction = instruction
        self.demos = tuple(demos)
        self.origin = origin
        self.knn = knn
        self.selector: KnnDemoSelector | None = None
        self.embedder_id: str | None = None

    def prepare(self, context: StrategyContext) -> None:
        if not self.knn:
            return
        if context.embedder is None:
            raise AdaptlabError("a prompt with similar demos needs a sentence embedder to pick them")
        embedder = context.embedder()
        self.embedder_id = getattr(embedder, "model_id", type(embedder).__name__)
        self.selector = KnnDemoSelector(context.train, embedder, self.knn)

    def demos_for(self, examples: Sequence[Example]) -> list[list[Example]]:
        if self.knn:
            if self.selector is None:
                raise RuntimeError("prepare must pick the similar demos' pool before the prompt is used")
            return self.selector.select_many(examples)
        chosen = []
        for example in examples:
            query = duplicate_key(example.input)
            chosen.append([d for d in self.demos if d.id != example.id and duplicate_key(d.input) != query])
        return chosen

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        return self.render_many([example], task)[0]

    def render_many(self, examples: Sequence[Example], task: Task) -> list[list[ChatMessage]]:
        conversations = []
        for example, demos in zip(examples, self.demos_for(examples), strict=True):
            if demos:
                ordered = reorder_demos(demos, self.order_seed)
                turns = demo_turns(task, ordered, example, instruction=self.instruction)
            else:
                content = user_message(task, example, instruction=self.instruction, phrasing=self.phrasing)
                turns = [{"role": "user", "content": content}]
            conversations.append(with_system(example, turns))
        return conversations

    def variants(self) -> list[Strategy]:
        """Reordered demos when there are demos to reorder, rephrasings otherwise."""
        if max(len(self.demos), self.knn) < 2:
            return super().variants()
        return [self.with_demo_order(1), self.with_demo_order(2)]

    def fresh(self) -> Strategy:
        again = InstructedPrompt(self.instruction, self.demos, origin=self.origin, knn=self.knn)
        again.answer_mode = self.answer_mode
        return again

    def label(self, number: int) -> str:
        """How the search trace names it: ``instruction 2 (template) + 4 similar demos``."""
        if self.knn:
            demos = f"{self.knn} similar demos"
        elif self.demos:
            demos = f"{len(self.demos)} random demos ({' '.join(d.id for d in self.demos)})"
        else:
            demos = "no demos"
        return f"instruction {number} ({self.origin}) + {demos}"

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            **super().describe(),
            "instruction": self.instruction,
            "origin": self.origin,
            "demos": "knn" if self.knn else "random" if self.demos else "none",
            "demo_ids": [demo.id for demo in self.demos],
        }
        if self.knn:
            info["k"] = self.knn
            if self.embedder_id is not None:
                info["embedder"] = self.embedder_id
        return info


@dataclass
class Candidate:
    """A prepared strategy the search may choose, named as its trace records it."""

    label: str
    kind: CandidateKind
    strategy: Strategy


@dataclass
class CandidateSpace:
    candidates: list[Candidate] = field(default_factory=list)
    left_out: list[dict[str, str]] = field(default_factory=list)
    """``{"candidates": ..., "reason": ...}`` for what the context could not support or repeated."""
    asked: list[tuple[Any, ...]] = field(default_factory=list)
    """How each candidate asks the dev split (`asked_as`), to drop repeats."""

    def leave_out(self, what: str, reason: str) -> None:
        self.left_out.append({"candidates": what, "reason": reason})


def candidate_space(context: StrategyContext, *, k: int, demo_sets: int, generated: int) -> CandidateSpace:
    """Every candidate, prepared, in a fixed order: ladder rungs (simplest first), then the
    instruction × demo-set prompts; an earlier candidate wins a tie, so a rung beats the prompt
    that would merely repeat it."""
    space = CandidateSpace()
    context = with_loaded_embedder(context, space)
    for name in ladder_rungs(context, space):
        strategy = get_strategy(name)
        strategy.prepare(context)
        add_unless_repeated(space, Candidate(name, "rung", strategy), context)
    answer_mode = "score" if context.task.labels else "generate"
    numbers: dict[str, int] = {}
    for prompt in instructed_prompts(context, k=k, demo_sets=demo_sets, generated=generated):
        prompt.answer_mode = answer_mode
        prompt.prepare(context)
        number = numbers.setdefault(prompt.instruction, len(numbers) + 1)
        add_unless_repeated(space, Candidate(prompt.label(number), "prompt", prompt), context)
    return space


def with_loaded_embedder(context: StrategyContext, space: CandidateSpace) -> StrategyContext:
    """`context` with its embedder loaded once for every kNN candidate, or without one (and
    the reason recorded) when it has none or it cannot load."""
    if not context.train:
        return replace(context, embedder=None)  # no demos at all: `ladder_rungs` says so
    if context.embedder is None:
        space.leave_out("similar (kNN) demos", "no sentence embedder was given to the search")
        return context
    try:
        embedder = context.embedder()
    except AdaptlabError as error:
        space.leave_out("similar (kNN) demos", f"the sentence embedder did not load: {error}")
        return replace(context, embedder=None)
    return replace(context, embedder=lambda: embedder)


def ladder_rungs(context: StrategyContext, space: CandidateSpace) -> list[str]:
    """The ladder's prompt rungs this context can prepare, cheapest first."""
    names = ["zero-shot"]
    shots = [k for k in SEARCH_SHOTS if k <= len(context.train)]
    if len(shots) < len(SEARCH_SHOTS):
        space.leave_out(
            "few-shot rungs with more demos than the train split holds",
            f"the train split has {len(context.train)} examples",
        )
    names += [f"few-shot-random-{k}" for k in shots]
    if context.embedder is not None:
        names += [f"few-shot-knn-{k}" for k in shots]
    if not context.task.labels:
        space.leave_out("label-scoring, label-scoring-calibrated", "the task's outputs are free text")
        return names
    names.append("label-scoring")
    if context.label_prior is None:
        space.leave_out("label-scoring-calibrated", "no label prior from the evaluation engine")
    else:
        names.append("label-scoring-calibrated")
    return names


def instructed_prompts(
    context: StrategyContext, *, k: int, demo_sets: int, generated: int
) -> list[InstructedPrompt]:
    """Every (instruction, demo set) pair, in a fixed order."""
    instructions = template_instructions(context.task)
    if context.backend is not None and generated > 0 and context.train:
        instructions += model_instructions(context, generated)
    unique: dict[str, str] = {}
    for text, origin in instructions:
        unique.setdefault(text, origin)
    demo_choices: list[tuple[tuple[Example, ...], int]] = [((), 0)]
    if context.train and k > 0:
        demo_choices += [
            (tuple(random_demos(context.train, k, seed=context.seed + 1 + i)), 0) for i in range(demo_sets)
        ]
        if context.embedder is not None:
            demo_choices.append(((), min(k, len(context.train))))
    return [
        InstructedPrompt(text, demos, origin=origin, knn=knn)
        for text, origin in unique.items()
        for demos, knn in demo_choices
    ]


def add_unless_repeated(space: CandidateSpace, candidate: Candidate, context: StrategyContext) -> None:
    """Add `candidate` unless an earlier one asks the dev split exactly as it would: the same
    prompts, answer mode, calibration and token budget would only score the same again."""
    asked = asked_as(candidate.strategy, context)
    for earlier, earlier_asked in zip(space.candidates, space.asked, strict=True):
        if earlier_asked == asked:
            space.leave_out(candidate.label, f"asks exactly what {earlier.label} asks")
            return
    space.candidates.append(candidate)
    space.asked.append(asked)


def asked_as(strategy: Strategy, context: StrategyContext) -> tuple[Any, ...]:
    prior = strategy.calibration_prior()
    return (
        strategy.answer_mode,
        tuple(sorted(prior.items())) if prior else None,
        strategy.max_new_tokens(0),
        repr(strategy.render_many(context.dev, context.task)),
    )


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
