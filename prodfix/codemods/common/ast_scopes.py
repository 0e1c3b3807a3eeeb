"""Scopes from Python's own ast: the part of libcst's ScopeProvider a codemod that only asks
"what does this name refer to?" needs, at a small fraction of its cost.

libcst's ScopeProvider records every assignment and access of every name with its node and
resolves them after a full visit (plus an expression-context pass): on a large module it costs
several times the parse. A codemod that needs three questions answered (the qualified names of
a called dotted name through the imports, whether a name is the builtin, which names a scope
and those around it use) gets them here from one walk of the ast the pipeline already has.

The semantics follow Python's (and libcst's): a name bound anywhere in a function is local to
it (before or after the use); class bodies are not visible from the methods in them;
``global``/``nonlocal`` send a binding to the module or the enclosing function; imports give
qualified names (``import requests as rq``: ``rq.Session`` -> ``requests.Session``; relative
ones keep their dots, ``.models.Client``, as libcst does). Lambdas and comprehensions are
scopes of their own, but a visitor is only ever told the scope of the def or class it is in.

Defs and classes appear in the same order in the ast and in libcst's tree (source order, pre
order), so a libcst visitor finds the scope of the def it enters by counting: see
:class:`ScopeCursor`.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

import libcst as cst  # only the rewrites import this module, and they import libcst anyway

from prodfix.codemods.common.ast_facts import children

BUILTINS = frozenset(dir(builtins))


@dataclass(eq=False)
class AstScope:
    kind: str  # "module", "class" or "function"
    parent: AstScope | None
    bound: set[str] = field(default_factory=set)  # names bound in this scope
    imports: dict[str, set[str]] = field(default_factory=dict)  # bound name -> what it imports
    names: set[str] = field(default_factory=set)  # names bound or read in this scope
    declared: dict[str, str] = field(default_factory=dict)  # name -> "global" / "nonlocal"
    node: ast.AST | None = None  # the def or class (None for the module and inner scopes)

    def lookup(self) -> "list[AstScope]":
        """This scope, then the ones a name used here is looked up in (class bodies skipped)."""
        chain = [self]
        scope = self.parent
        while scope is not None:
            if scope.kind != "class":
                chain.append(scope)
            scope = scope.parent
        return chain

    def binding_scope(self, name: str) -> "AstScope | None":
        """The scope whose binding ``name`` refers to here; None: unbound (a builtin or an error)."""
        for scope in self.lookup():
            if name in scope.declared:
                continue  # global/nonlocal: the binding is further out
            if name in scope.bound:
                return scope
        return None

    def qualified_names(self, dotted: str) -> set[str]:
        """What ``a.b.c`` refers to through imports: ``{"pkg.a.b.c"}`` when ``a`` is imported
        from ``pkg``; ``{"builtins.open"}`` for an unbound builtin; empty for a local name."""
        if not dotted:
            return set()
        root, _, rest = dotted.partition(".")
        scope = self.binding_scope(root)
        if scope is None:
            return {f"builtins.{dotted}"} if root in BUILTINS else set()
        tail = f".{rest}" if rest else ""
        return {target + tail for target in scope.imports.get(root, ())}

    def is_builtin(self, name: str) -> bool:
        return name in BUILTINS and self.binding_scope(name) is None

    def names_near(self) -> set[str]:
        """Names bound or read in this scope and in every scope around it (class bodies too)."""
        names: set[str] = set()
        scope: AstScope | None = self
        while scope is not None:
            names |= scope.names
            scope = scope.parent
        return names


def dotted_name(node, through_calls: bool = False) -> str | None:
    """``a.b.c`` of a libcst chain of names; None for anything else (``x[0].close``). With
    ``through_calls``, calls in the chain are looked through as libcst's qualified names do
    (``requests.Session().get`` -> ``requests.Session.get``)."""
    parts = []
    while True:
        if isinstance(node, cst.Attribute):
            parts.append(node.attr.value)
            node = node.value
        elif through_calls and isinstance(node, cst.Call):
            node = node.func
        else:
            break
    if not isinstance(node, cst.Name):
        return None
    return ".".join([node.value, *reversed(parts)])


def module_tree(tree: ast.Module | None, module: cst.Module) -> ast.Module:
    """The ast of the module a codemod received: the pipeline's (FileContext.tree), else
    parsed from the module's code."""
    return tree if tree is not None else ast.parse(module.code)


