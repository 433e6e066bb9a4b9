"""A prompt strategy renders a task example into the chat messages a model is asked, and reads
the answer back.

Strategies are the rungs of the prompting ladder. Each registers itself under a stable name
(``zero-shot``, ``few-shot-knn`` …) with `register_strategy`, so adding one touches one file and
the CLI, results and store refer to it by that name. Strategies that take a number of demos are
registered as a *family*: ``few-shot-knn-8`` is the ``few-shot-knn`` family with ``k=8``, and
the bare family name expands to the default shot counts (4 and 8).

A strategy never sees the split it is evaluated on while it prepares: `prepare` gets a
`StrategyContext` holding only the train split (the demo pool) and the dev split (for prompt
search), so no rung can learn from test data by construction.
"""

from __future__ import annotations

import copy
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from adaptlab.data.problems import did_you_mean
from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.models.base import Backend, ChatMessage
from adaptlab.prompting.parsing import ParsedAnswer, parse_free_text, parse_label

AnswerMode = Literal["generate", "score"]
DEFAULT_SHOTS: tuple[int, ...] = (4, 8)
ANSWER_SLACK_TOKENS = 16

_REGISTRY: dict[str, type[Strategy]] = {}
_FAMILIES: set[str] = set()
WrapperFactory = Callable[[re.Match[str], Callable[[str], "Strategy"]], "Strategy"]
_WRAPPERS: list[tuple[re.Pattern[str], WrapperFactory, str]] = []
"""Rungs that wrap another rung, by name pattern: ``rag-3-few-shot-knn-4`` adds retrieval to
few-shot-knn-4 (`register_wrapper`)."""
_FAMILY_MEMBER = re.compile(r"^(?P<family>.+)-(?P<k>[0-9]+)$")

S = TypeVar("S", bound="type[Strategy]")


@dataclass
class StrategyContext:
    """What a strategy may use to prepare itself — never the split it is evaluated on.

    `dev_score` is supplied by the evaluation layer: it scores a candidate strategy on some
    of the dev examples (prompt search calls it; `prompting` itself does not import `evaluation`).
    `label_prior` is too: the label prior of a strategy's prompt, as log-probabilities, from
    the label scores of some inputs asked through it exactly as an evaluated rung asks
    (calibrated label scoring gives it content-free inputs).
    `embedder` loads the sentence embedder on first use, so rungs that need none never pay.
    """

    task: Task
    train: Sequence[Example]
    dev: Sequence[Example] = ()
    seed: int = 0
    backend: Backend | None = None
    dev_score: Callable[[Strategy, Sequence[Example]], float] | None = None
    label_prior: Callable[[Strategy, Sequence[Example]], dict[str, float]] | None = None
    embedder: Callable[[], Any] | None = None
    retriever: Callable[[], Any] | None = None
    """Opens the run's corpus index (`adaptlab.retrieval.Retriever`) on first use; None when
    the run has no corpus."""
    notes: list[str] = field(default_factory=list)


class Strategy(ABC):
    """Turns examples into conversations and model answers into parsed answers.

    `answer_mode` says how answers are obtained: ``generate`` (decode text, then parse it) or
    ``score`` (closed-label tasks only: the label with the highest log-likelihood wins).
    """

    name: str = ""
    answer_mode: AnswerMode = "generate"
    phrasing: int = 0
    """Which of the `templates.PHRASINGS` frames the question (0 is the standard one)."""
    order_seed: int = 0
    """For rungs with demos: 0 keeps the selected order, other values reorder the demos."""
    needs_labels: bool = False
    """Only meaningful for closed-label tasks (checked before a run starts)."""
    needs_splits: tuple[str, ...] = ()
    """Splits `prepare` draws on (``train`` for demos, ``dev`` for search)."""
    multiline_answers: bool = False
    """The reply spans several lines even when the answer is one (reasoning first, a JSON block):
    generation must not stop at the end of the first line."""
    prepared_per_model: bool = False
    """`prepare` measures the model itself (calibrated label scoring's prior): a rung reused on
    other weights (a hybrid's tuned model) is prepared again on them."""
    draws_random_demos: bool = False
    """`prepare` draws its demos at random from the context's seed (few-shot-random): another
    seed gives another prompt, so the rung is also measured under a few other draws."""

    def prepare(self, context: StrategyContext) -> None:  # noqa: B027 - optional hook
        """Choose demos, search prompts, … from the train/dev splits; the default needs nothing."""

    @abstractmethod
    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        """The messages sent to the model for `example` (the gold output is never among them)."""

    def render_many(self, examples: Sequence[Example], task: Task) -> list[list[ChatMessage]]:
        """All conversations of a rung; strategies that select demos per example batch that work."""
        return [self.render(example, task) for example in examples]

    def parse(self, output: str, task: Task) -> ParsedAnswer:
        """Read the answer out of a generated text."""
        return parse_label(output, task.labels) if task.labels else parse_free_text(output)

    def retrieved(self, example: Example) -> Any | None:
        """What the rung retrieved for `example` when it rendered it (`adaptlab.prompting.rag`):
        None for rungs that retrieve nothing."""
        return None

    def calibration_prior(self) -> dict[str, float] | None:
        """For label scoring: each label's log-prior under this rung's prompt, subtracted from
        its log-likelihood before the argmax (contextual calibration); None: the plain argmax."""
        return None

    def max_new_tokens(self, answer_tokens: int) -> int:
        """Token budget for a generated answer, given the longest expected answer's length:
        room for it plus a short lead-in such as "The sentiment is"."""
        return answer_tokens + ANSWER_SLACK_TOKENS

    def variants(self) -> list[Strategy]:
        """Two meaning-preserving variations (another phrasing, reordered demos): consistency is
        how often a model gives the same answer under all three."""
        return [self.with_phrasing(1), self.with_phrasing(2)]

    def with_phrasing(self, phrasing: int) -> Strategy:
        variant = copy.copy(self)
        variant.phrasing = phrasing
        return variant

    def with_demo_order(self, order_seed: int) -> Strategy:
        variant = copy.copy(self)
        variant.order_seed = order_seed
        return variant

    def fresh(self) -> Strategy:
        """This rung again, unprepared, to prepare on other weights (`prepared_per_model`): a
        searched prompt keeps the candidate it chose instead of searching again."""
        return get_strategy(self.name)

    def describe(self) -> dict[str, Any]:
        """Settings worth recording with results; strategies with options extend this."""
        info: dict[str, Any] = {"strategy": self.name, "answer_mode": self.answer_mode}
        if self.phrasing:
            info["phrasing"] = self.phrasing
        return info


