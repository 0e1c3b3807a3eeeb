"""Where a module's import block is, and adding imports where isort would put them.

A name is merged into an existing ``from x import ...`` in sorted position; a new line goes into
its isort section of the first import block (future, standard library, third party, first
party, local folder: the project's known_first_party, the module index's top-level modules and
the file's own package tell first-party apart; what cannot be told is read from the groups the
file already has), in sorted position per the project's isort settings (``Sorting``), and never
under another section's heading comment (``# Django``). A section the file lacks is added in
section order, under the project's heading for it when it has one. The aim: isort / ruff
``I001`` stay quiet on the result.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import libcst as cst

from prodfix.codemods.common.call_args import append_with_commas, separator_after
from prodfix.codemods.common.style import ImportStyle

Statement = cst.SimpleStatementLine | cst.BaseCompoundStatement


def _only_small(stmt: cst.CSTNode) -> cst.BaseSmallStatement | None:
    """The single small statement of a one-statement line."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        return stmt.body[0]
    return None


def _is_docstring(stmt: cst.CSTNode) -> bool:
    small = _only_small(stmt)
    return isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString))


def _is_import_line(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _is_future(stmt: cst.CSTNode) -> bool:
    small = _only_small(stmt)
    return isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name) and small.module.value == "__future__"


def _is_guarded_import(stmt: cst.CSTNode) -> bool:
    """``try: import x`` / ``except ImportError: ...`` blocks belong to the import block."""
    if not isinstance(stmt, cst.Try):
        return False
    return all(_is_import_line(s) for s in stmt.body.body)


def import_block(body: Sequence[Statement]) -> tuple[int, int]:
    """(start, end) indices of the first import block, after the docstring and ``__future__``.

    When there is no import block, start == end == the position right after the docstring
    and ``__future__`` imports.
    """
    index = 0
    if body and _is_docstring(body[0]):
        index = 1
    while index < len(body) and _is_future(body[index]):
        index += 1
    start = index
    while index < len(body) and (_is_import_line(body[index]) or _is_guarded_import(body[index])):
        index += 1
    return start, index


def imported_module_names(stmt: cst.CSTNode) -> list[str]:
    """Names bound by plain ``import a.b`` statements on this line (``a.b``), without aliases."""
    names = []
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is None:
                        names.append(cst.helpers.get_full_name_for_node(alias.name) or "")
    return names


def first_imported_top(stmt: cst.CSTNode) -> str | None:
    """The top-level package of the first import on this line (None for relative imports)."""
    if not isinstance(stmt, cst.SimpleStatementLine) or not stmt.body:
        return None
    first = stmt.body[0]
    if isinstance(first, cst.Import):
        return (cst.helpers.get_full_name_for_node(first.names[0].name) or "").split(".")[0]
    if isinstance(first, cst.ImportFrom) and not first.relative and first.module is not None:
        return (cst.helpers.get_full_name_for_node(first.module) or "").split(".")[0]
    return None


def has_plain_import(body: Sequence[Statement], name: str, before: int) -> bool:
    return any(name in imported_module_names(stmt) for stmt in body[:before])


def _is_from_line(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.ImportFrom)


def _from_module(stmt: cst.CSTNode) -> str:
    first = stmt.body[0]  # type: ignore[attr-defined]
    return "." * len(first.relative) + (cst.helpers.get_full_name_for_node(first.module) or "")


SECTIONS = ("future", "stdlib", "thirdparty", "firstparty", "localfolder")
_RANK = {name: rank for rank, name in enumerate(SECTIONS)}

# isort's profiles, for the settings that decide where an import goes (black's changes nothing
# here). Applied over the defaults only: a setting the project spells out wins.
_PROFILES: dict[str, dict[str, object]] = {
    "google": {"force_single_line": True, "force_sort_within_sections": True, "order_by_type": False},
    "open_stack": {"force_single_line": True, "force_sort_within_sections": True},
    "plone": {"force_single_line": True, "force_sort_within_sections": True},
    "pycharm": {"force_sort_within_sections": True},
    "django": {"combine_as_imports": True},
}

