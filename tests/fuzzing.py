"""Hostile files for the fuzz tests of every loader: task files (JSONL, CSV/TSV, chat, task
specs) in `tests/data/test_fuzz_loaders.py`, settings files (cost settings, run configs) in
`tests/test_fuzz_config.py`.

The files are realistic but hostile: mostly what people really write, with the damage real
files get — a truncated line, bytes from another encoding, a BOM, Windows line endings, blank
lines, a value of the wrong type, a ``!!python`` tag — so that each case reaches deep into a
loader instead of failing at its first byte. The property every test checks is the one a user
relies on: loading gives a valid result, or an `AdaptlabError` whose message names the file and,
where the format allows, the damaged line; any other exception is a bug.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st


def cases(n: int) -> int:
    """`n` generated cases under the default ("ci") profile, scaled with the loaded profile:
    ten times as many under ``HYPOTHESIS_PROFILE=reliability``."""
    return max(1, n * settings.default.max_examples // 100)


# -- text and JSON values ---------------------------------------------------------------------

SPECIAL_TEXT = (
    "",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "\x00",
    "\x1b[31m",
    "\ufeff",
    "\u2028",
    "😀",
    "\u202eevil",
    "\ud800",  # a lone surrogate: not a character, cannot be written as UTF-8
    "\udfff",
    '"',
    "'",
    ",",
    ";",
    "\\",
    "[bold]markup[/bold]",
    "null",
    "yes",
    "1e5",
)

#: Text anyone could type, weird characters included; never blank, never a lone surrogate.
words = st.text(min_size=1, max_size=6).filter(str.strip)
#: Text as hostile as it gets: control characters, BOMs, surrogates, huge and empty strings.
hostile_text = st.one_of(
    st.text(max_size=8), st.sampled_from(SPECIAL_TEXT), st.integers(1000, 4000).map(lambda n: "x" * n)
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), hostile_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(hostile_text, children, max_size=3),
    max_leaves=5,
)
non_strings = json_values.filter(lambda value: not isinstance(value, str))


def dump_json(value: object, ascii_only: bool) -> bytes:
    """JSON as an editor would save it; a lone surrogate written raw becomes invalid UTF-8."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


# -- assembling files from lines ----------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """How a file's lines are put together: line ends, a BOM, blank lines, a final line end."""

    eol: bytes
    bom: bool
    blanks: tuple[int, ...]  # blank lines before each line (a shorter tuple means none after)
    final_eol: bool

    def join(self, lines: Sequence[bytes], blank: bytes = b"") -> tuple[bytes, list[int]]:
        """The file, and the physical line (counted on ``\\n``, as editors and adaptlab do) on
        which each of `lines` starts."""
        parts: list[bytes] = []
        starts: list[int] = []
        line = 1
        for index, text in enumerate(lines):
            for _ in range(self.blanks[index] if index < len(self.blanks) else 0):
                parts.append(blank + self.eol)
                line += (blank + self.eol).count(b"\n")
            starts.append(line)
            last = index == len(lines) - 1
            parts.append(text + (self.eol if self.final_eol or not last else b""))
            line += text.count(b"\n") + self.eol.count(b"\n")
        return (b"\xef\xbb\xbf" if self.bom else b"") + b"".join(parts), starts


def layouts(eols: Sequence[bytes] = (b"\n", b"\r\n", b"\r")) -> st.SearchStrategy[Layout]:
    return st.builds(
        Layout,
        eol=st.sampled_from(eols),
        bom=st.booleans(),
        blanks=st.lists(st.sampled_from([0, 0, 0, 1, 2]), max_size=10).map(tuple),
        final_eol=st.booleans(),
    )


#: Line ends that keep "line N" meaningful (a file of lone ``\r`` is a single physical line).
LINE_EOLS = (b"\n", b"\r\n")

BAD_UTF8 = (b"\xff", b"\xc3(", b"\xe9t\xe9", b"\xed\xa0\x80", b"\x80", b"\xf0\x9f\x98")


