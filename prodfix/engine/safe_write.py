"""Writes that lose nothing: the user's edits, the old file, or prodfix's own leftovers.

- ``replace_checked``: a file is rewritten only while it still holds the bytes the codemods
  read. It is compared when the run reaches it and again just before the rename (after the
  new text is written and synced to a temporary file), so an edit made in between is kept
  and reported instead of overwritten. A failure to write (read-only folder, disk full) is an
  ``OSError`` for the caller to report per file; the temporary file is removed.
- ``output_file``: the patch (``diff --patch``) or report (``report -o``) is written to a
  temporary file beside it and renamed into place: never a 0-byte or half-written file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from prodfix.engine.writing import write_atomic

TEMP_SUFFIX = ".prodfix-tmp"


class ChangedOnDisk(Exception):
    """The file no longer holds the bytes the codemods read: it was left as it is."""


def replace_checked(path: Path, old: bytes, new: bytes) -> None:
    """Rewrite ``path`` with ``new`` if it still holds ``old``, checked now and just before the
    rename. Raises ChangedOnDisk (nothing written) or OSError (nothing written either)."""
    if path.read_bytes() != old:
        raise ChangedOnDisk(str(path))

    def still_old() -> None:
        if path.read_bytes() != old:
            raise ChangedOnDisk(str(path))

    write_atomic(path, new, still_old)


@contextmanager
def output_file(path: Path) -> Iterator[BinaryIO]:
    """A binary handle whose bytes replace ``path`` once the block ends without an exception;
    on one, ``path`` is as it was (absent or untouched). A link is followed (the file it names
    is replaced); a device or pipe (``/dev/stdout``) is written directly."""
    target = Path(os.path.realpath(path))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(target, "wb") as handle:
            yield handle
        return
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