# words of the heading comments projects put above each section, for when the project's own
# headings are not known: a heading that names another section is never joined
_HEADING_WORDS = {
    "future": ("future",),
    "stdlib": ("standard", "stdlib", "std lib", "built-in", "builtin", "python"),
    "thirdparty": ("third", "3rd", "external", "vendor", "librar", "dependenc", "package"),
    "firstparty": ("first", "1st", "project", "application", "app ", "internal", "own", "local"),
    "localfolder": ("local", "relative"),
}


@dataclass(frozen=True)
class Sorting:
    """What decides where an added import goes: the project's isort settings, and what is
    first-party (known_first_party, the module index's top-level modules, the file's own
    package)."""

    style: ImportStyle = field(default_factory=ImportStyle)
    modules: Any = field(default=None, compare=False)  # engine.module_index.ModuleIndex, or None
    own_package: str | None = None
    line_length: int = 88  # a from-import longer than this is wrapped, one name a line
    indent: str = "    "

    @classmethod
    def of(cls, project: Any, path: str | None = None) -> "Sorting":
        """For a file of the project (a ProjectContext and the file's repository-relative path)."""
        style = getattr(getattr(project, "style", None), "imports", None) or ImportStyle()
        modules = getattr(project, "modules", None)
        own = None
        if path and "/" in path:
            root = modules.root_of(path) if modules is not None else None
            rel = path[len(root) + 1 :] if root else path
            if root is None and rel.startswith("src/"):
                rel = rel[4:]
            first = rel.split("/")[0]
            if "/" in rel and first.isidentifier():
                own = first
        conventions = getattr(project, "style", None)
        return cls(
            effective(style), modules, own,
            getattr(conventions, "line_length", 88) or 88, getattr(conventions, "indent", "    ") or "    ",
        )

    def section(self, dotted: str, relative: bool = False) -> str | None:
        """isort's section of a module; None when it cannot be told (left to the file)."""
        if relative:
            return "localfolder"
        style = self.style
        top = dotted.split(".")[0]

        def known(names: tuple[str, ...]) -> bool:
            return any(dotted == n or dotted.startswith(n + ".") for n in names)

        if top == "__future__":
            return "future"
        if known(style.known_first_party):
            return "firstparty"
        if known(style.known_third_party):
            return "thirdparty"
        if known(style.known_local_folder):
            return "localfolder"
        if top in sys.stdlib_module_names:
            return "stdlib"
        modules = self.modules
        if modules is not None:
            if top.lower() in getattr(modules, "third_party", ()):
                return "thirdparty"
            if modules.at_a_root(top):
                return "firstparty"
        if top == self.own_package:
            return "firstparty"
        return None


def effective(style: ImportStyle) -> ImportStyle:
    """The settings with the profile's applied where the project kept the default."""
    preset = _PROFILES.get((style.profile or "").lower().replace("-", "_"), {})
    defaults = ImportStyle()
    changes = {k: v for k, v in preset.items() if getattr(style, k) == getattr(defaults, k)}
    return replace(style, **changes) if changes else style


def sorting_for(file: Any) -> Sorting:
    """The Sorting of a codemod's file (a FileContext)."""
    return Sorting.of(file.project, file.path)


@dataclass
class _Group:
    """Consecutive import lines of the block with no blank line between them: one isort section
    in a sorted file, under its heading comment (if any)."""

    indices: list[int]
    section: str | None = None
    heading: str | None = None


def _blank(line: cst.EmptyLine) -> bool:
    return line.comment is None


def _split_heading(lines: Sequence[cst.EmptyLine]) -> tuple[list[cst.EmptyLine], list[cst.EmptyLine]]:
    """(lines up to the last blank one, the comment lines right above the statement)."""
    lines = list(lines)
    last_blank = max((i for i, line in enumerate(lines) if _blank(line)), default=-1)
    return lines[: last_blank + 1], lines[last_blank + 1 :]


