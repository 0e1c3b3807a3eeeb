"""The project root is a boundary: what a repository's own files make prodfix touch stays inside it.

prodfix runs in CI on repositories many people commit to, with a token in its environment. A
file committed as a symbolic link (``requirements.txt -> /proc/self/environ``, a ``requirements/``
folder or ``.prodfix_cache`` linked to a folder elsewhere) must not make it read outside content
into a commit, or write, append to or delete anything outside the root. So every path prodfix
reads for project facts or writes is checked here first:

- ``inside``: the path, followed through every link, lies inside the root;
- ``write_refusal``: why a path must not be replaced or written (a symbolic link itself, a link
  on the way out of the root, something other than a regular file), or None.

This module sits on the ground floor: it imports nothing from prodfix.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class OutsideRoot(OSError):
    """A write that would leave the project root or replace a symbolic link; nothing was written."""


def inside(root: Path, path: Path | str) -> bool:
    """``path`` with every symbolic link followed lies in ``root`` (itself resolved)."""
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def file_inside(root: Path, path: Path | str) -> bool:
    """A regular file (links followed) that lies inside ``root``: safe to read for project facts."""
    return inside(root, path) and os.path.isfile(path)


def write_refusal(root: Path, path: Path | str) -> str | None:
    """Why ``path`` must not be written in place, or None when it is a regular file in ``root``
    reached without leaving it. A symbolic link is never replaced: it is not a file of its own."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISLNK(mode):
        return f"is a symbolic link (to {os.readlink(path)}); links are not followed for writing"
    if not inside(root, os.path.dirname(os.path.abspath(path))):
        return f"lies outside the project root {root} (through a symbolic link on the way)"
    if mode is not None and not stat.S_ISREG(mode):
        return "is not a regular file"
    return None


def check_writable(root: Path, path: Path | str) -> None:
    reason = write_refusal(root, path)
    if reason is not None:
        raise OutsideRoot(f"{path}: {reason}; left as it is")
