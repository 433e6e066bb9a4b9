"""A prompt strategy renders a task example into the chat messages a model is asked.

Strategies are the rungs of the prompting ladder. Each registers itself under a stable name
(``zero-shot``, ``few-shot-knn`` …) with `register_strategy`, so adding one touches one file and
the CLI, results and store refer to it by that name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from adaptlab.data.task import Example, Task
from adaptlab.errors import UsageError
from adaptlab.models.base import ChatMessage

_REGISTRY: dict[str, type[Strategy]] = {}

S = TypeVar("S", bound="type[Strategy]")


class Strategy(ABC):
    """Turns an example into a conversation; knows nothing about models or metrics."""

    name: str = ""

    @abstractmethod
    def render(self, example: Example, task: Task) -> list[ChatMessage]:
        """The messages sent to the model for `example` (the gold output is never among them)."""

    def describe(self) -> dict[str, Any]:
        """Settings worth recording with results; strategies with options extend this."""
        return {"strategy": self.name}


def register_strategy(name: str) -> Callable[[S], S]:
    """Class decorator: make a strategy available under `name`."""

    def decorate(cls: S) -> S:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def available_strategies() -> list[str]:
    return sorted(_REGISTRY)


def get_strategy(name: str) -> Strategy:
    """Instantiate the strategy registered as `name`, or explain which names exist."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        known = ", ".join(available_strategies())
        raise UsageError(f'unknown strategy "{name}"; available: {known}') from None
