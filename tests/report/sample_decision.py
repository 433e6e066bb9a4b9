"""A decision block in `adaptlab.decide`'s shape, built by hand from a run's real rungs.

The report only reads decisions; building one here keeps its tests independent of how the
recommendation is made, while its numbers (costs, break-even) stay consistent with the rungs.
"""

from __future__ import annotations

from typing import Any

MACHINE_USD_PER_HOUR = 1.2


def decision_for(results: dict[str, Any]) -> dict[str, Any]:
    """A decision block in `adaptlab.decide`'s shape whose numbers come from `results`' rungs."""
    rungs = {rung["rung"]: rung for rung in results["rungs"]}
    prompt = [r for r in results["rungs"] if r["training"] is None]
    tuned = [r for r in results["rungs"] if r["training"] is not None]
    best_prompt = max(prompt, key=lambda r: r["metrics"]["score"])
    best_tuned = max(tuned, key=lambda r: r["metrics"]["score"])
    costs = {name: _cost(rung) for name, rung in rungs.items()}
    cheapest = max(tuned, key=lambda r: r["training"]["examples"])["rung"]
    saving = costs[best_prompt["rung"]]["usd_per_request"] - costs[cheapest]["usd_per_request"]
    training_usd = costs[cheapest]["training_usd"]
    requests = round(training_usd / saving) if saving > 0 else None
    curve = [
        [
            n,
            n * costs[best_prompt["rung"]]["usd_per_request"],
            training_usd + n * costs[cheapest]["usd_per_request"],
        ]
        for n in (10, 100, 1_000, 10_000, 100_000, 1_000_000)
    ]
    gain = best_tuned["metrics"]["score"] - best_prompt["metrics"]["score"]
    return {
        "recommendation": "prompt",
        "rung": best_prompt["rung"],
        "headline": f"Prompt with {best_prompt['rung']}: fine-tuning on up to 8 examples did not beat it.",
        "reasons": [
            f"{best_prompt['rung']} is the best prompt rung.",
            f"{best_tuned['rung']} is not significantly better ({gain * 100:+.1f} points).",
            "Prompting has plateaued: the last two prompt rungs gained less than their interval.",
        ],
        "best_prompt": _summary(best_prompt),
        "best_tuned": _summary(best_tuned),
        "plateau": {
            "plateaued": True,
            "explanation": "The last two prompt rungs gained less than the width of their 95% interval.",
            "rungs": [
                {
                    "rung": rung["rung"],
                    "score": rung["metrics"]["score"],
                    "best_before": prompt[0]["rung"],
                    "gain": rung["metrics"]["score"] - prompt[0]["metrics"]["score"],
                    "gain_low": -0.25,
                    "gain_high": 0.5,
                }
                for rung in prompt[1:]
            ],
        },
        "tuning_gain": {
            "rung": best_tuned["rung"],
            "vs": best_prompt["rung"],
            "gain": gain,
            "low": gain - 0.4,
            "high": gain + 0.3,
            "significant": False,
        },
        "data_needed": {
            "rung": best_tuned["rung"],
            "examples": best_tuned["training"]["examples"],
            "score": best_tuned["metrics"]["score"],
            "best_rung": best_prompt["rung"],
        },
        "costs": {
            "settings": {"machine_usd_per_hour": MACHINE_USD_PER_HOUR, "labelling_usd_per_example": 0.0},
            "rungs": costs,
        },
        "break_even": {
            "rung": cheapest,
            "vs": best_prompt["rung"],
            "requests": requests,
            "training_usd": training_usd,
            "saving_per_request_usd": saving,
            "explanation": f"Training {cheapest} costs {training_usd:.6f} USD once and saves "
            f"{saving:.2e} USD per request against {best_prompt['rung']}.",
            "curve": curve,
        },
        "factors": [
            {"factor": "Score", "prompt": "see chart", "tuned": "see chart", "note": "same test split"},
            {"factor": "Labelled data", "prompt": "none", "tuned": "8 examples", "note": "per class: ~3"},
            {
                "factor": "Iteration speed",
                "prompt": "seconds",
                "tuned": "minutes",
                "note": "retrain per change",
            },
            {"factor": "Serving", "prompt": "base model", "tuned": "base + adapter", "note": None},
        ],
    }


def _summary(rung: dict[str, Any]) -> dict[str, Any]:
    metrics = rung["metrics"]
    return {"rung": rung["rung"], **{k: metrics[k] for k in ("score", "score_low", "score_high")}}


def _cost(rung: dict[str, Any]) -> dict[str, Any]:
    seconds = 1.0 / rung["metrics"]["examples_per_s"]
    usd = seconds * MACHINE_USD_PER_HOUR / 3600
    training_s = (rung["training"] or {}).get("wall_time_s", 0.0)
    return {
        "seconds_per_request": seconds,
        "usd_per_request": usd,
        "usd_per_1k_requests": usd * 1000,
        "priced_by": "local",
        "training_s": training_s,
        "training_usd": training_s * MACHINE_USD_PER_HOUR / 3600,
        "labelling_usd": 0.0,
    }
