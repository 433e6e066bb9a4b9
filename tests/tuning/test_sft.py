"""Fine-tuning on a tiny random model: loss on completions only, registry reuse, resume after
`kill -9` ending with the same weights, and the tuned weights served by the local backend."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from adaptlab.models.local import LocalBackend
from adaptlab.tuning import TuneConfig, WeightsRegistry, build_rows
from adaptlab.tuning.examples import IGNORE_INDEX, rows_hash
from adaptlab.tuning.sft import finetune, last_complete_checkpoint, load_base_model, training_arguments
from adaptlab.tuning.trainer import CompletionOnlySFTTrainer, use_packed_attention

TEXTS = ["the crew was lovely", "flight delayed again", "what time does the gate open", "thanks so much"]
LABELS = ["positive", "negative", "neutral", "positive"]


def conversations(n: int) -> tuple[list[list[dict[str, str]]], list[str]]:
    convs = [[{"role": "user", "content": f"{TEXTS[i % 4]} #{i}"}] for i in range(n)]
    return convs, [LABELS[i % 4] for i in range(n)]


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> LocalBackend:
    return LocalBackend(tiny_model_dir, model_id="tiny", fingerprint="t0")


def test_rows_are_the_evaluation_prompt_then_the_answer(backend: LocalBackend) -> None:
    convs, answers = conversations(2)
    rows = build_rows(backend, convs, answers)
    assert list(rows[0].prompt_ids) == backend.encode_prompts(convs[:1])[0]
    assert list(rows[0].completion_ids) == backend.answer_ids(convs[0], "positive")
    assert rows[0].labels[: len(rows[0].prompt_ids)] == [IGNORE_INDEX] * len(rows[0].prompt_ids)
    assert rows[0].labels[len(rows[0].prompt_ids) :] == list(rows[0].completion_ids)
    assert rows_hash(rows) != rows_hash(rows[::-1])


@pytest.mark.parametrize("packed", [True, False], ids=["packed-attention", "block-mask"])
def test_loss_equals_full_logits_cross_entropy_on_completion_tokens(
    backend: LocalBackend, tiny_model_dir: Path, tmp_path: Path, packed: bool
) -> None:
    """Projecting only completion positions through the LM head, and attending within each
    packed example only, change nothing in the loss: it equals per-example full forwards."""
    from datasets import Dataset

    convs, answers = conversations(4)
    rows = build_rows(backend, convs, answers)
    model = load_base_model(tiny_model_dir)
    if packed:
        assert use_packed_attention(model)
    args = training_arguments(TuneConfig(), tmp_path, interval=1, has_dev=False)
    columns = {"input_ids": [r.input_ids for r in rows], "labels": [r.labels for r in rows]}
    trainer = CompletionOnlySFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_dict(columns), processing_class=backend.tokenizer
    )
    batch = trainer.data_collator([{"input_ids": r.input_ids, "labels": r.labels} for r in rows])
    assert batch["input_ids"].shape[0] == 1  # padding-free: one row, no pad tokens
    assert batch["input_ids"].shape[1] == sum(len(r.input_ids) for r in rows)
    reference = load_base_model(tiny_model_dir)
    with torch.no_grad():
        ours = trainer.compute_loss(trainer.model, dict(batch))
        expected = 0.0
        count = 0
        for row in rows:
            logits = reference(torch.tensor([row.input_ids])).logits[0, :-1]
            targets = torch.tensor(row.labels[1:])
            keep = targets != IGNORE_INDEX
            expected += torch.nn.functional.cross_entropy(logits[keep], targets[keep], reduction="sum")
            count += int(keep.sum())
    assert ours.item() == pytest.approx((expected / count).item(), rel=1e-5)
    if packed:  # without the boundaries, examples would see each other: the loss would differ
        unbounded = {k: v for k, v in batch.items() if k != "cu_seq_lens_q"}
        with torch.no_grad():
            assert trainer.compute_loss(trainer.model, unbounded).item() != pytest.approx(
                ours.item(), rel=1e-5
            )


def test_finetune_stores_weights_and_reuses_them(
    backend: LocalBackend, tiny_model_dir: Path, tmp_path: Path
) -> None:
    convs, answers = conversations(12)
    rows = build_rows(backend, convs, answers)
    registry = WeightsRegistry(tmp_path / "adapters")
    reports = []
    config = TuneConfig(epochs=2, batch_size=4)
    run = finetune(
        tiny_model_dir,
        rows[:8],
        rows[8:],
        config,
        registry=registry,
        base_fingerprint="t0",
        on_step=reports.append,
    )
    assert not run.reused
    assert (run.weights.directory / "adapter_config.json").is_file()
    assert (run.weights.directory / "adapter_model.safetensors").is_file()
    manifest = json.loads((run.weights.directory / "manifest.json").read_text())
    assert manifest["training"]["steps"] == 4
    assert manifest["training"]["tokens"] == 2 * sum(len(r.input_ids) for r in rows[:8])
    assert len(manifest["training"]["dev_losses"]) == 2  # one evaluation per epoch
    assert manifest["training"]["peak_memory_bytes"] > 0
    assert set(manifest["versions"]) >= {"torch", "transformers", "peft", "trl"}
    assert [r.step for r in reports] == [1, 2, 3, 4]
    assert not registry.work_dir(run.weights.key).exists()

    again = finetune(tiny_model_dir, rows[:8], rows[8:], config, registry=registry, base_fingerprint="t0")
    assert again.reused and again.weights.key == run.weights.key
    other = finetune(
        tiny_model_dir,
        rows[:8],
        rows[8:],
        TuneConfig(epochs=1, batch_size=4),
        registry=registry,
        base_fingerprint="t0",
    )
    assert not other.reused and other.weights.key != run.weights.key


def test_tuned_backend_merges_the_adapter_and_keys_its_cache_by_it(
    backend: LocalBackend, tiny_model_dir: Path, tmp_path: Path
) -> None:
    convs, answers = conversations(8)
    rows = build_rows(backend, convs, answers)
    run = finetune(
        tiny_model_dir,
        rows,
        [],
        TuneConfig(epochs=3, batch_size=4, learning_rate=1e-2),
        registry=WeightsRegistry(tmp_path),
        base_fingerprint="t0",
    )
    tuned = LocalBackend(
        tiny_model_dir,
        model_id="tiny",
        fingerprint="t0",
        adapter=run.weights.directory,
        adapter_id=run.weights.key,
    )
    assert tuned.cache_identity() == f"tiny@t0+adapter:{run.weights.key}"
    assert backend.cache_identity() == "tiny@t0"
    assert tuned.describe()["adapter"]["id"] == run.weights.key
    assert "lora" not in " ".join(name for name, _ in tuned.model.named_parameters())
    base_scores = backend.score(convs[:2], ["positive", "negative"])
    tuned_scores = tuned.score(convs[:2], ["positive", "negative"])
    assert base_scores[0].logprobs != tuned_scores[0].logprobs


def test_full_mode_saves_a_loadable_model(
    backend: LocalBackend, tiny_model_dir: Path, tmp_path: Path
) -> None:
    convs, answers = conversations(4)
    run = finetune(
        tiny_model_dir,
        build_rows(backend, convs, answers),
        [],
        TuneConfig(mode="full", epochs=1, batch_size=4),
        registry=WeightsRegistry(tmp_path),
        base_fingerprint="t0",
    )
    assert run.weights.mode == "full"
    tuned = LocalBackend(run.weights.directory, model_id="tiny-full", fingerprint=run.weights.key)
    assert tuned.generate(convs[:1], max_new_tokens=2)[0].output_tokens >= 1


RESUME_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from adaptlab.models.local import LocalBackend
    from adaptlab.tuning import TuneConfig, WeightsRegistry, build_rows
    from adaptlab.tuning.sft import finetune
    from tuning.test_sft import conversations

    model_dir, registry_dir, kill_at = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    backend = LocalBackend(model_dir, model_id="tiny", fingerprint="t0")
    convs, answers = conversations(16)
    rows = build_rows(backend, convs, answers)

    def on_step(report):
        if report.step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    run = finetune(model_dir, rows[:12], rows[12:], TuneConfig(epochs=2, batch_size=4, lora_dropout=0.1),
                   registry=WeightsRegistry(registry_dir), base_fingerprint="t0", checkpoint_steps=2,
                   on_step=on_step)
    print(run.weights.directory)
    print(run.training["resumed_from_step"])
    """
)