@st.composite
def with_bad_bytes(draw: st.DrawFn, text: bytes) -> bytes:
    """`text` (ASCII) with a byte sequence that is not UTF-8 inserted somewhere."""
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(BAD_UTF8)) + text[at:]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` after a few byte-level edits (deletions, insertions, overwrites, a cut-off end),
    as a file gets when copied badly, half-written or opened in the wrong editor."""
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["delete", "insert", "replace", "truncate"]))
        chunk = draw(
            st.binary(min_size=1, max_size=4) | st.sampled_from((*BAD_UTF8, b"\n", b"\r", b'"', b"{"))
        )
        if edit == "delete":
            data = data[:at] + data[at + len(chunk) :]
        elif edit == "insert":
            data = data[:at] + chunk + data[at:]
        elif edit == "replace":
            data = data[:at] + chunk + data[at + len(chunk) :]
        else:
            data = data[:at]
    return data


# -- YAML: one damaged line in a file of ``key: value`` lines -----------------------------------


@dataclass(frozen=True)
class YamlCase:
    """A YAML file of one ``key: value`` per line with one line damaged.

    `line` is the damaged line when the error must be reported there (None when YAML itself
    cannot say: an unclosed bracket is noticed where the file ends).
    """

    data: bytes
    line: int | None
    kind: str


NON_STRING_KEYS = ("1", "yes", "no", "null", "~", "1.5", "2024-01-01", "0x1F")
#: Values no field of a task spec, cost settings or run config accepts.
WRONG_VALUES = ("[1, [2]]", "{a: 1}", "&a [*a]", "&a [&b [x, x], *b, *b]")
PYTHON_TAGS = (
    '!!python/object/apply:os.system ["touch {marker}"]',
    '!!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ["{marker}"]]',
    '!!python/object/new:pathlib.Path ["{marker}"]',
    "!!python/name:os.system",
    "!!python/module:os",
    "!custom value",
)


@st.composite
def yaml_with_one_bad_line(draw: st.DrawFn, lines: Sequence[str], marker: str) -> YamlCase:
    """Damage one line of a YAML document made of top-level ``key: value`` lines.

    Most kinds are reported on the damaged line (a key nobody knows, a key given twice, a key
    that is not text, a value of the wrong type, a half character, a number or date Python
    refuses, a ``!!python`` tag, bytes that are not UTF-8, a tab or a control character); the
    rest (unclosed brackets and quotes, a second document, a deleted line, a line of garbage)
    must still be clean errors naming the file. The ``!!python`` tags would create the file
    `marker` if anything were ever constructed from them.
    """
    index = draw(st.integers(0, len(lines) - 1))
    key = lines[index].split(":", 1)[0]
    exact = [
        "unknown key",
        "non-string key",
        "wrong type",
        "surrogate",
        "huge number",
        "bad date",
        "python tag",
        "bad bytes",
        "tab",
        "control character",
    ]
    if index > 0:
        exact.append("duplicate key")
    kind = draw(st.sampled_from([*exact, "unclosed", "second document", "deleted", "garbage"]))
    new: list[bytes] = [utf8(line) for line in lines]
    if kind == "duplicate key":
        new.insert(index, new[draw(st.integers(0, index - 1))])
    elif kind == "deleted":
        del new[index]
    elif kind == "tab":
        new[index] = b"\t" + new[index]
    elif kind == "bad bytes":
        new[index] = draw(with_bad_bytes(utf8(f"{key}: caf")))
    elif kind == "second document":
        new[index] = b"---"
    elif kind == "garbage":
        new[index] = utf8(draw(st.text(max_size=20)).replace("\n", " ").replace("\r", " "))
    else:
        new[index] = utf8(draw(bad_yaml_line(kind, key, marker)))
    layout = draw(layouts(LINE_EOLS))
    data, _ = Layout(layout.eol, layout.bom, (), True).join(new)
    return YamlCase(data, index + 1 if kind in exact else None, kind)


def bad_yaml_line(kind: str, key: str, marker: str) -> st.SearchStrategy[str]:
    """A replacement ``key: value`` line of one kind of damage."""
    if kind == "unknown key":
        return st.sampled_from(["x", "typo", "2"]).map(lambda suffix: f"{key}_{suffix}: 1")
    if kind == "non-string key":
        return st.sampled_from(NON_STRING_KEYS).map(lambda bad_key: f"{bad_key}: value")
    if kind == "python tag":
        return st.sampled_from(PYTHON_TAGS).map(lambda tag: f"{key}: {tag.format(marker=marker)}")
    values = {
        "wrong type": WRONG_VALUES,
        "surrogate": ('"x\\ud800"', '"\\udfff"'),
        "huge number": ("9" * 5000, "-" + "1" * 4400),
        "bad date": ("2024-13-01", "2023-02-30"),
        "control character": ("a\x01b", "a\x7fb", "a\x9bb"),
        "unclosed": ("[a, b", "{a: 1", '"abc', "'abc"),
    }[kind]
    return st.sampled_from(values).map(lambda value: f"{key}: {value}")


#: YAML documents that hold nothing (cost settings read them as the defaults).
EMPTY_YAML = (b"", b"# only a comment\n", b"~\n")
#: Whole YAML documents that are not a mapping of settings, or barely YAML at all.
odd_yaml_documents = st.sampled_from(
    [
        *EMPTY_YAML,
        b"42\n",
        b"- a\n- b\n",
        b"just some text\n",
        b"[" * 1000,  # past Python's recursion limit; PyYAML scans nesting in quadratic time
        b"a: &a [*a]\nb: *a\n",
        b"a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nd: [*c, *c, *c]\n",
        b"? [a, b]\n: 1\n",
        b"a: 1\n---\nb: 2\n",
        b"%YAML 1.1\n---\na: 1\n",
        b"!!python/object/apply:os.system [echo pwned]\n",
        b"\xef\xbb\xbf\xef\xbb\xbfa: 1\n",
        b"\x00\x01\x02",
        b"a: 1\r\n\tb: 2\r\n",
    ]
)


LINE = re.compile(r" line (\d+): ")


def message_lines(message: str, display: str) -> list[int | None]:
    """The line each line of an error message is about (None: the whole file), after checking
    that every one names the file; ``... and 3 more problems`` lines are skipped."""
    found: list[int | None] = []
    for text in message.split("\n"):
        if text.startswith("... and "):
            continue
        assert text.startswith(display), f"{text!r} does not name {display}"
        rest = text[len(display) :]
        match = LINE.match(rest)
        assert match or rest.startswith(": "), (
            f"{text!r} is neither '{display}: ...' nor '{display} line N: ...'"
        )
        found.append(int(match.group(1)) if match else None)
    return found