def build(tree: ast.Module) -> tuple[AstScope, list[AstScope]]:
    """The module's scope, and the scope of every def and class in source (pre) order."""
    module = AstScope("module", None)
    ordered: list[AstScope] = []
    _Builder(module, ordered).body(tree.body)
    return module, ordered


class ScopeCursor:
    """For a libcst visitor: call ``enter()`` in visit_FunctionDef and visit_ClassDef and
    ``leave()`` in their leave methods; ``current`` is then the scope of what is visited."""

    def __init__(self, built: tuple[AstScope, list[AstScope]]) -> None:
        """``built``: ``build(tree)`` (two visitors of one module can share it)."""
        module, self._ordered = built
        self._stack = [module]
        self._next = 0

    @property
    def current(self) -> AstScope:
        return self._stack[-1]

    @property
    def outer(self) -> AstScope:
        """The scope around ``current``: where a def's decorators and defaults are read."""
        return self._stack[-2] if len(self._stack) > 1 else self._stack[-1]

    def enter(self) -> None:
        scope = self._ordered[self._next] if self._next < len(self._ordered) else AstScope("function", self.current)
        self._next += 1
        self._stack.append(scope)

    def leave(self) -> None:
        self._stack.pop()

    def skip_inner(self) -> None:
        """The visitor will not descend into the current def or class: pass over the defs and
        classes inside it (they come right after it in source order)."""
        current = self.current
        while self._next < len(self._ordered) and _inside(self._ordered[self._next], current):
            self._next += 1


def _inside(scope: AstScope, outer: AstScope) -> bool:
    parent = scope.parent
    while parent is not None:
        if parent is outer:
            return True
        parent = parent.parent
    return False