def _line_module(stmt: cst.CSTNode) -> tuple[str, bool, str] | None:
    """(module, relative, first imported name) of an import line; None for anything else."""
    if not _is_import_line(stmt):
        return None
    first = stmt.body[0]  # type: ignore[attr-defined]
    if isinstance(first, cst.Import):
        return cst.helpers.get_full_name_for_node(first.names[0].name) or "", False, ""
    module = cst.helpers.get_full_name_for_node(first.module) if first.module is not None else ""
    name = "*" if isinstance(first.names, cst.ImportStar) else (first.names[0].evaluated_name if first.names else "")
    return "." * len(first.relative) + (module or ""), bool(first.relative), name


def _key(plain: bool, module: str, name: str, sorting: Sorting) -> tuple:
    """isort's / ruff's order of lines within a section: plain imports before from-imports
    (unless force_sort_within_sections), by module, case-insensitively unless case_sensitive."""
    style = sorting.style
    folded = module if style.case_sensitive else module.lower()
    dots = len(module) - len(module.lstrip("."))
    rest = (-dots, folded, module, _name_key(name, style))
    return (rest[0], rest[1], 0 if plain else 1, *rest[2:]) if style.force_sort_within_sections else (0 if plain else 1, *rest)


def _stmt_key(stmt: cst.CSTNode, sorting: Sorting) -> tuple | None:
    found = _line_module(stmt)
    if found is None:
        return None
    module, _, name = found
    return _key(isinstance(stmt.body[0], cst.Import), module, name, sorting)  # type: ignore[attr-defined]


def _heading_text(lines: Sequence[cst.EmptyLine], style: ImportStyle) -> str | None:
    """The heading comment of a group (the comment line right above its first import), when it
    is one: one of the project's headings, or, when those are not known, a short title (not a
    pragma such as ``# type: ignore`` or ``# fixture-path: x.py``, nor a sentence)."""
    comments = [line.comment.value for line in lines if line.comment is not None]
    if not comments:
        return None
    text = comments[-1].lstrip("#").strip()
    if style.headings:
        return text if text in dict(style.headings).values() else None
    return None if any(c in text for c in ":=()") or len(text.split()) > 4 or not text else text


def _groups(module: cst.Module, start: int, end: int, sorting: Sorting) -> list[_Group]:
    body = module.body
    groups: list[_Group] = []
    for index in range(start, end):
        lines = body[index].leading_lines
        if index == 0:
            lines = [*module.header, *lines]
        if not groups or any(_blank(line) for line in body[index].leading_lines):
            _, heading = _split_heading(lines)
            groups.append(_Group([index], heading=_heading_text(heading, sorting.style)))
        else:
            groups[-1].indices.append(index)
    previous = -1
    for group in groups:
        known = [
            sorting.section(found[0].lstrip("."), found[1])
            for found in (_line_module(body[i]) for i in group.indices) if found is not None
        ]
        sections = [s for s in known if s is not None]
        if sections:
            # the most common; on a tie the first seen (deterministic, unlike a set's order)
            group.section = max(dict.fromkeys(sections), key=sections.count)
        elif previous < _RANK["thirdparty"]:
            group.section = sorting.style.default_section if sorting.style.default_section in _RANK else "thirdparty"
        else:
            group.section = "firstparty" if previous == _RANK["thirdparty"] else SECTIONS[previous]
        previous = max(previous, _RANK[group.section])
    return groups


def _heading_allows(heading: str | None, section: str, style: ImportStyle) -> bool:
    """Whether an import of ``section`` may join a group under ``heading``: never one that is
    another section's (isort's import_heading_*, or, when the project's are not known, a
    heading that names another section or a section of its own, such as ``# Django``)."""
    if heading is None:
        return True
    if style.headings:
        return heading == style.heading(section)
    lowered = " " + heading.lower() + " "
    return any(word in lowered for word in _HEADING_WORDS[section])


