"""Evaluate rungs: run a strategy over a split through the engine, parse, score and summarise."""

from adaptlab.evaluation.answers import Answer
from adaptlab.evaluation.cache import ResultCache
from adaptlab.evaluation.engine import Request, ask
from adaptlab.evaluation.evaluate import evaluate, planned_requests
from adaptlab.evaluation.metrics import Interval, bootstrap_interval
from adaptlab.evaluation.result import Metrics, Prediction, RungResult

__all__ = [
    "Answer",
    "Interval",
    "Metrics",
    "Prediction",
    "Request",
    "ResultCache",
    "RungResult",
    "ask",
    "bootstrap_interval",
    "evaluate",
    "planned_requests",
]
