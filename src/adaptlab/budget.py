"""What a ladder run may spend and what it has spent: wall time, model tokens and dollars.

The ladder checks the budget before each rung and before each training, so a run given
``--budget-minutes 10`` stops climbing when the next step would not fit, keeps every rung it
finished, and says in the report which rungs the budget left out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from adaptlab.decide import CostSettings
from adaptlab.evaluation import RungResult


@dataclass
class Budget:
    """Limits (None = unlimited) and the account of one run, kept over the run's `results`
    (this process's part of it: a resumed run starts a fresh clock, and what it reuses from
    the result cache or the weights registry costs no tokens)."""

    minutes: float | None = None
    tokens: int | None = None
    usd: float | None = None
    costs: CostSettings = field(default_factory=CostSettings)
    backend: str = "local"
    model_id: str = ""
    results: list[RungResult] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    also_spent: Callable[[], Iterable[RungResult]] = lambda: ()
    """Results the run keeps apart from `results` whose answers were paid for too (its dev
    scores)."""

    @property
    def tokens_used(self) -> int:
        """Tokens of the answers computed (not cached) and of the trainings run (not reused)."""
        used = 0
        for result in [*self.results, *self.also_spent()]:
            used += sum(p.prompt_tokens + p.output_tokens for p in result.predictions if not p.cached)
            training = result.training or {}
            if training and not training.get("reused") and result.kind != "hybrid":
                used += int(training.get("tokens", 0))
        return used

    @property
    def hosted_usd(self) -> float:
        """Computed answers of a hosted model priced by the user's price table (0 when unpriced)."""
        price = self.costs.prices.get(self.model_id)
        if self.backend == "local" or price is None:
            return 0.0
        return sum(
            (p.prompt_tokens * price.input_usd_per_million + p.output_tokens * price.output_usd_per_million)
            / 1e6
            for result in [*self.results, *self.also_spent()]
            for p in result.predictions
            if not p.cached
        )

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def spent_usd(self) -> float:
        """Local compute priced at the machine's rate, plus hosted tokens at the price table's."""
        return self.elapsed_s / 3600 * self.costs.machine_usd_per_hour + self.hosted_usd

    def exhausted(self, *, upcoming_s: float = 0.0, reserve: float = 0.0) -> str | None:
        """Why the next step must not start (the budget is spent, or the step's projected
        `upcoming_s` seconds would overrun the time limit), or None when it may. With a
        `reserve` share, the time limit is that much shorter: the prompt rungs leave it to the
        learning curve."""
        if self.minutes is not None:
            limit_s = self.minutes * 60 * (1 - reserve)
            if reserve and self.elapsed_s >= limit_s:
                return (
                    f"the prompt rungs' share of the {self.minutes:g} min budget is spent"
                    f" ({self.elapsed_s / 60:.1f} of {limit_s / 60:.1f} min; {reserve:.0%} is kept"
                    " for the learning curve)"
                )
            if self.elapsed_s >= limit_s:
                return f"time budget of {self.minutes:g} min spent ({self.elapsed_s / 60:.1f} min used)"
            if self.elapsed_s + upcoming_s > limit_s:
                return (
                    f"the next step would take about {upcoming_s / 60:.1f} min and only"
                    f" {(limit_s - self.elapsed_s) / 60:.1f} min of the {self.minutes:g} min budget are left"
                )
        tokens_used = self.tokens_used
        if self.tokens is not None and tokens_used >= self.tokens:
            return f"token budget of {self.tokens:,} spent ({tokens_used:,} tokens used)"
        if self.usd is not None and self.spent_usd >= self.usd:
            return f"budget of ${self.usd:g} spent (${self.spent_usd:.4f} used)"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "limits": {"minutes": self.minutes, "tokens": self.tokens, "usd": self.usd},
            "spent": {
                "minutes": round(self.elapsed_s / 60, 3),
                "tokens": self.tokens_used,
                "usd": round(self.spent_usd, 6),
            },
        }