def _insert_import(
    module: cst.Module, new: cst.SimpleStatementLine, section: str, key: tuple, sorting: Sorting
) -> cst.Module:
    """Insert an import line where isort would: in sorted position in its section's group of
    the first import block, never under another section's heading; or as a new group in
    section order, under the project's heading for it when there is one."""
    body = list(module.body)
    header = list(module.header)
    start, end = import_block(body)
    style = sorting.style
    heading = style.heading(section)
    heading_lines = [cst.EmptyLine(comment=cst.Comment("# " + heading))] if heading else []
    if start == end:
        # No import block: the import goes above the code, which keeps its spacing, and
        # below a docstring with a blank line between.
        if start < len(body):
            following = body[start]
            body[start] = following.with_changes(leading_lines=following.leading_lines or [cst.EmptyLine()])
        lead = [cst.EmptyLine()] if start > 0 else []
        body.insert(start, new.with_changes(leading_lines=[*lead, *heading_lines]))
        return module.with_changes(body=body)
    groups = _groups(module, start, end, sorting)
    eligible = [g for g in groups if g.section == section and _heading_allows(g.heading, section, style)]
    # several groups of one section (ruff's lines-between-types: plain imports, a blank line,
    # then from-imports): one with lines of the new line's kind, the last that starts before it
    plain = isinstance(new.body[0], cst.Import)
    same_kind = [
        g for g in eligible
        if any(_is_import_line(body[i]) and isinstance(body[i].body[0], cst.Import) == plain for i in g.indices)  # type: ignore[attr-defined]
    ]
    eligible = same_kind or eligible
    starts = [(g, _stmt_key(body[g.indices[0]], sorting)) for g in eligible]
    target = next((g for g, first in reversed(starts) if first is not None and first <= key), None)
    target = target or (eligible[0] if eligible else None)
    if target is not None:
        lines = [i for i in target.indices if _stmt_key(body[i], sorting) is not None]
        position = next((i for i in lines if _stmt_key(body[i], sorting) > key), None)  # type: ignore[operator]
        if position is None:
            body.insert(target.indices[-1] + 1, new)
        elif position == target.indices[0]:
            # first of its group: it takes over the blank lines and the heading above
            following = body[position]
            body[position] = following.with_changes(leading_lines=[])
            body.insert(position, new.with_changes(leading_lines=following.leading_lines))
        else:
            body.insert(position, new)
        return module.with_changes(body=body)
    rank = _RANK[section]
    before = next((g for g in groups if _RANK[g.section or "thirdparty"] > rank), None)
    if before is None:
        body.insert(end, new.with_changes(leading_lines=[cst.EmptyLine(), *heading_lines]))
    elif before is groups[0]:
        # a new first section: the lines above the block stay above it; the old first
        # section keeps its own heading, one blank line below the new one
        index = before.indices[0]
        following = body[index]
        preamble, own = _split_heading(following.leading_lines)
        if index == 0 and not following.leading_lines:
            header, own = _split_heading(header)
        # comments above the block that are no heading stay there; a heading is one line
        keep = own if before.heading is None else own[:-1]
        preamble, own = [*preamble, *keep], own[len(keep) :]
        if index == 0 and not following.leading_lines:
            header, preamble = [*header, *preamble], []
        body[index] = following.with_changes(leading_lines=[cst.EmptyLine(), *own])
        body.insert(index, new.with_changes(leading_lines=[*preamble, *heading_lines]))
    else:
        body.insert(before.indices[0], new.with_changes(leading_lines=[cst.EmptyLine(), *heading_lines]))
    return module.with_changes(body=body, header=header)


def _wrapped(names: Sequence[cst.ImportAlias], indent: str) -> dict[str, Any]:
    """ImportFrom fields for ``from x import (`` one name a line, with a trailing comma ``)``:
    isort's vertical hanging indent, which black's profile and ruff write."""

    def newline(last: str) -> cst.ParenthesizedWhitespace:
        return cst.ParenthesizedWhitespace(
            first_line=cst.TrailingWhitespace(), empty_lines=[], indent=True, last_line=cst.SimpleWhitespace(last)
        )

    aliases = [
        a.with_changes(comma=cst.Comma(whitespace_after=newline(indent if i < len(names) - 1 else "")))
        for i, a in enumerate(names)
    ]
    return {
        "names": aliases,
        "lpar": cst.LeftParen(whitespace_after=newline(indent)),
        "rpar": cst.RightParen(),
    }