class _Builder:
    def __init__(self, scope: AstScope, ordered: list[AstScope]) -> None:
        self.scope = scope
        self.ordered = ordered

    # --- bindings ---------------------------------------------------------------------------

    def bind(self, name: str, target: str | None = None) -> None:
        scope = self.scope
        declared = scope.declared.get(name)
        if declared is not None:  # global x / nonlocal x: bound where it lives
            owner = scope.parent
            while owner is not None and (owner.kind == "class" or (declared == "global" and owner.parent is not None)):
                owner = owner.parent
            if owner is not None:
                scope = owner
        scope.bound.add(name)
        self.scope.names.add(name)
        if target is not None:
            scope.imports.setdefault(name, set()).add(target)

    def target(self, node: ast.AST) -> None:
        """Names an assignment target binds (``a``, ``a, (b, *c)``); attributes and subscripts
        bind nothing but read their base."""
        if isinstance(node, ast.Name):
            self.bind(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.target(element)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        else:
            self.expr(node)

    # --- walking ----------------------------------------------------------------------------

    def body(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.stmt(statement)

    def stmt(self, node: ast.stmt) -> None:
        kind = type(node)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            for decorator in node.decorator_list:  # type: ignore[attr-defined]
                self.expr(decorator)
            self._arguments_defaults(node.args)  # type: ignore[attr-defined]
            if node.returns is not None:  # type: ignore[attr-defined]
                self.expr(node.returns)  # type: ignore[attr-defined]
            builder = self._open("function", node)
            builder._parameters(node.args)  # type: ignore[attr-defined]
            builder.body(node.body)  # type: ignore[attr-defined]
        elif kind is ast.ClassDef:
            for expression in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:  # type: ignore[attr-defined]
                self.expr(expression)
            self._open("class", node).body(node.body)  # type: ignore[attr-defined]
        elif kind is ast.Import:
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.asname:
                    self.bind(alias.asname, alias.name)
                else:
                    top = alias.name.split(".", 1)[0]
                    self.bind(top, top)
        elif kind is ast.ImportFrom:
            source = "." * node.level + (node.module or "")  # type: ignore[attr-defined]
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.name == "*":
                    continue
                joined = f"{source}.{alias.name}" if source and not source.endswith(".") else f"{source}{alias.name}"
                self.bind(alias.asname or alias.name, joined)
        elif kind is ast.Global or kind is ast.Nonlocal:
            return  # collected up front by _declarations
        else:
            self._generic(node)

    def _open(self, kind: str, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> "_Builder":
        """Bind the def or class here and start its scope (in source order)."""
        self.bind(node.name)
        inner = AstScope(kind, self.scope, node=node)
        self.ordered.append(inner)
        builder = _Builder(inner, self.ordered)
        builder._declarations(node.body)
        return builder

    def _declarations(self, statements: list[ast.stmt]) -> None:
        """``global``/``nonlocal`` anywhere in this scope's own body apply to all of it."""
        stack = list(statements)
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is ast.Global or kind is ast.Nonlocal:
                for name in node.names:  # type: ignore[attr-defined]
                    self.scope.declared[name] = "global" if kind is ast.Global else "nonlocal"
            elif kind not in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
                stack.extend(child for child in children(node) if isinstance(child, ast.stmt))

    def _parameters(self, args: ast.arguments) -> None:
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                self.bind(arg.arg)

    def _arguments_defaults(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.expr(default)
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.expr(arg.annotation)

    def _generic(self, node: ast.AST) -> None:
        """Any other statement: bind its targets, read its expressions, walk nested bodies."""
        kind = type(node)
        if kind is ast.Assign:
            for target in node.targets:  # type: ignore[attr-defined]
                self.target(target)
            self.expr(node.value)  # type: ignore[attr-defined]
            return
        if kind is ast.AugAssign or kind is ast.AnnAssign:
            self.target(node.target)  # type: ignore[attr-defined]
            for child in (getattr(node, "value", None), getattr(node, "annotation", None)):
                if child is not None:
                    self.expr(child)
            return
        if kind is ast.For or kind is ast.AsyncFor:
            self.target(node.target)  # type: ignore[attr-defined]
        elif kind is ast.With or kind is ast.AsyncWith:
            for item in node.items:  # type: ignore[attr-defined]
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
        for field_name, value in ast.iter_fields(node):
            if kind in (ast.For, ast.AsyncFor) and field_name == "target":
                continue
            if kind in (ast.With, ast.AsyncWith) and field_name == "items":
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.stmt):
                    self.stmt(child)
                elif isinstance(child, ast.ExceptHandler):
                    if child.type is not None:
                        self.expr(child.type)
                    if child.name:
                        self.bind(child.name)
                    self.body(child.body)
                elif isinstance(child, ast.match_case):
                    self.expr(child.pattern)
                    if child.guard is not None:
                        self.expr(child.guard)
                    self.body(child.body)
                elif isinstance(child, ast.AST):
                    self.expr(child)

    def expr(self, node: ast.AST) -> None:
        """Reads and bindings (walrus, match captures) in an expression. A lambda or a
        comprehension is a scope of its own, as in Python and libcst: what it binds or reads
        inside is not this scope's (a comprehension's first iterable is read here)."""
        stack = [node]
        while stack:
            sub = stack.pop()
            kind = type(sub)
            if kind is ast.Name:
                if type(sub.ctx) is ast.Store:  # type: ignore[attr-defined]
                    self.bind(sub.id)  # type: ignore[attr-defined]
                else:
                    self.scope.names.add(sub.id)  # type: ignore[attr-defined]
                continue
            if kind in _COMPREHENSIONS:
                generators = sub.generators  # type: ignore[attr-defined]
                stack.append(generators[0].iter)
                inner = _Builder(AstScope("comprehension", self.scope), self.ordered)
                for index, generator in enumerate(generators):
                    inner.target(generator.target)
                    if index:
                        inner.expr(generator.iter)
                    for condition in generator.ifs:
                        inner.expr(condition)
                for part in ("elt", "key", "value"):
                    if getattr(sub, part, None) is not None:
                        inner.expr(getattr(sub, part))
                continue
            if kind is ast.Lambda:
                self._arguments_defaults(sub.args)  # type: ignore[attr-defined]
                inner = _Builder(AstScope("function", self.scope), self.ordered)
                inner._parameters(sub.args)  # type: ignore[attr-defined]
                inner.expr(sub.body)  # type: ignore[attr-defined]
                continue
            if kind is ast.NamedExpr:  # binds in the nearest scope that is not a comprehension
                owner = self.scope
                while owner.kind == "comprehension" and owner.parent is not None:
                    owner = owner.parent
                owner.bound.add(sub.target.id)  # type: ignore[attr-defined]
                owner.names.add(sub.target.id)  # type: ignore[attr-defined]
                stack.append(sub.value)  # type: ignore[attr-defined]
                continue
            if kind is ast.MatchAs or kind is ast.MatchStar:
                if sub.name:  # type: ignore[attr-defined]
                    self.bind(sub.name)  # type: ignore[attr-defined]
            elif kind is ast.MatchMapping and sub.rest:  # type: ignore[attr-defined]
                self.bind(sub.rest)  # type: ignore[attr-defined]
            stack.extend(children(sub))


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
