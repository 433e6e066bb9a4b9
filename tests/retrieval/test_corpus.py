"""Reading corpora: folders and JSONL, and every problem reported at once with file and line."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from adaptlab.data.problems import TaskFileError
from adaptlab.retrieval import Corpus, Document, load_corpus
from adaptlab.retrieval import corpus as corpus_module


def problems_of(path: Path) -> list[str]:
    with pytest.raises(TaskFileError) as caught:
        load_corpus(path)
    return [str(problem) for problem in caught.value.problems]


def test_a_folder_is_read_recursively_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.md").write_text("# Two\n")
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "skip.json").write_text("{}")
    corpus = load_corpus(tmp_path)
    assert tuple(corpus.documents) == (Document("a.txt", "one"), Document("b/two.md", "# Two\n"))


def test_jsonl_ids_and_texts(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"id": "x", "text": "first"}\n\n{"id": 7, "text": "second"}\n')
    assert tuple(load_corpus(path).documents) == (Document("x", "first"), Document("7", "second"))


def test_the_content_hash_changes_with_any_id_or_text_and_with_order() -> None:
    base = Corpus((Document("a", "bc"), Document("d", "e")))
    variants = [
        Corpus((Document("a", "b"), Document("cd", "e"))),
        Corpus((Document("a", "bc"), Document("d", "f"))),
        Corpus((Document("d", "e"), Document("a", "bc"))),
    ]
    assert len({base.content_hash, *(variant.content_hash for variant in variants)}) == 4
    assert Corpus((Document("a", "bc"), Document("d", "e"))).content_hash == base.content_hash


def test_every_jsonl_problem_at_once_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(
        b'{"id": "a", "text": "fine"}\n'
        b'{"text": "no id"}\n'
        b'{"id": "b", "text": "  "}\n'
        b"not json\n"
        b'{"id": "a", "text": "again"}\n'
        b'{"id": "c", "text": "bad \xff byte"}\n'
    )
    assert problems_of(path) == [
        f'{path} line 2: field "id" is missing',
        f'{path} line 3: field "text" must be non-empty text',
        f"{path} line 4: invalid JSON: Expecting value (column 1)",
        f'{path} line 5: duplicate id "a" (first at line 1)',
        f"{path} line 6: not valid UTF-8 (byte 0xff at column 26); save the file as UTF-8",
    ]


def test_every_folder_problem_at_once_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text(" \n")
    (tmp_path / "latin1.md").write_bytes(b"fine\ncaf\xe9\n")
    (tmp_path / "ok.txt").write_text("ok")
    assert problems_of(tmp_path) == [
        f"{tmp_path / 'empty.txt'}: the file is empty",
        f"{tmp_path / 'latin1.md'} line 2: not valid UTF-8 (byte 0xe9 at column 4); save the file as UTF-8",
    ]


def test_a_folder_without_text_files_a_missing_path_and_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a,b\n")
    assert problems_of(tmp_path) == [f"{tmp_path}: the folder has no .txt or .md files"]
    assert problems_of(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: no such file or folder"]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert problems_of(empty) == [f"{empty}: the file is empty"]
    assert "a corpus is a folder" in problems_of(tmp_path / "data.csv")[0]


def test_an_unreadable_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ok.txt").write_text("ok")
    (tmp_path / "secret.txt").write_text("hidden")
    read_bytes = Path.read_bytes

    def refuse_secrets(path: Path) -> bytes:  # chmod 000 does not stop root, who runs CI
        if path.name == "secret.txt":
            raise PermissionError(13, "Permission denied")
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse_secrets)
    assert problems_of(tmp_path) == [f"{tmp_path / 'secret.txt'}: cannot read the file (Permission denied)"]


def test_links_to_nothing_and_folders_named_like_text_files_are_not_documents(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("ok")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "gone")
    (tmp_path / "notes.md").mkdir()
    assert tuple(load_corpus(tmp_path).documents) == (Document("ok.txt", "ok"),)


def jsonl_corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text(
        '\n{"id": "a", "text": "first"}\n{"id": "b", "text": "second"}\n\n{"id": 3, "text": "third"}'
    )
    return path


def folder_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("first\n")
    (folder / "sub" / "b.md").write_bytes(b"\xef\xbb\xbfsecond\r\nline")
    (folder / "c.txt").write_text("third")
    return folder


EXPECTED = {
    "jsonl": (Document("a", "first"), Document("b", "second"), Document("3", "third")),
    "folder": (
        Document("a.txt", "first\n"),
        Document("c.txt", "third"),
        Document("sub/b.md", "second\r\nline"),
    ),
}


@pytest.mark.parametrize("kind", ["jsonl", "folder"])
def test_stored_documents_are_read_again_by_index_slice_and_iteration(tmp_path: Path, kind: str) -> None:
    path = jsonl_corpus(tmp_path) if kind == "jsonl" else folder_corpus(tmp_path)
    documents = load_corpus(path).documents
    expected = EXPECTED[kind]
    assert len(documents) == 3 and bool(documents)
    assert [documents[i] for i in range(3)] == list(expected)
    assert (documents[-1], documents[-3]) == (expected[-1], expected[0])
    assert documents[1:] == expected[1:] and documents[::-2] == expected[::-2]
    assert tuple(documents) == expected and list(documents) == list(expected)  # iterated twice
    for index in (3, -4):
        with pytest.raises(IndexError):
            documents[index]


@pytest.mark.parametrize("kind", ["jsonl", "folder"])
def test_the_hash_of_a_loaded_corpus_is_that_of_the_same_documents_in_memory(
    tmp_path: Path, kind: str
) -> None:
    path = jsonl_corpus(tmp_path) if kind == "jsonl" else folder_corpus(tmp_path)
    loaded = load_corpus(path)
    in_memory = Corpus(tuple(loaded.documents))
    assert loaded.content_hash == in_memory.content_hash == Corpus(EXPECTED[kind]).content_hash
    assert loaded.content_hash == corpus_module.hash_documents(EXPECTED[kind])


def test_an_in_memory_corpus_hashes_as_before() -> None:
    """The sha256 of length-prefixed ids and texts: cached indexes stay valid across versions."""
    assert Corpus((Document("a", "bc"),)).content_hash == (
        "3fafa1cf2f19a7c1129beb20cf0983f73a489a221fc0dd2f16d1be292d089205"
    )


def test_a_jsonl_corpus_with_a_bom_and_crlf_lines(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "a", "text": "one"}\r\n\r\n{"id": "b", "text": "two\\r\\n"}\r\n')
    corpus = load_corpus(path)
    expected = (Document("a", "one"), Document("b", "two\r\n"))
    assert tuple(corpus.documents) == expected
    assert (corpus.documents[0], corpus.documents[-1]) == expected
    assert corpus.content_hash == Corpus(expected).content_hash
    path.write_bytes(b'\xef\xbb\xbf{"id": "a", "text": "bad \xff"}\r\n{"id": "b"}\r\n')
    assert problems_of(path) == [
        f"{path} line 1: not valid UTF-8 (byte 0xff at column 26); save the file as UTF-8",
        f'{path} line 2: field "text" is missing',
    ]


def test_more_jsonl_problems_keep_the_task_readers_messages(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(
        b'[1]\n{"id": "a", "text": "\\ud800"}\n{"id": "b", "text": 5}\n{"id": null, "text": "x"}\n{"id":'
    )
    assert problems_of(path) == [
        f"{path} line 1: expected a JSON object, got array",
        f"{path} line 2: invalid JSON: \\ud800 is half of a UTF-16 surrogate pair without its other half, "
        "so it is not a character; fix or remove the escape (column 22)",
        f'{path} line 3: field "text" must be non-empty text',
        f'{path} line 4: field "id" must be non-empty text',
        f"{path} line 5: invalid JSON: Expecting value (column 7)",
    ]
    only_blank = tmp_path / "blank.jsonl"
    only_blank.write_bytes(b"\xef\xbb\xbf \r\n\n")
    assert problems_of(only_blank) == [f"{only_blank}: the file is empty"]


def test_a_json_array_file_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "corpus.json"
    path.write_text('\n  [{"id": "a", "text": "one"}]\n')
    assert problems_of(path) == [
        f"{path}: the file is one JSON array, but adaptlab reads JSON Lines (one JSON object per line); "
        "convert it with e.g. jq -c '.[]'"
    ]


def test_jsonl_is_read_line_by_line_never_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("read whole")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    monkeypatch.setattr(Path, "read_text", refuse)
    monkeypatch.setattr(corpus_module, "read_data_file", refuse)
    corpus = load_corpus(jsonl_corpus(tmp_path))
    assert tuple(corpus.documents) == EXPECTED["jsonl"] and corpus.documents[1] == EXPECTED["jsonl"][1]


def test_a_corpus_edited_after_loading_is_not_read_as_if_unchanged(tmp_path: Path) -> None:
    path = jsonl_corpus(tmp_path)
    documents = load_corpus(path).documents
    path.write_bytes(path.read_bytes().replace(b"second", b"SECOND"))  # same length, same offsets
    with pytest.raises(TaskFileError) as caught:
        documents[1]
    assert [str(problem) for problem in caught.value.problems] == [
        f"{path} line 3: the line changed after the corpus was read; read the corpus again"
    ]
    with pytest.raises(TaskFileError, match="line 3: the line changed"):
        list(documents)
    path.write_text('{"id": "a", "text": "first"}\n')  # cut short
    with pytest.raises(TaskFileError, match="line 2: the file changed"):
        list(documents)

    folder = folder_corpus(tmp_path)
    documents = load_corpus(folder).documents
    (folder / "c.txt").write_bytes(b"caf\xe9")
    with pytest.raises(TaskFileError) as caught:
        documents[1]
    assert [str(problem) for problem in caught.value.problems] == [
        f"{folder / 'c.txt'}: the file changed after the corpus was read; read the corpus again"
    ]
    (folder / "c.txt").unlink()
    with pytest.raises(TaskFileError, match=r"c\.txt: cannot read the file"):
        list(documents)


def test_a_corpus_larger_than_memory_is_streamed(tmp_path: Path) -> None:
    """Loading and reading every document holds about one document at a time, not the file."""
    path = tmp_path / "corpus.jsonl"
    with path.open("w") as handle:
        for n in range(2000):
            handle.write(json.dumps({"id": f"doc{n}", "text": f"{n} " + "x" * 2000}) + "\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        corpus = load_corpus(path)
        characters = sum(len(document.text) for document in corpus.documents)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(corpus.documents) == 2000 and characters > 4_000_000
    assert peak < size / 4, f"peak {peak:,} bytes for a {size:,}-byte file"
