"""The libcst half of fix-imports: see ``prodfix/codemods/fix_imports/__init__.py`` for the rule."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, ScopeProvider

from prodfix.codemods.base import (
    FileContext,
    Reporter,
)
from prodfix.codemods.common.imports import dotted_node, import_block, in_place, place_import_line, sorting_for
from prodfix.codemods.fix_imports import (  # the declaration: options, prefilters, constants
    FixImports,
)


def _name_of(node: cst.CSTNode | None) -> str:
    return cst.helpers.get_full_name_for_node(node) or "" if node is not None else ""


@dataclass
class _Change:
    node: cst.CSTNode  # the Import/ImportFrom to replace
    replacement: cst.CSTNode


class _Planner(cst.CSTVisitor):
    """Decides every change first (with scope information), so the rewrite is one plain pass."""

    def __init__(
        self, options, index, root: str, package: list[str], scopes: dict, reporter: Reporter, path: str,
        module: str = "", source: str = "",
    ) -> None:
        super().__init__()
        self.path = path
        self.module = module  # this file's own dotted name under its root
        self.source = source  # the whole file (the parsed tree may have left bodies out)
        # see _name_uses; parsed when first asked, False when it does not parse
        self._name_uses: tuple[list[str], dict[str, int]] | bool | None = None
        self.path_hack = False
        self.options = options
        self.index = index
        self.root = root
        self.package = package
        self.scopes = scopes
        self.reporter = reporter
        self.changes: dict[int, cst.CSTNode] = {}
        self.name_renames: dict[int, str] = {}  # id(Name node) -> new identifier
        self.chain_renames: dict[str, str] = {}  # dotted attribute chain -> new chain
        self._try_import: list[str] = []  # "body" / "handler" for try-statements catching ImportError
        self._keep: list[cst.CSTNode] = []

    # --- context ------------------------------------------------------------------------

    def visit_Try(self, node: cst.Try) -> bool:
        catches = any(
            h.type is not None and re.search(r"\b(?:ImportError|ModuleNotFoundError)\b", cst.Module([]).code_for_node(h.type))
            for h in node.handlers
        )
        if not catches:
            return True
        self._try_import.append("body")
        node.body.visit(self)
        self._try_import[-1] = "handler"
        for handler in node.handlers:
            handler.visit(self)
        self._try_import.pop()
        if node.orelse is not None:
            node.orelse.visit(self)
        if node.finalbody is not None:
            node.finalbody.visit(self)
        return False

    def visit_Call(self, node: cst.Call) -> None:
        name = _name_of(node.func)
        if self.options.report_sys_path and name in ("sys.path.insert", "sys.path.append", "sys.path.extend"):
            self.reporter.report(
                node,
                f"{name}() makes imports depend on where the code is started from; "
                "prefer one import root (PYTHONPATH or packaging) and absolute imports",
                "warning",
            )

    # --- renames ------------------------------------------------------------------------

    def _renamed_module(self, dotted: str) -> str | None:
        renames = self.options.renames
        for old in sorted(renames, key=len, reverse=True):
            if dotted == old or dotted.startswith(old + "."):
                return renames[old] + dotted[len(old) :]
        return None

    # --- imports ------------------------------------------------------------------------

    def _fix_module(self, dotted: str, node: cst.CSTNode, wanted: tuple) -> str | None:
        """The module path ``dotted`` should become, or None to leave it. ``wanted`` is what
        the statement needs of the module: ``("from", names)`` (None for a star import) or
        ``("import", bound name, dotted chain its uses start with)``."""
        renamed = self._renamed_module(dotted)
        if renamed is not None:
            if self._try_import and self._try_import[-1] == "handler":
                self.reporter.report(node, f"{dotted}: inside an ImportError fallback; rename not applied", "note")
                return None
            return renamed
        index = self.index
        # Standard library and third-party imports (declared, locked or installed) are never
        # looked at, whatever the repository holds under their names.
        if self.root is None or not index.may_be_first_party(dotted) or index.resolves(dotted, self.path):
            return None
        if self._try_import:
            self.reporter.report(node, f"{dotted} does not resolve but sits in an ImportError fallback; left alone", "note")
            return None
        where = f"root '{self.root or '.'}'"
        top = dotted.split(".")[0]
        if top in index.own_packages:
            # The project's own package keeps its name: another spelling of the path is never
            # more likely right than the one its own code uses.
            elsewhere = [r or "." for r, _ in index.votes if index.resolves_under(dotted, r)]
            if index.at_a_root(top) and not elsewhere:
                self.reporter.report(
                    node, f"{dotted} does not resolve under {where}: {top}, this project's own package, has no such module; left alone",
                    "warning",
                )
            else:  # a project of its own in a folder of the repository (a monorepo), run from there
                where_else = f" (it resolves under {', '.join(elsewhere)})" if elsewhere else ""
                self.reporter.report(node, f"{dotted}: {top} is this project's own package{where_else}; left alone", "note")
            return None
        matches = self.index.candidates(dotted)
        candidates = [c for c in matches if c != self.module]
        if not candidates and matches:
            self.reporter.report(node, f"{dotted} does not resolve under {where}; the only module it matches is this module itself; left alone", "note")
            return None
        # The importer's top-level regular package; a namespace folder (tests/) or a module at the
        # root has none, and then nothing is rewritten: too little evidence of what was meant.
        own = self.package[0] if self.package else None
        init = f"{self.root}/{own}/__init__.py" if self.root else f"{own}/__init__.py"
        own_package = own if own is not None and init in self.index.files else None
        if len(candidates) == 1 and self.path_hack:
            self.reporter.report(node, f"{dotted} does not resolve under {where}, but this module edits sys.path; left alone", "warning")
            return None
        if len(candidates) == 1 and candidates[0].split(".")[0] != own_package:
            # A match in another top-level package is more likely a third-party name (requests)
            # that happens to exist somewhere in the repository than the module meant.
            self.reporter.report(
                node,
                f"{dotted} does not resolve under {where}; the only match, {candidates[0]}, is outside "
                "this module's own package; left alone",
                "warning",
            )
            return None
        if len(candidates) == 1:
            lacking = self._lacking(candidates[0], wanted)
            if lacking is None:
                return candidates[0]
            self.reporter.report(node, f"{dotted} does not resolve under {where}; the only match, {candidates[0]}, {lacking}; left alone", "warning")
            return None
        if candidates:
            self.reporter.report(
                node, f"{dotted} does not resolve under {where}; several modules match: {', '.join(candidates)}", "warning"
            )
        elif index.at_a_root(dotted):
            self.reporter.report(node, f"{dotted} does not resolve under {where} and no module matches it", "warning")
        else:
            self.reporter.report(
                node,
                f"{dotted} does not resolve under {where}; {top} is not a top-level module of this project "
                "(only nested ones share its name) nor a declared or installed dependency; left alone",
                "note",
            )
        return None

    # --- evidence ---------------------------------------------------------------------

    def _lacking(self, module: str, wanted: tuple) -> str | None:
        """None when ``module`` provides what the import statement needs of it; else why not."""
        if wanted[0] == "from":
            names = wanted[1]
            if names is None:
                return "cannot be checked against a star import"
            submodules = True
        else:
            _, bound, chain = wanted
            names = self._attributes(bound, chain)
            if names is None:
                return f"cannot be checked: {bound} is used other than through its attributes"
            submodules = False
        known = self.index.missing_names(module, names, submodules)
        if known is None:
            return "was not examined"
        missing, dynamic = known
        if not missing:
            return None
        lacks = f"does not define {', '.join(missing)}"
        return lacks + (" (it makes names at run time, which is no evidence)" if dynamic else "")

    def _attributes(self, bound: str, chain: str) -> list[str] | None:
        """The attributes the module uses on the module ``import`` binds (``cache.get`` ->
        get; for ``import a.b`` without ``as``, ``a.b.x`` -> x), or None when the name is also
        used otherwise (passed along, assigned, compared), where they cannot be listed."""
        if self._name_uses is None:
            self._name_uses = _name_uses(self.source) or False
        if self._name_uses is False:
            return None
        uses, bindings = self._name_uses
        other_binding = chain != bound and bindings.get(bound, 0) > 1
        attributes = []
        for use in uses:
            if use != bound and not use.startswith(bound + "."):
                continue
            if use.startswith(chain + "."):
                attribute = use[len(chain) + 1 :].split(".")[0]
                if attribute not in attributes:
                    attributes.append(attribute)
            elif not other_binding:
                return None
        return attributes

    def visit_Import(self, node: cst.Import) -> None:
        if self.reporter.suppressed(node):
            return
        names = list(node.names)
        changed = False
        for i, alias in enumerate(names):
            old = _name_of(alias.name)
            bound = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else old.split(".")[0]
            new = self._fix_module(old, node, ("import", bound, bound if alias.asname is not None else old))
            if new is None or new == old:
                continue
            changed = True
            if alias.asname is None and "." not in old:
                # `import cache` binds `cache`; `import app.core.cache` would bind `app`
                parent, _, last = new.rpartition(".")
                if len(names) == 1 and last == old and self._from_form(parent, last):
                    # PLR0402 (manual-from-import) on: `from app.core import cache`
                    self.changes[id(node)] = cst.ImportFrom(
                        module=dotted_node(parent), names=[cst.ImportAlias(name=cst.Name(last))],
                        whitespace_after_import=node.whitespace_after_import,
                    )
                    self.reporter.report(node, f"import {old} -> from {parent} import {last}")
                    return
                names[i] = alias.with_changes(name=dotted_node(new), asname=cst.AsName(name=cst.Name(old)))
                self.reporter.report(node, f"import {old} -> import {new} as {old}")
                continue
            names[i] = alias.with_changes(name=dotted_node(new))
            if alias.asname is None:
                # `import a.b` binds `a`: uses spelled `a.b.x` must follow the new path.
                self.chain_renames[old] = new
            self.reporter.report(node, f"import {old} -> import {new}")
        if changed:
            self.changes[id(node)] = node.with_changes(names=names)

    def _from_form(self, parent: str, name: str) -> bool:
        """Whether ``import parent.name as name`` is written ``from parent import name``: the
        project's ruff enables PLR0402, and ``parent`` defines no ``name`` of its own (the
        from-import would bind that instead of the submodule)."""
        lint = self.reporter.file.project.lint
        if not parent or lint is None or not lint.enabled("PLR0402"):
            return False
        known = self.index.missing_names(parent, [name], submodules=False)
        if known is None:
            # a namespace package or a module not read: only a package folder with no
            # __init__.py of its own is sure to define nothing
            return self.index.module_file(parent) in self.index.dirs
        missing, dynamic = known
        return name in missing and not dynamic

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if self.reporter.suppressed(node):
            return
        level = len(node.relative)
        module = _name_of(node.module)
        if level:
            self._relative(node, level, module)
            return
        wanted = None if isinstance(node.names, cst.ImportStar) else [_name_of(a.name) for a in node.names]
        new_module = self._fix_module(module, node, ("from", wanted)) or module
        names = node.names
        if not isinstance(names, cst.ImportStar) and self.options.renames and not (
            self._try_import and self._try_import[-1] == "handler"
        ):
            names, new_module = self._rename_names(node, module, new_module)
        if new_module == module and names is node.names:
            return
        replacement = node.with_changes(module=dotted_node(new_module), names=names)
        self.changes[id(node)] = replacement
        if new_module != module:
            self.reporter.report(node, f"from {module} import ... -> from {new_module} import ...")

    def _rename_names(self, node: cst.ImportFrom, module: str, new_module: str):
        renames = self.options.renames
        names = list(node.names)  # type: ignore[arg-type]
        targets = set()
        for i, alias in enumerate(names):
            name = _name_of(alias.name)
            key = f"{module}.{name}"
            if key not in renames:
                continue
            target_module, _, target_name = renames[key].rpartition(".")
            targets.add(target_module)
            names[i] = alias.with_changes(name=cst.Name(target_name))
            if alias.asname is None and target_name != name:
                for node_id in self._uses(node, name):
                    self.name_renames[node_id] = target_name
            self.reporter.report(node, f"{key} -> {renames[key]}")
        if not targets:
            return node.names, new_module
        renamed_all = all(f"{module}.{_name_of(a.name)}" in renames for a in node.names)  # type: ignore[union-attr]
        target = targets.pop() if len(targets) == 1 else None
        if target is None or (not renamed_all and target != new_module):
            self.reporter.report(node, "renamed names move to different modules; split this import by hand", "warning")
            return node.names, new_module
        return names, target

    def _uses(self, node: cst.ImportFrom, name: str) -> list[int]:
        scope = self.scopes.get(node)
        if scope is None:
            return []
        ids = []
        for assignment in scope.assignments[name]:
            if getattr(assignment, "node", None) is node:
                for access in assignment.references:
                    if isinstance(access.node, cst.Name):
                        ids.append(id(access.node))
        return ids

    def _relative(self, node: cst.ImportFrom, level: int, module: str) -> None:
        if self.root is None:
            return
        base = self.package[: len(self.package) - (level - 1)] if level - 1 <= len(self.package) else None
        if base is None:
            self.reporter.report(node, f"relative import climbs above the repository ({'.' * level}{module})", "warning")
            return
        target = ".".join([*base, *([module] if module else [])])
        if base:  # stays inside a package: leave it, but say when it does not resolve
            if target and not self.index.resolves_under(target, self.root):
                self.reporter.report(node, f"relative import {'.' * level}{module} does not resolve", "warning")
            return
        # Climbs to the root itself: beyond the top-level package, fails at run time.
        if not module or not self.index.resolves_under(module, self.root):
            self.reporter.report(node, f"relative import {'.' * level}{module} climbs above the import root", "warning")
            return
        # It works as written where the code is imported from the folder above the root (the
        # root is a subfolder, or the repository itself a package): then the rewrite is unsafe.
        unsafe = bool(self.root) or "__init__.py" in self.index.files
        above = f"the folder above '{self.root}'" if self.root else "the folder above the repository"
        if unsafe and not self.reporter.unsafe_fix(
            node,
            f"from {'.' * level}{module} import ... -> from {module} import ...: the relative import works as "
            f"written where the code is imported as a package from {above}",
        ):
            return
        self.changes[id(node)] = node.with_changes(relative=[], module=dotted_node(module))
        self.reporter.report(
            node, f"from {'.' * level}{module} import ... climbs above the import root -> from {module} import ...",
            unsafe=unsafe,
        )


def _name_uses(source: str) -> tuple[list[str], dict[str, int]] | None:
    """Every use of a name in ``source`` as the dotted chain it starts (``cache.get(k)`` ->
    "cache.get", ``f(cache)`` -> "cache"), and how many ``import`` aliases bind each name
    (``import a.b`` and ``import a.c`` both bind a); None when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    uses = []
    bindings: dict[str, int] = {}
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Attribute):
            parts = []
            base: ast.AST = node
            while isinstance(base, ast.Attribute):
                parts.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name):
                uses.append(".".join([base.id, *reversed(parts)]))
            else:
                pending.append(base)
            continue
        if isinstance(node, ast.Name):
            uses.append(node.id)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                bindings[name] = bindings.get(name, 0) + 1
        pending.extend(ast.iter_child_nodes(node))
    return uses, bindings


