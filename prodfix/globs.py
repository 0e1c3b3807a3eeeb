"""Gitignore-style globs as users write them in ``exclude``, ``--exclude`` and codemod options.

A ground-floor helper: the configuration, the codemods' options and discovery all check
patterns with it, and it imports nothing from prodfix.
"""

from __future__ import annotations

import pathspec


def valid_pattern(pattern: str) -> bool:
    """Whether pathspec compiles ``pattern`` as a gitignore-style glob (it refuses ``!`` alone
    and a trailing backslash); excludes are checked with this before any file is listed."""
    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except ValueError:
        return False
    return True
