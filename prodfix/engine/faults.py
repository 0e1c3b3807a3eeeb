"""Where a codemod failed: the line of the source it was working on when it raised.

A codemod's internal error (an exception from its own code or from libcst) is reported with
the file's path and a line, like any other per-file error. The exception says nothing about
the source, but its traceback does: the libcst visitor frames hold the nodes being visited.
The innermost of those that is in the module gets a line from a render that stops as soon as
it reaches the node. Failing that (the render itself recursing too deep in a very nested
file), the innermost statement among them; then the first node the codemod reported on;
then line 1. Everything here runs only after a failure, and never raises.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

# Frames examined, innermost first: enough for any visitor chain, bounded for a RecursionError.
MAX_FRAMES = 4000


class _Reached(Exception):
    pass


def failure_line(exc: BaseException, module: Any, reported: list[Any] | tuple[Any, ...] = ()) -> int:
    """A 1-based line of ``module`` (libcst) the failure relates to, or 1 when none is known.
    ``reported``: nodes the failing codemod had reported on (its pending findings)."""
    try:
        import libcst as cst

        nodes = _frame_nodes(exc.__traceback__, cst)
        statements = [n for n in nodes if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement))]
        for wanted in (nodes, statements, list(reported)[:1]):
            line = _first_line(module, wanted)
            if line is not None:
                return line
    except Exception:  # noqa: BLE001 - only ever a better line; never a second failure
        pass
    return 1


def _frame_nodes(tb: TracebackType | None, cst: Any) -> list[Any]:
    """CSTNodes held by the traceback's frames (not whole modules), innermost first."""
    frames = []
    while tb is not None and len(frames) < MAX_FRAMES:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    seen: set[int] = set()
    nodes = []
    for frame in reversed(frames):
        for value in list(frame.f_locals.values()):
            if isinstance(value, cst.CSTNode) and not isinstance(value, cst.Module) and id(value) not in seen:
                seen.add(id(value))
                nodes.append(value)
    return nodes


def _first_line(module: Any, wanted: list[Any]) -> int | None:
    """The start line of the first of ``wanted`` (in their order) the render of ``module``
    reaches, or None."""
    if not wanted:
        return None
    from prodfix.engine.positions import _TrackingState

    waiting = set(wanted)
    starts: dict[Any, int] = {}

    class Tracker(_TrackingState):
        def before_codegen(self, node: Any) -> None:
            super().before_codegen(node)
            if node in waiting:
                # a statement's blank and comment lines are rendered inside it, before it
                starts[node] = self.line + len(getattr(node, "leading_lines", ()))
                waiting.discard(node)
                if not waiting:
                    raise _Reached

    try:
        module._codegen(Tracker(module, None))
    except _Reached:
        pass
    except Exception:  # noqa: BLE001 - e.g. RecursionError: the caller tries shallower nodes
        pass
    for node in wanted:
        if node in starts:
            return starts[node]
    return None
