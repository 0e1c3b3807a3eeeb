"""What a name in the code refers to, from libcst's scope analysis."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import BuiltinAssignment, Scope


def qualified_names(scope: Scope | None, node: cst.CSTNode) -> set[str]:
    """Dotted names ``node`` may refer to (``requests.get`` for ``r.get`` after
    ``import requests as r``); empty when the node has no scope."""
    if scope is None:
        return set()
    return {q.name for q in scope.get_qualified_names_for(node)}


def is_builtin(scope: Scope, name: str) -> bool:
    """``name`` means the builtin here: nothing in this scope or around it rebinds it."""
    assignments = scope[name]
    return bool(assignments) and all(isinstance(a, BuiltinAssignment) for a in assignments)
