"""Few-shot rungs: k solved examples from the train split shown before the input.

* ``few-shot-random-K`` — one seeded random set of K train examples, the same for every input
  (so the whole demo block is a shared prefix the backend computes once).
* ``few-shot-knn-K`` — for each input, the K train examples most similar to it by sentence
  embedding (all-MiniLM-L6-v2), least similar first so the closest sits next to the input.

Demos come only from the train split, and an input's own text is never among its demos (same
id or same normalised text), so a demo can never give the answer away.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.models.base import ChatMessage
from adaptlab.prompting.demos import KnnDemoSelector, random_demos, reorder_demos
from adaptlab.prompting.strategy import Strategy, StrategyContext, register_strategy
from adaptlab.prompting.templates import demo_turns, with_system


class FewShot(Strategy):
    """Shared machinery: demo selection is the subclass's job, rendering and variants are here."""

    needs_splits = ("train",)

    def __init__(self, k: int = 4) -> None:
        self.k = k
        self.pool_size = 0

    def prepare(self, context: StrategyContext) -> None:
        if not context.train:
            raise UsageError(
                f"{self.name} needs demos from a train split, and this task's train split is empty;"
                " give a task with more examples, or train/dev/test files"
            )
        self.pool_size = len(context.train)
        self.seed = context.seed

    def demos_for(self, examples: Sequence[Example]) -> list[list[Example]]:
        raise NotImplementedError

    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        return self.render_many([example], task)[0]

    def render_many(self, examples: Sequence[Example], task: Task) -> list[list[ChatMessage]]:
        conversations = []
        for example, demos in zip(examples, self.demos_for(examples), strict=True):
            ordered = reorder_demos(demos, self.order_seed)
            conversations.append(with_system(example, demo_turns(task, ordered, example)))
        return conversations

    def variants(self) -> list[Strategy]:
        """The same demos in two other orders: a model should not care which demo came first."""
        return [self.with_demo_order(1), self.with_demo_order(2)]

    def describe(self) -> dict[str, Any]:
        info = {**super().describe(), "k": self.k, "demo_pool": "train", "demo_pool_size": self.pool_size}
        if self.order_seed:
            info["demo_order_seed"] = self.order_seed
        return info


@register_strategy("few-shot-random", family=True)
class RandomFewShot(FewShot):
    draws_random_demos = True

    def prepare(self, context: StrategyContext) -> None:
        super().prepare(context)
        self.pool = tuple(context.train)

    def demos_for(self, examples: Sequence[Example]) -> list[list[Example]]:
        # The same seed gives every input the same demos, except one equal to the input itself.
        return [random_demos(self.pool, self.k, seed=self.seed, exclude=example) for example in examples]

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        if hasattr(self, "pool"):
            info["demo_ids"] = [demo.id for demo in random_demos(self.pool, self.k, seed=self.seed)]
            info["seed"] = self.seed
        return info


@register_strategy("few-shot-knn", family=True)
class KnnFewShot(FewShot):
    def prepare(self, context: StrategyContext) -> None:
        super().prepare(context)
        if context.embedder is None:
            raise UsageError(f"{self.name} needs a sentence embedder to pick similar demos")
        embedder = context.embedder()
        self.embedder_id = getattr(embedder, "model_id", type(embedder).__name__)
        self.selector = KnnDemoSelector(context.train, embedder, self.k)

    def demos_for(self, examples: Sequence[Example]) -> list[list[Example]]:
        return self.selector.select_many(examples)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        if hasattr(self, "embedder_id"):
            info["embedder"] = self.embedder_id
        return info
