"""Find the trained weights behind a rung of a finished run.

A tuned, hybrid or distilled rung records where its weights are (``training.weights``: a PEFT
adapter for LoRA, a full model directory for full SFT) and which base model they were trained
on (the run's ``config.model``). Exporting or serving needs both, and must refuse clearly when
either has changed or gone since the run, rather than ship weights that never produced the
reported numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adaptlab.errors import UsageError
from adaptlab.tuning.registry import MANIFEST


@dataclass(frozen=True)
class RungWeights:
    """A tuned rung's weights and the base model they belong to."""

    rung: dict[str, Any]
    mode: str  # "lora" or "full"
    weights: Path  # PEFT adapter directory (lora) or full model directory (full)
    base_spec: str  # the run's --model
    base_fingerprint: str  # "<model id>@<fingerprint>" of the base the rung was trained on

    @property
    def name(self) -> str:
        return str(self.rung["rung"])


def tuned_rungs(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Rungs of `results` that changed the weights, in the run's order."""
    return [rung for rung in results.get("rungs", []) if rung.get("training")]


def default_tuned_rung(results: dict[str, Any]) -> dict[str, Any]:
    """The rung to export when the user names none: the recommended rung if it has weights,
    else the decision's best tuned rung, else the most accurate tuned rung."""
    candidates = tuned_rungs(results)
    if not candidates:
        raise UsageError(
            f"run {results.get('run_id', '?')} has no tuned rung: nothing but the base model's weights "
            "to export; fine-tune with `adaptlab tune` or `adaptlab run` first"
        )
    by_name = {rung["rung"]: rung for rung in candidates}
    decision = results.get("decision") or {}
    for choice in (decision.get("rung"), (decision.get("best_tuned") or {}).get("rung")):
        if choice in by_name:
            return by_name[choice]
    return max(candidates, key=lambda rung: rung["metrics"]["score"])


def rung_weights(results: dict[str, Any], rung_name: str | None, results_path: Path) -> RungWeights:
    """The weights of `rung_name` (default: `default_tuned_rung`), checked to still be there."""
    if rung_name is None:
        rung = default_tuned_rung(results)
    else:
        rung = next((r for r in results.get("rungs", []) if r["rung"] == rung_name), None)
        if rung is None:
            names = ", ".join(r["rung"] for r in results.get("rungs", [])) or "none"
            raise UsageError(f'run {results.get("run_id", "?")} has no rung "{rung_name}" (rungs: {names})')
        if not rung.get("training"):
            tuned = ", ".join(r["rung"] for r in tuned_rungs(results)) or "none"
            raise UsageError(
                f'rung "{rung_name}" is a prompt rung: it changed no weights, so there is nothing to export '
                f"(tuned rungs of this run: {tuned}); its prompt is in results.json"
            )
    weights = _weights_directory(rung, results_path)
    manifest = json.loads((weights / MANIFEST).read_text(encoding="utf-8"))
    return RungWeights(
        rung=rung,
        mode=str(manifest["config"]["mode"]),
        weights=weights,
        base_spec=str(results["config"]["model"]),
        base_fingerprint=str(manifest["base"]["fingerprint"]),
    )


def base_model_directory(weights: RungWeights) -> Path:
    """The base model's loadable directory, checked to hold the weights the rung was trained on."""
    from adaptlab.models import resolve_model_spec
    from adaptlab.models.weights import fingerprint_source, prepare_weights

    source = resolve_model_spec(weights.base_spec)
    expected = weights.base_fingerprint.rpartition("@")[2]
    found = fingerprint_source(source)
    if expected and found != expected:
        raise UsageError(
            f'the base model "{weights.base_spec}" has changed since rung "{weights.name}" was trained '
            f"(fingerprint {found}, trained on {expected}); its weights no longer fit it"
        )
    return prepare_weights(source).directory


def _weights_directory(rung: dict[str, Any], results_path: Path) -> Path:
    recorded = Path(rung["training"]["weights"])
    # A relative path was written relative to where the run was started; the registry also
    # sits beside the run directory, so look there too.
    candidates = [recorded, results_path.parent.parent / "adapters" / rung["training"]["key"]]
    for directory in candidates:
        if (directory / MANIFEST).is_file():
            return directory
    raise UsageError(
        f'the weights of rung "{rung["rung"]}" are gone: no finished registry entry at {recorded}; '
        "re-run the same command (the registry retrains only what is missing)"
    )
