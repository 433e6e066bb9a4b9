"""Label scoring through a chat-completions endpoint, which returns no sequence likelihoods.

A local model scores each candidate answer token by token; an endpoint only tells us, for the
one token it samples, the log-probabilities of its `top_logprobs` most likely first tokens. A
candidate gets the log-probability of the longest of those tokens that starts it (leading
whitespace ignored, case kept, since "positive" and "Positive" are scored as separate
spellings), and ``-inf`` when none does. Candidates sharing a first token tie, which is the
price of one request per example instead of one per candidate.

A server that sends no log-probabilities gets asked to answer instead; the answer is read with
the same rules the generating strategies use (`adaptlab.prompting.parsing`, pure functions),
and the candidate it names gets 0.0 (probability 1), the others ``-inf``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from adaptlab.prompting.parsing import normalize_answer, parse_label

TOP_LOGPROBS = 20
"""The most OpenAI's API and vLLM's default allow: the more first tokens, the fewer candidates
left at ``-inf``."""
LOGPROBS_METHOD = "first-token top_logprobs"


def first_token_scores(
    alternatives: Sequence[tuple[str, float]], candidates: Sequence[str]
) -> tuple[float, ...]:
    """Each candidate's log-probability: that of the longest alternative token starting it.

    >>> first_token_scores([(" Neg", -0.2), ("Pos", -1.8), ("N", -3.0)], ["Negative", "Positive", "neutral"])
    (-0.2, -1.8, -inf)
    """
    scores = []
    for candidate in candidates:
        wanted = candidate.lstrip()
        best: tuple[int, float] | None = None
        for token, logprob in alternatives:
            piece = token.lstrip()
            if piece and wanted.startswith(piece):
                best = max(best or (len(piece), logprob), (len(piece), logprob))
        scores.append(best[1] if best is not None else -math.inf)
    return tuple(scores)


def generated_choice(text: str, candidates: Sequence[str]) -> tuple[float, ...]:
    """0.0 for the candidate(s) `text` names by the strategies' parsing rules (every spelling of
    it), ``-inf`` for the rest; all ``-inf`` when it names none or several.

    >>> generated_choice("The sentiment is positive.", ["negative", "Negative", "positive", "Positive"])
    (-inf, -inf, 0.0, 0.0)
    """
    parsed = parse_label(text, candidates).value
    if parsed is None:
        return tuple(-math.inf for _ in candidates)
    chosen = normalize_answer(parsed)
    return tuple(0.0 if normalize_answer(candidate) == chosen else -math.inf for candidate in candidates)


def fallback_max_tokens(candidates: Sequence[str]) -> int:
    """Room for the longest candidate (about 4 characters a token, generously) and a short
    lead-in such as "The answer is"."""
    longest = max((len(candidate) for candidate in candidates), default=0)
    return 8 + math.ceil(longest / 2)
