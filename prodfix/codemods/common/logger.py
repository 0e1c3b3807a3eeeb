"""The module-level logger a codemod writes to: find the one a module has, or add one.

A logger is a top-level name bound to ``logging.getLogger(...)``, ``structlog.get_logger(...)``
(both take ``%``-style arguments) or loguru's ``logger`` (``{}``-style). When there is none,
``logger = logging.getLogger(__name__)`` goes right after the import block, under a name that
is free everywhere in the module.
"""

from __future__ import annotations

import re

from dataclasses import dataclass
from typing import Literal

import libcst as cst
from libcst.metadata import GlobalScope, Scope

from prodfix.codemods.common.imports import Sorting, _is_import_line, add_plain_import, import_block
from prodfix.codemods.common.quotes import string_literal
from prodfix.codemods.common.names import qualified_names

Style = Literal["percent", "brace"]

PERCENT_FACTORIES = frozenset(
    {
        "logging.getLogger",
        "structlog.get_logger",
        "structlog.getLogger",
        "structlog.stdlib.get_logger",
    }
)
LOGURU = "loguru.logger"


# helpers a project writes around logging.getLogger (``log = get_logger(__name__)``): their
# result is reused as the module's logger, but what it is configured to show is not known
HELPER_FACTORIES = frozenset({"get_logger", "getlogger", "get_task_logger", "make_logger", "setup_logger"})

LoggerKind = Literal["stdlib", "structlog", "loguru", "helper"]


@dataclass(frozen=True)
class ModuleLogger:
    name: str  # what the calls are made on: "logger", "self._log"
    style: Style
    index: int | None  # top-level statement that binds it; None when it must be added
    stdlib: bool = True  # a logging.Logger (not structlog or loguru)
    kind: LoggerKind = "stdlib"
    # the logger name it logs under, for what the logging set-up shows: "orders", "__name__",
    # "" (the root logger); None when it cannot be read (a helper's argument, an expression)
    logs_as: str | None = "__name__"


def logger_factory(scope: Scope | None, call: cst.Call) -> tuple[LoggerKind, str | None] | None:
    """(kind, logger name) when ``call`` makes a logger: ``logging.getLogger(...)`` however
    ``logging`` was imported or re-exported, structlog's ``get_logger``, a project helper."""
    func = call.func
    last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
    factories = qualified_names(scope, func) & PERCENT_FACTORIES
    if any(f.startswith("structlog") for f in factories):
        kind: LoggerKind = "structlog"
    elif factories or last == "getLogger":
        kind = "stdlib"
    elif last in HELPER_FACTORIES:
        kind = "helper"
    else:
        return None
    if not call.args:
        return kind, "" if kind == "stdlib" else None
    arg = call.args[0].value
    if isinstance(arg, cst.Name) and arg.value == "__name__":
        return kind, "__name__"
    if isinstance(arg, cst.SimpleString) and isinstance(arg.evaluated_value, str):
        return kind, arg.evaluated_value
    return kind, None


def find_module_logger(module: cst.Module, scope: GlobalScope) -> ModuleLogger | None:
    for index, stmt in enumerate(module.body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            target, value = None, None
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target, value = small.targets[0].target, small.value
            elif isinstance(small, cst.AnnAssign):
                target, value = small.target, small.value
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                if small.module is not None and cst.helpers.get_full_name_for_node(small.module) == "loguru":
                    for alias in small.names:
                        if cst.helpers.get_full_name_for_node(alias.name) == "logger":
                            bound = alias.evaluated_alias or "logger"
                            return ModuleLogger(bound, "brace", index, stdlib=False, kind="loguru", logs_as=None)
            if isinstance(target, cst.Name) and isinstance(value, cst.Call):
                made = logger_factory(scope, value)
                if made is not None:
                    kind, logs_as = made
                    return ModuleLogger(target.value, "percent", index, stdlib=kind == "stdlib", kind=kind, logs_as=logs_as)
    return None


def names_in_use(scopes: set[Scope]) -> set[str]:
    """Every name bound or read anywhere in the module, in any scope."""
    used: set[str] = set()
    for scope in scopes:
        used.update(a.name for a in scope.assignments)
        for access in scope.accesses:
            if isinstance(access.node, cst.Name):
                used.add(access.node.value)
    return used


def choose_logger_name(preferred: str, used: set[str]) -> str | None:
    for candidate in (preferred, "log", "_logger"):
        if candidate not in used:
            return candidate
    return None


def add_logger(module: cst.Module, name: str, logs_as: str = "__name__", sorting: Sorting | None = None, quote: str = '"') -> cst.Module:
    """``import logging`` (sorted into the import block) and ``name = logging.getLogger(__name__)``
    (or ``logging.getLogger("alembic.env")``: ``logs_as``) right after the block, as many blank
    lines below it as isort's lines_after_imports asks (by default one: isort's two are only
    before a def or class)."""
    module = add_plain_import(module, "logging", sorting)
    body = list(module.body)
    end = _after_imports(body)
    argument = "__name__" if logs_as == "__name__" else string_literal(logs_as, quote)
    after = (sorting.style.lines_after_imports if sorting is not None else -1)
    blanks = after if after >= 0 else 1
    statement = cst.parse_statement(
        f"{name} = logging.getLogger({argument})", config=module.config_for_parsing
    ).with_changes(leading_lines=[cst.EmptyLine()] * blanks if end > 0 else [])
    if end < len(body):
        # PEP 8: two blank lines before a top-level def or class, one before anything else
        blank = 2 if isinstance(body[end], (cst.FunctionDef, cst.ClassDef)) else 1
        lines = body[end].leading_lines
        if len(lines) < blank and all(line.comment is None for line in lines):
            body[end] = body[end].with_changes(leading_lines=[cst.EmptyLine()] * blank)
    body.insert(end, statement)
    return module.with_changes(body=body)


def logger_insert_index(module: cst.Module) -> int:
    """The top-level index the added logger statement will take (before it is added)."""
    return _after_imports(module.body)


def _after_imports(body) -> int:
    """Where the logger statement goes: after the import block and after the ``try`` / ``if``
    blocks right below it that import too (``try: from importlib.metadata import version``):
    an assignment above them would make their imports E402, "not at the top of the file"."""
    end = import_block(body)[1]
    index = end
    while index < len(body):
        stmt = body[index]
        if isinstance(stmt, (cst.Try, cst.If)) and _imports_inside(stmt):
            index += 1
            end = index
        elif _is_import_line(stmt):
            index += 1
            end = index
        elif isinstance(stmt, cst.SimpleStatementLine) and _tolerated(stmt):
            index += 1  # what E402 lets stand between imports
        else:
            break
    return end


def _tolerated(stmt: cst.SimpleStatementLine) -> bool:
    """Statements ruff's E402 allows between imports: sys.path and os.environ changes, and
    warnings filters."""
    code = cst.Module([]).code_for_node(stmt).strip()
    return re.match(r"(sys\.path\.|os\.environ\b|warnings\.(filterwarnings|simplefilter)\()", code) is not None


def _imports_inside(stmt: cst.BaseCompoundStatement) -> bool:
    """Whether a top-level try or if imports at its first level (body, handlers, else)."""
    blocks = [stmt.body]
    if isinstance(stmt, cst.Try):
        blocks += [h.body for h in stmt.handlers]
    if stmt.orelse is not None:
        blocks.append(stmt.orelse.body if isinstance(stmt.orelse, cst.Else) else stmt.orelse)
    return any(
        isinstance(line, cst.SimpleStatementLine) and any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in line.body)
        for block in blocks if isinstance(block, cst.IndentedBlock) for line in block.body
    )
