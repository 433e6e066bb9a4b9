"""Read a corpus: a folder of text files or a JSONL file of ``{"id", "text"}`` records.

Every problem in every file is collected before giving up, then raised as one `TaskFileError`,
as task files are: a corpus with three bad files should take one fix-and-rerun, not three.
JSONL goes through the task reader (`read_data_file`), so its UTF-8, BOM and bad-JSON handling
and its line numbers are the ones people already see for task files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from adaptlab.data.problems import Problem, TaskFileError
from adaptlab.data.readers import JSONL_SUFFIXES, UTF8_BOM, RawFile, decode_lines, read_data_file, scalar_text

TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Document:
    """One document: `id` is its path relative to the corpus folder, or its JSONL ``id``."""

    id: str
    text: str


@dataclass(frozen=True)
class Corpus:
    """Documents in a fixed order, and a hash of their content that keys the index cache.

    >>> corpus = load_corpus(Path("docs/"))
    >>> [document.id for document in corpus.documents][:2]
    ['faq.md', 'guide/install.md']
    """

    documents: tuple[Document, ...]

    @property
    def content_hash(self) -> str:
        """sha256 over every id and text in order, each length-prefixed so that no two
        different corpora (``"ab" + "c"`` vs ``"a" + "bc"``) hash alike."""
        digest = hashlib.sha256()
        for document in self.documents:
            for part in (document.id, document.text):
                data = part.encode("utf-8")
                digest.update(len(data).to_bytes(8, "big"))
                digest.update(data)
        return digest.hexdigest()


class _Located(NamedTuple):
    """A document and where it was read, for problems found after reading (duplicate ids)."""

    document: Document
    file: str
    line: int | None


def load_corpus(path: Path) -> Corpus:
    """Read the folder or JSONL file at `path`; raise `TaskFileError` with every problem found."""
    path = Path(path)
    display = str(path)
    if path.is_dir():
        documents, problems = _read_folder(path)
    elif path.is_file() and path.suffix.lower() in JSONL_SUFFIXES:
        documents, problems = _read_jsonl(path, display)
    elif path.is_file():
        message = f"a corpus is a folder of .txt/.md files or a {'/'.join(JSONL_SUFFIXES)} file"
        raise TaskFileError([Problem(display, None, message)])
    else:
        raise TaskFileError([Problem(display, None, "no such file or folder")])
    problems.extend(_duplicate_ids(documents))
    if not documents and not problems:
        problems.append(Problem(display, None, "the corpus has no documents"))
    if problems:  # in file and line order, as task files report them
        raise TaskFileError(sorted(problems, key=lambda problem: (problem.file, problem.line or 0)))
    return Corpus(tuple(located.document for located in documents))


def _read_folder(folder: Path) -> tuple[list[_Located], list[Problem]]:
    """Every .txt/.md file under `folder`, sorted by relative path, one document each."""
    files = sorted(
        (file for file in folder.rglob("*") if file.is_file() and file.suffix.lower() in TEXT_SUFFIXES),
        key=lambda file: file.relative_to(folder).as_posix(),
    )
    if not files:
        return [], [Problem(str(folder), None, "the folder has no .txt or .md files")]
    documents: list[_Located] = []
    problems: list[Problem] = []
    for file in files:
        doc_id = file.relative_to(folder).as_posix()
        display = str(file)
        try:
            data = file.read_bytes().removeprefix(UTF8_BOM)
        except OSError as error:
            problems.append(Problem(display, None, f"cannot read the file ({error.strerror})"))
            continue
        raw = RawFile(display)
        lines, bad_lines = decode_lines(data, raw)  # a problem per bad line, with its column
        if bad_lines:
            problems.extend(raw.problems)
            continue
        text = "".join(lines)
        if not text.strip():
            problems.append(Problem(display, None, "the file is empty"))
            continue
        documents.append(_Located(Document(doc_id, text), display, None))
    return documents, problems


def _read_jsonl(path: Path, display: str) -> tuple[list[_Located], list[Problem]]:
    raw = read_data_file(path, display)
    documents: list[_Located] = []
    for row in raw.rows:
        doc_id = _field(row.values, "id", row.line, raw.problem)
        text = _field(row.values, "text", row.line, raw.problem)
        if doc_id is not None and text is not None:
            documents.append(_Located(Document(doc_id, text), display, row.line))
    return documents, raw.problems


Report = Callable[[int | None, str], None]


def _field(values: dict[str, Any], name: str, line: int, problem: Report) -> str | None:
    """The non-blank text of field `name`, or None after reporting why there is none.

    An ``id`` may be a JSON number (``"id": 17``), read as the text JSON writes for it.
    """
    if name not in values:
        problem(line, f'field "{name}" is missing')
        return None
    value = values[name]
    text = value if isinstance(value, str) else scalar_text(value) if name == "id" else None
    if text is None or not text.strip():
        problem(line, f'field "{name}" must be non-empty text')
        return None
    return text


def _duplicate_ids(documents: list[_Located]) -> list[Problem]:
    """A problem at each repeat of an id, naming where it was first seen."""
    first: dict[str, _Located] = {}
    problems = []
    for located in documents:
        doc_id = located.document.id
        if doc_id in first:
            seen = first[doc_id]
            at = seen.file if seen.line is None else f"line {seen.line}"
            problems.append(Problem(located.file, located.line, f'duplicate id "{doc_id}" (first at {at})'))
        else:
            first[doc_id] = located
    return problems
