"""Prompt strategies: render task examples into chat messages, and read answers back."""

from adaptlab.prompting import zero_shot  # noqa: F401  (registers the strategy)
from adaptlab.prompting.parsing import ParsedAnswer, answers_match, parse_free_text, parse_label
from adaptlab.prompting.strategy import Strategy, available_strategies, get_strategy, register_strategy

__all__ = [
    "ParsedAnswer",
    "Strategy",
    "answers_match",
    "available_strategies",
    "get_strategy",
    "parse_free_text",
    "parse_label",
    "register_strategy",
]
