"""The libcst half of close-resources: see ``prodfix/codemods/close_resources/__init__.py`` for the rule."""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper

from prodfix.codemods.base import FileContext, Reporter
from prodfix.codemods.close_resources import (  # the declaration: options, prefilters, constants
    CLOSABLES,
    DATA_ATTRIBUTES,
    DATA_METHODS,
    EAGER_CONSUMERS,
    FILE_LABELS,
    FILE_OPENER_NAMES,
    FRESH_NAMES,
    OPENER_NAMES,
    STREAMED,
    STREAMED_NAMES,
    CloseResources,
)
from prodfix.codemods.common.ast_facts import import_aliases, walk
from prodfix.codemods.common.ast_scopes import ScopeCursor, build, dotted_name, module_tree
from prodfix.codemods.common.cleanup import trailing_without_noqa
from prodfix.codemods.common.quotes import DOUBLE, predominant_quote, string_literal
from prodfix.codemods.common.closable_classes import class_modes, closed_attributes, inherited_protocol

# Never closed, these get a with block as a safe fix: closing only flushes or finalizes them.
# Anything else the code never closes (a client, socket, executor, a temporary file, which its
# close deletes) is an unsafe fix: the close changes when it ends.
# A streamed response closed after its last use (and that of what is taken from it) only returns
# its connection to the pool.
CLOSE_IS_SAFE = frozenset(
    {label for label in FILE_LABELS if not label.startswith("tempfile.")} | {"zipfile.ZipFile"} | STREAMED
)

# qualified constructor -> (mode, close method); mode "sync" or "async"
# Functions that consume a file completely before returning (safe to pass the handle to).


@dataclass(frozen=True)
class _Closable:
    mode: str  # "sync", "async" or "closing"
    close: str  # method name that closes it
    label: str


# --- rule 5: classes that own a closable ------------------------------------------------------


class _Classes:
    """This module's classes with (or due to gain) the protocol; the heuristic is shared with the
    repository-wide scan in codemods/common/closable_classes.py."""

    def __init__(self, tree: ast.Module) -> None:
        modes = class_modes(tree)
        self.protocol = {name: mode for name, (mode, _) in modes.items()}
        self.aliases = import_aliases([n for n in walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))])
        self.to_extend = {name: (mode, close) for name, (mode, close) in modes.items() if close is not None}
        self.closes = closed_attributes(tree) if modes else {}
        self.inherits = inherited_protocol(tree)


def _protocol_methods(mode: str, close: str, annotated_as: str | None = None) -> list[cst.FunctionDef]:
    """The methods that make a class a context manager. ``annotated_as``: the return annotation
    of ``__enter__`` when the class annotates its methods (a project that type-checks its defs,
    mypy's disallow_untyped_defs, would reject untyped ones), else None."""
    enter, exit_ = ("async def __aenter__", "async def __aexit__") if mode == "async" else ("def __enter__", "def __exit__")
    call = f"await self.{close}()" if mode == "async" else f"self.{close}()"
    if annotated_as is None:
        source = f"{enter}(self):\n    return self\n\n{exit_}(self, exc_type, exc, tb):\n    {call}\n"
    else:
        source = (
            f"{enter}(self) -> {annotated_as}:\n    return self\n\n"
            f"{exit_}(self, *exc_info: object) -> None:\n    {call}\n"
        )
    methods = list(cst.parse_module(source).body)
    return [m.with_changes(leading_lines=[cst.EmptyLine(indent=False)]) for m in methods]  # type: ignore[misc]


def _annotation_for(cls: cst.ClassDef, source: str) -> str | None:
    """How ``__enter__`` names the class's type when the class annotates its methods' returns:
    bare under ``from __future__ import annotations``, else a string; None when it does not."""
    defs = [s for s in cls.body.body if isinstance(s, cst.FunctionDef)]  # type: ignore[union-attr]
    if not any(d.returns is not None for d in defs):
        return None
    name = cls.name.value
    if re.search(r"^from __future__ import [^\n]*\bannotations\b", source, re.MULTILINE):
        return name
    return string_literal(name, predominant_quote(source) or DOUBLE)


# --- the rewrite ------------------------------------------------------------------------------


# A try/finally that already closes is turned into a with only when its body (handlers and
# else included) is this short; past it, the with is an unsafe fix (rule 8).
SHORT_TRY_LINES = 5


def _try_lines(try_stmt: cst.Try) -> int:
    """Lines of a try's body statements, handlers (their ``except`` lines too) and else."""
    code = cst.Module([]).code_for_node
    parts = [*try_stmt.body.body, *try_stmt.handlers, *([try_stmt.orelse] if try_stmt.orelse else [])]  # type: ignore[union-attr]
    return sum(code(part).count("\n") for part in parts)
