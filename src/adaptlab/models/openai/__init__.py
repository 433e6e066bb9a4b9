"""``--model openai:NAME``: any OpenAI-compatible chat-completions server as a `Backend`.

vLLM, Ollama, the llama.cpp server and hosted APIs all speak ``POST /v1/chat/completions``; one
backend serves them all, so the prompt ladder can measure a model that is too big for this
machine, or that only exists behind an API. The pieces, each small enough to read alone:

* `urls` — the base URL: checked, its credentials kept out of everything recorded;
* `client` — one request with retries (backoff with full jitter, ``Retry-After``), turning a
  request that keeps failing into an error string instead of an exception;
* `parameters` — what a server refuses (reasoning models: ``max_tokens``, temperature 0),
  learned from its first HTTP 400 and sent adjusted after;
* `replies` — reading replies, reasoning tokens counted as output;
* `labels` — label scoring from the first token's ``top_logprobs``, and the generation
  fallback for servers that return none;
* `backend` — `OpenAIBackend`: concurrent requests under a semaphore, token counts, describe().

The package imports nothing heavy: `adaptlab.models.openai.backend` (httpx) is loaded only
when an ``openai:`` model is used.
"""
