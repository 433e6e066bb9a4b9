"""BM25 over a corpus of any size: bm25s's scoring, built and searched shard by shard.

bm25s builds its index from the whole tokenised corpus at once, and its build holds several
copies of the score matrix, so a corpus larger than memory cannot be indexed in one piece. Here
the passages are tokenised once, streaming, into a token file while the corpus-wide statistics
(document frequencies, average length) are counted; then each shard of `SHARD_PASSAGES`
passages becomes its own bm25s score matrix, weighted with the *corpus-wide* statistics, so
every shard scores a passage exactly as one index over the whole corpus would (a test checks
this against a plain ``bm25s.BM25().index(...)``). Shards are saved by bm25s and reopened
memory-mapped; a query scores them one after another. Peak memory is one shard's matrix, the
vocabulary and one float per passage for the query's scores.

The score arithmetic is bm25s's own (`bm25s.scoring`, pinned in pyproject): only the split into
shards is this module's.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SHARD_PASSAGES = 100_000
"""Passages per shard: its build holds about 24 bytes per distinct word of each passage (some
200 MB for 100,000 paragraph-sized passages), and a query pays a small fixed cost per shard."""
VOCAB = "vocab.json"
STATS = "stats.json"
TOKENS = "tokens.int32"
"""Every passage's word ids, one after another: raw int32, read back memory-mapped."""


def new_bm25() -> Any:
    """A bm25s index with the settings every shard shares (bm25s's defaults: Lucene's BM25)."""
    import bm25s

    return bm25s.BM25()


def word_tokenizer(stopwords: str) -> Any:
    """bm25s's tokenizer: lower-cased words of two or more letters, less `stopwords`."""
    import bm25s

    return bm25s.tokenization.Tokenizer(stopwords=stopwords)


@dataclass(frozen=True)
class TokenCounts:
    """What one pass over the tokenised passages learns: the corpus-wide statistics."""

    vocab: dict[str, int]
    doc_frequencies: np.ndarray  # per word id, the passages holding it
    lengths: np.ndarray  # per passage, its words (stopwords dropped)

    @property
    def passages(self) -> int:
        return len(self.lengths)

    @property
    def average_length(self) -> np.float64:
        """As bm25s computes it (`np.mean`): a float64 scalar, so that its BM25 arithmetic is
        float64 too, as in bm25s (a Python float would leave it float32 and change the scores)."""
        return self.lengths.mean() if len(self.lengths) else np.float64(0.0)


def tokenize_passages(batches: Iterable[Sequence[str]], stopwords: str, folder: Path) -> TokenCounts:
    """Tokenise every passage into ``folder/tokens.int32``, counting document frequencies and
    lengths on the way; texts arrive in `batches`."""
    tokenizer = word_tokenizer(stopwords)
    doc_frequencies = np.zeros(0, dtype=np.int64)
    lengths = array("q")  # 8 bytes a passage
    with open(folder / TOKENS, "wb") as tokens:
        for texts in batches:
            ids = tokenizer.tokenize(
                list(texts), update_vocab=True, return_as="ids", show_progress=False, allow_empty=False
            )  # no "" word for a passage of stopwords alone: as `bm25s.tokenize` counts it
            if len(tokenizer.word_to_id) > len(doc_frequencies):
                doc_frequencies = np.pad(
                    doc_frequencies, (0, len(tokenizer.word_to_id) - len(doc_frequencies))
                )
            for passage in ids:
                word_ids = np.asarray(passage, dtype=np.int32)
                doc_frequencies[np.unique(word_ids)] += 1
                tokens.write(word_ids.tobytes())
                lengths.append(len(word_ids))
    return TokenCounts(tokenizer.get_vocab_dict(), doc_frequencies, np.frombuffer(lengths, dtype=np.int64))


