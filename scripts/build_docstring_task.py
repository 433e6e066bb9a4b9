#!/usr/bin/env python3
"""Build the bundled generative task ``python-docstrings`` (``data/tasks/python_docstrings.jsonl``).

Each example is one public function or method of the Python standard library: the input is its
source with the docstring and every comment removed, the output the one-sentence summary that
opens its docstring ("Return the number of ...", "Set the internal flag to true."). The text is
written by people, ships with every Python (PSF licence) and has a house style, which is what
few-shot prompting and fine-tuning should visibly learn.

Provenance
----------
The source files are read (never imported) from the standard library of the Python that runs
this script: ``sysconfig.get_paths()["stdlib"]``. The standard library changes between Python
releases, so the committed file records the one it was read from: ``SOURCE_PYTHON`` (CPython
3.11.7) and ``SOURCE_SHA256``, a digest of the module files in ``MODULES``. ``--check`` under
another Python, or over a standard library a distribution patched, cannot reproduce the file:
it says so and exits 0 (skipped) rather than failing.

Why each step exists
--------------------
1. Modules: a fixed, sorted list (``MODULES``), so the same files are read everywhere. Left
   out: private modules (leading underscore), tests, idlelib/tkinter/turtle/turtledemo,
   generated modules (encodings, keyword, token, stringprep, html.entities, pydoc_data),
   platform-specific ones (ntpath/posixpath, curses, pty, tty, asyncio's unix/windows event
   loops, ctypes.macholib/wintypes, multiprocessing's popen_*), modules distributions patch
   (site, sysconfig, ensurepip), those removed by Python 3.13 (PEP 594, distutils, imp,
   lib2to3) so that a rebuild there reads the same list, deprecated shims (sre_*,
   xml.etree.cElementTree), and the modules that carry a licence of their own besides the PSF
   licence (http.cookies, trace, xmlrpc, and asynchat/asyncore/uu already gone with PEP 594).
2. Functions: every ``def`` at module level and every method of a module-level class, public
   names only (no leading underscore, so no dunders), with a docstring. Functions defined under
   ``if``/``try`` are not visited (they are mostly platform branches). A method's input starts
   with ``class Name:`` so that ``self`` has a context.
3. Summary: the first paragraph of the docstring (``ast.get_docstring``, so indentation is
   cleaned), its lines joined by one space. Kept only when it is one sentence (no ``. X`` inside)
   that starts with a capital letter, ends with a period, holds no doctest and is at most
   ``MAX_OUTPUT_CHARS`` long: the answer format is then one capitalised sentence, and the
   docstrings that are not (notes, lower-case ``pdb`` help, doctests) are dropped, not edited.
4. Input: the function's lines (decorators included) minus the docstring's lines, with every
   comment removed (a comment often restates the docstring) and blank lines dropped; kept only
   when at most ``MAX_INPUT_CHARS`` long (inputs stay short for a small model on a CPU).
   Dropped: bodies that say nothing beyond the name (only ``pass``, ``...``,
   ``raise NotImplementedError``, ``return NotImplemented``), and inputs that still contain the
   summary's words in order (a string literal repeating the docstring would leak the answer).
5. De-duplication, keeping the first in module order: one example per summary (case and
   punctuation ignored; generic summaries such as "Emit a record." recur across classes, and
   the same function is copied between modules) and one per body (the same code under two
   classes or modules would leak between train and test).
6. Order by module, then line; ids are the qualified names (``json.decoder.JSONDecoder.decode``),
   one JSON object per line ``{"id", "input", "output"}``, written atomically.

Run ``python scripts/build_docstring_task.py`` to rebuild the file, or ``--check`` to verify that
the committed file is byte-identical to a fresh build (exit 0, also when skipped) or not (exit 1).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import platform
import re
import sys
import sysconfig
import tokenize
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

from adaptlab.files import atomic_write_bytes

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_RELATIVE = Path("src/adaptlab/data/tasks/python_docstrings.jsonl")
DEFAULT_OUT = REPO_ROOT / DEFAULT_OUT_RELATIVE

SOURCE_PYTHON = "3.11.7"
"""The CPython whose standard library the committed file was read from."""
SOURCE_SHA256 = "77ae0202973641eeb149e3c5ffb05cb1b1860e020c85d4959e0c865f0abc8255"
"""`sources_digest` of that standard library: the files of ``MODULES``, in order."""

MAX_INPUT_CHARS = 600
MAX_OUTPUT_CHARS = 120

# Step 1. Sorted; see the module docstring for what is left out and why.
MODULES: tuple[str, ...] = tuple(
    """
    abc argparse ast
    asyncio asyncio.base_events asyncio.base_futures asyncio.base_subprocess asyncio.base_tasks
    asyncio.constants asyncio.coroutines asyncio.events asyncio.exceptions asyncio.format_helpers
    asyncio.futures asyncio.locks asyncio.log asyncio.mixins asyncio.proactor_events
    asyncio.protocols asyncio.queues asyncio.runners asyncio.selector_events asyncio.sslproto
    asyncio.staggered asyncio.streams asyncio.subprocess asyncio.taskgroups asyncio.tasks
    asyncio.threads asyncio.timeouts asyncio.transports asyncio.trsock
    base64 bdb bisect bz2 cProfile calendar cmd code codecs codeop
    collections collections.abc colorsys compileall
    concurrent concurrent.futures concurrent.futures.process concurrent.futures.thread
    configparser contextlib contextvars copy copyreg csv ctypes ctypes.util
    dataclasses datetime dbm dbm.dumb dbm.gnu dbm.ndbm decimal difflib dis doctest
    email email.base64mime email.charset email.contentmanager email.encoders email.errors
    email.feedparser email.generator email.header email.headerregistry email.iterators
    email.message email.mime email.mime.application email.mime.audio email.mime.base
    email.mime.image email.mime.message email.mime.multipart email.mime.nonmultipart
    email.mime.text email.parser email.policy email.quoprimime email.utils
    enum filecmp fileinput fnmatch fractions ftplib functools genericpath getopt getpass gettext
    glob graphlib gzip hashlib heapq hmac html html.parser http http.client http.cookiejar
    http.server imaplib importlib importlib.abc importlib.machinery importlib.metadata
    importlib.readers importlib.resources importlib.resources.abc importlib.resources.readers
    importlib.resources.simple importlib.simple importlib.util inspect io ipaddress
    json json.decoder json.encoder json.scanner json.tool linecache locale
    logging logging.config logging.handlers lzma mailbox mimetypes modulefinder
    multiprocessing multiprocessing.connection multiprocessing.context multiprocessing.dummy
    multiprocessing.dummy.connection multiprocessing.forkserver multiprocessing.heap
    multiprocessing.managers multiprocessing.pool multiprocessing.process multiprocessing.queues
    multiprocessing.reduction multiprocessing.resource_sharer multiprocessing.resource_tracker
    multiprocessing.shared_memory multiprocessing.sharedctypes multiprocessing.spawn
    multiprocessing.synchronize multiprocessing.util
    netrc numbers operator optparse os pathlib pdb pickle pickletools pkgutil platform plistlib
    poplib pprint profile pstats py_compile pyclbr pydoc queue quopri random re reprlib
    rlcompleter runpy sched secrets selectors shelve shlex shutil signal smtplib socket
    socketserver sqlite3 sqlite3.dbapi2 sqlite3.dump ssl stat statistics string struct
    subprocess symtable tabnanny tarfile tempfile textwrap threading timeit tokenize tomllib
    traceback tracemalloc types typing
    unittest unittest.async_case unittest.case unittest.loader unittest.main unittest.mock
    unittest.result unittest.runner unittest.signals unittest.suite unittest.util
    urllib urllib.error urllib.parse urllib.request urllib.response urllib.robotparser
    uuid venv warnings wave weakref webbrowser
    wsgiref wsgiref.handlers wsgiref.headers wsgiref.simple_server wsgiref.types wsgiref.util
    wsgiref.validate
    xml xml.dom xml.dom.NodeFilter xml.dom.domreg xml.dom.expatbuilder xml.dom.minicompat
    xml.dom.minidom xml.dom.pulldom xml.dom.xmlbuilder xml.etree xml.etree.ElementInclude
    xml.etree.ElementPath xml.etree.ElementTree xml.parsers xml.parsers.expat xml.sax
    xml.sax.expatreader xml.sax.handler xml.sax.saxutils xml.sax.xmlreader
    zipapp zipfile zipimport zoneinfo
    """.split()  # noqa: SIM905 - a few names per line read better than 276 quoted strings
)

_SENTENCE_BREAK = re.compile(r"[.!?:;]\s+[A-Z]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


class BuildError(RuntimeError):
    """A problem that stops the build with a clear message."""


@dataclass(frozen=True)
class Function:
    """One documented public function or method, as found in its module."""

    module: str
    qualname: str
    code: str  # the function's lines without the docstring and comments
    context: str  # "class Name:\n" for a method, "" for a function
    summary: str

    @property
    def id(self) -> str:
        return f"{self.module}.{self.qualname}"

    @property
    def input(self) -> str:
        return self.context + self.code


def report(stage: str, count: int) -> None:
    """Print the count after a stage so a reader sees what each step removed."""
    print(f"{stage:<60} {count:>6}")


# --- step 1: modules ---------------------------------------------------------------------------


def module_path(stdlib: Path, module: str) -> Path | None:
    """The source file of `module` under `stdlib` (a package's ``__init__.py``), or None."""
    base = stdlib.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def read_modules(stdlib: Path) -> dict[str, str]:
    """Module name -> source text, for every module of `MODULES` this standard library has."""
    if list(MODULES) != sorted(set(MODULES)):
        raise BuildError("MODULES must be sorted and hold each name once")
    sources = {}
    for module in MODULES:
        path = module_path(stdlib, module)
        if path is None:
            print(f"     not in this standard library, skipped: {module}")
            continue
        sources[module] = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
    return sources


def sources_digest(sources: dict[str, str]) -> str:
    """One sha256 over the module names and sources, in `MODULES` order."""
    digest = hashlib.sha256()
    for module, text in sources.items():
        digest.update(f"{module}\0{len(text)}\0{text}\0".encode())
    return digest.hexdigest()


# --- steps 2-4: functions, summaries, inputs ---------------------------------------------------


def summary_of(docstring: str) -> str | None:
    """The docstring's opening sentence when it has the answer format, else None."""
    paragraph = " ".join(docstring.strip().split("\n\n")[0].split())
    if (
        len(paragraph) > MAX_OUTPUT_CHARS
        or not re.fullmatch(r"[A-Z][^\n]*\.", paragraph)
        or _SENTENCE_BREAK.search(paragraph)
        or ">>>" in paragraph
    ):
        return None
    return paragraph


def says_nothing(body: Sequence[ast.stmt]) -> bool:
    """Whether a body (after its docstring) is only a placeholder: pass, ..., not implemented."""

    def placeholder(statement: ast.stmt) -> bool:
        if isinstance(statement, ast.Pass):
            return True
        if isinstance(statement, ast.Expr):
            return isinstance(statement.value, ast.Constant) and statement.value.value is Ellipsis
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"
        if isinstance(statement, ast.Return):
            return isinstance(statement.value, ast.Name) and statement.value.id == "NotImplemented"
        return False

    return all(placeholder(statement) for statement in body)


def without_comments(code: str) -> str:
    """`code` with every comment and blank line removed (strings are left as they are)."""
    comment_at: dict[int, int] = {}
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            comment_at[token.start[0]] = token.start[1]
    kept = []
    for number, line in enumerate(code.split("\n"), start=1):
        line = line[: comment_at.get(number, len(line))].rstrip()
        if line.strip():
            kept.append(line)
    return "\n".join(kept)


def normalise(text: str) -> str:
    """Case, punctuation and spacing ignored: the key for leaks and duplicates."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_ALNUM.sub(" ", text).split())


def candidates(module: str, source: str, dropped: dict[str, int]) -> list[Function]:
    """The documented public functions and methods of one module that pass steps 3 and 4;
    `dropped` counts the others by reason."""
    lines = source.split("\n")  # as ast counts lines; str.splitlines also breaks at form feeds
    found = []
    for node in ast.parse(source, filename=module).body:
        if public_function(node):
            members, class_name = [node], None
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            members, class_name = list(filter(public_function, node.body)), node.name
        else:
            continue
        for member in members:
            if not ast.get_docstring(member):
                continue
            result = example_of(module, member, class_name, lines)
            if isinstance(result, Function):
                found.append(result)
            else:
                dropped[result] = dropped.get(result, 0) + 1
    return found


def public_function(node: ast.stmt) -> TypeGuard[ast.FunctionDef | ast.AsyncFunctionDef]:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("_")


def example_of(
    module: str, node: ast.FunctionDef | ast.AsyncFunctionDef, class_name: str | None, lines: Sequence[str]
) -> Function | str:
    """The example a documented function makes, or why it makes none."""
    summary = summary_of(ast.get_docstring(node) or "")
    docstring, body = node.body[0], node.body[1:]
    if summary is None:
        return "docstring does not open with one sentence"
    if docstring.lineno == node.lineno or (body and body[0].lineno == docstring.end_lineno):
        return "docstring shares a line with code"
    if says_nothing(body):
        return "body is only a placeholder"
    first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
    code = without_comments(
        "\n".join([*lines[first - 1 : docstring.lineno - 1], *lines[docstring.end_lineno : node.end_lineno]])
    )
    context = f"class {class_name}:\n" if class_name else ""
    qualname = f"{class_name}.{node.name}" if class_name else node.name
    function = Function(module, qualname, code, context, summary)
    if len(function.input) > MAX_INPUT_CHARS:
        return f"input longer than {MAX_INPUT_CHARS} characters"
    if normalise(summary) in normalise(function.input):
        return "summary repeated in the code"
    return function


# --- step 5: de-duplication --------------------------------------------------------------------


def deduplicate(functions: Sequence[Function]) -> tuple[list[Function], dict[str, int]]:
    """Keep the first function of each summary, body and id; count the others by reason."""
    summaries: set[str] = set()
    bodies: set[str] = set()
    ids: set[str] = set()
    kept, dropped = [], {"same summary": 0, "same code": 0, "same name (redefined)": 0}
    for function in functions:
        summary, body = normalise(function.summary), normalise(function.code)
        if function.id in ids:
            dropped["same name (redefined)"] += 1
        elif summary in summaries:
            dropped["same summary"] += 1
        elif body in bodies:
            dropped["same code"] += 1
        else:
            kept.append(function)
        summaries.add(summary)
        bodies.add(body)
        ids.add(function.id)
    return kept, dropped


# --- step 6: output ----------------------------------------------------------------------------


def render(functions: Sequence[Function]) -> bytes:
    """One JSON object per line, in module order then line order."""
    lines = [
        json.dumps({"id": f.id, "input": f.input, "output": f.summary}, ensure_ascii=False) for f in functions
    ]
    return "".join(line + "\n" for line in lines).encode("utf-8")


def describe_difference(expected: bytes, actual: bytes) -> str:
    """The row counts and the first line where the committed file and a fresh build differ."""
    new, old = expected.decode("utf-8").splitlines(), actual.decode("utf-8", errors="replace").splitlines()
    parts = [f"row count: committed {len(old)}, rebuilt {len(new)}"] if len(new) != len(old) else []
    for number, (new_line, old_line) in enumerate(zip(new, old, strict=False), start=1):
        if new_line != old_line:
            parts.append(f"first differing line {number}:\n  committed: {old_line}\n  rebuilt:   {new_line}")
            break
    return "\n".join(parts) or "same lines but different bytes (line endings or trailing newline)"


# --- driver ------------------------------------------------------------------------------------


def running_python() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}"


def build(sources: dict[str, str]) -> bytes:
    """Run steps 2-6 over the module sources and return the JSONL bytes."""
    report(f"1. modules read (of {len(MODULES)} listed)", len(sources))
    dropped: dict[str, int] = {}
    functions = [found for module, text in sources.items() for found in candidates(module, text, dropped)]
    for reason, count in sorted(dropped.items(), key=lambda item: -item[1]):
        print(f"     dropped {count:>5}: {reason}")
    report("2-4. documented public functions with a usable summary", len(functions))
    functions, duplicates = deduplicate(functions)
    for reason, count in duplicates.items():
        print(f"     dropped {count:>5}: {reason}")
    report("5. de-duplicated", len(functions))
    starting = sum(f.summary.startswith("Return") for f in functions)
    print(f"     summaries starting with 'Return': {starting} ({starting / max(1, len(functions)):.0%})")
    if not functions:
        raise BuildError("no function passed the filters; is this a standard library?")
    return render(functions)


def check(out: Path, sources: dict[str, str]) -> int:
    """Exit status of ``--check``: 0 when identical or when this Python cannot reproduce the file."""
    here = running_python()
    if here != f"CPython {SOURCE_PYTHON}":
        print(
            f"check skipped: {out.name} was read from the CPython {SOURCE_PYTHON} standard library and "
            f"this is {here}, whose standard library differs; run the check under CPython {SOURCE_PYTHON}"
        )
        return 0
    digest = sources_digest(sources)
    if digest != SOURCE_SHA256:
        print(
            f"check skipped: this CPython {SOURCE_PYTHON} standard library is not the one {out.name} was "
            f"read from (sources sha256 {digest[:12]}, expected {SOURCE_SHA256[:12]}): patched by a "
            "distribution, or MODULES was edited without rebuilding"
        )
        return 0
    data = build(sources)
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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output JSONL (default: {DEFAULT_OUT_RELATIVE} under the repository root)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory; exit 0 if --out is byte-identical (or cannot be reproduced here), else 1",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    print(f"reading the standard library of {running_python()} at {stdlib}")
    try:
        sources = read_modules(stdlib)
        if args.check:
            return check(args.out, sources)
        data = build(sources)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    atomic_write_bytes(args.out, data)
    lines = data.count(b"\n")
    print(f"wrote {args.out} ({len(data)} bytes, {lines} lines)")
    digest = sources_digest(sources)
    if (running_python(), digest) != (f"CPython {SOURCE_PYTHON}", SOURCE_SHA256):
        print(
            f'to commit this file, set SOURCE_PYTHON = "{platform.python_version()}" and '
            f'SOURCE_SHA256 = "{digest}" in {Path(__file__).name}, and the version and count in '
            "python_docstrings.yaml and README.md"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
