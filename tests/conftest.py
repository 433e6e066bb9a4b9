"""Fixtures shared by every test package.

No test may touch the network or the user's home directory: the Hugging Face libraries run
offline and adaptlab's cache points into a per-session temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import hypothesis
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

# Property tests replay the same generated cases on every run ("ci"), so a failure in CI
# reproduces anywhere; HYPOTHESIS_PROFILE=reliability (`make reliability`) explores ten times
# as many fresh cases. Tests scale their budgets with `fuzzing.cases`. No deadline: timings on
# a shared 2-core machine are noise, not bugs.
hypothesis.settings.register_profile("ci", max_examples=100, derandomize=True, deadline=None, print_blob=True)
hypothesis.settings.register_profile("reliability", max_examples=1000, deadline=None, print_blob=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point adaptlab's cache at a temporary directory for the whole session (slow tests that
    want the converted bundled model reuse ADAPTLAB_TEST_CACHE when it is set, to convert once)."""
    cache = Path(os.environ.get("ADAPTLAB_TEST_CACHE") or tmp_path_factory.mktemp("adaptlab-cache"))
    os.environ["ADAPTLAB_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-init Llama chat model saved as a Hugging Face directory."""
    from tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