def build_shards(counts: TokenCounts, folder: Path) -> int:
    """Write one bm25s index per shard under `folder`, scored with the corpus-wide `counts`;
    returns the number of shards. The token file written by `tokenize_passages` is removed."""
    from bm25s.scoring import _build_idf_array, _build_scores_and_indices_for_matrix, _select_idf_scorer

    settings = new_bm25()
    idf = _build_idf_array(
        doc_frequencies=dict(enumerate(counts.doc_frequencies.tolist())),
        n_docs=counts.passages,
        compute_idf_fn=_select_idf_scorer(settings.idf_method),
        dtype=settings.dtype,
    )
    tokens = (
        np.memmap(folder / TOKENS, dtype=np.int32, mode="r")
        if counts.lengths.sum()
        else np.zeros(0, np.int32)  # an empty file cannot be mapped
    )
    ends = np.cumsum(counts.lengths)
    shards = 0
    for first in range(0, counts.passages, SHARD_PASSAGES):
        last = min(first + SHARD_PASSAGES, counts.passages)
        start = int(ends[first - 1]) if first else 0
        shard_ends = ends[first:last] - start
        shard_tokens = np.asarray(tokens[start : int(ends[last - 1])])

        def passages(
            shard_tokens: np.ndarray = shard_tokens, shard_ends: np.ndarray = shard_ends
        ) -> Iterator[list[int]]:
            begin = 0
            for end in shard_ends.tolist():
                yield shard_tokens[begin:end].tolist()
                begin = end

        distinct = sum(len(set(ids)) for ids in passages())  # sizes bm25s's score arrays exactly
        bm25 = new_bm25()
        scores, rows, words = _build_scores_and_indices_for_matrix(
            corpus_token_ids=passages(),
            idf_array=idf,
            avg_doc_len=counts.average_length,
            doc_frequencies={0: distinct},
            k1=bm25.k1,
            b=bm25.b,
            delta=bm25.delta,
            nonoccurrence_array=None,
            method=bm25.method,
            dtype=bm25.dtype,
            int_dtype=bm25.int_dtype,
            show_progress=False,
        )
        data, indices, indptr = bm25._np_csc(
            data=scores, rows=rows, cols=words, shape=(last - first, len(idf))
        )
        bm25.scores = {
            "data": data.astype(bm25.dtype),
            "indices": indices,
            "indptr": indptr,
            "num_docs": last - first,
        }
        bm25.nonoccurrence_array = None  # Lucene BM25 scores no absent word
        bm25.vocab_dict = {}  # queries arrive as corpus-wide word ids
        bm25.save(str(folder / shard_name(shards)))
        shards += 1
    del tokens
    (folder / TOKENS).unlink()
    return shards


def shard_name(number: int) -> str:
    return f"shard-{number:04d}"


class ShardedBM25:
    """BM25 scores of every passage for a query, from shards built by `build_bm25`.

    Query words are mapped to the corpus-wide ids of `vocab`: each shard's matrix has a
    column per corpus word, so no shard needs a vocabulary of its own."""

    def __init__(self, vocab: dict[str, int], shards: list[Any], stopwords: str) -> None:
        self.vocab = vocab
        self.shards = shards
        self.tokenizer = word_tokenizer(stopwords)
        self.stopwords = frozenset(self.tokenizer.stopwords or ())  # what tokenising leaves out
        self.passages = sum(shard.scores["num_docs"] for shard in shards)

    def _words(self, query: str) -> list[str]:
        """`query`'s words as the corpus was tokenised (lower case, stopwords dropped)."""
        text = query.lower() if self.tokenizer.lower else query
        return [word for word in self.tokenizer.splitter(text) if word not in self.stopwords]

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every passage for `query`, in passage order (float32)."""
        ids = [self.vocab[word] for word in self._words(query) if word in self.vocab]
        if not ids or not self.shards:
            return np.zeros(self.passages, dtype=np.float32)
        return np.concatenate([shard.get_scores_from_ids(ids) for shard in self.shards])


def build_bm25(batches: Iterable[Sequence[str]], stopwords: str, folder: Path) -> None:
    """Index the passage texts arriving in `batches` into `folder` (made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = tokenize_passages(batches, stopwords, folder)
    shards = build_shards(counts, folder)
    (folder / VOCAB).write_text(json.dumps(counts.vocab, ensure_ascii=False), encoding="utf-8")
    (folder / STATS).write_text(json.dumps({"passages": counts.passages, "shards": shards}), encoding="utf-8")


def load_bm25(folder: Path, stopwords: str) -> ShardedBM25:
    """The index in `folder`, its shards memory-mapped; raises OSError/ValueError when damaged."""
    import bm25s

    vocab = json.loads((folder / VOCAB).read_text(encoding="utf-8"))
    stats = json.loads((folder / STATS).read_text(encoding="utf-8"))
    shards = [bm25s.BM25.load(str(folder / shard_name(n)), mmap=True) for n in range(stats["shards"])]
    if sum(shard.scores["num_docs"] for shard in shards) != stats["passages"]:
        raise ValueError(f"{folder}: the shards do not hold the {stats['passages']} passages of its stats")
    return ShardedBM25(vocab, shards, stopwords)
