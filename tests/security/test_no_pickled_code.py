"""Loading a user's model never runs pickled code (issue 8, security).

A `.bin` checkpoint is a pickle, and unpickling runs whatever its author wrote. adaptlab loads
safetensors only; these tests plant a pickle that would leave a marker file if it ever ran and
check it is refused with a clear message and never executed.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adaptlab.cli import app


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def plant_pickled_model(source: Path, target: Path, marker: Path) -> Path:
    """`source`'s config and tokenizer, with a booby-trapped pytorch_model.bin instead of safetensors."""
    shutil.copytree(source, target)
    for weights in target.glob("*.safetensors"):
        weights.unlink()
    (target / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": _Payload(marker)}))
    return target


def test_a_model_directory_with_only_pickled_weights_is_refused_unexecuted(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from adaptlab.models import load_backend

    marker = tmp_path / "pwned"
    model = plant_pickled_model(tiny_model_dir, tmp_path / "model", marker)
    with pytest.raises(Exception, match=r"(?i)safetensors"):
        load_backend(str(model))
    assert not marker.exists(), "the pickle ran"


def test_the_cli_refuses_it_cleanly(tiny_model_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    model = plant_pickled_model(tiny_model_dir, tmp_path / "model", marker)
    task = tmp_path / "t.jsonl"
    task.write_text("".join(f'{{"input": "x{i}", "output": "{"ab"[i % 2]}"}}\n' for i in range(20)))
    result = CliRunner().invoke(
        app, ["eval", str(task), "--model", str(model), "--out", str(tmp_path / "runs")]
    )
    assert result.exit_code != 0
    assert "Traceback" not in result.output and "safetensors" in result.output
    assert not marker.exists(), "the pickle ran"
    assert not any((tmp_path / "runs").glob("2*")), "no run directory for a run that never started"


def test_a_pickled_embedder_is_refused_unexecuted(tmp_path: Path) -> None:
    from adaptlab.errors import AdaptlabError
    from adaptlab.models.embeddings import load_embedder

    marker = tmp_path / "pwned"
    directory = tmp_path / "embedder"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    (directory / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(AdaptlabError, match="pickled"):
        load_embedder(str(directory))
    assert not marker.exists()
