"""Choosing the demonstrations a few-shot prompt shows before the query.

Two ways, both drawing from a pool (the train split): `random_demos`, the classic baseline, and
`KnnDemoSelector`, which shows the pool examples most similar to the query (Liu et al. 2021,
"What Makes Good In-Context Examples for GPT-3?"). Either way a demonstration is never the
query itself: an example with the query's id, or with the same input once case, punctuation and
URLs are ignored (`duplicate_key`, the rule splitting uses against leakage), would hand the
model its answer.
"""

from __future__ import annotations

import random
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from adaptlab.data.quality import duplicate_key
from adaptlab.data.task import Example

if TYPE_CHECKING:
    import torch

QUERY_MEMO_SIZE = 4096
"""Query embeddings kept for reuse (consistency probes ask the same inputs again); bounded, so a
long-running server does not grow with every new input it sees."""


class TextEncoder(Protocol):
    """Anything that embeds texts as unit-norm rows, such as `adaptlab.models.embeddings.Embedder`."""

    def encode(self, texts: Sequence[str]) -> torch.Tensor: ...


def random_demos(
    pool: Sequence[Example], k: int, *, seed: int, exclude: Example | None = None
) -> list[Example]:
    """`k` demonstrations drawn at random from `pool`, the same for the same seed on any machine.

    The pool is shuffled with `seed` and the first `k` examples that do not match `exclude` are
    taken, so one seed gives every query the same demonstrations except where one of them is the
    query, which the next in the shuffled order replaces. Fewer than `k` come back only when the
    pool, less the query, holds fewer.

    >>> split = split_task(load_task("tweet-sentiment"), seed=0)
    >>> [demo.id for demo in random_demos(split.train, 2, seed=0, exclude=split.test[0])]
    ['tweet-1000', 'tweet-0607']
    """
    _check_k(k)
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    query = None if exclude is None else (exclude.id, duplicate_key(exclude.input))
    demos: list[Example] = []
    for index in order:
        if len(demos) == k:
            break
        candidate = pool[index]
        if query is None or (candidate.id != query[0] and duplicate_key(candidate.input) != query[1]):
            demos.append(candidate)
    return demos


def reorder_demos(demos: Sequence[Example], order_seed: int) -> list[Example]:
    """`demos` in another order for consistency probes: shuffled with `order_seed` (0 keeps the
    order); a shuffle that changed nothing is replaced by the reverse, since it would measure
    nothing."""
    ordered = list(demos)
    if not order_seed or len(ordered) < 2:
        return ordered
    random.Random(order_seed).shuffle(ordered)
    return ordered if ordered != list(demos) else list(demos)[::-1]


class KnnDemoSelector:
    """The `k` pool examples nearest to each query by cosine similarity of their embeddings.

    The pool is embedded once, when the selector is built; queries are embedded in one batched
    call per `select_many`, and the last `QUERY_MEMO_SIZE` are kept by text. Demonstrations
    come least similar first, so the most similar one sits right before the query; equal
    similarities keep pool order.

    >>> selector = KnnDemoSelector(split.train, load_embedder(), k=4)
    >>> demos_per_query = selector.select_many(split.test)
    """

    def __init__(self, pool: Sequence[Example], embedder: TextEncoder, k: int) -> None:
        _check_k(k)
        self.pool = tuple(pool)
        self.embedder = embedder
        self.k = k
        self._vectors = embedder.encode([example.input for example in self.pool])
        self._by_id: dict[str, list[int]] = defaultdict(list)
        self._by_key: dict[str, list[int]] = defaultdict(list)
        for index, example in enumerate(self.pool):
            self._by_id[example.id].append(index)
            self._by_key[duplicate_key(example.input)].append(index)
        self._query_vectors: OrderedDict[str, torch.Tensor] = OrderedDict()

    def select(self, example: Example) -> list[Example]:
        """The demonstrations for one query; prefer `select_many` for more than a few."""
        return self.select_many([example])[0]

    def select_many(self, examples: Sequence[Example]) -> list[list[Example]]:
        """The demonstrations for each query, in the order of `examples`."""
        import torch

        if not examples:
            return []
        if not self.pool or self.k == 0:
            return [[] for _ in examples]
        vectors = self._embed_queries([example.input for example in examples])
        queries = torch.stack([vectors[example.input] for example in examples])
        scores = queries @ self._vectors.T
        # A stable sort keeps pool order among equal scores, which torch.topk does not promise.
        ranked = torch.sort(scores, dim=1, descending=True, stable=True).indices
        selections = []
        for row, example in enumerate(examples):
            excluded = {*self._by_id.get(example.id, ()), *self._by_key.get(duplicate_key(example.input), ())}
            nearest = [i for i in ranked[row, : self.k + len(excluded)].tolist() if i not in excluded]
            selections.append([self.pool[i] for i in reversed(nearest[: self.k])])
        return selections

    def _embed_queries(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """The embedding of each distinct text, from the memo or one batched call for the rest."""
        wanted = list(dict.fromkeys(texts))
        found = {text: self._query_vectors[text] for text in wanted if text in self._query_vectors}
        for text in found:
            self._query_vectors.move_to_end(text)
        missing = [text for text in wanted if text not in found]
        if missing:
            fresh = dict(zip(missing, self.embedder.encode(missing), strict=True))
            found.update(fresh)
            self._query_vectors.update(fresh)
            while len(self._query_vectors) > QUERY_MEMO_SIZE:
                self._query_vectors.popitem(last=False)
        return found


def _check_k(k: int) -> None:
    if k < 0:
        raise ValueError(f"the number of demonstrations must be 0 or more, got {k}")
