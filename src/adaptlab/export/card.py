"""The model card (README.md) of an exported rung: what it is, how it scored, how to load it.

Rendered from the export's metadata with a Jinja2 template, so the card and ``adaptlab.json``
can never disagree about a number.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from adaptlab.decide.wording import ACCURACY, score_interval, score_text

VLLM_DEFAULT_MAX_LORA_RANK = 16
"""vLLM refuses adapters of a higher rank unless started with a larger --max-lora-rank."""


def served_name(metadata: dict[str, Any]) -> str:
    """A model name for `--lora-modules` / `--served-model-name`: task and rung, URL-safe."""
    raw = f"{metadata['task'].get('name') or 'task'}-{metadata['rung']}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def scored(metrics: dict[str, Any]) -> str:
    """The rung's primary-metric score with its interval: ``71.2% (95% CI 61.3–81.2%)``,
    ``chrF 41.3 (95% CI 38.0–44.9)``."""
    metric = str(metrics.get("metric") or ACCURACY)
    value = score_text(metrics.get("score"), metric, metrics.get("metric_display"))
    return f"{value} ({score_interval(metrics.get('score_low'), metrics.get('score_high'), metric)})"


def render_card(metadata: dict[str, Any], directory: Path) -> str:
    """The card's Markdown for an export that will live at `directory`."""
    environment = Environment(
        loader=PackageLoader("adaptlab.export", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML
    )
    environment.filters["percent"] = percent
    environment.filters["scored"] = scored
    lora = metadata.get("lora") or {}
    rank = lora.get("r") or 0
    return environment.get_template("card.md.j2").render(
        m=metadata,
        directory=directory,
        name=served_name(metadata),
        lora_rank_flag=f" --max-lora-rank {rank}" if rank > VLLM_DEFAULT_MAX_LORA_RANK else "",
    )
