"""What in the user's work tree is not committed: prodfix never rewrites that by default."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def uncommitted_paths(root: Path) -> set[str]:
    """Paths (relative to the work tree's top) with staged, unstaged or untracked changes."""
    out = subprocess.run(
        ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"],
        cwd=root, capture_output=True, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode(errors="replace").strip() or "git status failed")
    paths: set[str] = set()
    entries = out.stdout.split(b"\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        status, path = entry[:2], os.fsdecode(entry[3:])
        paths.add(path)
        if status[:1] in (b"R", b"C"):  # renames and copies carry the old path next
            i += 1
    return paths
