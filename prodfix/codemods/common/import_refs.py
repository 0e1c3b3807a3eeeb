"""Referring to an imported thing the way the module already does.

``import sqlalchemy as sa`` makes ``sqlalchemy.exc.OperationalError`` reachable as
``sa.exc.OperationalError``; ``from redis import exceptions`` as ``exceptions.ConnectionError``.
When nothing reaches it, the caller imports it (``from x import Name``), under an alias when
the plain name is taken.
"""

from __future__ import annotations

from libcst.metadata import GlobalScope, ImportAssignment


class ModuleNames:
    def __init__(self, scope: GlobalScope) -> None:
        self.bound: set[str] = {a.name for a in scope.assignments}
        # local name -> the qualified names it was imported as
        self.imported: dict[str, set[str]] = {}
        for assignment in scope.assignments:
            if isinstance(assignment, ImportAssignment):
                qualified = {q.name for q in scope.get_qualified_names_for(assignment.name)}
                self.imported.setdefault(assignment.name, set()).update(qualified)

    def reference(self, qualified: str) -> str | None:
        """A dotted expression reaching ``qualified`` through existing imports, if any."""
        best: tuple[int, str] | None = None
        for local, names in sorted(self.imported.items()):
            for name in names:
                if qualified == name or qualified.startswith(name + "."):
                    candidate = local + qualified[len(name) :]
                    if best is None or len(name) > best[0]:
                        best = (len(name), candidate)
        return best[1] if best else None

    def free(self, name: str) -> bool:
        return name not in self.bound
