"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every artefact adaptlab writes goes through here, so a run killed at any instant leaves no
truncated JSON behind. Whatever it writes gets the modes a plain ``open`` or ``mkdir`` would
give (0666 / 0777 less the umask), so another account on the machine (a model server) can read
it as it can read the user's other files.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _umask_by_setting_it() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK_AT_IMPORT = _umask_by_setting_it()


def current_umask() -> int:
    """The process's umask now, read without changing it.

    Linux shows it in ``/proc/self/status``. Elsewhere the only way to read it is to set it,
    which opens a moment in which another thread's new files are created world-writable, so
    the umask read when adaptlab was imported stands in there.
    """
    with (
        contextlib.suppress(OSError, ValueError, IndexError),
        open("/proc/self/status", encoding="ascii") as status,
    ):
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return _UMASK_AT_IMPORT


def give_default_modes(root: Path) -> None:
    """Give folder `root` and everything in it the modes a plain ``mkdir`` / ``open`` would.

    ``tempfile.mkdtemp`` makes a 0700 folder, ``mkstemp`` and safetensors 0600 files, and
    ``shutil.copy2`` keeps the source's mode, so a folder staged with them is private to this
    account. Call this on it before renaming it into place. With umask 022:

    >>> give_default_modes(staging)  # folders 0755, files 0644
    """
    mask = current_umask()
    os.chmod(root, 0o777 & ~mask)
    for folder, folders, files in os.walk(root):
        for names, mode in ((folders, 0o777), (files, 0o666)):
            for name in names:
                path = os.path.join(folder, name)
                if not os.path.islink(path):  # a link has no mode of its own; its target is not ours
                    os.chmod(path, mode & ~mask)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException as error:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename is None:
            error.filename = str(path)  # a failed write (disk full) names no file: say which
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
