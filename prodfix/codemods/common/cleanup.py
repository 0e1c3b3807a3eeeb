"""Cleaning up after an edit: what a codemod's change left behind that linters would flag.

- ``unbind_unused_handlers``: ``except E as e:`` whose only use of ``e`` the edit removed
  becomes ``except E:`` (F841). A handler that did not use its name before is not this edit's
  doing and stays as it is.
- ``without_noqa_codes``: a ``# noqa: T201, E501`` comment on a line the edit made compliant
  loses the codes that no longer apply (the whole comment when none is left), so that ruff's
  RUF100 (unused noqa) stays quiet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import libcst as cst

_NOQA = re.compile(r"#\s*noqa\s*:\s*(?P<codes>[A-Za-z]+[0-9]+(?:\s*[,\s]\s*[A-Za-z]+[0-9]+)*)", re.IGNORECASE)


class _Handlers(cst.CSTVisitor):
    """Whether each except handler (in document order) reads its bound name in its body."""

    def __init__(self) -> None:
        super().__init__()
        self.uses: list[bool] = []

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self.uses.append(_reads(node))


def _reads(handler: cst.ExceptHandler) -> bool:
    if handler.name is None or not isinstance(handler.name.name, cst.Name):
        return True  # nothing bound (or not a plain name): nothing to unbind
    bound = handler.name.name.value
    found = False

    class Reads(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            found = found or node.value == bound

    handler.body.visit(Reads())
    return found


def unbind_unused_handlers(before: cst.Module, after: cst.Module) -> cst.Module:
    """``except E as e:`` -> ``except E:`` where ``before`` read ``e`` in the handler and
    ``after`` does not (the edit never adds or removes handlers: they pair up in order)."""
    old, new = _Handlers(), _Handlers()
    before.visit(old)
    after.visit(new)
    if len(old.uses) != len(new.uses):
        return after
    drop = {i for i, (was, now) in enumerate(zip(old.uses, new.uses)) if was and not now}
    if not drop:
        return after

    class Unbind(cst.CSTTransformer):
        def __init__(self) -> None:
            super().__init__()
            self.index = -1

        def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
            self.index += 1
            node_index[id(node)] = self.index

        def leave_ExceptHandler(self, original: cst.ExceptHandler, updated: cst.ExceptHandler) -> cst.ExceptHandler:
            if node_index.get(id(original)) in drop and updated.name is not None:
                # `except E as e:` -> `except E:` (the space before `as` goes with it)
                return updated.with_changes(name=None)
            return updated

    node_index: dict[int, int] = {}
    return after.visit(Unbind())


def without_noqa_codes(comment: str, stale: Callable[[str], bool]) -> str | None:
    """``comment`` without the noqa codes for which ``stale(code)`` holds: the same text when
    none is, the comment without its noqa part when no code is left (None when nothing else
    was in it). A bare ``# noqa`` is left alone (it may cover anything)."""
    match = _NOQA.search(comment)
    if match is None:
        return comment
    codes = re.split(r"[\s,]+", match.group("codes").strip())
    kept = [c for c in codes if not stale(c.upper())]
    if len(kept) == len(codes):
        return comment
    if kept:
        return comment[: match.start("codes")] + ", ".join(kept) + comment[match.end("codes") :]
    rest = (comment[: match.start()] + comment[match.end() :]).strip()
    if rest in ("", "#"):
        return None
    return rest if rest.startswith("#") else "# " + rest.lstrip("# ")


def covers(code: str, rules: Iterable[str]) -> bool:
    """Whether a noqa code names one of ``rules`` (``T20`` covers T201)."""
    return any(rule.startswith(code) for rule in rules)


def trailing_without_noqa(trailing: cst.TrailingWhitespace, rules: Iterable[str]) -> cst.TrailingWhitespace:
    """A line's trailing comment without the noqa codes that covered ``rules`` (which the line
    no longer breaks)."""
    comment = trailing.comment
    if comment is None:
        return trailing
    rules = tuple(rules)
    new = without_noqa_codes(comment.value, lambda code: covers(code, rules))
    if new == comment.value:
        return trailing
    if new is None:
        return trailing.with_changes(whitespace=cst.SimpleWhitespace(""), comment=None)
    return trailing.with_changes(comment=cst.Comment(new))


def strip_stale_noqa(line: cst.SimpleStatementLine, rules: Iterable[str]) -> cst.SimpleStatementLine:
    """The statement line without the noqa codes that covered ``rules`` in its trailing comment."""
    trailing = trailing_without_noqa(line.trailing_whitespace, rules)
    return line if trailing is line.trailing_whitespace else line.with_changes(trailing_whitespace=trailing)
