from pathlib import Path

import pytest

from adaptlab.models import load_backend
from adaptlab.models.local import LocalBackend, left_pad, length_buckets, plain_prompt


def test_length_buckets_cover_every_index_once_within_budget() -> None:
    lengths = [5, 100, 7, 60, 61, 3, 99, 8, 8, 8]
    batches = length_buckets(lengths, max_batch_tokens=200, max_batch_size=3)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3
        assert max(lengths[i] for i in batch) * len(batch) <= 200
    # longest first, so memory trouble shows at once
    assert batches[0][0] == 1


def test_length_buckets_put_an_oversized_prompt_alone() -> None:
    assert length_buckets([500, 10], max_batch_tokens=100, max_batch_size=8) == [[0], [1]]


def test_left_pad_aligns_prompt_ends() -> None:
    ids, mask = left_pad([[1, 2, 3], [4]], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]


def test_plain_prompt_for_models_without_chat_template() -> None:
    text = plain_prompt([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}])
    assert text == "Be brief.\n\n2+2?\nAnswer:"


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir: Path) -> LocalBackend:
    backend = load_backend(str(tiny_model_dir), max_batch_tokens=256, max_batch_size=4)
    assert isinstance(backend, LocalBackend)
    return backend


def test_backend_renders_with_the_chat_template(tiny_backend: LocalBackend) -> None:
    rendered = tiny_backend.render([{"role": "user", "content": "hello"}])
    assert rendered == "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"


def test_batched_generation_equals_one_at_a_time(tiny_backend: LocalBackend) -> None:
    texts = ["hi", "the crew was lovely, great service, thank you so much", "what time", "Input: delayed"] * 3
    conversations = [[{"role": "user", "content": t}] for t in texts]
    batched = tiny_backend.generate(conversations, max_new_tokens=10)
    single = [tiny_backend.generate([c], max_new_tokens=10)[0] for c in conversations]
    assert [g.text for g in batched] == [g.text for g in single]
    assert [g.prompt_tokens for g in batched] == [g.prompt_tokens for g in single]


def test_generation_accounts_tokens_and_progress(tiny_backend: LocalBackend) -> None:
    conversations = [[{"role": "user", "content": "x" * n}] for n in (1, 20, 40, 5, 9)]
    finished: list[int] = []
    generations = tiny_backend.generate(conversations, max_new_tokens=6, on_progress=finished.append)
    assert sum(finished) == len(conversations)
    assert len(finished) > 1  # several batches under the small token budget
    for conversation, generation in zip(conversations, generations, strict=True):
        rendered = tiny_backend.render(conversation)
        assert generation.prompt_tokens == tiny_backend.count_tokens(rendered)
        assert 1 <= generation.output_tokens <= 6
        assert generation.latency_s > 0


def test_describe_records_identity(tiny_backend: LocalBackend, tiny_model_dir: Path) -> None:
    info = tiny_backend.describe()
    assert info["model_id"] == tiny_model_dir.name
    assert len(info["fingerprint"]) == 12
    assert info["chat_template"] is True
    assert info["parameters"] > 0