# ruff's rule an opened file outside a with breaks: its `# noqa` is stale once it is in one
CONTEXT_RULES = ("SIM115",)


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Uses(cst.CSTVisitor):
    """How a name is used in some statements: used at all, escapes (and why), rebound."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.used = False
        self.escape: str | None = None
        self.rebound = False
        self._allowed: set[int] = set()
        self._nested = 0

    def _mark(self, reason: str) -> None:
        if self.escape is None:
            self.escape = reason

    def _is_name(self, node: cst.CSTNode | None) -> bool:
        return isinstance(node, cst.Name) and node.value == self.name

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._nested += 1

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._nested -= 1

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._nested += 1

    def leave_Lambda(self, node: cst.Lambda) -> None:
        self._nested -= 1

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._nested += 1

    def leave_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._nested -= 1

    def visit_Global(self, node: cst.Global) -> None:
        if any(n.name.value == self.name for n in node.names):
            self._mark("declared global")

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        if any(n.name.value == self.name for n in node.names):
            self._mark("declared nonlocal")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Attribute):
            self._allowed.add(id(node.value))  # x.client.get(...): a chain, not a bound method
        if self._is_name(node.value):
            self._allowed.add(id(node.value))
            if id(node) not in self._allowed and node.attr.value not in DATA_ATTRIBUTES:
                self._mark(f"has its method .{node.attr.value} passed on uncalled (it may outlive the block)")

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if isinstance(node.value, cst.Attribute) or self._is_name(node.value):
            self._allowed.add(id(node.value))  # shelf["k"]: an item read from it or written to it

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute):
            self._allowed.add(id(node.func))
        callee = cst.helpers.get_full_name_for_node(node.func) or ""
        for arg in node.args:
            if (
                callee in EAGER_CONSUMERS
                and isinstance(arg.value, cst.Attribute)
                and self._is_name(arg.value.value)
                and arg.value.attr.value == "raw"
            ):
                self._allowed.add(id(arg.value))  # shutil.copyfileobj(r.raw, out): read to the end here
                continue
            if not self._is_name(arg.value):
                continue
            if callee in EAGER_CONSUMERS or (callee == "print" and arg.keyword is not None and arg.keyword.value == "file"):
                self._allowed.add(id(arg.value))
            elif callee in ("next", "len"):
                self._allowed.add(id(arg.value))

    def visit_For(self, node: cst.For) -> None:
        if self._is_name(node.iter):
            self._allowed.add(id(node.iter))
        self._target(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        if self._is_name(node.iter) and not self._nested:
            self._allowed.add(id(node.iter))
        self._target(node.target)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._target(node.name)

    def _target(self, target: cst.CSTNode) -> None:
        if self._is_name(target):
            self.rebound = True
            self._allowed.add(id(target))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value)

    def visit_Return(self, node: cst.Return) -> None:
        self._hands_out(node.value)

    def visit_Yield(self, node: cst.Yield) -> None:
        self._hands_out(node.value)

    def _hands_out(self, value: cst.BaseExpression | None) -> None:
        """``return con.cursor()``: what a method made, not data read, may need it open."""
        if isinstance(value, cst.Await):
            value = value.expression
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and self._is_name(value.func.value)
            and value.func.attr.value not in DATA_METHODS
        ):
            self._mark(f"hands out what its .{value.func.attr.value}() made (it may need {self.name} open)")

    def visit_Del(self, node: cst.Del) -> None:
        if self._is_name(node.target):
            self._mark("deleted")

    def visit_Name(self, node: cst.Name) -> None:
        if node.value != self.name:
            return
        self.used = True
        if self._nested:
            self._mark("used inside a nested function, lambda or generator (it may outlive the block)")
        elif id(node) not in self._allowed:
            self._mark("escapes (returned, yielded, stored or passed on)")


def _count_names(nodes: list[cst.CSTNode]) -> Counter:
    counts: Counter = Counter()

    class Count(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            counts[node.value] += 1

    for node in nodes:
        node.visit(Count())
    return counts


def _name_assignment(stmt: cst.CSTNode) -> cst.Assign | None:
    """``stmt`` when it is a line of its own binding one plain name: ``x = <value>``."""
    small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        return small
    return None


def _taken_from(name: str, statements: list[cst.CSTNode]) -> list[str]:
    """Names bound, in these statements at their own level, to what a method of ``name`` (or of
    a name taken from it) returns, data reads aside: ``cur = con.cursor()``, ``rows =
    cur.execute(q)``, ``resp = session.get(url)``."""
    sources, found = {name}, []
    for stmt in statements:
        small = _name_assignment(stmt)
        if small is None:
            continue
        value = small.value
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and isinstance(value.func.value, cst.Name)
            and value.func.value.value in sources
            and value.func.attr.value not in DATA_METHODS
        ):
            target = small.targets[0].target.value
            if target not in sources:
                sources.add(target)
                found.append(target)
    return found


def _uses(name: str, statements: list[cst.CSTNode]) -> _Uses:
    visitor = _Uses(name)
    for stmt in statements:
        stmt.visit(visitor)
    return visitor


def _close_call(stmt: cst.CSTNode, name: str, method: str) -> bool:
    """``name.method()`` or ``await name.method()`` as a whole statement."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    expr = stmt.body[0]
    if not isinstance(expr, cst.Expr):
        return False
    value = expr.value
    if isinstance(value, cst.Await):
        value = value.expression
    methods = {method, "close", "aclose"} if method != "shutdown" else {"shutdown"}
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and isinstance(value.func.value, cst.Name)
        and value.func.value.value == name
        and value.func.attr.value in methods
        and (method != "shutdown" or not value.args)
    )


