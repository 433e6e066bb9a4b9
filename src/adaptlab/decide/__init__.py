"""Decide what to do from what a run measured: keep prompting, fine-tune, a hybrid or distil.

The decision reads a parsed ``results.json`` and the user's cost settings and nothing else, so
``adaptlab report`` can decide again from a stored run with other prices.

>>> settings = load_cost_settings("costs.yaml")
>>> recommend(results, settings).to_dict()["headline"]
"""

from adaptlab.decide.costs import CostSettings, RungCost, TokenPrice, load_cost_settings
from adaptlab.decide.gain import Gain, paired_gain
from adaptlab.decide.recommend import Decision, recommend

__all__ = [
    "CostSettings",
    "Decision",
    "Gain",
    "RungCost",
    "TokenPrice",
    "load_cost_settings",
    "paired_gain",
    "recommend",
]
