"""Read a corpus: a folder of text files or a JSONL file of ``{"id", "text"}`` records.

A corpus may be larger than memory, so it is streamed: `load_corpus` reads every file once,
to validate it and hash its content, and keeps only where each document is (a byte offset in
the JSONL file, or a file's path). Its `Corpus.documents` reads a document's text again when it
is asked for, which is when the corpus is chunked and embedded; no more than one document's
text is ever held at a time, so one document must fit in memory, the whole corpus need not.

Every problem in every file is collected before giving up, then raised as one `TaskFileError`,
as task files are: a corpus with three bad files should take one fix-and-rerun, not three.
JSONL lines go through the task reader's per-line steps (`decode_line`, `jsonl_object`), so its
UTF-8, BOM and bad-JSON messages and its line numbers are the ones people already see for task
files.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, overload

from adaptlab.data.problems import Problem, TaskFileError
from adaptlab.data.readers import (
    JSONL_SUFFIXES,
    UTF8_BOM,
    RawFile,
    decode_line,
    decode_lines,
    jsonl_object,
    read_data_file,
    scalar_text,
)

TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class Document:
    """One document: `id` is its path relative to the corpus folder, or its JSONL ``id``."""

    id: str
    text: str


class ContentHasher:
    """sha256 over every id and text in order, each length-prefixed so that no two different
    corpora (``"ab" + "c"`` vs ``"a" + "bc"``) hash alike.

    Fed one document at a time, so that `load_corpus` hashes a corpus in the pass that reads
    it, and a corpus built in memory (`hash_documents`) hashes exactly alike.
    """

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def add(self, document: Document) -> None:
        for part in (document.id, document.text):
            data = part.encode("utf-8")
            self._digest.update(len(data).to_bytes(8, "big"))
            self._digest.update(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def hash_documents(documents: Iterable[Document]) -> str:
    """The content hash of `documents` (see `ContentHasher`)."""
    hasher = ContentHasher()
    for document in documents:
        hasher.add(document)
    return hasher.hexdigest()


@dataclass(frozen=True)
class Corpus:
    """Documents in a fixed order, and a hash of their content that keys the index cache.

    `documents` is any sequence: a tuple when built in memory (tests, small corpora), or the
    `StoredDocuments` of `load_corpus`, which re-reads each document from disk. Iterate it
    rather than holding it in a list, so that a corpus larger than memory stays on disk.
    `content_hash` is computed from `documents` when not given; `load_corpus` gives the one it
    computed while reading, so the corpus is not read again just to hash it.

    >>> corpus = load_corpus(Path("docs/"))
    >>> [document.id for document in corpus.documents][:2]
    ['faq.md', 'guide/install.md']
    """

    documents: Sequence[Document]
    content_hash: str = ""

    def __post_init__(self) -> None:
        if not self.content_hash:
            object.__setattr__(self, "content_hash", hash_documents(self.documents))


class StoredDocuments(Sequence[Document]):
    """A corpus's documents, read from disk each time they are asked for.

    Only a small locator is kept per document, and an 8-byte digest of its bytes as read by
    `load_corpus`: a file edited since then raises `TaskFileError` instead of silently giving
    text that the content hash (and so the cached index) does not describe.
    """

    def __init__(self, display: str, digests: array[int]) -> None:
        self.display = display
        self._digests = digests

    def __len__(self) -> int:
        return len(self._digests)

    @overload
    def __getitem__(self, index: int) -> Document: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Document, ...]: ...

    def __getitem__(self, index: int | slice) -> Document | tuple[Document, ...]:
        if isinstance(index, slice):
            return tuple(self._read(i) for i in range(*index.indices(len(self))))
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"document {index} of {len(self)}")
        return self._read(position)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display!r}, {len(self):,} documents)"

    @abstractmethod
    def _read(self, position: int) -> Document:
        """Document `position` (0 <= position < len), read from disk."""

    def _check_digest(self, position: int, data: bytes, line: int | None, what: str) -> None:
        if _digest(data) != self._digests[position]:
            self._changed(position, line, what)

    def _changed(self, position: int, line: int | None, what: str) -> NoReturn:
        message = f"the {what} changed after the corpus was read; read the corpus again"
        raise TaskFileError([Problem(self._problem_file(position), line, message)])

    def _problem_file(self, position: int) -> str:
        return self.display


class JsonlDocuments(StoredDocuments):
    """Documents of a JSONL file: per document, the byte offset and number of its line."""

    def __init__(self, path: Path, display: str, offsets: array[int], lines: array[int], digests: array[int]):
        super().__init__(display, digests)
        self.path = path
        self._offsets = offsets
        self._lines = lines

    def _read(self, position: int) -> Document:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offsets[position])
                line = handle.readline()
        except OSError as error:
            raise TaskFileError(
                [Problem(self.display, None, f"cannot read the file ({error.strerror})")]
            ) from None
        return self._document(position, line)

    def __iter__(self) -> Iterator[Document]:
        """The documents in order, in one sequential read of the file."""
        if not self._offsets:
            return
        position = 0
        try:
            with self.path.open("rb") as handle:
                for _, start, line in _numbered_lines(handle):
                    if start < self._offsets[position]:
                        continue  # a blank or skipped line
                    if start > self._offsets[position]:  # lines moved: the file was edited
                        self._changed(position, self._lines[position], "file")
                    yield self._document(position, line)
                    position += 1
                    if position == len(self._offsets):
                        return
        except OSError as error:
            raise TaskFileError(
                [Problem(self.display, None, f"cannot read the file ({error.strerror})")]
            ) from None
        self._changed(position, self._lines[position], "file")  # it ends before this document

    def _document(self, position: int, line: bytes) -> Document:
        number = self._lines[position]
        self._check_digest(position, line, number, "line")
        raw = RawFile(self.display)
        text, _ = decode_line(number, line, raw)
        values = jsonl_object(number, text, raw) if not raw.problems else None
        document = _record(values, number, raw) if values is not None else None
        if document is None:  # only with a digest collision, but never a wrong document
            raise TaskFileError(raw.problems)
        return document


class FolderDocuments(StoredDocuments):
    """Documents of a folder: per document, its path relative to the folder (also its id)."""

    def __init__(self, folder: Path, ids: Sequence[str], digests: array[int]):
        super().__init__(str(folder), digests)
        self.folder = folder
        self._ids = ids

    def _read(self, position: int) -> Document:
        """The whole file: one document must fit in memory."""
        doc_id = self._ids[position]
        display = self._problem_file(position)
        try:
            data = (self.folder / doc_id).read_bytes().removeprefix(UTF8_BOM)
        except OSError as error:
            raise TaskFileError(
                [Problem(display, None, f"cannot read the file ({error.strerror})")]
            ) from None
        self._check_digest(position, data, None, "file")
        raw = RawFile(display)
        lines, bad_lines = decode_lines(data, raw)
        if bad_lines:  # only with a digest collision, but never a wrong document
            raise TaskFileError(raw.problems)
        return Document(doc_id, "".join(lines))

    def __iter__(self) -> Iterator[Document]:
        """The documents in order, each file read in turn."""
        for position in range(len(self)):
            yield self._read(position)

    def _problem_file(self, position: int) -> str:
        return str(self.folder / self._ids[position])


def load_corpus(path: Path) -> Corpus:
    """Read the folder or JSONL file at `path`; raise `TaskFileError` with every problem found.

    One pass validates and hashes every document; the corpus returned re-reads them from disk.
    """
    path = Path(path)
    display = str(path)
    if path.is_dir():
        documents, content_hash, problems = _scan_folder(path)
    elif path.is_file() and path.suffix.lower() in JSONL_SUFFIXES:
        documents, content_hash, problems = _scan_jsonl(path, display)
    elif path.is_file():
        message = f"a corpus is a folder of .txt/.md files or a {'/'.join(JSONL_SUFFIXES)} file"
        raise TaskFileError([Problem(display, None, message)])
    else:
        raise TaskFileError([Problem(display, None, "no such file or folder")])
    if documents is not None and not documents and not problems:
        problems.append(Problem(display, None, "the corpus has no documents"))
    if problems or documents is None:  # in file and line order, as task files report them
        raise TaskFileError(sorted(problems, key=lambda problem: (problem.file, problem.line or 0)))
    return Corpus(documents, content_hash)


Scan = tuple[StoredDocuments | None, str, list[Problem]]
"""What a reading pass found: the documents (None when none could be told), their content
hash, and every problem."""


def _scan_folder(folder: Path) -> Scan:
    """Every .txt/.md file under `folder`, sorted by relative path, one document each.

    Ids are relative paths, unique by construction, so no duplicate check is needed here.
    """
    files = sorted(
        (file for file in folder.rglob("*") if file.is_file() and file.suffix.lower() in TEXT_SUFFIXES),
        key=lambda file: file.relative_to(folder).as_posix(),
    )
    if not files:
        return None, "", [Problem(str(folder), None, "the folder has no .txt or .md files")]
    ids: list[str] = []
    digests = array("Q")
    hasher = ContentHasher()
    problems: list[Problem] = []
    for file in files:
        doc_id = file.relative_to(folder).as_posix()
        display = str(file)
        try:
            data = file.read_bytes().removeprefix(UTF8_BOM)  # one document fits in memory
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
        hasher.add(Document(doc_id, text))
        ids.append(doc_id)
        digests.append(_digest(data))
    return FolderDocuments(folder, tuple(ids), digests), hasher.hexdigest(), problems


def _scan_jsonl(path: Path, display: str) -> Scan:
    """Validate and hash a JSONL file line by line, keeping each document's line offset.

    A ``.json`` file that starts with ``[`` is read whole by the task reader instead, for its
    message about JSON arrays (it is never a valid corpus, so is never streamed later).
    """
    raw = RawFile(display)
    offsets = array("q")
    line_numbers = array("q")
    digests = array("Q")
    first_at: dict[str, int] = {}  # id -> line: the only per-document text held while reading
    hasher = ContentHasher()
    blank = True
    try:
        with path.open("rb") as handle:
            for number, start, line in _numbered_lines(handle):
                if blank and line.strip():
                    blank = False
                    if path.suffix.lower() == ".json" and line.lstrip().startswith(b"["):
                        fallback = read_data_file(path, display)
                        if not fallback.complete:
                            return None, "", fallback.problems
                text, ok = decode_line(number, line, raw)
                if not ok or not text.strip():
                    continue
                document = _record(jsonl_object(number, text, raw), number, raw)
                if document is None:
                    continue
                if document.id in first_at:
                    message = f'duplicate id "{document.id}" (first at line {first_at[document.id]})'
                    raw.problem(number, message)
                    continue
                first_at[document.id] = number
                hasher.add(document)
                offsets.append(start)
                line_numbers.append(number)
                digests.append(_digest(line))
    except OSError as error:
        return None, "", [Problem(display, None, f"cannot read the file ({error.strerror})")]
    if blank:
        return None, "", [Problem(display, None, "the file is empty")]
    return JsonlDocuments(path, display, offsets, line_numbers, digests), hasher.hexdigest(), raw.problems


def _numbered_lines(handle: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """(line number from 1, byte offset, bytes with their end) of each line, read one at a
    time; a UTF-8 BOM starting the file is dropped, and the offset of line 1 is then after it."""
    start = 0
    for number, line in enumerate(handle, start=1):
        end = start + len(line)
        if number == 1 and line.startswith(UTF8_BOM):
            line, start = line[len(UTF8_BOM) :], len(UTF8_BOM)
        yield number, start, line
        start = end


def _digest(data: bytes) -> int:
    """8 bytes that tell whether a document's bytes changed since `load_corpus` read them."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


Report = Callable[[int | None, str], None]


def _record(values: dict[str, Any] | None, line: int, raw: RawFile) -> Document | None:
    """The document a JSONL object holds, or None after reporting what it lacks."""
    if values is None:
        return None
    doc_id = _field(values, "id", line, raw.problem)
    text = _field(values, "text", line, raw.problem)
    return Document(doc_id, text) if doc_id is not None and text is not None else None


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
