"""Where a module's import block is, and adding imports where isort would put them.

A name is merged into an existing ``from x import ...`` in sorted position; a new line goes into
its section of the first import block (stdlib, or everything else: first- and third-party are
not told apart here), plain imports alphabetically before the section's from-imports, so that
isort/ruff ``I001`` mostly stay quiet on the result.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import libcst as cst

from prodfix.codemods.common.call_args import append_with_commas, separator_after

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


def _insert_import(module: cst.Module, new: cst.SimpleStatementLine, top: str, goes_before) -> cst.Module:
    """Insert an import line where isort would: in its section (stdlib or not) of the first
    import block, before the first line of that section for which ``goes_before`` holds."""
    body = list(module.body)
    start, end = import_block(body)
    stdlib = sys.stdlib_module_names
    in_stdlib = top in stdlib
    section = [i for i in range(start, end) if first_imported_top(body[i]) is not None
               and (first_imported_top(body[i]) in stdlib) == in_stdlib]
    if not in_stdlib:
        section = _group_of(body, section, top)
    position = next((i for i in section if goes_before(body[i])), None)
    if position is None:
        position = section[-1] + 1 if section else (start if in_stdlib else end)
    if not section and not in_stdlib and position == end and end > start:
        new = new.with_changes(leading_lines=[cst.EmptyLine()])  # a new third-party section
    if position != start and position < len(body) and section and position == section[0] and body[position].leading_lines:
        # First in its group, after the lines of another section: it takes over the blank
        # (and comment) lines that separate the two
        new = new.with_changes(leading_lines=body[position].leading_lines)
        body[position] = body[position].with_changes(leading_lines=[])
    if position == start and position < len(body):
        following = body[position]
        if start == end:
            # No import block: the import goes above the code, which keeps its spacing, and
            # below a docstring with a blank line between.
            body[position] = following.with_changes(
                leading_lines=following.leading_lines or [cst.EmptyLine()]
            )
            if start > 0:
                new = new.with_changes(leading_lines=[cst.EmptyLine()])
        else:
            # First in the block: take over the blank/comment lines above the old first line;
            # a third-party import after it starts a new section.
            new = new.with_changes(leading_lines=following.leading_lines)
            third_party = first_imported_top(following) not in stdlib
            body[position] = following.with_changes(
                leading_lines=[cst.EmptyLine()] if third_party else []
            )
    body.insert(position, new)
    return module.with_changes(body=body)


def _group_of(body: list, section: list[int], top: str) -> list[int]:
    """The lines of the non-stdlib section the import joins. When blank lines split it into
    groups (isort's third-party, then first-party, then local), the group that already imports
    from the same package, else the first one: a new import names a third-party package
    (``tenacity``, ``sqlalchemy.exc``), which goes before the project's own modules."""
    groups: list[list[int]] = []
    for i in section:
        if not groups or i != groups[-1][-1] + 1 or any(line.comment is None for line in body[i].leading_lines):
            groups.append([i])
        else:
            groups[-1].append(i)
    if len(groups) < 2:
        return section
    same = [g for g in groups if any(first_imported_top(body[i]) == top for i in g)]
    return same[0] if same else groups[0]


def add_plain_import(module: cst.Module, name: str) -> cst.Module:
    """Add ``import name`` to the first import block unless it is already there: plain imports
    in alphabetical order, before the section's from-imports."""
    _, end = import_block(module.body)
    if has_plain_import(module.body, name, end):
        return module
    new = cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(name=dotted_node(name))])])

    def goes_before(stmt: cst.CSTNode) -> bool:
        plain = imported_module_names(stmt)
        return not plain or plain[0].lower() > name.lower()

    return _insert_import(module, new, name.split(".")[0], goes_before)


def add_from_import(module: cst.Module, source: str, names: list[tuple[str, str | None]]) -> cst.Module:
    """A new ``from source import a, b as c`` line, after the section's plain imports and in
    alphabetical order of module among its from-imports."""
    aliases = [
        cst.ImportAlias(name=cst.Name(n), asname=cst.AsName(name=cst.Name(a)) if a else None)
        for n, a in sorted(set(names), key=lambda item: _name_rank(item[0]))
    ]
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    aliases = [a.with_changes(comma=comma) for a in aliases[:-1]] + aliases[-1:]
    new = cst.SimpleStatementLine(body=[cst.ImportFrom(module=dotted_node(source), names=aliases)])

    def goes_before(stmt: cst.CSTNode) -> bool:
        return _is_from_line(stmt) and _from_module(stmt).lower() > source.lower()

    return _insert_import(module, new, source.split(".")[0], goes_before)


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


def merge_from_import(module: cst.Module, source: str, name: str, alias: str | None = None) -> cst.Module | None:
    """Add ``name`` to an existing top-level ``from source import ...`` (in sorted position when
    the names are sorted). None when the module has no such import to merge into."""
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
            if any(a.evaluated_name == name and (a.evaluated_alias or None) == alias for a in names):
                return module
            new = cst.ImportAlias(name=cst.Name(name), asname=cst.AsName(name=cst.Name(alias)) if alias else None)
            opening = small.lpar.whitespace_after if small.lpar is not None else None
            separator = separator_after([*names, new], opening) if len(names) == 1 else separator_after(names, opening)
            keys = [_name_rank(a.evaluated_name) for a in names]
            position = len(names)
            if keys == sorted(keys):
                position = next((i for i, k in enumerate(keys) if k > _name_rank(name)), len(names))
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
            statements[index] = stmt.with_changes(body=body)
            return module.with_changes(body=statements)
    return None


def remove_unused_imports(module: cst.Module, source: str, names: set[str]) -> cst.Module:
    """Drop top-level ``import source`` and ``from source import <names>`` bindings that nothing
    in the module uses any more (after a codemod replaced their last use). Other names on the
    same line stay; a line left empty goes, its comments with the next statement."""
    used: set[str] = set()

    class Uses(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            used.add(node.value)

    module.visit(Uses())
    text = module.code
    if "__all__" in text:
        return module  # a re-export may be meant: leave the imports alone

    def keep(alias: cst.ImportAlias, imported: str) -> bool:
        bound = alias.evaluated_alias or imported.split(".")[0]
        return bound in used

    body = []
    carried: list = []
    changed = False
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
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
