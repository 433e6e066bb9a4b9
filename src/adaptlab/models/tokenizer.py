"""Count tokens the way a model would, without loading the model itself.

`adaptlab validate` reports lengths in tokens; loading (or converting) 500 MB of weights just
for the tokenizer would make a quick check slow, so this loads the tokenizer alone — from the
converted cache when it exists, straight from the GGUF file otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from adaptlab.errors import UsageError
from adaptlab.models.catalog import endpoint_model, resolve_model_spec
from adaptlab.models.weights import converted_dir, fingerprint_source


def load_token_counter(spec: str) -> Callable[[str], int]:
    """A function returning the number of tokens of a text for the model named by `spec`."""
    if endpoint_model(spec) is not None:
        raise UsageError(
            f"{spec} is served by an endpoint, so there is no tokenizer here to measure lengths with;"
            " pass --chars, or a local --model whose tokenizer is close to it"
        )
    from transformers import AutoTokenizer

    source = resolve_model_spec(spec)
    if source.kind == "hf-dir":
        tokenizer = AutoTokenizer.from_pretrained(source.path, local_files_only=True)
    else:
        converted = converted_dir(source, fingerprint_source(source))
        if (converted / "tokenizer_config.json").is_file():
            tokenizer = AutoTokenizer.from_pretrained(converted, local_files_only=True)
        else:
            tokenizer = AutoTokenizer.from_pretrained(
                str(source.path.parent), gguf_file=source.path.name, local_files_only=True
            )

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count
