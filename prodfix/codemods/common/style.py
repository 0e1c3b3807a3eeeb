"""The project's own code conventions, as read from its formatter, import sorter and linters.

A value type on the ground floor: the engine reads it once per run (engine/conventions.py) and
hands it to every codemod through ``ProjectContext.style``; the layout pass that keeps changed
lines within the project's limits (engine/layout.py) reads it too. Every field has the value
the tools themselves default to, so ``Style()`` is "a project that configures nothing".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Quote = Literal["double", "single"]
Formatter = Literal["black", "ruff"]


@dataclass(frozen=True)
class ImportStyle:
    """isort's settings (``[tool.isort]``, ``.isort.cfg``, ``setup.cfg``, ``tox.ini``) or ruff's
    ``[tool.ruff.lint.isort]``, whichever the project uses; names as isort spells them."""

    profile: str | None = None
    known_first_party: tuple[str, ...] = ()
    known_third_party: tuple[str, ...] = ()
    known_local_folder: tuple[str, ...] = ()
    force_sort_within_sections: bool = False
    force_single_line: bool = False
    lines_after_imports: int = -1  # -1: isort's default (2 before a class or def, else 1)
    combine_as_imports: bool = False
    order_by_type: bool = True
    case_sensitive: bool = False
    # section -> heading comment, e.g. {"stdlib": "Standard Library", "thirdparty": "Django"}
    headings: tuple[tuple[str, str], ...] = ()
    default_section: str = "thirdparty"

    def heading(self, section: str) -> str | None:
        return dict(self.headings).get(section)


@dataclass(frozen=True)
class Style:
    line_length: int = 88
    quote: Quote | None = None  # None: the project enforces none; follow the file being edited
    formatter: Formatter | None = None  # the formatter the project runs (black or ruff format)
    magic_trailing_comma: bool = True  # black/ruff: a trailing comma keeps a bracket exploded
    # a split bracket always ends with a comma, one item per line (ruff's COM812 is selected)
    split_commas: bool = False
    indent: str = "    "
    imports: ImportStyle = field(default_factory=ImportStyle)
    # the formatter's target versions as black spells them ("py38"); () lets black infer them
    target_versions: tuple[str, ...] = ()
    # the oldest Python the project supports, (3, 11): black's / ruff's target version, else
    # [project] requires-python; None when nothing says (what a codemod may write, e.g. typing.Self)
    min_python: tuple[int, int] | None = None
    # (what, where it was read) for `prodfix config`, e.g. ("line length 119", "pyproject.toml [tool.black]")
    sources: tuple[tuple[str, str], ...] = ()