def test_kill_9_then_rerun_resumes_and_ends_with_the_same_weights(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "train.py"
    script.write_text(RESUME_SCRIPT.format(tests=str(Path(__file__).parents[1])))

    def train(registry: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), str(tiny_model_dir), str(registry), str(kill_at)],
            capture_output=True,
            text=True,
            timeout=240,
        )

    killed = train(tmp_path / "interrupted", kill_at=5)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not any(p.name != ".work" for p in (tmp_path / "interrupted").iterdir())  # nothing published

    resumed = train(tmp_path / "interrupted", kill_at=0)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    resumed_dir, resumed_from = resumed.stdout.split()[-2:]
    assert resumed_from == "4"  # the last checkpoint before the kill (every 2 steps)

    clean = train(tmp_path / "uninterrupted", kill_at=0)
    assert clean.returncode == 0, clean.stderr[-2000:]
    clean_dir, clean_from = clean.stdout.split()[-2:]
    assert clean_from == "None"

    resumed_weights = load_file(Path(resumed_dir) / "adapter_model.safetensors")
    clean_weights = load_file(Path(clean_dir) / "adapter_model.safetensors")
    assert resumed_weights.keys() == clean_weights.keys()
    for name, tensor in clean_weights.items():
        assert torch.equal(resumed_weights[name], tensor), name


