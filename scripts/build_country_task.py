#!/usr/bin/env python3
"""Build the knowledge task "country facts" and its corpus (``src/adaptlab/data/tasks/``).

Why this task
-------------
Issue 18 sets retrieval ("read it at run time") against tuning ("learn it into the weights") on
facts a small model mostly does not know. ISO codes are such facts: exact, checkable, and hardly
guessable (the ISO 3166-1 numeric code of Paraguay is 600, of the Euro 978). A question whose
entity appears in no training pair is what separates the two ways, so each entity is asked
about in several ways (its alpha-3 code, its numeric code, its official name), and the split
then leaves some entities seen in train and others unseen.

Provenance
----------
The records come from the PyPI package ``pycountry==26.2.16`` (LGPL-2.1-only; its data are
those of Debian's iso-codes, which carry ISO 3166-1 and ISO 4217). The wheel is fetched with
``pip download`` into a temporary directory and imported from there; pycountry is never a
dependency of adaptlab.

Output
------
- ``country_facts.jsonl``: one question per line, ``{"id", "input", "output", "metadata":
  {"context_id", "entity", "kind"}}``: ``context_id`` names the corpus passage that holds the
  answer (for recall@K), ``entity`` the country or currency asked about (seen/unseen in train).
- ``country_facts_corpus.jsonl``: one passage per record, ``{"id", "text"}``.
Both are written atomically, in a deterministic order, so the same pycountry gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PYCOUNTRY = "pycountry==26.2.16"
TASKS = Path(__file__).resolve().parents[1] / "src" / "adaptlab" / "data" / "tasks"


def country_passage(country: Any) -> str:
    official = getattr(country, "official_name", None)
    named = f"{country.name} (official name: {official})" if official else country.name
    return (
        f"{named} has the ISO 3166-1 alpha-2 code {country.alpha_2}, the alpha-3 code"
        f" {country.alpha_3} and the numeric code {country.numeric}."
    )


def currency_passage(currency: Any) -> str:
    return (
        f"The currency {currency.name} has the ISO 4217 code {currency.alpha_3} and the numeric"
        f" code {currency.numeric}."
    )


def questions(pycountry: Any) -> Iterator[tuple[dict[str, Any], tuple[str, str]]]:
    """Each question with the passage that answers it (id, text)."""
    for country in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        passage = (f"country-{country.alpha_2.lower()}", country_passage(country))
        entity = f"country:{country.alpha_2}"
        asked = [
            ("alpha-3", f"What is the ISO 3166-1 alpha-3 code of {country.name}?", country.alpha_3),
            ("numeric", f"What is the ISO 3166-1 numeric code of {country.name}?", country.numeric),
        ]
        official = getattr(country, "official_name", None)
        if official and official != country.name:
            asked.append(("official-name", f"What is the official name of {country.name}?", official))
        for kind, question, answer in asked:
            yield {"input": question, "output": answer, "metadata": {"entity": entity, "kind": kind}}, passage
    for currency in sorted(pycountry.currencies, key=lambda c: c.alpha_3):
        passage = (f"currency-{currency.alpha_3.lower()}", currency_passage(currency))
        entity = f"currency:{currency.alpha_3}"
        asked = [
            (
                "currency-code",
                f"What is the ISO 4217 code of the currency {currency.name}?",
                currency.alpha_3,
            ),
            (
                "currency-numeric",
                f"What is the ISO 4217 numeric code of the currency {currency.name}?",
                currency.numeric,
            ),
        ]
        for kind, question, answer in asked:
            yield {"input": question, "output": answer, "metadata": {"entity": entity, "kind": kind}}, passage


def build(pycountry: Any, tasks: Path) -> tuple[int, int]:
    rows: list[dict[str, Any]] = []
    passages: dict[str, str] = {}
    seen_inputs: set[str] = set()
    for number, (row, (passage_id, text)) in enumerate(questions(pycountry), start=1):
        if row["input"] in seen_inputs:  # two records with one name would ask one question twice
            continue
        seen_inputs.add(row["input"])
        row["metadata"]["context_id"] = passage_id
        rows.append({"id": f"fact-{number:04d}", **row})
        passages[passage_id] = text
    write_jsonl(tasks / "country_facts.jsonl", rows)
    write_jsonl(tasks / "country_facts_corpus.jsonl", [{"id": i, "text": t} for i, t in passages.items()])
    return len(rows), len(passages)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=TASKS, help="folder for the two files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", folder, PYCOUNTRY],
            check=True,
        )
        sys.path.insert(0, folder)
        import pycountry

        examples, passages = build(pycountry, args.out)
    print(f"wrote {examples} questions and {passages} passages to {args.out}")


if __name__ == "__main__":
    main()
