"""Which model, asked which way, to serve: the cheapest configuration that is good enough.

``adaptlab run --model A --model B`` measures each model's ladder on the same test examples and
the same dev selection sample; every (model × rung) measured is a configuration (see
`adaptlab.decide.configurations`). The rules, and why:

1. **Choose on dev, cite test.** When every configuration has a dev score, which is best and
   which reach the target are judged on dev, and the figures cited are test scores, which took
   no part in the choice. When one lacks a dev score, all are judged on test, and the decision
   says the winner's figures may be flattered by the choice (the best of many noisy scores is
   likely lucky).
2. **The target is "good enough".** The user's `target`, in the primary metric's 0-1 units (0.8:
   80% accuracy, or chrF 80); by default the lower end of the 95% CI of the best configuration
   on the data judged: as good as the best, within the noise. A configuration reaches it when
   its judged score is at least the target.
3. **The cheapest that reaches it.** Cheapest per 1,000 requests; with ``expected_requests``
   set, cheapest in total at that volume (one-off + requests × per request), since a one-off
   cost only pays back over enough requests. Costs within `MEANINGFUL_SAVING` of the cheapest
   are a tie (measured throughput moves that much between runs) that goes to the simpler: a
   prompt before tuned weights, then a hybrid, then a student; then the model with fewer
   parameters (an endpoint, of unknown size, counts as the largest). An unpriced endpoint cannot
   be called cheapest: it is listed, and the user is told to add its price. When no
   configuration that reaches the target is priced, the best of them is named; when none reaches
   a target the user set, the best is named and the headline says it falls short.
   ``value_per_correct_usd`` is not counted: the configurations that reach the target are taken
   as equally good, so their score differences are noise, not money.
4. **The runner-up** is the next cheapest that reaches the target, else the best configuration
   when it is not the chosen one. When one of the two costs more up front and less per request,
   the break-even says after how many requests the larger one-off cost pays back.
5. **The frontier** (price per 1,000 requests against test score) holds the configurations no
   other beats on both: the only ones worth a look whatever the trade-off. Unpriced ones have no
   place on it.

>>> choice = choose_configuration([("smollm2-135m", small), ("gemma3-270m", large)], CostSettings(), None)
>>> choice.headline
'Serve smollm2-135m lora-64 (73.8%, $0.0210 per 1,000 requests): the cheapest configuration ...'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from adaptlab.decide.configurations import Configuration, configurations
from adaptlab.decide.costs import MEANINGFUL_SAVING, CostSettings
from adaptlab.decide.frontier import pareto_frontier
from adaptlab.decide.rungs import metric
from adaptlab.decide.wording import CI, count, seconds, usd

TargetSource = Literal["given", "best-interval", "best-score"]
"""Where the target came from: the user, the best configuration's interval, or (without an
interval) the best configuration's own score."""
ChosenOn = Literal["dev", "test"]
TOLERANCE = 1e-9
"""A score equal to the target up to float rounding reaches it (0.8 given, 0.8000000000000002 scored)."""


@dataclass(frozen=True)
class Target:
    score: float
    source: TargetSource
    split: ChosenOn

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "source": self.source, "split": self.split}


@dataclass(frozen=True)
class Payback:
    """`upfront` costs more once and less per request than `other`: after `requests` requests
    the two have cost the same in all."""

    upfront: Configuration
    other: Configuration
    requests: float
    upfront_difference_usd: float
    saving_per_request_usd: float

    @property
    def explanation(self) -> str:
        return (
            f"{self.upfront.label} costs {usd(self.upfront_difference_usd)} more up front and"
            f" {usd(self.saving_per_request_usd * 1000)} less per 1,000 requests than {self.other.label},"
            f" so it pays back after {count(self.requests)} requests"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "upfront": self.upfront.ref,
            "other": self.other.ref,
            "requests": self.requests,
            "upfront_difference_usd": self.upfront_difference_usd,
            "saving_per_request_usd": self.saving_per_request_usd,
            "explanation": self.explanation + ".",
        }