class _Apply(cst.CSTTransformer):
    def __init__(self, planner: _Planner) -> None:
        super().__init__()
        self.planner = planner

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.Import | cst.ImportFrom:
        replacement = self.planner.changes.get(id(original))
        return replacement if isinstance(replacement, (cst.Import, cst.ImportFrom)) else updated  # type: ignore[return-value]

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.ImportFrom:
        replacement = self.planner.changes.get(id(original))
        return replacement if isinstance(replacement, cst.ImportFrom) else updated  # type: ignore[return-value]

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        new = self.planner.name_renames.get(id(original))
        return updated.with_changes(value=new) if new else updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if not self.planner.chain_renames:
            return updated
        name = _name_of(original)
        new = self.planner.chain_renames.get(name)
        return dotted_node(new) if new else updated


def transform(codemod: FixImports, wrapper: MetadataWrapper, file: FileContext, reporter: Reporter) -> cst.Module:
    index = file.project.modules
    root = index.root_of(file.path)  # None: no import root known, renames only
    rel = file.path[len(root) + 1 :] if root else file.path
    package = rel.split("/")[:-1]
    module = rel[:-3].replace("/", ".").removesuffix(".__init__") if rel.endswith(".py") else ""
    scopes = wrapper.resolve(ScopeProvider) if codemod.options.renames else {}
    planner = _Planner(codemod.options, index, root, package, scopes, reporter, file.path, module, file.source)
    # Imports in a module that edits sys.path are probably made to work by that edit.
    planner.path_hack = re.search(r"\bsys\.path\.(?:insert|append|extend)\s*\(", file.source) is not None
    wrapper.module.visit(planner)
    if not planner.changes and not planner.name_renames and not planner.chain_renames:
        return wrapper.module
    old = wrapper.module
    new = old.visit(_Apply(planner))
    # a rewritten import line may belong to another isort section now (`from ..shared import x`
    # -> `from shared import x`): it moves to where isort puts it
    # (only when it was in its place before: in a block that was not sorted, the line stays)
    start, end = import_block(new.body)
    sorting = sorting_for(file)
    rewritten = [
        new.body[i] for i in range(start, end)
        if len(old.body) == len(new.body) and not new.body[i].deep_equals(old.body[i]) and in_place(old, i, sorting)
    ]
    for stmt in rewritten:
        at = next((i for i, line in enumerate(new.body) if line is stmt), None)
        if at is not None:  # (a line a move gave new blank lines is in place already)
            new = place_import_line(new, at, sorting)
    return new