def register_strategy(name: str, *, family: bool = False) -> Callable[[S], S]:
    """Class decorator: make a strategy available under `name`.

    A `family` strategy takes the number of demos as ``k``: ``NAME-K`` names one member.
    """

    def decorate(cls: S) -> S:
        cls.name = name
        _REGISTRY[name] = cls
        if family:
            _FAMILIES.add(name)
        return cls

    return decorate


def register_wrapper(
    pattern: re.Pattern[str],
    build: WrapperFactory,
    *,
    shown: str,
) -> None:
    """Make rungs named by `pattern` available: `build` gets the match and `get_strategy`, to
    make the rung it wraps (the ``base`` group; a wrapper never wraps another wrapper).
    `shown` is how the name is listed to users (``rag-K[-RUNG]``)."""
    _WRAPPERS.append((pattern, build, shown))


def _wrapper_of(name: str) -> tuple[re.Match[str], Callable[..., Strategy]] | None:
    for pattern, build, _ in _WRAPPERS:
        match = pattern.match(name)
        if match:
            return match, build
    return None


def available_strategies() -> list[str]:
    """Registered names; families are listed bare (``few-shot-knn``, meaning ``few-shot-knn-K``)."""
    return sorted(_REGISTRY)


def expand_strategy_names(names: Sequence[str], shots: Sequence[int] = DEFAULT_SHOTS) -> list[str]:
    """Turn what the user typed into rung names: a bare family name becomes one rung per shot
    count, duplicates are dropped, and unknown names are refused with the list of known ones."""
    expanded: list[str] = []
    for name in names:
        if name in _FAMILIES:
            members = [f"{name}-{k}" for k in shots]
        else:
            _check_known(name)
            members = [name]
        expanded.extend(member for member in members if member not in expanded)
    return expanded


def get_strategy(name: str) -> Strategy:
    """Instantiate the rung called `name` (``zero-shot``, ``few-shot-knn-8`` …)."""
    _check_known(name)
    wrapper = _wrapper_of(name)
    if wrapper is not None:
        match, build = wrapper
        return build(match, get_strategy)
    if name in _FAMILIES:
        name = f"{name}-{DEFAULT_SHOTS[0]}"
    elif name in _REGISTRY:
        return _REGISTRY[name]()
    member = _FAMILY_MEMBER.match(name)
    assert member is not None  # _check_known guarantees it
    strategy = _REGISTRY[member["family"]](k=int(member["k"]))  # type: ignore[call-arg]
    strategy.name = name
    return strategy


def _check_known(name: str) -> None:
    if name in _REGISTRY and name not in _FAMILIES:
        return
    wrapper = _wrapper_of(name)
    if wrapper is not None:
        match, _ = wrapper
        base = match.groupdict().get("base")
        if int(match["k"]) < 1:
            raise UsageError(f'"{name}": the count must be at least 1')
        if base is not None:
            if _wrapper_of(base) is not None:
                raise UsageError(f'"{name}" wraps {base}, itself a wrapper; wrap a plain rung')
            _check_known(base)
        return
    member = _FAMILY_MEMBER.match(name)
    if member and member["family"] in _FAMILIES and int(member["k"]) > 0:
        return
    if name in _FAMILIES:
        return
    known = ", ".join(
        [f"{n}[-K]" if n in _FAMILIES else n for n in available_strategies()] + [w[2] for w in _WRAPPERS]
    )
    raise UsageError(f'unknown strategy "{name}"{_did_you_mean(name)}; available: {known}')


def _did_you_mean(name: str) -> str:
    """The close known name, if any; a misspelt family keeps its shot count (few-shot-knnn-4 ->
    few-shot-knn-4), so the suggestion can be pasted as it is."""
    choices = available_strategies()
    member = _FAMILY_MEMBER.match(name)
    if member and int(member["k"]) > 0:
        choices += [f"{family}-{member['k']}" for family in sorted(_FAMILIES)]
    return did_you_mean(name, choices)