def _without_blank_lead(stmt: cst.CSTNode) -> cst.CSTNode:
    """``stmt`` without the blank lines above it (it now opens a block); comments stay."""
    lines = list(getattr(stmt, "leading_lines", ()))
    while lines and lines[0].comment is None:
        lines.pop(0)
    return stmt.with_changes(leading_lines=lines) if hasattr(stmt, "leading_lines") else stmt


# The project's own linter told to accept an unmanaged handle here (pylint's consider-using-with;
# on its own line, a pylint disable holds to the end of the block).
_SILENCED = re.compile(r"#.*\b(?:pylint:\s*disable\s*=.*\b(?:consider-using-with|R1732)\b)")


def _silenced(stmt: cst.CSTNode, before: list) -> bool:
    """Is the linter rule silenced on ``stmt`` or by a comment line above it in its block?"""
    if _SILENCED.search(cst.Module([]).code_for_node(stmt)):
        return True
    return any(
        line.comment is not None and _SILENCED.search(line.comment.value)
        for node in before if node is not None
        for line in getattr(node, "leading_lines", ())
    )


def _streams(call: cst.Call) -> bool:
    """``stream=True`` among the call's keywords."""
    return any(
        a.keyword is not None and a.keyword.value == "stream" and isinstance(a.value, cst.Name) and a.value.value == "True"
        for a in call.args
    )


def _is_pytest_fixture(function: cst.FunctionDef) -> bool:
    """``@pytest.fixture`` / ``@fixture(...)`` / ``@pytest_asyncio.fixture``."""
    for decorator in function.decorators:
        target = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        name = cst.helpers.get_full_name_for_node(target) or ""
        if name == "fixture" or name.endswith(".fixture"):
            return True
    return False