@dataclass(frozen=True)
class ModelChoice:
    """The configuration to serve across models, why, and every configuration it was chosen from."""

    chosen: Configuration | None
    """None only when nothing was measured; the best (named for reference) when nothing reaches
    a target the user set."""
    headline: str
    reasons: list[str]
    selection: str
    """How the configurations were judged (dev or test), with the winners' two scores."""
    chosen_on: ChosenOn
    target: Target | None
    best: Configuration | None
    runner_up: Configuration | None
    break_even: Payback | None
    configurations: list[Configuration]
    reaching: list[Configuration]
    frontier: list[Configuration]
    """In order of price."""
    settings: CostSettings

    @property
    def unpriced(self) -> list[Configuration]:
        return [c for c in self.configurations if c.usd_per_request is None]

    def to_dict(self) -> dict[str, Any]:
        """The parent run's ``decision`` block (docs/results-schema.md); JSON-safe."""
        requests = self.settings.expected_requests
        return {
            "chosen": _ref(self.chosen),
            "headline": self.headline,
            "reasons": list(self.reasons),
            "selection": self.selection,
            "chosen_on": self.chosen_on,
            "target": self.target.to_dict() if self.target else None,
            "compared_by": "total_usd" if requests else "usd_per_1k_requests",
            "expected_requests": requests,
            "best": _ref(self.best),
            "runner_up": _ref(self.runner_up),
            "break_even": self.break_even.to_dict() if self.break_even else None,
            "frontier": [c.ref for c in self.frontier],
            "unpriced": [c.ref for c in self.unpriced],
            "configurations": [
                c.to_dict()
                | {
                    "total_usd": c.total_usd(requests) if requests else None,
                    "reaches_target": c in self.reaching,
                    "on_frontier": c in self.frontier,
                }
                for c in self.configurations
            ],
            "costs": {"settings": self.settings.model_dump(mode="json")},
        }


def choose_configuration(
    runs: Sequence[tuple[str, dict[str, Any]]], costs: CostSettings, target: float | None
) -> ModelChoice:
    """Choose across the runs of one task, each a (model spec, parsed ``results.json``), by the
    rules of the module docstring; `target` is in the primary metric's 0-1 units, None for
    "within the noise of the best"."""
    configs = configurations(runs, costs)
    if not configs:
        return ModelChoice(
            chosen=None,
            headline="No configuration was measured: there is nothing to choose from.",
            reasons=[f"The {count(len(runs))} runs hold no rung with a measured score."],
            selection="",
            chosen_on="test",
            target=None,
            best=None,
            runner_up=None,
            break_even=None,
            configurations=[],
            reaching=[],
            frontier=[],
            settings=costs,
        )
    on = chosen_on(configs)
    best = min(configs, key=lambda c: (-judged(c, on), c.simplicity()))
    goal = target_for(best, target, on)
    reaching = [c for c in configs if judged(c, on) >= goal.score - TOLERANCE]
    ranked = by_price([c for c in reaching if price(c, costs) is not None], costs, on)
    # With nothing priced (or nothing reaching the target) the best is named: it reaches the
    # target whenever anything does, since it has the highest judged score.
    chosen = ranked[0] if ranked else best
    runner_up = ranked[1] if len(ranked) > 1 else (best if best is not chosen else None)
    payback = break_even(chosen, runner_up) if runner_up else None
    placed = {c: (c.usd_per_1k_requests or 0.0, c.score) for c in configs if c.usd_per_request is not None}
    frontier = sorted(pareto_frontier(placed), key=lambda c: placed[c])
    facts = Facts(configs, on, goal, best, reaching, ranked, chosen, runner_up, payback, costs)
    return ModelChoice(
        chosen=chosen,
        headline=headline(facts),
        reasons=reasons(facts),
        selection=selection_sentence(facts),
        chosen_on=on,
        target=goal,
        best=best,
        runner_up=runner_up,
        break_even=payback,
        configurations=configs,
        reaching=reaching,
        frontier=frontier,
        settings=costs,
    )


# -- the rules ---------------------------------------------------------------------------------


def chosen_on(configs: Sequence[Configuration]) -> ChosenOn:
    return "dev" if all(c.selection_score is not None for c in configs) else "test"


def judged(config: Configuration, on: ChosenOn) -> float:
    """The score the choice reads: dev when every configuration has one, else test."""
    dev = config.selection_score
    return dev if on == "dev" and dev is not None else config.score


def target_for(best: Configuration, given: float | None, on: ChosenOn) -> Target:
    if given is not None:
        return Target(given, "given", on)
    low = best.selection_bound("score_low") if on == "dev" else metric(best.rung, "score_low")
    if low is not None:
        return Target(low, "best-interval", on)
    return Target(judged(best, on), "best-score", on)


def price(config: Configuration, costs: CostSettings) -> float | None:
    """What the choice compares: dollars per request, or in total at the expected volume."""
    requests = costs.expected_requests
    return config.total_usd(requests) if requests else config.usd_per_request


def by_price(priced: Sequence[Configuration], costs: CostSettings, on: ChosenOn) -> list[Configuration]:
    """The chosen first — the simplest of those within `MEANINGFUL_SAVING` of the cheapest, the
    better-scoring between equally simple ones — then the rest from the cheapest."""
    if not priced:
        return []
    cost = {c: price(c, costs) or 0.0 for c in priced}
    cheapest = min(cost.values())
    tied = [c for c in priced if cost[c] * (1 - MEANINGFUL_SAVING) <= cheapest]
    chosen = min(tied, key=lambda c: (c.simplicity(), -judged(c, on), cost[c]))
    rest = sorted((c for c in priced if c is not chosen), key=lambda c: (cost[c], c.simplicity()))
    return [chosen, *rest]


