"""A tiny three-label sentiment task for CLI and tuning tests (real data paths, seconds to run)."""

from __future__ import annotations

import json
from pathlib import Path

SENTIMENT_EXAMPLES = [
    ("the crew was lovely", "positive"),
    ("great service, thank you", "positive"),
    ("thanks so much", "positive"),
    ("flight delayed again", "negative"),
    ("nobody told us anything", "negative"),
    ("lost my bag", "negative"),
    ("what time does the gate open", "neutral"),
    ("flight to Boston?", "neutral"),
    ("is wifi free", "neutral"),
]


def sentiment_rows(repeat: int) -> list[dict[str, str]]:
    """`repeat` copies of the nine examples as task rows with ids r0, r1, …"""
    return [
        {"id": f"r{i}", "input": text, "output": label}
        for i, (text, label) in enumerate(SENTIMENT_EXAMPLES * repeat)
    ]


def write_sentiment_task(path: Path, repeat: int) -> Path:
    """Write `sentiment_rows(repeat)` as a JSONL task file at `path`."""
    path.write_text("".join(json.dumps(row) + "\n" for row in sentiment_rows(repeat)))
    return path
