"""The tiny tune run the serving tests serve: what it holds, and the names of its rungs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

TUNED = "lora-4"
HYBRID = "lora-4+label-scoring"
CALIBRATED = "lora-4+label-scoring-calibrated"
"""Calibrated on the tuned weights: its label prior is the tuned model's, in the run and served."""


@dataclass(frozen=True)
class TinyRun:
    runs: Path
    run_id: str
    task_file: Path
    results: dict[str, Any]

    def rung(self, name: str) -> dict[str, Any]:
        return next(rung for rung in self.results["rungs"] if rung["rung"] == name)
