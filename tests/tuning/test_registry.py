"""The weights registry publishes finished entries whole, readable by other accounts."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import torch
from safetensors.torch import save_file

from adaptlab.tuning.registry import MANIFEST, WeightsRegistry


def test_a_committed_entry_has_the_umasks_modes(tmp_path: Path) -> None:
    """safetensors writes 0600 and mkdtemp makes 0700; a model server under another account
    must still read the entry (`adaptlab serve` and exported adapters point at it)."""
    registry = WeightsRegistry(tmp_path / "adapters")
    previous = os.umask(0o022)
    try:
        staging = Path(tempfile.mkdtemp(dir=tmp_path))
        save_file({"w": torch.zeros(2)}, str(staging / "adapter_model.safetensors"))
        stored = registry.commit("k", staging, {"config": {"mode": "lora"}})
    finally:
        os.umask(previous)
    modes = {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in stored.directory.iterdir()}
    assert modes == {"adapter_model.safetensors": "0o644", MANIFEST: "0o644"}
    assert oct(stat.S_IMODE(stored.directory.stat().st_mode)) == "0o755"
    assert stored.mode == "lora"


def test_a_key_names_the_weights_training_started_from_and_no_other_key_changes() -> None:
    """Entries trained from the base keep the key they had before training could continue other
    weights: the hash of exactly base, train, dev and config."""
    import hashlib
    import json

    from adaptlab.tuning import TuneConfig
    from adaptlab.tuning.registry import KEY_LENGTH, weights_key

    config = TuneConfig()
    payload = {"base": "t0", "train": "a", "dev": "b", "config": config.model_dump(mode="json")}
    before = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:KEY_LENGTH]
    assert weights_key("t0", "a", "b", config) == weights_key("t0", "a", "b", config, None) == before
    continued = weights_key("t0", "a", "b", config, start_from="0123456789abcdef")
    assert continued != before
    assert continued != weights_key("t0", "a", "b", config, start_from="fedcba9876543210")
