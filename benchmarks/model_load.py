"""Model load time: adaptlab's converted cache vs loading the GGUF file with transformers.

The obvious way to use the bundled model is
``AutoModelForCausalLM.from_pretrained(folder, gguf_file=...)`` on every run, which
de-quantises every tensor each time. adaptlab converts once to safetensors in its cache and
loads that. Both loads are timed in this process, several times each (after one warm-up of
each, so the file cache is hot for both), and the logits of both models on the same input are
compared to show the fast path changes nothing.

Run: ``python benchmarks/model_load.py [--model gemma3-270m] [--repeats 3]`` (default: the
default bundled model). The last line gives the setup and ``ratio=<gguf load s / adaptlab load s>``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

os.environ["HF_HUB_OFFLINE"] = "1"

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from adaptlab.models import BUNDLED_MODELS, DEFAULT_MODEL, load_backend, resolve_model_spec
from adaptlab.models.weights import prepare_weights


def listing(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


def timed(load: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = load()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed loads of each kind (default 3)")
    parser.add_argument(
        "--model", choices=list(BUNDLED_MODELS), default=DEFAULT_MODEL, help=f"default {DEFAULT_MODEL}"
    )
    args = parser.parse_args()
    hf_logging.disable_progress_bar()

    source = resolve_model_spec(args.model)
    prepare_weights(source)  # the one-time conversion is not what is measured here
    folder, name = str(source.path.parent), source.path.name

    def gguf_load() -> object:
        return AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, local_files_only=True)

    def adaptlab_load() -> object:
        return load_backend(args.model)

    gguf_load(), adaptlab_load()  # warm-up: imports and the OS file cache, for both
    gguf_times, adaptlab_times = [], []
    for _ in range(args.repeats):
        seconds, reference = timed(gguf_load)
        gguf_times.append(seconds)
        seconds, backend = timed(adaptlab_load)
        adaptlab_times.append(seconds)

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
    ids = tokenizer("@united thanks for nothing", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        identical = torch.equal(reference.eval()(ids).logits, backend.model(ids).logits)

    gguf_s, adaptlab_s = statistics.median(gguf_times), statistics.median(adaptlab_times)
    print(f"transformers GGUF load: median {gguf_s:.2f} s over {args.repeats} ({listing(gguf_times)})")
    print(
        f"adaptlab cached load:   median {adaptlab_s:.2f} s over {args.repeats} "
        f"({listing(adaptlab_times)}); includes the tokenizer"
    )
    print(f"logits identical: {identical}")
    print(
        f"setup: {args.model} load, {platform.machine()} {os.cpu_count()} cpu, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, repeats {args.repeats} ratio={gguf_s / adaptlab_s:.1f}"
    )


if __name__ == "__main__":
    main()
