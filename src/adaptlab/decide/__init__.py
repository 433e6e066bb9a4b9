"""Decide what to do from what a run measured: keep prompting, fine-tune, a hybrid or distil;
and, across the runs of several models, which model × rung to serve.

The decision reads parsed ``results.json`` files and the user's cost settings and nothing else,
so ``adaptlab report`` can decide again from a stored run with other prices.

>>> settings = load_cost_settings("costs.yaml")
>>> recommend(results, settings).to_dict()["headline"]
>>> choose_configuration([("smollm2-135m", small), ("gemma3-270m", large)], settings, None).headline
"""

from adaptlab.decide.costs import CostSettings, RungCost, TokenPrice, load_cost_settings
from adaptlab.decide.gain import Gain, paired_gain
from adaptlab.decide.model_choice import ModelChoice, choose_configuration
from adaptlab.decide.recommend import Decision, recommend

__all__ = [
    "CostSettings",
    "Decision",
    "Gain",
    "ModelChoice",
    "RungCost",
    "TokenPrice",
    "choose_configuration",
    "load_cost_settings",
    "paired_gain",
    "recommend",
]