def break_even(a: Configuration, b: Configuration) -> Payback | None:
    """When one of `a`, `b` costs more up front and less per request: the requests after which
    both have cost the same (the extra one-off ÷ the saving per request)."""
    if None in (a.usd_per_request, b.usd_per_request, a.upfront_usd, b.upfront_usd):
        return None
    first, second = (a, b) if (a.upfront_usd or 0.0) >= (b.upfront_usd or 0.0) else (b, a)
    extra = (first.upfront_usd or 0.0) - (second.upfront_usd or 0.0)
    saving = (second.usd_per_request or 0.0) - (first.usd_per_request or 0.0)
    if extra <= 0 or saving <= 0:
        return None
    return Payback(first, second, extra / saving, extra, saving)


# -- the sentences -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the sentences cite, gathered once."""

    configs: list[Configuration]
    on: ChosenOn
    target: Target
    best: Configuration
    reaching: list[Configuration]
    ranked: list[Configuration]
    """The priced configurations that reach the target, the chosen first."""
    chosen: Configuration
    runner_up: Configuration | None
    payback: Payback | None
    costs: CostSettings

    @property
    def requests(self) -> int | None:
        return self.costs.expected_requests

    def figures(self, config: Configuration) -> str:
        """Test score and price, with the one-off cost when the choice compares totals."""
        upfront = config.upfront_usd
        if not self.requests or config.usd_per_request is None or not upfront:
            return config.figures()
        return f"{config.figures()} + {usd(upfront)} one-off"

    def target_text(self) -> str:
        return self.best.text(self.target.score)


def headline(f: Facts) -> str:
    c, best = f.chosen, f.best
    goal = f"your target of {f.target_text()}" if f.target.source == "given" else ""
    best_named = f"{best.label} ({f.figures(best)})"
    if not f.reaching:
        return f"No configuration reaches {goal}: the best is {best_named}."
    serve = f"Serve {c.label} ({f.figures(c)})"
    if not f.ranked:
        if goal:
            return f"{serve}: the best of those that reach {goal}; none of them has a price to compare."
        return f"{serve}: the best configuration; none within its noise has a price to compare."
    if c is best:
        reach = f"that reaches {goal}" if goal else "within its noise"
        if len(f.reaching) == 1:
            return f"{serve}: the best configuration, and the only one {reach}."
        volume = f" at the {count(f.requests)} requests you expect" if f.requests else ""
        return f"{serve}: the best configuration, and none {reach} costs clearly less{volume}."
    among = f"that reach {goal}" if goal else f"within the noise of the best, {best_named}"
    if f.requests:
        return (
            f"{serve}: of the configurations {among}, the cheapest in total at the {count(f.requests)}"
            " requests you expect."
        )
    if goal:
        return f"{serve}: the cheapest configuration that reaches {goal}; the best is {best_named}."
    return f"{serve}: the cheapest configuration {among}."


def reasons(f: Facts) -> list[str]:
    return [
        target_sentence(f),
        *runner_up_sentence(f),
        upfront_sentence(f.chosen),
        *volume_sentence(f),
        *tie_sentence(f),
        *unknown_upfront_sentence(f),
        *unpriced_sentence(f),
    ]


def target_sentence(f: Facts) -> str:
    split = f"on {f.on}"
    reached = f"{count(len(f.reaching))} of {count(len(f.configs))} configurations reach it"
    if f.target.source == "given":
        return f"Your target is {f.target_text()}, judged {split}: {reached}."
    best = f"{f.best.label} ({f.best.text(judged(f.best, f.on))} {split})"
    if f.target.source == "best-interval":
        return (
            f"The target is {f.target_text()} {split}, the lower end of the {CI} of the best"
            f" configuration, {best}: {reached}."
        )
    return f"The target is {f.target_text()} {split}, the score of the best configuration, {best}: {reached}."


def runner_up_sentence(f: Facts) -> list[str]:
    r = f.runner_up
    if r is None:
        return []
    which = "the best configuration" if r is f.best and r not in f.ranked else "the runner-up"
    sentence = f"Next comes {which}, {r.label} ({f.figures(r)})"
    if f.payback:
        return [f"{sentence}: {f.payback.explanation}."]
    return [f"{sentence}."]


