"""Where a node starts and ends, for findings, at a fraction of PositionProvider's cost.

libcst's PositionProvider renders the module and keeps a ``CodeRange`` of two ``CodePosition``
dataclasses for every node, splitting every token with a regex: on files with findings it cost
as much as parsing them. Findings need a line, a column and (for ``# prodfix: ignore``) the
last line. This renders the module once with a codegen state that advances (line, column)
with a plain ``in`` test per token and keeps tuples, following the same rules as
PositionProvider (syntactic positions, start and end hoisted from child nodes);
``tests/test_positions.py`` compares the two on every fixture.

Given the nodes it is asked about, it stops rendering once the last of them is behind it: a
finding in the middle of a file costs half a render, one near the top almost nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import libcst as cst
from libcst._nodes.internal import CodegenState  # the base PositionProvider's state extends

_NEWLINE = re.compile(r"\r\n?|\n")


class _AllFound(Exception):
    """Raised inside the render once every node asked about has its final position."""


class _TrackingState(CodegenState):
    """Counts lines and columns instead of keeping the rendered tokens."""

    def __init__(self, module: cst.Module, wanted: set[cst.CSTNode] | None) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.line = 1
        self.column = 0
        self.starts: dict[cst.CSTNode, tuple[int, int]] = {}
        self.ends: dict[cst.CSTNode, tuple[int, int]] = {}
        self._stack: list[tuple[int, int]] = []
        self._waiting = set(wanted) if wanted is not None else None

    def _advance(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            parts = _NEWLINE.split(value)
            self.line += len(parts) - 1
            self.column = len(parts[-1])
        else:
            self.column += len(value)

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self._advance(token)

    def add_token(self, value: str) -> None:
        if not self.tokens:  # Module asks whether anything was emitted; one token says so
            self.tokens.append(value)
        self._advance(value)

    def pop_trailing_newline(self) -> None:
        pass  # only changes the rendered text's end, never a node's position

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()
        if node not in self.starts:  # a syntactic position recorded inside wins
            self.starts[node] = start
            self.ends[node] = (self.line, self.column)
        # a node's position is final once its own codegen is over (libcst records syntactic
        # positions only for the node being rendered, from its children's)
        waiting = self._waiting
        if waiting and node in waiting:
            waiting.discard(node)
            if not waiting:
                raise _AllFound

    @contextmanager
    def record_syntactic_position(
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
    ) -> Iterator[None]:
        start = (self.line, self.column)
        yield  # an _AllFound from inside ends the render here: nothing more to record
        end = (self.line, self.column)
        self.starts[node] = self.starts[start_node] if start_node is not None else start
        self.ends[node] = self.ends[end_node] if end_node is not None else end


class Positions:
    """(start line, start column 0-based, end line) of the nodes of ``module``: of every node,
    or, with ``wanted``, of those and the nodes rendered before the last of them."""

    def __init__(self, module: cst.Module, wanted: set[cst.CSTNode] | None = None) -> None:
        self.module = module
        self.wanted = frozenset(wanted) if wanted is not None else None
        state = _TrackingState(module, wanted)
        try:
            module._codegen(state)
            self.complete = True  # a node not known now is not in the module
        except _AllFound:
            self.complete = False
        self._starts = state.starts
        self._ends = state.ends

    def covers(self, nodes: list[cst.CSTNode]) -> bool:
        """Whether asking about ``nodes`` needs no new render."""
        return self.complete or all(node in self._starts for node in nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._starts

    def span(self, node: cst.CSTNode) -> tuple[int, int, int]:
        line, column = self._starts[node]
        return line, column, self._ends[node][0]
