"""Prompt strategies: render task examples into chat messages, and read answers back.

Importing this package registers every strategy (each module registers its own rungs).
"""

from adaptlab.prompting import cot, few_shot, formats, instructions, rag, search, zero_shot  # noqa: F401
from adaptlab.prompting.parsing import ParsedAnswer, parse_free_text, parse_label
from adaptlab.prompting.strategy import (
    DEFAULT_SHOTS,
    Strategy,
    StrategyContext,
    available_strategies,
    expand_strategy_names,
    get_strategy,
    register_strategy,
)

PROMPT_LADDER: tuple[str, ...] = (
    "zero-shot",
    "instruction-terse",
    "instruction-detailed",
    "instruction-role",
    "few-shot-random",
    "few-shot-knn",
    "cot",
    "format-label",
    "format-json",
    "label-scoring",
    "label-scoring-calibrated",
    "search",
)
"""Every prompting rung, cheapest first; ``--strategies ladder`` runs them all."""

__all__ = [
    "DEFAULT_SHOTS",
    "PROMPT_LADDER",
    "ParsedAnswer",
    "Strategy",
    "StrategyContext",
    "available_strategies",
    "expand_strategy_names",
    "get_strategy",
    "parse_free_text",
    "parse_label",
    "register_strategy",
]
