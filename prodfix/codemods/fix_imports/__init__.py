"""fix-imports: first-party imports that resolve, and configured renames applied everywhere.

Why: a backend that imports itself under different roots (``from backend.app.core import db``
here, ``from core import db`` there) works on one laptop and dies with ModuleNotFoundError in
the container.

How it decides (the module index, the import root and what is third-party come from the
project context, computed once per run; ``prodfix check --explain`` shows the root vote):

- third-party and standard-library imports are never touched, nor reported: a name is
  third-party when any manifest, requirements file (with its ``-r``/``-c`` includes) or lock
  file of the repository declares it, when the environment prodfix runs in can import it, or
  when it is a standard-library module (``engine/third_party.py``), whatever the repository
  holds under that name (``shop/utils/pandas.py`` never captures ``import pandas``);
- the project's own packages keep their names (``import shop.x`` inside shop's repository: the
  manifests' ``name``/``packages``, or a package directly under the root); a folder without
  ``__init__.py`` inside a package is part of it, never an import root;
- an absolute import that does not resolve under the root is rewritten only with evidence:
  exactly one module matches it by dotted suffix (``core.settings`` -> ``app.core.settings``),
  in the importing module's own package, not the module itself, and it provides what the
  statement needs: ``from X import a, b`` needs ``a`` and ``b`` defined or re-exported there (or
  submodules of it), ``import X [as x]`` every attribute the module uses on ``x``. A module that
  makes names at run time (``__getattr__``, a star import) is no evidence. Without evidence the
  import stays and ``check`` says why, with the candidates and the missing names;
- ``renames`` (``old.module[.Name]: new.module[.Name]``) rewrite imports and, for a renamed
  name, its uses in the module; ``as`` aliases are kept;
- relative imports that resolve are left alone; ones that climb to or above the root are
  rewritten absolute.

What it leaves alone (reported): imports without evidence (above), imports inside
``try/except ImportError`` fallbacks (only renames apply there, and never inside the fallback
branch), ambiguous candidates, and
``sys.path.insert/append`` hacks (reported, not removed). Nothing is ever removed: re-exports
in ``__init__.py`` keep every name.

Unsafe fix (made only with ``--unsafe-fixes``; ``check`` lists it as a suggestion): a relative
import that climbs to the root, rewritten absolute, when the import root is a subfolder of the
repository (or the repository itself a package): as written it works where the code is imported
as a package from the folder above. Renames and the rewrites to the one matching module are safe
(the cases where an import may work as written are already left alone, above).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodfix.codemods.base import (
    Codemod,
    ProjectContext,
    Rationale,
)
from prodfix.codemods.options import dotted_renames, folders

_IMPORT_LINE = re.compile(
    r"^[ \t\f]*(?:from[ \t\f]+(\.*)([A-Za-z_][\w.]*)?[ \t\f]+import\b|import[ \t\f]+([A-Za-z_][\w.]*(?:[ \t\f]*,[ \t\f]*[A-Za-z_][\w.]*)*))",
    re.MULTILINE,
)

def _regex_imports(source: str):
    for match in _IMPORT_LINE.finditer(source):
        dots, module, plain = match.groups()
        yield len(dots or ""), ([module] if module else [n.strip() for n in plain.split(",")] if plain else [])


def _ast_imports(nodes: list[ast.Import | ast.ImportFrom]):
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            yield node.level, [node.module] if node.module else []
        else:
            yield 0, [alias.name for alias in node.names]



def _edits_sys_path(facts) -> bool:
    """A ``sys.path.insert/append/extend(...)`` call, spelled that way (what rewrite.py reports)."""
    for name, call in facts.calls:
        if name in ("insert", "append", "extend") and isinstance(call.func, ast.Attribute):  # not a bare append()
            target = call.func.value
            if isinstance(target, ast.Attribute) and target.attr == "path" and isinstance(target.value, ast.Name) and target.value.id == "sys":
                return True
    return False


class FixImports(Codemod):
    name = "fix-imports"
    code = "PF005"
    summary = "first-party imports rewritten to the module that exists; configured renames applied"
    rationale = Rationale(
        problem="First-party imports use a path that only works from one working directory or an old module name.",
        impact="The service dies at start-up with ModuleNotFoundError in the container or on another machine.",
        fix="Import every first-party module through the one import root the app runs with, and apply renames everywhere.",
        severity="high",
    )
    prefilter = re.compile(r"\bimport\b")
    needs_module_index = True

    @property
    def metadata(self) -> tuple[str, ...]:  # type: ignore[override]
        # Scope analysis finds the uses of a renamed name; without renames nothing reads it
        # (and on a large module it costs several times the parse).
        return ("scope",) if self.options.renames else ()

    @dataclass(frozen=True)
    class Options:
        roots: tuple[str, ...] = folders(())
        renames: dict[str, str] = dotted_renames({})  # noqa: RUF009 (a field with a default_factory)
        report_sys_path: bool = True

    def wants(self, source: str, path: str, project: ProjectContext | None = None) -> bool:
        return self._scan(source, path, project, _regex_imports(source), "sys.path" in source)

    def candidates(self, facts, source: str, path: str, project: ProjectContext | None = None) -> bool:
        """The same test on the real import statements (not ones quoted in strings) and real
        ``sys.path.insert/append/extend`` calls (not a mention in a comment or a string)."""
        return self._scan(source, path, project, _ast_imports(facts.imports), _edits_sys_path(facts))

    def _scan(self, source: str, path: str, project: ProjectContext | None, imports, sys_path: bool) -> bool:
        """``imports`` yields (leading dots, imported module names) for each import statement;
        ``sys_path``: the file may edit sys.path."""
        index = project.modules if project is not None else None
        if index is None:
            return False
        if self.options.renames and any(old.split(".")[0] in source for old in self.options.renames):
            return True
        root = index.root_of(path)
        if root is None:
            return False
        depth = (path[len(root) + 1 :] if root else path).count("/")  # packages above the file
        if self.options.report_sys_path and sys_path:
            return True
        for dots, names in imports:
            if dots:
                if dots - 1 >= depth:  # climbs to or above the root: rewritten absolute
                    return True
                continue
            if any(index.may_be_first_party(n) and not index.resolves(n, path) for n in names):
                return True
        return False

    def needs(self, facts, source: str, path: str, project: ProjectContext | None = None):
        """Import statements and sys.path edits; renames need every use of a name."""
        from prodfix.codemods.base import Needs

        if self.options.renames:
            return None
        return Needs(calls=frozenset({"insert", "append", "extend"}), imports=True)

    def transform(self, wrapper, file, reporter):
        # libcst is imported only once a file needs rewriting (a cached or filtered run never does)
        from prodfix.codemods.fix_imports.rewrite import transform

        return transform(self, wrapper, file, reporter)
