"""Tests of the real bundled model (SmolLM2-135M-Instruct) and the real bundled task.

Slow: the first one converts the GGUF file (~20 s on a 2-core CPU) and they evaluate real
examples. Run with ``make test-slow``; CI runs them after the fast suite.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.models import load_backend, resolve_model_spec
from adaptlab.models.weights import prepare_weights

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_converted_weights_give_the_same_logits_as_the_gguf_file() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve_model_spec("smollm2-135m")
    converted = prepare_weights(source).directory
    folder, name = str(source.path.parent), source.path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    reference = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, local_files_only=True).eval()
    plain = AutoModelForCausalLM.from_pretrained(converted, local_files_only=True).eval()
    ids = tokenizer("@united my flight was cancelled again, thanks for nothing", return_tensors="pt")[
        "input_ids"
    ]
    with torch.inference_mode():
        assert torch.equal(reference(ids).logits, plain(ids).logits)
    assert "quantization_config" not in json.loads((converted / "config.json").read_text())


def test_the_converted_folder_has_the_umasks_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model server under another account loads it: an exported adapter names it as its base."""
    monkeypatch.setenv("ADAPTLAB_CACHE", str(tmp_path))
    previous = os.umask(0o027)
    try:
        converted = prepare_weights(resolve_model_spec("smollm2-135m")).directory
    finally:
        os.umask(previous)
    modes = {path.name: oct(stat.S_IMODE(path.stat().st_mode)) for path in converted.iterdir()}
    assert "model.safetensors" in modes and modes == dict.fromkeys(modes, "0o640")
    assert oct(stat.S_IMODE(converted.stat().st_mode)) == "0o750"


def test_bundled_model_answers_chat_prompts_with_labels() -> None:
    backend = load_backend("smollm2-135m")
    prompt = (
        "Classify the sentiment of the tweet as negative, neutral or positive.\n"
        "Answer with exactly one of: negative, neutral, positive.\n\nInput: "
    )
    tweets = ["@united worst airline ever, lost my bag twice", "@JetBlue thank you, the crew was wonderful!"]
    answers = backend.generate([[{"role": "user", "content": prompt + t}] for t in tweets], max_new_tokens=16)
    for answer in answers:
        assert answer.text.strip(".").lower() in {"negative", "neutral", "positive"}, answer.text
        assert answer.prompt_tokens > 50


def test_zero_shot_eval_end_to_end_through_the_cli(tmp_path: Path) -> None:
    """(`adaptlab demo`, the whole ladder, takes ~13 minutes: tests/slow/test_run.py runs a
    small ladder through `adaptlab run` instead.)"""
    probes = ["--consistency-sample", "10", "--robustness-sample", "10"]
    result = runner.invoke(app, ["eval", "tweet-sentiment", "--limit", "45", *probes, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "zero-shot" in result.output
    (results_file,) = tmp_path.glob("*/results.json")
    results = json.loads(results_file.read_text())
    metrics = results["rungs"][0]["metrics"]
    assert metrics["n"] == 45
    assert metrics["injection_n"] == 10 and metrics["input_stability_n"] == 10
    # The bundled model answers in the requested format most of the time (89% on the full test
    # split); an answer format problem (chat template, stop tokens) would show up here first.
    assert metrics["format_compliance"] >= 0.7
    assert metrics["parse_failures"] <= 5
    assert results["model"]["parameters"] == 134_515_008


def test_validate_the_bundled_task_in_tokens() -> None:
    result = runner.invoke(app, ["validate", "tweet-sentiment", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    summary = payload["summary"]
    assert summary["rows"] == 1500
    assert summary["label_counts"] == {"negative": 867, "neutral": 462, "positive": 171}
    assert summary["split_sizes"] == {"train": 900, "dev": 150, "test": 450}
    assert summary["length_unit"] == "tokens"
    assert 5 <= summary["input_lengths"]["mean"] <= 60
    assert payload["warnings"] == []


def test_bundled_task_rebuilds_byte_identically() -> None:
    """The committed JSONL is exactly what scripts/build_demo_task.py makes (downloads 1.6 MB)."""
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_demo_task.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
