"""Gitignore-style globs as users write them in ``exclude``, ``--exclude`` and codemod options.

A ground-floor helper: the configuration, the codemods' options and discovery all check
patterns with it, and it imports nothing from prodfix.
"""

from __future__ import annotations

import re

import pathspec

# A test module or anything under a tests/ folder, by its path relative to the root: code that
# runs under the test runner, never the application's start-up or its logging set-up.
TEST_PATH = re.compile(r"(?:^|/)(?:tests?/|tests?\.py$|test_[^/]*$|[^/]*_tests?\.py$|conftest\.py$)")


def valid_pattern(pattern: str) -> bool:
    """Whether pathspec compiles ``pattern`` as a gitignore-style glob (it refuses ``!`` alone
    and a trailing backslash); excludes are checked with this before any file is listed."""
    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except ValueError:
        return False
    return True
