"""Atomic in-place writes: a temporary file in the same folder, then a rename.

A reader (or a crash) sees either the old file or the new one, never half of it; the file's
permission bits are kept. Only a regular file inside the project root is written: a symbolic
link, or a path that leaves the root through one, raises ``OutsideRoot`` before anything is made.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from prodfix.engine.containment import check_writable


def write_atomic(path: Path, data: bytes, root: Path, check: Callable[[], None] | None = None) -> None:
    """``check``: called just before the rename; what it raises leaves ``path`` as it was."""
    check_writable(root, path)
    mode = stat.S_IMODE(os.stat(path).st_mode)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".prodfix-tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
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