def upfront_sentence(c: Configuration) -> str:
    upfront = c.upfront_usd
    if upfront is None:
        return f"{c.label}'s one-off cost is unknown: {c.upfront_unknown}."
    if c.rung.get("training") is None:
        return f"{c.label} needs no training: nothing is paid before its first request."
    parts = [f"{usd(c.cost.training_usd)} of training ({seconds(c.cost.training_s)} of machine time)"]
    examples = count((c.rung.get("training") or {}).get("examples"))
    if c.cost.labelling_usd:
        parts.append(f"{usd(c.cost.labelling_usd)} for {examples} labelled examples")
    if c.teacher is not None and c.teacher_usd is not None:
        teacher = " ".join(c.teacher)
        parts.append(f"{usd(c.teacher_usd)} for {examples} answers of its teacher, {teacher}")
    return f"{c.label} costs {usd(upfront)} once, before its first request: {' and '.join(parts)}."


def volume_sentence(f: Facts) -> list[str]:
    requests = f.requests
    if not requests:
        return []
    totals = [
        f"{c.label} {usd(c.total_usd(requests))}"
        for c in (f.chosen, f.runner_up)
        if c is not None and c.total_usd(requests) is not None
    ]
    if not totals:
        return []
    return [f"At the {count(requests)} requests you expect, the total cost is {' vs '.join(totals)}."]


def tie_sentence(f: Facts) -> list[str]:
    """Why the chosen is not the strictly cheapest: the cheaper one was within the noise."""
    if not f.ranked:
        return []
    cheapest = min(f.ranked, key=lambda c: (price(c, f.costs) or 0.0, c.simplicity()))
    c = f.chosen
    if cheapest is c:
        return []
    why = tie_break(c, cheapest, f.on)
    unit = "in total" if f.requests else "per request"
    return [
        f"{c.label} and {cheapest.label} cost within {MEANINGFUL_SAVING:.0%} of each other {unit}"
        f" ({usd(price(c, f.costs))} vs {usd(price(cheapest, f.costs))}), a difference inside the"
        f" throughput noise: {c.label} is chosen because {why}."
    ]


def tie_break(c: Configuration, other: Configuration, on: ChosenOn) -> str:
    """Why `c` went before `other` at the same cost: the first difference of `simplicity`,
    else its score."""
    mine, theirs = c.simplicity(), other.simplicity()
    if mine[0] != theirs[0]:
        return "a prompt needs no weights of its own"
    if mine[1] != theirs[1]:
        return f"it costs less up front ({usd(c.upfront_usd)} vs {usd(other.upfront_usd)})"
    if mine[2] != theirs[2]:
        return "it is the smaller model"
    if mine[3] != theirs[3]:
        return f"{c.kind} weights are simpler to make than {other.kind} ones"
    return f"it scores higher on {on}"


def unknown_upfront_sentence(f: Facts) -> list[str]:
    """At an expected volume, priced configurations whose one-off cost is unknown drop out."""
    if not f.requests:
        return []
    dropped = [c for c in f.reaching if c.usd_per_request is not None and c.upfront_usd is None]
    if not dropped:
        return []
    first = dropped[0]
    others = f" (and {count(len(dropped) - 1)} more)" if len(dropped) > 1 else ""
    return [
        f"{first.label}{others} reaches the target but its total cannot be compared: its one-off"
        f" cost is unknown ({first.upfront_unknown})."
    ]


def unpriced_sentence(f: Facts) -> list[str]:
    unpriced = [c for c in f.configs if c.usd_per_request is None]
    if not unpriced:
        return []
    models = list(dict.fromkeys(str(c.model.get("model_id") or c.spec) for c in unpriced))
    reaching = sum(1 for c in unpriced if c in f.reaching)
    of_them = f" ({count(reaching)} reaching the target)" if reaching else ""
    return [
        f"{configurations_count(len(unpriced))} no price per request{of_them}: add"
        f" {', '.join(models)} to the cost settings' prices to compare"
        f" {'it' if len(unpriced) == 1 else 'them'}."
    ]


def configurations_count(n: int) -> str:
    """``1 configuration has``, ``3 configurations have``."""
    return "1 configuration has" if n == 1 else f"{count(n)} configurations have"


def selection_sentence(f: Facts) -> str:
    winners = list(dict.fromkeys([f.chosen, f.best]))
    if f.on == "test":
        return (
            "Not every configuration has a dev score, so all were judged on the same test examples"
            " their figures come from: the winner's figures may be flattered by the choice."
        )
    dev_n = max(c.selection_n or 0 for c in winners)
    test_n = max(c.n or 0 for c in winners)
    figures = "; ".join(f"{c.label} {c.text(c.selection_score)} on dev, {c.text()} on test" for c in winners)
    return (
        f"The configurations were judged on {count(dev_n)} dev examples, and every figure cited"
        f" comes from the {count(test_n)} test examples they were not chosen on: {figures}."
    )


def _ref(config: Configuration | None) -> dict[str, str] | None:
    return None if config is None else config.ref