def _fit(module: cst.Module, stmt: cst.SimpleStatementLine, sorting: Sorting) -> cst.SimpleStatementLine:
    """A one-line from-import longer than the project's line length, wrapped as isort would."""
    small = stmt.body[0] if len(stmt.body) == 1 else None
    if (
        not isinstance(small, cst.ImportFrom)
        or isinstance(small.names, cst.ImportStar)
        or small.lpar is not None
        or len(small.names) < 2
        or stmt.trailing_whitespace.comment is not None
    ):
        return stmt
    line = module.code_for_node(stmt.with_changes(leading_lines=[])).rstrip("\r\n")
    if len(line) <= sorting.line_length:
        return stmt
    # the project's indent; with the default, the file's own (a tab-indented file stays so)
    indent = module.default_indent if sorting.indent == "    " else sorting.indent
    return stmt.with_changes(body=[small.with_changes(**_wrapped(list(small.names), indent))])


def _line_section(stmt: cst.CSTNode, sorting: Sorting) -> str | None:
    found = _line_module(stmt)
    if found is None:
        return None
    return sorting.section(found[0].lstrip("."), found[1])


def in_place(module: cst.Module, index: int, sorting: Sorting) -> bool:
    """Whether import line ``module.body[index]`` of the first import block is where isort
    would have it: in a group of its own section, between its neighbours' keys, or alone in
    a group between lower and higher sections. True for anything that cannot be told."""
    body = module.body
    start, end = import_block(body)
    stmt = body[index] if index < len(body) else None
    section = _line_section(stmt, sorting) if stmt is not None else None
    key = _stmt_key(stmt, sorting) if stmt is not None else None
    if not start <= index < end or key is None:
        return True
    groups = _groups(module, start, end, sorting)
    group = next(g for g in groups if index in g.indices)
    others = [i for i in group.indices if i != index and _stmt_key(body[i], sorting) is not None]
    if section is None and not others:
        return True
    if others:
        sections = {_line_section(body[i], sorting) for i in others} - {None}
        keys = [(i, _stmt_key(body[i], sorting)) for i in others]
        return (
            (section is None or sections <= {section})
            and all(k <= key for i, k in keys if i < index)  # type: ignore[operator]
            and all(k >= key for i, k in keys if i > index)  # type: ignore[operator]
        )
    position = groups.index(group)
    ranks = [_RANK[g.section or "thirdparty"] for g in groups]
    rank = _RANK[section]  # type: ignore[index]
    return all(r < rank for r in ranks[:position]) and all(r > rank for r in ranks[position + 1 :])


def place_import_line(module: cst.Module, index: int, sorting: Sorting) -> cst.Module:
    """Move import line ``module.body[index]`` of the first import block (one a codemod
    rewrote in place, e.g. a relative import made absolute: another section) to where isort
    would put it; a line already there stays."""
    if in_place(module, index, sorting):
        return module
    body = list(module.body)
    stmt = body[index]
    start, end = import_block(body)
    group = next(g for g in _groups(module, start, end, sorting) if index in g.indices)
    section = _line_section(stmt, sorting) or _default_section(sorting)
    key = _stmt_key(stmt, sorting)
    # take it out: the lines above it go to the line below it when that one is in its group
    # (else only their comments), then add it again
    del body[index]
    lines = list(stmt.leading_lines)
    if index < len(body) and lines:
        following = body[index]
        if index + 1 in group.indices:
            body[index] = following.with_changes(leading_lines=[*lines, *following.leading_lines])
        else:
            comments = [line for line in lines if line.comment is not None]
            body[index] = following.with_changes(leading_lines=[*following.leading_lines, *comments])
    moved = module.with_changes(body=body)
    return _insert_import(moved, stmt.with_changes(leading_lines=[]), section, key, sorting)  # type: ignore[arg-type]


def add_plain_import(module: cst.Module, name: str, sorting: Sorting | None = None) -> cst.Module:
    """Add ``import name`` to the first import block unless it is already there, where isort
    would put it (see _insert_import)."""
    sorting = sorting or Sorting()
    _, end = import_block(module.body)
    if has_plain_import(module.body, name, end):
        return module
    new = cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(name=dotted_node(name))])])
    section = sorting.section(name) or _default_section(sorting)
    return _insert_import(module, new, section, _key(True, name, "", sorting), sorting)


