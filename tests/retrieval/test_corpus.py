"""Reading corpora: folders and JSONL, and every problem reported at once with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaptlab.data.problems import TaskFileError
from adaptlab.retrieval import Corpus, Document, load_corpus


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
    assert corpus.documents == (Document("a.txt", "one"), Document("b/two.md", "# Two\n"))


def test_jsonl_ids_and_texts(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"id": "x", "text": "first"}\n\n{"id": 7, "text": "second"}\n')
    assert load_corpus(path).documents == (Document("x", "first"), Document("7", "second"))


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
    assert load_corpus(tmp_path).documents == (Document("ok.txt", "ok"),)
