"""Evaluate rungs: run a strategy over a split, parse, score and summarise."""

from adaptlab.evaluation.evaluate import evaluate
from adaptlab.evaluation.metrics import Interval, bootstrap_interval
from adaptlab.evaluation.result import Metrics, Prediction, RungResult

__all__ = ["Interval", "Metrics", "Prediction", "RungResult", "bootstrap_interval", "evaluate"]