def _yields_name(stmt: cst.CSTNode, name: str) -> bool:
    """``yield name`` as a whole statement."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Expr):
        return False
    value = stmt.body[0].value
    return isinstance(value, cst.Yield) and isinstance(value.value, cst.Name) and value.value.value == name


def _mentions_close(stmt: cst.CSTNode, name: str) -> bool:
    text = cst.Module([]).code_for_node(stmt)
    return re.search(rf"\b{re.escape(name)}\.(?:a?close|shutdown)\s*\(", text) is not None


class _Rewriter(cst.CSTTransformer):
    def __init__(
        self, scopes: ScopeCursor, reporter: Reporter, classes: _Classes, source: str, project_classes: dict, lint=None,
        min_python: tuple[int, int] | None = None,
    ) -> None:
        super().__init__()
        self.scopes = scopes
        self.reporter = reporter
        self.classes = classes
        self.project_classes = project_classes
        self._source = source
        self._lint = lint  # the project's ruff rules (engine.project_tools.LintRules), or None
        self._min_python = min_python  # the oldest Python the project supports (Style.min_python)
        self.needs_self = False  # typing.Self is written (and imported)
        # Only a call by one of these names can be closable (see _closable): an opener's name,
        # a class here with the protocol, a repository class that closes, or a local alias an
        # import binds (``from requests import Session as S``). A def calling none of them is
        # neither changed nor reported on, so it is not visited at all.
        self._names = {
            *OPENER_NAMES, *classes.protocol, *(q.rpartition(".")[2] for q in project_classes), *classes.aliases,
            *(STREAMED_NAMES if "stream=True" in source else ()),
        }
        self.changed = False
        self.needs_contextlib = False
        self._functions: list[cst.FunctionDef] = []
        self._flag_cache: dict[int, tuple[bool, bool]] = {}
        self._class_depth = 0
        self._name_counts: dict[int, Counter] = {}
        self._converted: set[int] = set()  # ids of constructor calls now inside a with
        self._reported: set[int] = set()  # ids of statements already reported as left alone
        self.openers: list[cst.Call] = []  # every file-opener call outside a with item
        self._managed: set[int] = set()
        self._function_of: dict[int, cst.FunctionDef] = {}

    # --- where we are ---------------------------------------------------------------------

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self._managed.add(id(node.item))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        if last == "close" and isinstance(func.value, cst.Call):  # type: ignore[union-attr]
            self._managed.add(id(func.value))  # type: ignore[union-attr]  # open(p, "w").close(): the touch idiom
        if last in FILE_OPENER_NAMES and id(node) not in self._managed:
            closable = self._closable(node)
            if closable is not None and closable.label in FILE_LABELS:
                self.openers.append(node)
                if self._functions:
                    self._function_of[id(node)] = self._functions[-1]

    def report_unmanaged(self) -> None:
        """Every file opened outside a with that was neither converted nor explained (SIM115)."""
        for call in self.openers:
            if id(call) in self._converted or id(call) in self._reported or self.reporter.suppressed(call):
                continue
            function = self._function_of.get(id(call))
            if function is None:
                where = "at module level"
            elif self._flags(function)[0]:
                where = "in a dependency generator (yield inside try/finally is its lifecycle)"
            elif self._flags(function)[1]:
                where = "in a function that manages resources with ExitStack"
            else:
                where = "in a shape this codemod does not rewrite"
            label = self._closable(call).label  # type: ignore[union-attr]
            self.reporter.report(call, f"{label}() without a context manager {where}; left alone", "warning")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._functions.append(node)
        self.scopes.enter()
        definition = self.scopes.current.node
        self._flag_cache[id(node)] = _function_flags(definition)
        if definition is not None and not _calls_any(definition, self._names):
            self.scopes.skip_inner()
            return False
        return True

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self._functions.pop()
        self.scopes.leave()
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._class_depth += 1
        self.scopes.enter()

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._class_depth -= 1
        self.scopes.leave()
        top_level = self._class_depth == 0 and not self._functions
        extend = self.classes.to_extend.get(original.name.value) if top_level else None
        base = self.classes.inherits.get(original.name.value) if top_level else None
        if base is not None and not self.reporter.suppressed(original.name):
            self.reporter.report(
                original,
                f"class {original.name.value} owns a client and has close(), but {base} may already give it "
                "__enter__/__exit__ (added ones would override them); left alone",
                "warning",
            )
        if extend is None or self.reporter.suppressed(original.name):
            return updated
        mode, close = extend
        annotation = _annotation_for(original, self._source)
        if annotation is not None and re.search(r"^from typing(?:_extensions)? import [^\n]*\bSelf\b", self._source, re.MULTILINE):
            annotation = "Self"
        elif annotation is not None and self._min_python is not None and self._min_python >= (3, 11):
            annotation = "Self"  # what ruff's PYI034 asks for; typing has it from 3.11
            self.needs_self = True
        elif annotation is not None and self._lint is not None and self._lint.enabled("PYI034"):
            self.reporter.report(
                original,
                f"class {original.name.value} owns a client and has {close}(), but lacks the context-manager "
                "methods; the project's PYI034 wants them to return typing.Self, which this module does not import: "
                "add them yourself",
                "warning",
            )
            return updated
        body = list(updated.body.body)  # type: ignore[union-attr]
        at = next(
            (i + 1 for i, s in enumerate(body) if isinstance(s, cst.FunctionDef) and s.name.value == close),
            len(body),
        )
        body[at:at] = _protocol_methods(mode, close, annotation)
        self.changed = True
        pair = "__aenter__/__aexit__" if mode == "async" else "__enter__/__exit__"
        self.reporter.report(original, f"class {original.name.value} owns a client and has {close}(): added {pair}")
        return updated.with_changes(body=updated.body.with_changes(body=body))

    def _names_near(self) -> set[str]:
        """Names bound or read in the scope being visited and in every scope around it."""
        return self.scopes.current.names_near()

    def _check_not_used_elsewhere(self, name: str, block_part: list, where: str) -> None:
        """The name must not appear in the function outside this block's statements from the
        assignment on (e.g. returned after an enclosing try): otherwise it escapes the block."""
        function = self._functions[-1]
        if id(function) not in self._name_counts:
            self._name_counts[id(function)] = _count_names([function.body])
        if self._name_counts[id(function)][name] > _count_names(block_part)[name]:
            raise _Skip(f"{where}: {name} is also used outside this block; left alone")

    def _in_function(self) -> bool:
        return bool(self._functions)

    def _async_function(self) -> bool:
        return bool(self._functions) and self._functions[-1].asynchronous is not None

    # --- what is a closable -----------------------------------------------------------------

    def _closable(self, call: cst.BaseExpression) -> _Closable | None:
        if not isinstance(call, cst.Call):
            return None
        dotted = dotted_name(call.func, through_calls=True)  # Path(p).open -> Path.open
        names = self.scopes.current.qualified_names(dotted) if dotted is not None else set()
        for name in sorted(names):
            if name in CLOSABLES:
                mode, close = CLOSABLES[name]
                return _Closable(mode, close, name.replace("builtins.", ""))
            if name in STREAMED and _streams(call):
                return _Closable("sync", "close", name)
        if isinstance(call.func, cst.Name) and call.func.value in self.classes.protocol:
            mode = self.classes.protocol[call.func.value]
            return _Closable(mode, "aclose" if mode == "async" else "close", call.func.value)
        for name in sorted(names):
            if name in self.project_classes:  # a class elsewhere in the repository
                mode = self.project_classes[name]
                return _Closable(mode, "aclose" if mode == "async" else "close", name.rpartition(".")[2])
        return None

    # --- blocks -----------------------------------------------------------------------------

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        if not self._in_function() or self._flags(self._functions[-1])[0]:
            return updated
        body = self._rewrite_block(list(original.body), list(updated.body))
        if body is None:
            return updated
        return updated.with_changes(body=body)

    def _flags(self, function: cst.FunctionDef) -> tuple[bool, bool]:
        """(a dependency generator: yield inside try/finally is the lifecycle, uses ExitStack)."""
        return self._flag_cache[id(function)]

    def _rewrite_block(self, originals: list, statements: list) -> list | None:
        """Rewrite resources in one block; ``originals`` are the unmodified nodes (None for new ones)."""
        originals, statements = list(originals), list(statements)
        changed = False
        i = 0
        while i < len(statements):
            original = originals[i]
            result = None
            if original is not None and _silenced(original, originals[:i]):
                self._explain_silenced(original)
            elif original is not None:
                try:
                    result = self._try_at(original, originals, statements, i)
                except _Skip as skip:
                    self.reporter.report(original, skip.reason, "warning")
                    value = getattr(original.body[0], "value", None) if isinstance(original, cst.SimpleStatementLine) else None
                    self._reported.add(id(value))
            if result is None:
                i += 1
                continue
            replacement, consumed, drop = result
            if drop is not None:
                del statements[drop], originals[drop]
            if isinstance(replacement, list):  # the statement itself kept, new ones after it
                statements[i : i + consumed] = replacement
                originals[i : i + consumed] = [originals[i], *[None] * (len(replacement) - 1)]
                i += len(replacement)
            else:
                statements[i : i + consumed] = [replacement]
                originals[i : i + consumed] = [None]
                i += 1
            changed = True
        if changed:
            self.changed = True
            return statements
        return None

    def _try_at(self, original: cst.CSTNode, originals: list, statements: list, i: int):
        inline = self._inline(original)
        if inline is not None:
            return inline, 1, None
        assign = _name_assignment(original)
        if assign is None:
            return None
        closable = self._closable(assign.value)
        if closable is None:
            return None
        if self.reporter.suppressed(original):
            return None
        name = assign.targets[0].target.value
        where = f"{name} = {closable.label}(...)"
        if closable.mode == "async" and not self._async_function():
            raise _Skip(f"{where}: an async client outside async def; close it with await")
        if self._flags(self._functions[-1])[1]:
            raise _Skip(f"{where}: this function manages resources with ExitStack; left alone")
        rest = statements[i + 1 :]
        # Rule 9: a generator that yields it; the close after the yield goes in a finally.
        generated = self._yielded(original, originals, statements, i, closable, name, where)
        if generated is not None:
            return generated
        if closable.mode.endswith("factory"):
            return None  # a session factory's sessions: only rule 9 (no with before SQLAlchemy 1.4)
        # Rule 2: try/finally that closes it.
        if rest and isinstance(rest[0], cst.Try) and rest[0].finalbody is not None:
            final = list(rest[0].finalbody.body.body)  # type: ignore[union-attr]
            closes = [k for k, s in enumerate(final) if _close_call(s, name, closable.close)]
            if closes:
                wrapped = self._wrap_try(original, closable, name, rest[0], final, closes[0], rest[1:], where)
                return None if wrapped is None else (wrapped, 2, None)
        # Rule 1: a close later in the same block, or none at all.
        close_at = next((k for k, s in enumerate(rest) if _close_call(s, name, closable.close)), None)
        region = rest if close_at is None else rest[:close_at]
        after = [] if close_at is None else rest[close_at + 1 :]
        if any(_mentions_close(s, name) for s in region):
            raise _Skip(f"{where}: closed inside a condition, loop or try; left alone")
        uses = _uses(name, region)
        if uses.escape:
            raise _Skip(f"{where}: {name} {uses.escape}; left alone")
        if uses.rebound:
            raise _Skip(f"{where}: {name} is rebound before it is closed; left alone")
        later = _uses(name, after)
        if later.used:
            raise _Skip(f"{where}: {name} is used after it is closed; left alone")
        self._check_not_used_elsewhere(name, statements[i:], where)
        # Closed later: everything up to the close goes inside. Never closed: up to the last use
        # of it or of an object taken from it (`cur = con.cursor()`: the cursor needs `con` open).
        if close_at is None:
            tracked = [name, *_taken_from(name, region)]
            for other in tracked[1:]:
                escape = _uses(other, region).escape
                if escape:
                    raise _Skip(f"{where}: {other}, taken from {name}, {escape}; left alone")
            last = max((k for k, s in enumerate(region) if any(_count_names([s])[t] for t in tracked)), default=-1)
        else:
            last = len(region) - 1
        inside = region[: last + 1]
        # A client, socket, executor or connection the code never closes (not even what its own
        # exit closes, svc.client.close()): the with block adds a close (an executor's shutdown
        # waits for its tasks) where work may still be using it.
        unsafe = (
            close_at is None and closable.label not in CLOSE_IS_SAFE
            and not (inside and self._closed_by_exit(inside[-1], name, closable))
        )
        if unsafe and not self.reporter.unsafe_fix(
            original,
            f"{where}: never closed; a with block would close it after its last use here, which changes "
            "when it ends (an executor's shutdown waits for its tasks, a session closes the connections "
            "a response may still be read from)",
        ):
            return None
        # Resources opened inside the new block are handled now, so that a second run finds nothing.
        inside = self._rewrite_block(originals[i + 1 : i + 2 + last], inside) or inside
        if inside and self._closed_by_exit(inside[-1], name, closable):
            inside = inside[:-1]  # svc.client.close(): Service's own exit closes it now
        with_stmt = self._with(original, closable, name, inside or [cst.SimpleStatementLine([cst.Pass()])])
        self._converted.add(id(assign.value))
        self.reporter.report(
            original, f"{where}: now closed by {'async with' if closable.mode == 'async' else 'with'}", unsafe=unsafe
        )
        drop = None if close_at is None else i + 1 + close_at
        return with_stmt, 1 + last + 1, drop

    def _yielded(self, original, originals: list, statements: list, i: int, closable: _Closable, name: str, where: str):
        """Rule 9: ``x = Opener()`` ... ``yield x`` [``x.close()``] in a generator's own body
        (a FastAPI dependency, a @contextmanager): the close after the yield runs only when the
        consumer finishes cleanly; an exception thrown in at the yield skips it. The statements
        from the assignment's next one to the close become ``try: ... yield x finally:
        x.close()``. None when ``x`` is not yielded as a statement of this block."""
        rest = statements[i + 1 :]
        at = next((k for k, s in enumerate(rest) if _yields_name(s, name)), None)
        if at is None:
            return None
        function = self._functions[-1]
        if _is_pytest_fixture(function):
            # pytest resumes a fixture's generator after the test whether it passed or failed:
            # the code after the yield already runs on every path
            raise _Skip(f"{where}: a pytest fixture (pytest runs its teardown also when the test fails); left alone")
        if not any(s is original for s in function.body.body):  # type: ignore[union-attr]
            raise _Skip(f"{where}: yielded inside a nested block; left alone")
        before, after = rest[:at], rest[at + 1 :]
        if any(_mentions_close(s, name) for s in before):
            raise _Skip(f"{where}: closed before it is yielded; left alone")
        uses = _uses(name, before)
        if uses.escape or uses.rebound:
            raise _Skip(f"{where}: {name} {uses.escape or 'is rebound'} before the yield; left alone")
        closes = bool(after) and _close_call(after[0], name, closable.close)
        tail = after[1:] if closes else after
        if _uses(name, tail).used:
            what = "used after its close" if closes else "used after the yield (a finally would close it before that use on error)"
            raise _Skip(f"{where}: {name} is {what}; left alone")
        self._check_not_used_elsewhere(name, statements[i:], where)
        awaited = closable.mode in ("async", "async-factory")
        if closes:
            close = after[0].with_changes(leading_lines=[line for line in after[0].leading_lines if line.comment])
        else:
            if awaited and not self._async_function():
                raise _Skip(f"{where}: an async resource yielded outside async def; left alone")
            if not self.reporter.unsafe_fix(
                original,
                f"{where}: yielded and never closed; a finally around the yield would close it once the "
                "consumer is done, which changes when it ends",
            ):
                return None
            method = "close" if closable.mode.endswith("factory") else closable.close
            call = cst.Call(func=cst.Attribute(value=cst.Name(name), attr=cst.Name(method)))
            close = cst.SimpleStatementLine([cst.Expr(cst.Await(call) if awaited else call)])
        body = [*before, rest[at]]
        first = body[0]
        body[0] = first.with_changes(leading_lines=[])
        try_stmt = cst.Try(
            body=cst.IndentedBlock(body=body),
            finalbody=cst.Finally(body=cst.IndentedBlock(body=[close])),
            leading_lines=first.leading_lines,
        )
        self._converted.add(id(original.body[0].value))
        self.reporter.report(
            original,
            f"{where}: yielded without try/finally; now closed in a finally around the yield (also when the "
            "consumer fails)",
            unsafe=not closes,
        )
        consumed = 1 + at + 1 + (1 if closes else 0)
        return [statements[i], try_stmt], consumed, None

    def _explain_silenced(self, original: cst.CSTNode) -> None:
        """Report the handles opened in a statement where the project silences pylint's
        consider-using-with: left alone on purpose."""
        inside: set[int] = set()

        class Calls(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                inside.add(id(node))

        original.visit(Calls())
        found = [c for c in self.openers if id(c) in inside and id(c) not in self._reported]
        assign = _name_assignment(original)
        if assign is not None and self._closable(assign.value) is not None and id(assign.value) not in self._reported:
            found.append(assign.value)  # type: ignore[arg-type]
        if found:
            label = self._closable(found[0]).label  # type: ignore[union-attr]
            self.reporter.report(
                original, f"{label}(...): the project silences consider-using-with here (pylint); left alone", "warning"
            )
            self._reported.update(id(c) for c in found)

    def _closed_by_exit(self, stmt: cst.CSTNode, name: str, closable: _Closable) -> bool:
        """``name.attr.close()`` (or awaited ``aclose()``) as a statement, where the class of
        ``name``, defined here, closes ``attr`` on exit anyway."""
        attrs = self.classes.closes.get(closable.label)
        if not attrs or not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
            return False
        value = getattr(stmt.body[0], "value", None) if isinstance(stmt.body[0], cst.Expr) else None
        if isinstance(value, cst.Await):
            value = value.expression
        func = value.func if isinstance(value, cst.Call) and not value.args else None
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("close", "aclose")
            and isinstance(func.value, cst.Attribute)
            and isinstance(func.value.value, cst.Name)
            and func.value.value.value == name
            and func.value.attr.value in attrs
        )

    def _wrap_try(self, line, closable, name, try_stmt: cst.Try, final, close_index, after, where):
        region = [try_stmt.body, *try_stmt.handlers, *( [try_stmt.orelse] if try_stmt.orelse else [])]
        uses = _uses(name, region)
        if uses.escape:
            raise _Skip(f"{where}: {name} {uses.escape}; left alone")
        if uses.rebound:
            raise _Skip(f"{where}: {name} is rebound before it is closed; left alone")
        remaining_final = final[:close_index] + final[close_index + 1 :]
        if _uses(name, [*remaining_final, *after]).used:
            raise _Skip(f"{where}: {name} is used after it is closed; left alone")
        self._check_not_used_elsewhere(name, [line, try_stmt, *after], where)  # all from the assignment on
        body_lines = _try_lines(try_stmt)
        # Correct already: a with is a style change, noise in review past a few lines (rule 8).
        long = body_lines > SHORT_TRY_LINES
        if long and not self.reporter.unsafe_fix(
            line,
            f"{where}: already closed by try/finally; a with would rewrite its {body_lines} lines (correct "
            "code, a style change)",
        ):
            return None
        if try_stmt.handlers or try_stmt.orelse:
            inner = [try_stmt.with_changes(finalbody=None, leading_lines=[])]
        else:
            inner = list(try_stmt.body.body)  # type: ignore[union-attr]
        with_stmt = self._with(line, closable, name, inner)
        self._converted.add(id(line.body[0].value))
        if remaining_final:
            # The rest of the finally still runs on every path, around the with.
            outer = cst.Try(
                body=cst.IndentedBlock(body=[with_stmt.with_changes(leading_lines=[])]),
                finalbody=try_stmt.finalbody.with_changes(  # type: ignore[union-attr]
                    body=try_stmt.finalbody.body.with_changes(body=remaining_final)  # type: ignore[union-attr]
                ),
                leading_lines=with_stmt.leading_lines,
            )
            result = outer
        else:
            result = with_stmt
        self.reporter.report(
            line, f"{where} + try/finally close: now closed by {'async with' if closable.mode == 'async' else 'with'}",
            unsafe=long,
        )
        return result

    def _with(self, line: cst.SimpleStatementLine, closable: _Closable, name: str, body: list) -> cst.With:
        assign = line.body[0]
        value = assign.value  # type: ignore[union-attr]
        if closable.mode == "closing":
            self.needs_contextlib = True
            value = cst.Call(func=cst.Attribute(value=cst.Name("contextlib"), attr=cst.Name("closing")), args=[cst.Arg(value)])
        # a name the block never reads is not bound (``with open(p, "w"):``, not F841's ``as f``)
        asname = cst.AsName(name=cst.Name(name)) if _count_names(body)[name] else None
        body = [_without_blank_lead(body[0]), *body[1:]] if body else body
        return cst.With(
            items=[cst.WithItem(item=value, asname=asname)],
            body=cst.IndentedBlock(body=body, header=trailing_without_noqa(line.trailing_whitespace, CONTEXT_RULES)),
            asynchronous=cst.Asynchronous() if closable.mode == "async" else None,
            leading_lines=line.leading_lines,
        )

    # --- rule 3: inline use -----------------------------------------------------------------

    def _inline(self, original: cst.CSTNode):
        if not (isinstance(original, cst.SimpleStatementLine) and len(original.body) == 1):
            return None
        small = original.body[0]
        if not isinstance(small, (cst.Expr, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Return)):
            return None
        finder = _InlineOpeners(self._eager)
        small.visit(finder)
        found = [(call, sure) for call, sure in finder.found if self._file_opener(call) is not None]
        if not found:
            return None
        if self.reporter.suppressed(original):
            return None
        opener, sure = found[0]
        closable = self._file_opener(opener)
        label = closable.label  # type: ignore[union-attr]
        if len(found) > 1 or not sure or finder.yields:
            why = "opened conditionally or twice in one statement" if len(found) > 1 or not sure else "read across a yield"
            self._reported.update(id(call) for call, _ in found)  # this explains them: said once
            raise _Skip(f"{label}(...) used inline, {why}; left alone")
        fresh = next((n for n in FRESH_NAMES if n not in self._names_near()), None)
        if fresh is None:
            raise _Skip(f"{label}(...) used inline: no free name to bind it; left alone")
        new_small = _replace_node(small, opener, cst.Name(fresh))
        line = original.with_changes(body=[new_small], leading_lines=[], trailing_whitespace=cst.TrailingWhitespace())
        self._converted.add(id(opener))
        self.reporter.report(original, f"{label}(...) used inline: now read inside a with block")
        return cst.With(
            items=[cst.WithItem(item=opener, asname=cst.AsName(name=cst.Name(fresh)))],
            body=cst.IndentedBlock(body=[line], header=trailing_without_noqa(original.trailing_whitespace, CONTEXT_RULES)),
            leading_lines=original.leading_lines,
        )

    def _file_opener(self, call: cst.Call) -> _Closable | None:
        closable = self._closable(call)
        if closable is None or closable.mode != "sync" or closable.label not in FILE_LABELS:
            return None
        return closable

    def _eager(self, func: cst.BaseExpression) -> bool:
        """Does calling ``func`` consume a file it is given before returning (``json.load``)?"""
        dotted = dotted_name(func)
        if dotted is None:
            return False
        names = self.scopes.current.qualified_names(dotted) or {dotted}
        return not names.isdisjoint(EAGER_CONSUMERS)


class _InlineOpeners(cst.CSTVisitor):
    """Calls in one statement used inline: ``open(p).read()`` (a method called on the call,
    ``close`` aside: ``open(p, "w").close()`` is the touch idiom) or ``json.load(open(p))``;
    each with whether the statement surely evaluates it (not under ``if``/``and``/``or``, a
    lambda or a comprehension)."""

    def __init__(self, eager) -> None:
        super().__init__()
        self.eager = eager
        self.found: list[tuple[cst.Call, bool]] = []
        self.yields = False
        self._unsure = 0

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call) and func.attr.value != "close":
            self.found.append((func.value, not self._unsure))
        elif self.eager(func):
            for arg in node.args:
                if isinstance(arg.value, cst.Call):
                    self.found.append((arg.value, not self._unsure))
                    break

    def visit_Yield(self, node: cst.Yield) -> None:
        self.yields = True

    def _enter(self, node) -> None:
        self._unsure += 1

    def _leave(self, node) -> None:
        self._unsure -= 1

    visit_IfExp = visit_BooleanOperation = visit_Lambda = _enter
    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _enter
    leave_IfExp = leave_BooleanOperation = leave_Lambda = _leave
    leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _leave


def _calls_any(definition: ast.AST, names: set[str]) -> bool:
    """Does the def (nested defs included) call something by one of ``names``?"""
    for node in walk(definition):
        if type(node) is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            name = func.attr if type(func) is ast.Attribute else func.id if type(func) is ast.Name else None
            if name in names:
                return True
    return False


def _function_flags(function: ast.AST | None) -> tuple[bool, bool]:
    """(it yields and has a finally: a dependency generator; it uses (Async)ExitStack), read from
    the def's ast (nested defs included)."""
    if function is None:  # no ast for it: assume the most cautious
        return True, True
    yields = finally_ = exit_stack = False
    for node in walk(function):
        kind = type(node)
        if kind is ast.Yield or kind is ast.YieldFrom:
            yields = True
        elif (kind is ast.Try or kind is getattr(ast, "TryStar", None)) and node.finalbody:  # type: ignore[attr-defined]
            finally_ = True
        elif (kind is ast.Name and "ExitStack" in node.id) or (kind is ast.Attribute and "ExitStack" in node.attr):  # type: ignore[attr-defined]
            exit_stack = True
    return yields and finally_, exit_stack


def _replace_node(tree: cst.CSTNode, target: cst.CSTNode, replacement: cst.CSTNode) -> cst.CSTNode:
    class Replace(cst.CSTTransformer):
        def on_leave(self, original, updated):
            return replacement if original is target else updated

    return tree.visit(Replace())


def transform(codemod: CloseResources, wrapper: MetadataWrapper, file: FileContext, reporter: Reporter) -> cst.Module:
    module = wrapper.module
    tree = module_tree(file.tree, module)
    rewriter = _Rewriter(
        ScopeCursor(build(tree)), reporter, _Classes(tree), file.source, file.project.closable_classes or {}, file.project.lint,
        file.project.style.min_python,
    )
    new_module = module.visit(rewriter)
    rewriter.report_unmanaged()
    if not rewriter.changed:
        return module
    if rewriter.needs_contextlib:
        reporter.need_import("contextlib")
    if rewriter.needs_self:
        reporter.need_import("typing", "Self")
    return new_module