def _default_section(sorting: Sorting) -> str:
    return sorting.style.default_section if sorting.style.default_section in _RANK else "thirdparty"


def _imports_name(module: cst.Module, source: str, name: str, alias: str | None) -> bool:
    """A top-level ``from source import name [as alias]`` is there already."""
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if (
                    isinstance(small, cst.ImportFrom)
                    and not small.relative
                    and small.module is not None
                    and not isinstance(small.names, cst.ImportStar)
                    and cst.helpers.get_full_name_for_node(small.module) == source
                    and any(a.evaluated_name == name and (a.evaluated_alias or None) == alias for a in small.names)
                ):
                    return True
    return False


def add_from_import(
    module: cst.Module, source: str, names: list[tuple[str, str | None]], sorting: Sorting | None = None
) -> cst.Module:
    """A new ``from source import a, b as c`` line where isort would put it; one line per name
    with force_single_line, and ``as`` imports on lines of their own unless combine_as_imports."""
    sorting = sorting or Sorting()
    style = sorting.style
    wanted = [n for n in sorted(set(names), key=lambda item: _name_key(item[0], style)) if not _imports_name(module, source, *n)]
    if not wanted:
        return module
    if style.force_single_line:
        lines = [[n] for n in wanted]
    elif style.combine_as_imports:
        lines = [wanted]
    else:
        lines = [[n for n in wanted if not n[1]]] + [[n] for n in wanted if n[1]]
    section = sorting.section(source) or _default_section(sorting)
    for line in (group for group in lines if group):
        aliases = [
            cst.ImportAlias(name=cst.Name(n), asname=cst.AsName(name=cst.Name(a)) if a else None) for n, a in line
        ]
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        aliases = [a.with_changes(comma=comma) for a in aliases[:-1]] + aliases[-1:]
        new = _fit(module, cst.SimpleStatementLine(body=[cst.ImportFrom(module=dotted_node(source), names=aliases)]), sorting)
        module = _insert_import(module, new, section, _key(False, source, line[0][0], sorting), sorting)
    return module


def dotted_node(name: str) -> cst.Attribute | cst.Name:
    """``a.b.c`` as a Name/Attribute expression."""
    parts = name.split(".")
    node: cst.Attribute | cst.Name = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def _name_rank(name: str) -> tuple[int, str]:
    """isort/ruff ``order-by-type``: CONSTANTS, then Classes, then functions and variables."""
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def _name_key(name: str, style: ImportStyle) -> tuple:
    """The order of the names a from-import lists (order_by_type, case_sensitive)."""
    if style.order_by_type:
        rank, _ = _name_rank(name)
        return (rank, name if style.case_sensitive else name.lower(), name)
    return (0, name if style.case_sensitive else name.lower(), name)


