"""Writes that lose nothing: the user's edits, the old file, or prodfix's own leftovers.

- ``replace_checked``: a file is rewritten only while it still holds the bytes the codemods
  read. It is compared when the run reaches it and again just before the rename (after the
  new text is written and synced to a temporary file), so an edit made in between is kept
  and reported instead of overwritten. A failure to write (read-only folder, disk full) is an
  ``OSError`` for the caller to report per file; the temporary file is removed.
- ``output_file``: the patch (``diff --patch``) or report (``report -o``) is written to a
  temporary file beside it and renamed into place: never a 0-byte or half-written file.
- ``remove_stale_temps``: ``write_atomic``'s temporary files left by a run that was killed
  (``kill -9``: no ``finally`` runs) are removed by the next ``fix``, and only those: files of
  exactly that naming (``.<name>.<8 random characters>.prodfix-tmp``), regular, untracked,
  untouched for ``STALE_SECONDS``, in a folder the run scans.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from prodfix.engine.writing import TEMP_SUFFIX, current_umask, replacing, write_atomic

# tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX): its random part is 8 characters
# of tempfile._RandomNameSequence's alphabet
TEMP_NAME = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))
# A live temporary file is written, synced and renamed within moments; one untouched for this
# long belongs to no running write.
STALE_SECONDS = 30.0


class ChangedOnDisk(Exception):
    """The file no longer holds the bytes the codemods read: it was left as it is."""


def replace_checked(path: Path, old: bytes, new: bytes, root: Path) -> None:
    """Rewrite ``path`` with ``new`` if it still holds ``old``, checked now and just before the
    rename. Raises ChangedOnDisk (nothing written) or OSError (nothing written either; also
    ``OutsideRoot`` for a link or a path leaving ``root``)."""
    if path.read_bytes() != old:
        raise ChangedOnDisk(str(path))

    def still_old() -> None:
        if path.read_bytes() != old:
            raise ChangedOnDisk(str(path))

    write_atomic(path, new, root, still_old)


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
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~current_umask()
    with replacing(target, mode) as handle:
        yield handle


def remove_stale_temps(folders: Iterable[Path], git_root: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove prodfix's stale temporary files in ``folders`` (see the module docstring); in a
    git work tree (``git_root``), never one git tracks. Returns what was removed; a file that
    cannot be removed is left alone."""
    now = time.time() if now is None else now
    candidates = []
    for folder in sorted(set(folders)):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith(TEMP_SUFFIX) or TEMP_NAME.fullmatch(entry.name) is None:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime >= STALE_SECONDS:
                candidates.append(Path(entry.path))
    if candidates and git_root is not None:
        tracked = _tracked(git_root, candidates)
        candidates = [path for path in candidates if path not in tracked]
    removed = []
    for path in candidates:
        try:
            os.unlink(path)
        except OSError:
            continue
        removed.append(path)
    return removed


def _tracked(root: Path, paths: list[Path]) -> set[Path]:
    """Which of ``paths`` git tracks; all of them when git cannot say (keep what is unsure)."""
    try:
        out = subprocess.run(
            ["git", "--literal-pathspecs", "ls-files", "-z", "--", *(os.path.relpath(p, root) for p in paths)],
            cwd=root, capture_output=True, check=False,
        )
    except OSError:
        return set(paths)
    if out.returncode != 0:
        return set(paths)
    listed = {(root / os.fsdecode(raw)).resolve() for raw in out.stdout.split(b"\0") if raw}
    return {p for p in paths if p.resolve() in listed}
