"""`adaptlab tune` under `accelerate launch` with two CPU processes (DDP over gloo): both ranks
train, the tokens of both are counted, and only rank 0 evaluates and writes the run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sample_tasks import write_sentiment_task


def test_two_process_ddp_on_cpu(tiny_model_dir: Path, tmp_path: Path) -> None:
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    if accelerate is None:
        pytest.fail("accelerate's launcher is not installed next to this Python")
    task = write_sentiment_task(tmp_path / "task.jsonl", repeat=3)
    out = tmp_path / "runs"
    command = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--main_process_port", "0"]
    command += ["-m", "adaptlab", "tune", str(task), "--model", str(tiny_model_dir), "--sizes", "8"]
    command += ["--epochs", "2", "--train-batch-size", "4", "--consistency-sample", "0", "--no-forgetting"]
    command += ["--out", str(out)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    (manifest_path,) = (out / "adapters").glob("*/manifest.json")
    training = json.loads(manifest_path.read_text())["training"]
    assert training["processes"] == 2
    # Each rank saw half of every batch; together they ran every token of both epochs.
    assert training["tokens"] == 2 * training["tokens_per_epoch"]
    run_dirs = [p for p in out.iterdir() if p.is_dir() and p.name[0].isdigit()]
    assert len(run_dirs) == 1  # rank 1 wrote no run of its own
    payload = json.loads((run_dirs[0] / "results.json").read_text())
    assert [r["rung"] for r in payload["rungs"]] == ["zero-shot", "lora-8"]
