"""Running git for prodfix's own plumbing: hooks off, the caller's repository variables not
inherited, output redacted."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from prodfix.vcs.secrets import redact

# Set by git when it runs a hook that runs prodfix: they would point our commands at the
# user's own index or work tree instead of the temporary ones.
REPO_VARIABLES = frozenset(
    {"GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR", "GIT_PREFIX"}
)


class GitError(Exception):
    pass


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in REPO_VARIABLES}


def run_git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """A git command in ``cwd`` with hooks disabled (they are the user's, not ours to run);
    ``env`` is added to the cleaned environment. Raises GitError with git's message, redacted."""
    with tempfile.TemporaryDirectory(prefix="prodfix-nohooks-") as hooks:
        out = subprocess.run(
            ["git", "-c", f"core.hooksPath={hooks}", *args],
            cwd=cwd, env={**clean_environ(), **(env or {})}, capture_output=True, text=True, check=False,
        )
    if out.returncode != 0:
        raise GitError(redact(f"git {args[0]} failed: {(out.stderr or out.stdout).strip()}"))
    return out.stdout
