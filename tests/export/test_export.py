"""`adaptlab export`: a tuned rung's weights as a PEFT adapter or merged weights, with a card.

The checks load what was written the way users will: PEFT's `AutoPeftModelForCausalLM` for
the adapter, plain `AutoModelForCausalLM` for merged weights, and ask the merged model the
run's own prompts — its answers must be the ones the run recorded for that rung.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.configs import EvalConfig, TuneRunConfig
from adaptlab.errors import UsageError
from adaptlab.export import bundle, export_rung
from adaptlab.learning_curve import run_tune
from adaptlab.models.local import LocalBackend
from adaptlab.prompting import get_strategy
from adaptlab.runs import load_results
from sample_tasks import write_sentiment_task

PROMPT = [{"role": "user", "content": "Classify: the crew was lovely"}]


def tuned_run(task: Path, model: Path, runs: Path, mode: str, *, epochs: int = 1) -> Path:
    """A finished tune run of the tiny model. Four epochs at a high learning rate teach the random
    model to say a label, so answers can be compared as text (one epoch leaves them empty)."""
    config = TuneRunConfig(
        task=str(task),
        model=str(model),
        mode=mode,
        sizes=[8],
        epochs=epochs,
        learning_rate=1e-2 if epochs > 1 else None,
        early_stopping_patience=None,
        limit=4,
        train_batch_size=4,
        consistency_sample=0,
        forgetting=False,
        max_new_tokens=3,
    )
    return run_tune(config, out_dir=runs).directory / "results.json"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export")
    task = write_sentiment_task(root / "tweets.jsonl", repeat=3)
    return {
        "lora": tuned_run(task, tiny_model_dir, root / "runs", "lora", epochs=4),
        "full": tuned_run(task, tiny_model_dir, root / "runs", "full"),
    }


def load(path: Path) -> dict[str, Any]:
    return load_results(path)


def logits(model: Any, directory: Path) -> torch.Tensor:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    ids = tokenizer.apply_chat_template(
        PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        return model(input_ids=ids["input_ids"]).logits


def recorded_outputs(results: dict[str, Any], rung: str) -> list[str]:
    row = next(r for r in results["rungs"] if r["rung"] == rung)
    return [p["output"] for p in row["predictions"]]


def test_peft_export_loads_with_peft_and_matches_the_merged_export(
    runs: dict[str, Path], tiny_model_dir: Path, tmp_path: Path
) -> None:
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    results = load(runs["lora"])
    adapter = export_rung(results, runs["lora"], output=tmp_path / "adapter")
    merged = export_rung(results, runs["lora"], format="merged", output=tmp_path / "merged")

    assert adapter.format == "peft" and adapter.rung == "lora-8"
    config = json.loads((adapter.directory / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_model_dir)
    assert not config.get("modules_to_save"), "vLLM cannot serve adapters with modules_to_save"
    assert (adapter.directory / "adapter_model.safetensors").is_file()
    assert (adapter.directory / "tokenizer.json").is_file()

    with_adapter = AutoPeftModelForCausalLM.from_pretrained(adapter.directory).eval()
    full = AutoModelForCausalLM.from_pretrained(merged.directory, use_safetensors=True).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, use_safetensors=True).eval()
    tuned_logits = logits(with_adapter, adapter.directory)
    assert torch.allclose(tuned_logits, logits(full, merged.directory), atol=1e-4)
    assert not torch.allclose(tuned_logits, logits(base, tiny_model_dir), atol=1e-4), (
        "training changed nothing?"
    )


def test_merged_export_answers_the_runs_prompts_as_the_run_recorded(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    results = load(runs["lora"])
    exported = export_rung(results, runs["lora"], rung="lora-8", format="merged", output=tmp_path / "m")
    rung = next(r for r in results["rungs"] if r["rung"] == "lora-8")
    assert not list(exported.directory.glob("*.bin")), "safetensors only"

    backend = LocalBackend(exported.directory, model_id="exported")
    # The rung asked the zero-shot prompt: rebuild each example's prompt from the run's task.
    task = EvalConfig.model_validate({k: results["config"][k] for k in EvalConfig.model_fields}).load_task()
    examples = {e.id: e for e in task.examples}
    strategy = get_strategy("zero-shot")
    prompts = [strategy.render(examples[p["example_id"]], task) for p in rung["predictions"]]
    answers = backend.generate(prompts, max_new_tokens=rung["strategy"]["max_new_tokens"])
    recorded = recorded_outputs(results, "lora-8")
    assert any(recorded), "the tiny model said nothing: the comparison would prove little"
    assert [a.text for a in answers] == recorded


def test_full_sft_rung_exports_merged_by_default_and_refuses_peft(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    results = load(runs["full"])
    exported = export_rung(results, runs["full"], output=tmp_path / "full")
    assert exported.format == "merged" and exported.mode == "full"
    assert not (exported.directory / "manifest.json").exists()
    AutoModelForCausalLM.from_pretrained(exported.directory, use_safetensors=True)
    with pytest.raises(UsageError, match="--format merged"):
        export_rung(results, runs["full"], format="peft", output=tmp_path / "nope")
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize(
    ("format", "umask", "folder_mode", "file_mode"),
    [("peft", 0o022, 0o755, 0o644), ("merged", 0o022, 0o755, 0o644), ("peft", 0o027, 0o750, 0o640)],
)
def test_the_exported_folder_has_the_umasks_modes_so_a_serving_account_can_read_it(
    runs: dict[str, Path],
    tmp_path: Path,
    format: bundle.ExportFormat,
    umask: int,
    folder_mode: int,
    file_mode: int,
) -> None:
    """mkdtemp stages the folder 0700 and safetensors writes its weights 0600: private to us."""
    results = load(runs["lora"])
    previous = os.umask(umask)
    try:
        exported = export_rung(results, runs["lora"], format=format, output=tmp_path / "out")
    finally:
        os.umask(previous)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in exported.directory.iterdir()}
    assert {"README.md", "adaptlab.json", "tokenizer.json"} <= modes.keys()
    assert {"adapter_model.safetensors", "model.safetensors"} & modes.keys()
    assert oct(stat.S_IMODE(exported.directory.stat().st_mode)) == oct(folder_mode)
    assert {name: oct(mode) for name, mode in modes.items()} == dict.fromkeys(modes, oct(file_mode))


def test_card_and_metadata_carry_the_rungs_measured_numbers(runs: dict[str, Path], tmp_path: Path) -> None:
    results = load(runs["lora"])
    exported = export_rung(results, runs["lora"], output=tmp_path / "card")
    rung = next(r for r in results["rungs"] if r["rung"] == "lora-8")
    metadata = json.loads((exported.directory / "adaptlab.json").read_text())
    assert metadata["run_id"] == results["run_id"] and metadata["rung"] == "lora-8"
    assert metadata["metrics"] == rung["metrics"]
    assert metadata["training"]["key"] == rung["training"]["key"]
    assert metadata["lora"]["r"] == 16 and "q_proj" in metadata["lora"]["target_modules"]
    card = (exported.directory / "README.md").read_text()
    accuracy = f"{100 * rung['metrics']['score']:.1f}%"
    assert f"| accuracy (the task's primary metric) | {accuracy} (95% CI" in card
    assert f"--lora-modules tweets-lora-8={exported.directory}" in card
    assert f"adaptlab serve {results['run_id']} --rung lora-8" in card
    assert "{{" not in card and "{%" not in card


def test_a_rung_asked_with_passages_says_so_on_its_card(runs: dict[str, Path], tmp_path: Path) -> None:
    results = load(runs["lora"])
    rung = next(r for r in results["rungs"] if r["rung"] == "lora-8")
    rung["retrieval"] = {"passages": 3, "base": "zero-shot", "seconds_per_query": 0.004}
    results["knowledge"] = {"corpus": {"path": "docs/", "documents": 12}}
    exported = export_rung(results, runs["lora"], rung="lora-8", output=tmp_path / "card")
    metadata = json.loads((exported.directory / "adaptlab.json").read_text())
    assert metadata["prompt"]["retrieval"] == {"passages": 3, "corpus": {"path": "docs/", "documents": 12}}
    card = (exported.directory / "README.md").read_text()
    said = "the top 3 passages retrieved for the question from the\nrun's corpus (`docs/`, 12 documents)"
    assert said in card


def test_bad_requests_fail_clearly_and_write_nothing(runs: dict[str, Path], tmp_path: Path) -> None:
    results = load(runs["lora"])
    with pytest.raises(UsageError, match="prompt rung"):
        export_rung(results, runs["lora"], rung="zero-shot", output=tmp_path / "a")
    with pytest.raises(UsageError, match='no rung "lora-999"'):
        export_rung(results, runs["lora"], rung="lora-999", output=tmp_path / "a")
    with pytest.raises(UsageError, match="unknown export format"):
        export_rung(results, runs["lora"], format="onnx", output=tmp_path / "a")  # type: ignore[arg-type]
    assert not (tmp_path / "a").exists()

    exported = export_rung(results, runs["lora"], output=tmp_path / "b")
    with pytest.raises(UsageError, match="already exists"):
        export_rung(results, runs["lora"], output=tmp_path / "b")
    export_rung(results, runs["lora"], output=tmp_path / "b", force=True)
    assert (exported.directory / "adapter_config.json").is_file()


def test_a_failed_export_leaves_no_folder_and_keeps_the_old_one(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = load(runs["lora"])
    target = tmp_path / "out"
    export_rung(results, runs["lora"], output=target)
    before = (target / "adapter_model.safetensors").read_bytes()

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bundle, "_write_adapter", disk_full)
    with pytest.raises(OSError, match="No space"):
        export_rung(results, runs["lora"], output=target, force=True)
    with pytest.raises(OSError, match="No space"):
        export_rung(results, runs["lora"], output=tmp_path / "fresh")
    assert (target / "adapter_model.safetensors").read_bytes() == before
    assert not (tmp_path / "fresh").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "no staging folder left behind"


def test_missing_weights_and_a_changed_base_model_are_refused(tmp_path: Path, tiny_model_dir: Path) -> None:
    model = Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))
    task = write_sentiment_task(tmp_path / "tweets.jsonl", repeat=3)
    path = tuned_run(task, model, tmp_path / "runs", "lora")
    results = load(path)

    config = json.loads((model / "config.json").read_text())
    config["rms_norm_eps"] = 1e-5 if config.get("rms_norm_eps") != 1e-5 else 1e-6
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(UsageError, match="has changed since"):
        export_rung(results, path, output=tmp_path / "x")

    key = next(r for r in results["rungs"] if r["rung"] == "lora-8")["training"]["key"]
    shutil.rmtree(tmp_path / "runs" / "adapters" / key)
    with pytest.raises(UsageError, match="are gone"):
        export_rung(results, path, output=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_export_command_end_to_end(runs: dict[str, Path], tmp_path: Path) -> None:
    runs_dir = runs["lora"].parent.parent
    run_id = runs["lora"].parent.name
    target = tmp_path / "cli"
    result = CliRunner().invoke(app, ["export", run_id, "--out", str(runs_dir), "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "exported lora-8 (PEFT adapter)" in result.output
    assert (target / "README.md").is_file() and (target / "adapter_config.json").is_file()

    again = CliRunner().invoke(app, ["export", run_id, "--out", str(runs_dir), "--output", str(target)])
    assert again.exit_code != 0 and "already exists" in again.output
    unknown = CliRunner().invoke(app, ["export", "no-such-run", "--out", str(runs_dir)])
    assert unknown.exit_code != 0 and "Traceback" not in unknown.output

    merged = CliRunner().invoke(
        app, ["export", run_id, "--out", str(runs_dir), "--format", "merged", "--output", str(tmp_path / "m")]
    )
    assert merged.exit_code == 0, merged.output
    assert (tmp_path / "m" / "model.safetensors").is_file()


def test_export_help_has_examples() -> None:
    result = CliRunner().invoke(app, ["export", "--help"])
    assert result.exit_code == 0 and "adaptlab export 2026" in result.output
