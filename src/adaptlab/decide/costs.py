"""What a rung costs to ask and what a tuned rung cost to make, from measurements and prices.

Prices are the user's (``--costs costs.yaml``); adaptlab ships none, because real prices change
and a stale default would quietly make every recommendation wrong. What adaptlab does know is
what it measured: the compute seconds each request took (``1 / examples_per_s``), the tokens
each request carried, and how long training ran. A local rung is priced by machine time, a
hosted one by its token price when the price table has its model, and left unpriced otherwise.

>>> cost = rung_cost({"rung": "zero-shot", "metrics": {"examples_per_s": 10.0},
...                   "model": {"backend": "local"}}, CostSettings(machine_usd_per_hour=3.6))
>>> cost.seconds_per_request, round(cost.usd_per_request, 8), cost.priced_by
(0.1, 0.0001, 'machine-time')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adaptlab.data.yaml_file import load_settings
from adaptlab.decide.rungs import DOCUMENTS, metric, number, rung_kind, training_examples

Usd = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PricedBy = Literal["machine-time", "price-table"]
SECONDS_PER_HOUR = 3600.0


class TokenPrice(BaseModel):
    """A hosted model's price per million tokens, as its provider lists it."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    input_usd_per_million: Usd
    """Dollars per million prompt tokens."""
    output_usd_per_million: Usd
    """Dollars per million generated tokens."""


class CostSettings(BaseModel):
    """What things cost where you run them; every figure in dollars.

    >>> CostSettings(machine_usd_per_hour=2.5, prices={"my-hosted-model": TokenPrice(
    ...     input_usd_per_million=0.5, output_usd_per_million=1.5)}).machine_usd_per_hour
    2.5
    """

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    machine_usd_per_hour: Usd = 1.0
    """Set this to what your machine costs; the default only scales $ figures — break-even
    between two local rungs does not depend on it (while labelling and the value of a correct
    answer are 0)."""
    prices: dict[str, TokenPrice] = Field(default_factory=dict)
    """Token prices of hosted models, keyed by model id; a hosted model not listed is unpriced."""
    labelling_usd_per_example: Usd = 0.0
    """What one labelled training example costs you (fine-tuning needs them; prompting few)."""
    value_per_correct_usd: Usd = 0.0
    """What one more correct answer (a full score) is worth: makes score gains count toward
    break-even."""
    expected_requests: int | None = Field(None, ge=1)
    """How many requests you expect to serve: context in a run's reasons; across models, the
    choice compares the total cost of serving this many (one-off + requests × per request)."""


@dataclass(frozen=True)
class RungCost:
    """A rung's cost per request and, for tuned rungs, what it cost to make once."""

    seconds_per_request: float | None
    """Measured compute per request (1 / examples_per_s)."""
    usd_per_request: float | None
    priced_by: PricedBy | None
    """How `usd_per_request` was found; None when it could not be (no price for the model)."""
    training_s: float | None
    training_usd: float | None
    labelling_usd: float | None

    @property
    def usd_per_1k_requests(self) -> float | None:
        return None if self.usd_per_request is None else self.usd_per_request * 1000

    @property
    def upfront_usd(self) -> float:
        """What has to be paid before the first request: training and labelling."""
        return (self.training_usd or 0.0) + (self.labelling_usd or 0.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"usd_per_1k_requests": self.usd_per_1k_requests}


MEANINGFUL_SAVING = 0.10
"""Per-request costs within this share of each other count as equal: measured throughput moves
by a few percent between two runs of the same prompt, and a "saving" inside that is noise."""


def cheaper(cost: RungCost, other: RungCost) -> bool:
    """Whether `cost` is clearly less per request than `other` (by more than
    `MEANINGFUL_SAVING`): in dollars when both are priced, else in compute seconds (the same
    thing between two local rungs); False when unknown."""
    if cost.usd_per_request is not None and other.usd_per_request is not None:
        return cost.usd_per_request < other.usd_per_request * (1 - MEANINGFUL_SAVING)
    if cost.seconds_per_request is not None and other.seconds_per_request is not None:
        return cost.seconds_per_request < other.seconds_per_request * (1 - MEANINGFUL_SAVING)
    return False


def rung_cost(
    rung: dict[str, Any], settings: CostSettings, run_model: dict[str, Any] | None = None
) -> RungCost:
    """Price one rung dict of ``results.json``; `run_model` (the run's ``model``) fills in what
    the rung's own ``model`` lacks."""
    model = (run_model or {}) | (rung.get("model") or {})
    per_s = metric(rung, "examples_per_s")
    seconds = 1.0 / per_s if per_s else None
    usd, priced_by = request_usd(rung, model, seconds, settings)
    training = rung.get("training")
    if training is None:
        return RungCost(seconds, usd, priced_by, None, None, None)
    # The training that produced the weights: both stages of one trained on the documents, then
    # on pairs (its ``training.wall_time_s`` adds them, even when stage 1 was reused).
    training_s = number(training.get("wall_time_s"))
    training_usd = (
        None if training_s is None else training_s * settings.machine_usd_per_hour / SECONDS_PER_HOUR
    )
    # A distilled rung learns the teacher prompt's answers, and one trained on the documents
    # alone learns the corpus text: nobody has to label their examples.
    unlabelled = rung_kind(rung) == "distilled" or training.get("targets") == DOCUMENTS
    labelled = 0 if unlabelled else training_examples(rung) or 0
    return RungCost(
        seconds, usd, priced_by, training_s, training_usd, labelled * settings.labelling_usd_per_example
    )


def request_usd(
    rung: dict[str, Any], model: dict[str, Any], seconds: float | None, settings: CostSettings
) -> tuple[float | None, PricedBy | None]:
    """Dollars per request and how they were found: machine time for local models, the price
    table for hosted ones."""
    if model.get("backend") == "local":
        if seconds is None:
            return None, None
        return seconds * settings.machine_usd_per_hour / SECONDS_PER_HOUR, "machine-time"
    price = settings.prices.get(str(model.get("model_id")))
    prompt, output = metric(rung, "prompt_tokens_mean"), metric(rung, "output_tokens_mean")
    if price is None or prompt is None or output is None:
        return None, None
    usd = (prompt * price.input_usd_per_million + output * price.output_usd_per_million) / 1e6
    return usd, "price-table"


def rung_costs(results: dict[str, Any], settings: CostSettings) -> dict[str, RungCost]:
    """Every rung of the run, by name."""
    return {r["rung"]: rung_cost(r, settings, results.get("model")) for r in results.get("rungs") or []}


def load_cost_settings(path: Path | str) -> CostSettings:
    """Read cost settings from a YAML file; an empty file means the defaults.

    Raises `UsageError` naming the file, the line and what is wrong with it.
    """
    return load_settings(CostSettings, path, "cost settings", empty=CostSettings())