def test_a_checkpoint_cut_short_by_a_kill_is_not_resumed_from(tmp_path: Path) -> None:
    """transformers writes trainer_state.json last; a folder without a readable one was being
    saved when the process died, and resuming from it would fail on every later run."""
    for step, state in [(1, "{}"), (2, None), (10, '{"global_st')]:
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(b"weights")
        if state is not None:
            (folder / "trainer_state.json").write_text(state)
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-1"]
    assert last_complete_checkpoint(tmp_path / "empty") is None


def lora_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The LoRA weights of a PEFT model, named as a saved adapter names them."""
    from peft import get_peft_model_state_dict

    return {name: tensor.detach().clone() for name, tensor in get_peft_model_state_dict(model).items()}


def test_training_can_continue_a_stored_adapter(
    backend: LocalBackend, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Stage 2 starts from stage 1's adapter (not a fresh one) and trains it on: the result is
    one adapter on the base, keyed by the start weights too, and reused when asked again."""
    from adaptlab.tuning.sft import build_trainer

    convs, answers = conversations(8)
    rows = build_rows(backend, convs, answers)
    registry = WeightsRegistry(tmp_path / "adapters")
    config = TuneConfig(epochs=2, batch_size=4, learning_rate=1e-2)
    first = finetune(tiny_model_dir, rows[:4], [], config, registry=registry, base_fingerprint="t0")
    stored = load_file(first.weights.directory / "adapter_model.safetensors")

    prepared = build_trainer(
        tiny_model_dir, rows[4:], [], config, tmp_path / "out", interval=1, start_from=first.weights.directory
    )
    loaded = lora_tensors(prepared.trainer.model)
    assert loaded.keys() == stored.keys()
    assert all(torch.equal(loaded[name], stored[name]) for name in stored)  # stage 1's, not fresh
    assert any(p.requires_grad for n, p in prepared.trainer.model.named_parameters() if "lora_" in n)
    assert list(prepared.trainer.model.peft_config) == ["default"]  # no second adapter
    fresh = lora_tensors(
        build_trainer(tiny_model_dir, rows[4:], [], config, tmp_path / "f", interval=1).trainer.model
    )
    assert any(not torch.equal(fresh[name], stored[name]) for name in stored)

    second = finetune(
        tiny_model_dir,
        rows[4:],
        rows[:2],
        config,
        registry=registry,
        base_fingerprint="t0",
        start_from=first.weights,
    )
    assert not second.reused and second.weights.key != first.weights.key
    assert second.weights.manifest["data"]["start_from"] == first.weights.key
    assert "start_from" not in first.weights.manifest["data"]
    continued = load_file(second.weights.directory / "adapter_model.safetensors")
    assert continued.keys() == stored.keys()
    assert any(not torch.equal(continued[name], stored[name]) for name in stored)
    from_base = finetune(tiny_model_dir, rows[4:], rows[:2], config, registry=registry, base_fingerprint="t0")
    assert from_base.weights.key != second.weights.key

    again = finetune(
        tiny_model_dir,
        rows[4:],
        rows[:2],
        config,
        registry=registry,
        base_fingerprint="t0",
        start_from=first.weights,
    )
    assert again.reused and again.weights.key == second.weights.key
    tuned = LocalBackend(
        tiny_model_dir, model_id="tiny", fingerprint="t0", adapter=second.weights.directory, adapter_id="k"
    )
    assert tuned.generate(convs[:1], max_new_tokens=2)[0].output_tokens >= 1


def test_full_training_can_continue_a_stored_model(
    backend: LocalBackend, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file as load_weights

    from adaptlab.tuning.sft import build_trainer

    convs, answers = conversations(8)
    rows = build_rows(backend, convs, answers)
    registry = WeightsRegistry(tmp_path / "adapters")
    config = TuneConfig(mode="full", epochs=1, batch_size=4, learning_rate=1e-2)
    first = finetune(tiny_model_dir, rows[:4], [], config, registry=registry, base_fingerprint="t0")
    stored = load_weights(first.weights.directory / "model.safetensors")
    prepared = build_trainer(
        tiny_model_dir, rows[4:], [], config, tmp_path / "out", interval=1, start_from=first.weights.directory
    )
    loaded = dict(prepared.trainer.model.named_parameters())
    assert set(stored) <= set(loaded)
    assert all(
        torch.equal(loaded[name].detach(), tensor) for name, tensor in stored.items() if name in loaded
    )
    with pytest.raises(ValueError, match="cannot continue full weights"):
        finetune(
            tiny_model_dir,
            rows[4:],
            [],
            TuneConfig(),
            registry=registry,
            base_fingerprint="t0",
            start_from=first.weights,
        )
    second = finetune(
        tiny_model_dir,
        rows[4:],
        [],
        config,
        registry=registry,
        base_fingerprint="t0",
        start_from=first.weights,
    )
    assert (
        second.weights.mode == "full" and second.weights.manifest["data"]["start_from"] == first.weights.key
    )
    tuned = LocalBackend(second.weights.directory, model_id="tiny-full", fingerprint=second.weights.key)
    assert tuned.generate(convs[:1], max_new_tokens=2)[0].output_tokens >= 1
