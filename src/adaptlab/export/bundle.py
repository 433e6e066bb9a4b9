"""Write a tuned rung's weights where serving stacks can load them, with a card of its numbers.

Two formats, for the two ways models reach production:

* ``peft`` — the LoRA adapter as PEFT saved it (``adapter_config.json`` +
  ``adapter_model.safetensors``), its ``base_model_name_or_path`` pointing at the base model
  on this machine. vLLM serves it beside the base model with ``--enable-lora --lora-modules``;
  many adapters can share one base.
* ``merged`` — full weights (adapter folded into the base, or the full-SFT model as trained)
  that ``AutoModelForCausalLM.from_pretrained`` or ``vllm serve`` load with no PEFT at all.

Either way the folder also holds the tokenizer and chat template, a ``README.md`` model card
with the rung's measured metrics, and ``adaptlab.json`` with the same facts for machines. The
folder appears only when complete: everything is written to a staging folder beside it and
renamed into place, with the umask's modes (not mkdtemp's private 0700) so another account
on the machine, the one that serves models, can read it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from adaptlab.errors import UsageError
from adaptlab.export.card import render_card
from adaptlab.export.weights import RungWeights, base_model_directory, rung_weights
from adaptlab.files import atomic_write_json, atomic_write_text, give_default_modes
from adaptlab.tuning.registry import MANIFEST

ExportFormat = Literal["peft", "merged"]
FORMATS: tuple[str, ...] = ("peft", "merged")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
)
METADATA_FILE = "adaptlab.json"
CARD_FILE = "README.md"


@dataclass(frozen=True)
class ExportedRung:
    """What `export_rung` wrote."""

    directory: Path
    format: ExportFormat
    rung: str
    mode: str
    base_directory: Path


def export_rung(
    results: dict[str, Any],
    results_path: Path,
    *,
    rung: str | None = None,
    format: ExportFormat | None = None,
    output: Path | None = None,
    force: bool = False,
) -> ExportedRung:
    """Export a tuned rung of a finished run (default: the recommended or best tuned rung).

    `format` defaults to ``peft`` for a LoRA rung and ``merged`` for a full-SFT rung. `output`
    defaults to ``<run dir>/export/<rung>-<format>``; an existing folder is replaced only with
    `force`.
    """
    weights = rung_weights(results, rung, results_path)
    chosen: ExportFormat = format or ("peft" if weights.mode == "lora" else "merged")
    if chosen not in FORMATS:
        raise UsageError(f'unknown export format "{chosen}"; choose one of: {", ".join(FORMATS)}')
    if chosen == "peft" and weights.mode != "lora":
        raise UsageError(
            f'rung "{weights.name}" was trained with full SFT: there is no adapter, only full weights; '
            "use --format merged"
        )
    target = (output or results_path.parent / "export" / f"{weights.name}-{chosen}").resolve()
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; pass --force to replace it, or choose --output")
    base_directory = base_model_directory(weights)

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
    try:
        if chosen == "peft":
            _write_adapter(weights, base_directory, staging)
        else:
            _write_merged(weights, base_directory, staging)
        exported = ExportedRung(staging, chosen, weights.name, weights.mode, base_directory)
        metadata = export_metadata(results, weights, exported)
        atomic_write_json(staging / METADATA_FILE, metadata)
        atomic_write_text(staging / CARD_FILE, render_card(metadata, target))
        give_default_modes(staging)  # mkdtemp made it 0700, safetensors 0600: a server must read it
        _replace(target, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportedRung(target, chosen, weights.name, weights.mode, base_directory)


def _write_adapter(weights: RungWeights, base_directory: Path, staging: Path) -> None:
    """Copy the adapter and point its config at the base model on this machine.

    The registry's adapter already names the base directory it was trained on; rewriting it to
    the directory checked just now keeps the export loadable after a GGUF re-conversion.
    """
    for name in ADAPTER_FILES:
        shutil.copy2(weights.weights / name, staging / name)
    config_path = staging / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = str(base_directory)
    config["inference_mode"] = True
    atomic_write_json(config_path, config)
    _copy_tokenizer(
        weights.weights if (weights.weights / "tokenizer.json").is_file() else base_directory, staging
    )


def _write_merged(weights: RungWeights, base_directory: Path, staging: Path) -> None:
    """Full weights in safetensors: the LoRA adapter folded into the base, or the full-SFT model."""
    if weights.mode != "lora":
        for path in weights.weights.iterdir():
            if path.is_file() and path.name != MANIFEST:
                shutil.copy2(path, staging / path.name)
        return
    from transformers import AutoModelForCausalLM

    from adaptlab.models.local import merged_adapter

    # safetensors only: the base directory may be a user's folder, and pickles can run code.
    base = AutoModelForCausalLM.from_pretrained(base_directory, local_files_only=True, use_safetensors=True)
    merged = merged_adapter(base, weights.weights)
    merged.save_pretrained(staging, safe_serialization=True)
    _copy_tokenizer(base_directory, staging)


def _copy_tokenizer(source: Path, staging: Path) -> None:
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, staging / name)


def _replace(target: Path, staging: Path) -> None:
    """Move `staging` to `target`; an old `target` is removed only once the new one is complete."""
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.rename(target, old / target.name)
        os.rename(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, target)


def export_metadata(results: dict[str, Any], weights: RungWeights, exported: ExportedRung) -> dict[str, Any]:
    """Everything the card says, for machines: provenance, training, the rung's metrics."""
    rung = weights.rung
    task = results.get("task") or {}
    decision = results.get("decision") or {}
    best_prompt = decision.get("best_prompt") or {}
    prompt_rung = next((r for r in results.get("rungs", []) if r["rung"] == best_prompt.get("rung")), None)
    lora = _lora_settings(weights) if weights.mode == "lora" else None
    return {
        "format": exported.format,
        "run_id": results.get("run_id"),
        "rung": weights.name,
        "kind": rung.get("kind"),
        "mode": weights.mode,
        "base_model": {
            "spec": weights.base_spec,
            "fingerprint": weights.base_fingerprint,
            "directory": str(exported.base_directory),
            "architecture": (rung.get("model") or {}).get("architecture"),
        },
        "lora": lora,
        "task": {
            "name": task.get("name"),
            "spec": (results.get("config") or {}).get("task"),
            "hash": task.get("hash"),
            "labels": task.get("labels"),
            "instruction": task.get("instruction"),
        },
        "prompt": {
            "strategy": (rung.get("strategy") or {}).get("strategy"),
            "example_prompt": (rung.get("strategy") or {}).get("example_prompt"),
            "retrieval": _retrieval(rung, results),
        },
        "training": rung.get("training"),
        "metrics": {key: value for key, value in (rung.get("metrics") or {}).items()},
        "split": rung.get("split"),
        "forgetting": _forgetting_summary(rung.get("forgetting")),
        "best_prompt": (
            {"rung": prompt_rung["rung"], "metrics": prompt_rung["metrics"]}
            if prompt_rung is not None
            else None
        ),
        "decision": decision.get("headline"),
        "adaptlab_version": results.get("adaptlab_version"),
    }


def _retrieval(rung: dict[str, Any], results: dict[str, Any]) -> dict[str, Any] | None:
    """What a rung asked with retrieved passages needs to be asked with them again (adaptlab
    serve retrieves from the run's corpus; another server must too); None for other rungs."""
    retrieval = rung.get("retrieval")
    if not retrieval:
        return None
    return {"passages": retrieval.get("passages"), "corpus": (results.get("knowledge") or {}).get("corpus")}


def _lora_settings(weights: RungWeights) -> dict[str, Any]:
    config = json.loads((weights.weights / "adapter_config.json").read_text(encoding="utf-8"))
    return {
        "r": config.get("r"),
        "alpha": config.get("lora_alpha"),
        "target_modules": sorted(
            {str(name).rsplit(".", 1)[-1] for name in config.get("target_modules") or []}
        ),
        "modules_to_save": config.get("modules_to_save"),
    }


def _forgetting_summary(forgetting: dict[str, Any] | None) -> dict[str, Any] | None:
    if not forgetting:
        return None
    keep = ("n", "reference_accuracy_before", "reference_accuracy_after", "agreement_with_base")
    return {key: forgetting.get(key) for key in keep}
