"""Take a tuned rung to production: a PEFT adapter for vLLM, or merged full weights, with a card."""

from adaptlab.export.bundle import FORMATS, ExportedRung, ExportFormat, export_rung
from adaptlab.export.weights import RungWeights, default_tuned_rung, rung_weights, tuned_rungs

__all__ = [
    "FORMATS",
    "ExportFormat",
    "ExportedRung",
    "RungWeights",
    "default_tuned_rung",
    "export_rung",
    "rung_weights",
    "tuned_rungs",
]