def merge_from_import(
    module: cst.Module, source: str, name: str, alias: str | None = None, sorting: Sorting | None = None
) -> cst.Module | None:
    """Add ``name`` to an existing top-level ``from source import ...`` (in sorted position when
    the names are sorted). None when the module has no such import to merge into, or when the
    project's isort keeps it on a line of its own (force_single_line; an ``as`` import without
    combine_as_imports, and no ``as`` import beside those)."""
    style = (sorting or Sorting()).style
    if _imports_name(module, source, name, alias):
        return module
    if style.force_single_line:
        return None
    for index, stmt in enumerate(module.body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small_index, small in enumerate(stmt.body):
            if (
                not isinstance(small, cst.ImportFrom)
                or small.relative
                or small.module is None
                or isinstance(small.names, cst.ImportStar)
                or cst.helpers.get_full_name_for_node(small.module) != source
            ):
                continue
            names = list(small.names)
            if not style.combine_as_imports and (alias is not None or any(a.asname is not None for a in names)):
                continue
            new = cst.ImportAlias(name=cst.Name(name), asname=cst.AsName(name=cst.Name(alias)) if alias else None)
            opening = small.lpar.whitespace_after if small.lpar is not None else None
            separator = separator_after([*names, new], opening) if len(names) == 1 else separator_after(names, opening)
            keys = [_name_key(a.evaluated_name, style) for a in names]
            position = len(names)
            if keys == sorted(keys):
                position = next((i for i, k in enumerate(keys) if k > _name_key(name, style)), len(names))
            if position == len(names):
                if small.rpar is None:
                    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                updated_names = append_with_commas(names, [new], separator)
            else:
                comma = cst.Comma(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=separator)
                updated_names = [*names[:position], new.with_changes(comma=comma), *names[position:]]
            body = list(stmt.body)
            body[small_index] = small.with_changes(names=updated_names)
            statements = list(module.body)
            statements[index] = _fit(module, stmt.with_changes(body=body), sorting or Sorting())
            return module.with_changes(body=statements)
    return None


class _Uses(cst.CSTVisitor):
    """Names read outside import statements, and the words of strings and type comments (where
    a name may still be used: string annotations, doctests)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.text: list[str] = []

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.text.append(node.value)

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self.text.append(node.value)

    def visit_Comment(self, node: cst.Comment) -> None:
        if re.match(r"#\s*type:", node.value):
            self.text.append(node.value)


def names_used(module: cst.Module) -> set[str]:
    """Every name the module reads outside its import statements."""
    uses = _Uses()
    module.visit(uses)
    return uses.names


def _noqa(stmt: cst.SimpleStatementLine) -> bool:
    comment = stmt.trailing_whitespace.comment
    return comment is not None and "noqa" in comment.value.lower()


def remove_unused_imports(
    module: cst.Module,
    source: str,
    names: set[str],
    used_before: set[str] | None = None,
    path: str | None = None,
) -> cst.Module:
    """Drop top-level ``import source`` and ``from source import <names>`` bindings that nothing
    in the module uses any more (after a codemod replaced their last use). Other names on the
    same line stay; a line left empty goes, its comments with the next statement.

    Kept when unsure: a module with ``__all__`` or an ``__init__.py`` (a re-export may be
    meant), an import line with a ``# noqa`` comment, a name that was not used before the edit
    (``used_before``: that unused import is not this edit's doing), and a name still written in
    a string or comment (a string annotation, a type comment)."""
    if path is not None and path.rsplit("/", 1)[-1] == "__init__.py" and source.split(".")[0] not in sys.stdlib_module_names:
        return module  # a package may re-export what it imports (never a standard-library module)
    uses = _Uses()
    module.visit(uses)
    used = uses.names
    if "__all__" in used:
        return module  # a re-export may be meant: leave the imports alone
    words = set(re.findall(r"[A-Za-z_]\w*", " ".join(uses.text)))

    def keep(alias: cst.ImportAlias, imported: str) -> bool:
        bound = alias.evaluated_alias or imported.split(".")[0]
        return bound in used or bound in words or (used_before is not None and bound not in used_before)

    body = []
    carried: list = []
    changed = False
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and not _noqa(stmt):
            small = stmt.body[0]
            new_small = small
            if isinstance(small, cst.Import):
                kept = [a for a in small.names if (cst.helpers.get_full_name_for_node(a.name) != source) or keep(a, source)]
                new_small = small.with_changes(names=kept) if kept else None
                if kept and len(kept) != len(small.names):
                    new_small = small.with_changes(names=[*kept[:-1], kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
            elif (
                isinstance(small, cst.ImportFrom)
                and not small.relative
                and small.module is not None
                and cst.helpers.get_full_name_for_node(small.module) == source
                and not isinstance(small.names, cst.ImportStar)
            ):
                kept = [a for a in small.names if a.evaluated_name not in names or keep(a, a.evaluated_name)]
                if not kept:
                    new_small = None
                elif len(kept) != len(small.names):
                    new_small = small.with_changes(names=[*kept[:-1], kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
            if new_small is None:
                carried.extend(stmt.leading_lines)
                changed = True
                continue
            if new_small is not small:
                stmt = stmt.with_changes(body=[new_small])
                changed = True
        if carried:
            # Comments above a removed line stay; its blank lines only where none follow.
            keep_lines = carried if not stmt.leading_lines else [c for c in carried if c.comment is not None]
            stmt = stmt.with_changes(leading_lines=[*keep_lines, *stmt.leading_lines])
            carried = []
        body.append(stmt)
    return module.with_changes(body=body) if changed else module
