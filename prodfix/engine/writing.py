"""Atomic in-place writes: a temporary file in the same folder, then a rename.

A reader (or a crash) sees either the old file or the new one, never half of it; the file's
permission bits are kept. Only a regular file inside the project root is written: a symbolic
link, or a path that leaves the root through one, raises ``OutsideRoot`` before anything is made.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from prodfix.engine.containment import check_writable

TEMP_SUFFIX = ".prodfix-tmp"


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def replacing(path: Path, mode: int, check: Callable[[], None] | None = None) -> Iterator[BinaryIO]:
    """A handle on a temporary file beside ``path``. When the block ends without an exception
    the file is synced, given ``mode``, ``check`` is called (what it raises keeps ``path`` as
    it was) and it replaces ``path``; otherwise it is removed and ``path`` is untouched."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if check is not None:
            check()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_atomic(path: Path, data: bytes, root: Path, check: Callable[[], None] | None = None) -> None:
    """``check``: called just before the rename; what it raises leaves ``path`` as it was."""
    check_writable(root, path)
    with replacing(path, stat.S_IMODE(os.stat(path).st_mode), check) as handle:
        handle.write(data)
