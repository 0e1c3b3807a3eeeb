"""What in the user's work tree is not committed, or is in the middle of a merge: prodfix never
rewrites that by default."""

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


# what git keeps in its folder while an operation waits for the user (conflicts to resolve)
OPERATIONS = (
    ("MERGE_HEAD", "a merge"), ("CHERRY_PICK_HEAD", "a cherry-pick"), ("REVERT_HEAD", "a revert"),
    ("rebase-merge", "a rebase"), ("rebase-apply", "a rebase or git am"),
)


def merge_state(root: Path) -> tuple[str | None, list[str]]:
    """(the operation in progress, as in "a merge (MERGE_HEAD)", or None; the paths with
    unresolved conflicts, relative to the work tree's top, sorted)."""
    args = [arg for name, _ in OPERATIONS for arg in ("--git-path", name)]
    out = subprocess.run(["git", "rev-parse", *args], cwd=root, capture_output=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode(errors="replace").strip() or "git rev-parse failed")
    operation = None
    for (name, what), line in zip(OPERATIONS, out.stdout.decode(errors="surrogateescape").splitlines()):
        if os.path.lexists(os.path.join(root, line)):
            operation = f"{what} ({name})"
            break
    out = subprocess.run(["git", "ls-files", "-u", "-z"], cwd=root, capture_output=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode(errors="replace").strip() or "git ls-files failed")
    conflicted = {os.fsdecode(entry.partition(b"\t")[2]) for entry in out.stdout.split(b"\0") if b"\t" in entry}
    return operation, sorted(conflicted)
