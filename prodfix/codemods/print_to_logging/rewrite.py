"""The libcst half of print-to-logging: see ``prodfix/codemods/print_to_logging/__init__.py`` for the rule."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import GlobalScope, MetadataWrapper, Scope, ScopeProvider

from prodfix.codemods.base import (
    FileContext,
    Reporter,
)
from prodfix.codemods.common.cleanup import unbind_unused_handlers
from prodfix.codemods.common.imports import names_used, remove_unused_imports, sorting_for
from prodfix.codemods.common.logger import (
    ModuleLogger,
    add_logger,
    choose_logger_name,
    find_module_logger,
    logger_factory,
    logger_insert_index,
    names_in_use,
)
from prodfix.codemods.common.names import is_builtin, qualified_names
from prodfix.codemods.common.quotes import file_quote, preferred_quote, string_literal
from prodfix.codemods.print_message import build_message, quote_of, string_value
from prodfix.codemods.print_to_logging import (  # the declaration: options, prefilters, constants
    CLI_DECORATORS,
    TASK_DECORATORS,
    Level,
    PrintToLogging,
)
from prodfix.codemods.print_to_logging.programs import (
    NOQA,
    Configures,
    is_main_guard,
    is_revision,
    keep_all,
    module_reason,
    noqa_t201,
)
from prodfix.codemods.print_to_logging.reading import (
    ANSI,
    CONTRACT_DOC,
    CONTRACT_NAME,
    DEBUG_COMMENT,
    DEBUG_GUARD,
    DEPRECATION,
    ON_REQUEST,
    RICH_MARKUP,
    SECRET_LABEL,
    SECRET_NAME,
    STYLE_MODULES,
    URL_PASSWORD,
    bare_value,
    calls_in,
    comments_of,
    docstring_of,
    names_in,
    shown_names,
    text_and_values,
)

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR,
          "exception": logging.ERROR}

_OUTPUT_ERRORS = frozenset({
    "UnicodeEncodeError", "UnicodeError", "BrokenPipeError", "builtins.UnicodeEncodeError",
    "builtins.UnicodeError", "builtins.BrokenPipeError",
})
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


def _called_names(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    class Collector(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Name):
                names.add(call.func.value)

    node.visit(Collector())
    return names


def _is_cli_decorator(decorator: cst.Decorator) -> bool:
    expr = decorator.decorator
    if isinstance(expr, cst.Call):
        expr = expr.func
    if isinstance(expr, cst.Attribute):
        return expr.attr.value in CLI_DECORATORS
    return isinstance(expr, cst.Name) and expr.value in CLI_DECORATORS


class _Keep(Exception):
    def __init__(self, reason: str, kind: str = "note") -> None:
        self.reason = reason
        self.kind = kind


@dataclass
class _Frame:
    """An enclosing def or class, with what its prints mean."""

    kind: str  # "def", "cli", "class", "handler" (a logging handler class)
    name: str
    contract: str | None = None  # why its prints are its output
    interactive: str | None = None  # it talks to a person at a terminal: "input()"
    progress: bool = False  # it draws partial lines or console output (an empty print ends them)
    messages: int = 0  # its prints with text of their own (a bare print(x) beside them is output too)
    # name -> (index of the statement of the def's body binding it, the logger)
    local_loggers: dict[str, tuple[int, ModuleLogger]] = field(default_factory=dict)
    self_name: str | None = None  # a method's first parameter
    owner: "_Frame | None" = None  # a method's class
    # a class's logger attributes: attr -> (the method binding it or None for the class body,
    # the index of that statement in the method's body or -1 when nested, the logger)
    attributes: dict[str, tuple[str | None, int, ModuleLogger]] = field(default_factory=dict)


@dataclass
class _Block:
    body: tuple
    index: dict[int, int]
    owner: str  # "module", "def", "class", "other"
    current: int = 0


class _Scan(cst.CSTVisitor):
    """What a def's own body does (nested defs and classes left out): terminal input, partial
    lines, console output."""

    def __init__(self, rewriter: "_Rewriter", root: cst.CSTNode) -> None:
        super().__init__()
        self.rewriter = rewriter
        self.root = root
        self.interactive: str | None = None
        self.progress = False
        self.messages = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.root

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "stdin" and "sys.stdin" in self.rewriter._qualified(node):
            self.interactive = self.interactive or "reads sys.stdin"
        if node.attr.value == "isatty":
            self.interactive = self.interactive or "checks isatty()"

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value == "input":
            self.interactive = self.interactive or "asks with input()"
            return
        names = self.rewriter._qualified(func)
        if "getpass.getpass" in names:
            self.interactive = self.interactive or "asks with getpass()"
        if names & {"pprint.pprint", "pprint.pp", "sys.stdout.write"}:
            self.progress = True
        if isinstance(func, cst.Name) and func.value == "print":
            if any(arg.keyword is None and _has_text(arg.value) for arg in node.args):
                self.messages += 1
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "end" and string_value(arg.value) != "\n":
                    self.progress = True
                if arg.keyword is None and "\r" in (string_value(arg.value) or ""):
                    self.progress = True


def _has_text(value: cst.BaseExpression) -> bool:
    return any(kind == "text" and str(item).strip() for kind, item in text_and_values([value]))


class _Rewriter(cst.CSTTransformer):
    def __init__(
        self,
        codemod: PrintToLogging,
        file: FileContext,
        scopes: dict,
        global_scope: GlobalScope,
        logger: ModuleLogger,
        first_index: int,
        reporter: Reporter,
        configured_at: int | None,
        revision: bool,
    ) -> None:
        super().__init__()
        options = codemod.options
        self.codemod = codemod
        self.options = options
        self.file = file
        self.project = file.project
        self.scopes = scopes
        self.global_scope = global_scope
        self.logger = logger
        self.first_index = first_index
        self.reporter = reporter
        self.configured_at = configured_at  # first top-level statement configuring logging
        self.revision = revision
        self.changed = False
        self.used_logger = False
        self.converted_print_exc = False
        self.dropped_stream = False  # a converted print named sys.stderr / sys.stdout
        self._frames: list[_Frame] = []
        self._context: list[str] = []  # "def", "cli", "class", "handler", "except"
        self._blocks: list[_Block] = []
        self._block_owner: dict[int, str] = {}
        self._line: cst.SimpleStatementLine | cst.SimpleStatementSuite | None = None
        self._line_stmt: cst.CSTNode | None = None  # the statement line holding the print
        self._guards: list[cst.BaseExpression] = []  # tests of the enclosing ifs
        self._fallbacks: list[str] = []  # why prints in the enclosing try/except are fallbacks
        self._fallback_nodes: dict[int, str] = {}
        # per enclosing except handler: a logger.exception() made from a print logs its
        # traceback already; the handler's later prints become logger.error()
        self._traceback_logged: list[bool] = []
        self._except_names: list[str | None] = []
        self._main_bodies: set[int] = set()
        self._main_depth = 0
        self._cli_functions: set[str] = set(self.project.entry_points.of(file.path)) if self.project.entry_points else set()
        self._cli_depth = 0
        self._print_exc_names: set[str] = set()  # local names of traceback.print_exc
        # logger.exception() lines made from prints / from print_exc(): a print_exc right after
        # such a print would log the same traceback twice.
        self._exception_exprs: set[int] = set()
        self._print_exc_exprs: set[int] = set()
        self._removed: set[int] = set()  # ids of Pass nodes standing for removed prints
        # (block, statement index, level) of a converted failure message ending with a colon
        self._announced: tuple[_Block, int, str] | None = None
        self._keepalive: list[cst.CSTNode] = []
        self._noqa_lines = {
            number for number, line in enumerate(file.source.splitlines(), 1)
            if "noqa" in line and any(noqa_t201(m.group("codes")) for m in NOQA.finditer(line))
        }

        def words(items: tuple[str, ...]) -> re.Pattern[str] | None:
            if not items:
                return None
            return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, items)) + r")(?!\w)", re.IGNORECASE)

        self._words = [
            (level, pattern)
            for level, pattern in (
                ("debug", words(options.debug_words)),
                ("warning", words(options.warning_words)),
                ("error", words(options.error_words)),
            )
            if pattern is not None
        ]
        self._recovery = words(options.recovery_words)

    # --- context tracking ---------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self._push_block(node.body, "module")
        for stmt in node.body:
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
            if isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name) and small.module.value == "traceback":
                names = small.names
                if not isinstance(names, cst.ImportStar):
                    self._print_exc_names |= {
                        a.evaluated_alias or a.evaluated_name
                        for a in names
                        if a.evaluated_name == "print_exc"
                    }
            if isinstance(stmt, cst.If) and is_main_guard(stmt.test):
                self._cli_functions |= _called_names(stmt.body)

    def _push_block(self, body, owner: str) -> None:
        self._blocks.append(_Block(tuple(body), {id(s): i for i, s in enumerate(body)}, owner))

    @property
    def _current_top(self) -> int:
        return self._blocks[0].current if self._blocks else 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._blocks:
            block = self._blocks[-1]
            index = block.index.get(id(node))
            if index is not None:
                block.current = index
        return super().on_visit(node)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._line = node
        self._line_stmt = node

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._line = node
        self._line_stmt = None  # `if x: print(...)`: no comment lines of its own

    def visit_If(self, node: cst.If) -> None:
        if is_main_guard(node.test):
            self._main_bodies.add(id(node.body))
        self._guards.append(node.test)

    def leave_If(self, original: cst.If, updated: cst.If) -> cst.If:
        self._guards.pop()
        return updated

    def visit_Try(self, node: cst.Try) -> None:
        reason = None
        for handler in node.handlers:
            if handler.type is not None and self._qualified_any(handler.type) & _OUTPUT_ERRORS:
                reason = "a fallback for output errors (except UnicodeEncodeError / BrokenPipeError)"
        if reason is not None:
            self._fallback_nodes[id(node)] = reason
        elif self._logs(node.body):
            for handler in node.handlers:
                self._fallback_nodes[id(handler)] = "a fallback for when logging itself fails"
        if id(node) in self._fallback_nodes:
            self._fallbacks.append(self._fallback_nodes[id(node)])

    def leave_Try(self, original: cst.Try, updated: cst.Try) -> cst.Try:
        if id(original) in self._fallback_nodes:
            self._fallbacks.pop()
        return updated

    def _qualified_any(self, node: cst.BaseExpression) -> set[str]:
        found: set[str] = set()
        elements = node.elements if isinstance(node, cst.Tuple) else [node]
        for element in elements:
            value = element.value if isinstance(element, cst.Element) else element
            found |= self._qualified(value)
            if isinstance(value, cst.Name):
                found.add(value.value)
        return found

    def _logs(self, body: cst.CSTNode) -> bool:
        """The block calls a logger (``logger.info(...)``, ``logging.warning(...)``)."""
        found = []

        class Calls(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                func = call.func
                if isinstance(func, cst.Attribute) and func.attr.value in _LOG_METHODS:
                    owner = cst.helpers.get_full_name_for_node(func.value) or ""
                    if "log" in owner.lower():
                        found.append(call)

        body.visit(Calls())
        return bool(found)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if id(node) in self._main_bodies:
            self._main_depth += 1
        self._push_block(node.body, self._block_owner.get(id(node), "other"))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._context.append("def")
        top_level = len(self._context) == 1
        if any(_is_cli_decorator(d) or self._qualified(d.decorator) & TASK_DECORATORS or (
            isinstance(d.decorator, cst.Call) and self._qualified(d.decorator.func) & TASK_DECORATORS
        ) for d in node.decorators) or (top_level and node.name.value in self._cli_functions):
            self._cli_depth += 1
            self._context[-1] = "cli"
        frame = _Frame(self._context[-1], node.name.value)
        self._block_owner[id(node.body)] = "def"
        doc = docstring_of(node.body)
        if CONTRACT_NAME.search(node.name.value):
            frame.contract = f"'{node.name.value}' says it writes to the terminal"
        elif doc and CONTRACT_DOC.search(doc):
            frame.contract = f"the docstring of '{node.name.value}' says it writes to the terminal"
        scan = _Scan(self, node)
        node.visit(scan)
        frame.interactive, frame.progress, frame.messages = scan.interactive, scan.progress, scan.messages
        params = node.params.params
        owner = self._frames[-1] if self._frames and self._frames[-1].kind in ("class", "handler") else None
        static = any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in node.decorators
        )
        frame.owner = owner
        if owner is not None and params and not static:
            frame.self_name = params[0].name.value
        if isinstance(node.body, cst.IndentedBlock):
            for index, stmt in enumerate(node.body.body):
                bound = self._binds_logger(stmt)
                if bound is not None and isinstance(bound[0], cst.Name):
                    frame.local_loggers.setdefault(bound[0].value, (index, bound[1]))
        self._frames.append(frame)

    def _binds_logger(self, stmt: cst.CSTNode) -> tuple[cst.BaseExpression, ModuleLogger] | None:
        """(target, logger) when the statement is ``target = <a logger factory>(...)``."""
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            return None
        small = stmt.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target, value = small.targets[0].target, small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            target, value = small.target, small.value
        else:
            return None
        if not isinstance(value, cst.Call):
            return None
        made = logger_factory(self.scopes.get(value), value)
        if made is None:
            return None
        kind, logs_as = made
        return target, ModuleLogger("", "percent", None, stdlib=kind == "stdlib", kind=kind, logs_as=logs_as)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if self._context.pop() == "cli":
            self._cli_depth -= 1
        self._frames.pop()
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        handler = any(
            q.startswith("logging.") and q.endswith("Handler") for base in node.bases for q in self._qualified(base.value)
        )
        self._context.append("handler" if handler else "class")
        frame = _Frame(self._context[-1], node.name.value)
        self._block_owner[id(node.body)] = "class"
        doc = docstring_of(node.body)
        if CONTRACT_NAME.search(node.name.value):
            frame.contract = f"class '{node.name.value}' says it writes to the terminal"
        elif doc and CONTRACT_DOC.search(doc):
            frame.contract = f"the docstring of class '{node.name.value}' says it writes to the terminal"
        if isinstance(node.body, cst.IndentedBlock):
            for stmt in node.body.body:
                bound = self._binds_logger(stmt)
                if bound is not None and isinstance(bound[0], cst.Name):
                    frame.attributes.setdefault(bound[0].value, (None, -1, bound[1]))
                if isinstance(stmt, cst.FunctionDef) and stmt.params.params:
                    self._method_loggers(frame, stmt)
        self._frames.append(frame)

    def _method_loggers(self, frame: _Frame, method: cst.FunctionDef) -> None:
        """``self.<attr> = <a logger factory>(...)`` anywhere in a method."""
        me = method.params.params[0].name.value
        top = {id(s): i for i, s in enumerate(method.body.body)} if isinstance(method.body, cst.IndentedBlock) else {}
        rewriter = self

        class Bindings(cst.CSTVisitor):
            def visit_SimpleStatementLine(self, stmt: cst.SimpleStatementLine) -> None:
                bound = rewriter._binds_logger(stmt)
                if bound is None:
                    return
                target, logger = bound
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == me:
                    frame.attributes.setdefault(target.attr.value, (method.name.value, top.get(id(stmt), -1), logger))

        method.body.visit(Bindings())

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._context.pop()
        self._frames.pop()
        return updated

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._enter_except(node)

    def leave_ExceptHandler(self, original: cst.ExceptHandler, updated: cst.ExceptHandler) -> cst.ExceptHandler:
        self._leave_except(original)
        return updated

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self._enter_except(node)

    def leave_ExceptStarHandler(
        self, original: cst.ExceptStarHandler, updated: cst.ExceptStarHandler
    ) -> cst.ExceptStarHandler:
        self._leave_except(original)
        return updated

    def _enter_except(self, node) -> None:
        self._context.append("except")
        self._traceback_logged.append(False)
        name = node.name.name if node.name is not None else None
        self._except_names.append(name.value if isinstance(name, cst.Name) else None)
        if id(node) in self._fallback_nodes:
            self._fallbacks.append(self._fallback_nodes[id(node)])

    def _leave_except(self, node) -> None:
        self._context.pop()
        self._traceback_logged.pop()
        self._except_names.pop()
        if id(node) in self._fallback_nodes:
            self._fallbacks.pop()

    def _in_except(self) -> bool:
        for kind in reversed(self._context):
            if kind == "except":
                return True
            if kind in ("def", "cli", "class", "handler"):
                return False
        return False

    def _runs_at_import(self) -> bool:
        return not any(kind in ("def", "cli") for kind in self._context)

    # --- the rewrite --------------------------------------------------------------------

    def _scope(self, node: cst.CSTNode) -> Scope:
        return self.scopes.get(node) or self.global_scope

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        return qualified_names(self._scope(node), node)

    def leave_Expr(self, original: cst.Expr, updated: cst.Expr) -> cst.BaseSmallStatement:
        call = original.value
        if not isinstance(call, cst.Call):
            return updated
        target = self._target(call)
        if target is None:
            return updated
        if self.reporter.suppressed(original):
            return updated
        used_logger = self.used_logger
        self._current_expr = original
        try:
            replacement = self._convert(call, target, original)
        except _Keep as keep:
            label = "traceback.print_exc()" if target == "print_exc" else "print"
            self.reporter.report(call, f"{label} kept: {keep.reason}", keep.kind)  # type: ignore[arg-type]
            return updated
        if replacement is not None and replacement[1] == "debug" and not self.reporter.unsafe_fix(
            call, f"print() -> {_callee(replacement[0])}(): under the usual INFO threshold (WARNING where logging "
            "is not configured) the message that prints today would no longer show",
        ):
            self.used_logger = used_logger
            return updated
        self.changed = True
        if replacement is None:
            self.reporter.report(call, "empty print() removed")
            removed = cst.Pass()
            self._removed.add(id(removed))
            self._keepalive.append(removed)
            return removed
        new_call, level, why = replacement
        label = "traceback.print_exc()" if target == "print_exc" else "print()"
        self.converted_print_exc |= target == "print_exc"
        self.reporter.report(call, f"{label} -> {_callee(new_call)}(){why}", unsafe=level == "debug")
        new_expr = updated.with_changes(value=new_call)
        self._keepalive.append(new_expr)
        if level == "exception":
            (self._print_exc_exprs if target == "print_exc" else self._exception_exprs).add(id(new_expr))
        return new_expr

    def _target(self, call: cst.Call) -> str | None:
        func = call.func
        if isinstance(func, cst.Name) and func.value == "print":
            return "print"
        if isinstance(func, cst.Attribute):
            candidate = func.attr.value == "print_exc"
        else:
            candidate = isinstance(func, cst.Name) and func.value in self._print_exc_names
        if candidate and "traceback.print_exc" in self._qualified(func):
            return "print_exc"
        return None

    def _common_checks(self, call: cst.Call) -> None:
        if self._main_depth:
            raise _Keep("program output under `if __name__ == '__main__':`")
        if self._cli_depth:
            raise _Keep("program output in a command-line entry point")
        if "handler" in self._context:
            # a handler's print is how it reports its own failure: logging there can recurse
            raise _Keep("inside a logging handler")
        if self._noqa_lines:
            start, _, end = self.reporter.position(call)
            if any(line in self._noqa_lines for line in range(start, end + 1)):
                raise _Keep("its line says `# noqa: T201`")
        if self._fallbacks:
            raise _Keep(self._fallbacks[-1])
        for frame in reversed(self._frames):
            if frame.contract is not None:
                raise _Keep(f"a stdout contract: {frame.contract}")
            if frame.interactive is not None:
                raise _Keep(f"talks to a person at a terminal (the function {frame.interactive})")
            if frame.kind in ("def", "cli"):
                if frame.owner is not None and frame.owner.contract is not None:
                    raise _Keep(f"a stdout contract: {frame.owner.contract}")
                break
        for test in self._guards:
            names = [n for n in names_in(test) if ON_REQUEST.search(n)]
            if names:
                raise _Keep(f"printed on request (`if ... {names[0]} ...`)")

    def _choose_logger(self) -> tuple[ModuleLogger, str]:
        """The logger in scope (a local, a ``self`` attribute, the module's), with the name to
        call it by."""
        frame = self._frames[-1] if self._frames else None
        if frame is not None and frame.kind in ("def", "cli"):
            current = self._def_index()
            for name, (index, logger) in frame.local_loggers.items():
                if current is not None and index < current:
                    return logger, name
            if frame.owner is not None and frame.owner.attributes:
                for attr, (method, index, logger) in frame.owner.attributes.items():
                    if frame.self_name is None:  # a static method: the class's own attribute
                        if method is None and len(self._frames) == 2:
                            return logger, f"{frame.owner.name}.{attr}"
                        continue
                    # in the method that binds it, only after the binding statement
                    if method != frame.name or (index >= 0 and current is not None and index < current):
                        return logger, f"{frame.self_name}.{attr}"
                attr = next(iter(frame.owner.attributes))
                raise _Keep(f"the class's logger (`{attr}`) is not bound yet here")
        return self.logger, self.logger.name

    def _def_index(self) -> int | None:
        """Index of the statement of the innermost def's body being visited."""
        for block in reversed(self._blocks):
            if block.owner == "def":
                return block.current
        return None

    def _convert(self, call: cst.Call, target: str, expr: cst.Expr) -> tuple[cst.Call, Level, str] | None:
        if target == "print_exc":
            if call.args:
                raise _Keep("traceback.print_exc() with arguments writes elsewhere")
            if not self._in_except():
                raise _Keep("traceback.print_exc() outside an except block")
            self._common_checks(call)
            self._logger_checks(call)
            level: Level = self.options.except_level
            logger, callee = self._choose_logger()
            self._check_shown(logger, level)
            return self._log_call(callee, level, [cst.Arg(cst.SimpleString(string_literal("Unhandled exception", file_quote(self.file))))], call), level, ""

        scope = self._scope(call.func)
        if not is_builtin(scope, "print"):
            raise _Keep("print is not the builtin here")
        self._common_checks(call)
        values: list[cst.BaseExpression] = []
        sep = " "
        stderr = False
        stream = False
        for arg in call.args:
            if arg.star:
                raise _Keep("print() with *args or **kwargs")
            if arg.keyword is None:
                values.append(arg.value)
                continue
            keyword = arg.keyword.value
            value = arg.value
            is_none = isinstance(value, cst.Name) and value.value == "None"
            if keyword == "sep":
                text = string_value(value)
                if text is None and not is_none:
                    raise _Keep("sep= is not a string literal")
                sep = " " if text is None else text
            elif keyword == "end":
                if not is_none and string_value(value) != "\n":
                    raise _Keep("end= other than a newline (partial-line output)")
            elif keyword == "file":
                names = self._qualified(value)
                if "sys.stderr" in names:
                    stderr = stream = True
                elif "sys.stdout" in names:
                    stream = True
                elif not is_none:
                    raise _Keep("writes to a file or stream")
            elif keyword == "flush":
                if not (isinstance(value, (cst.Name, cst.Integer)) and (
                    not isinstance(value, cst.Name) or value.value in ("True", "False", "None")
                )):
                    raise _Keep("flush= is not a constant")
            else:
                raise _Keep(f"unknown keyword {keyword}=")
        if not values or (len(values) == 1 and string_value(values[0]) == ""):
            self._check_removable(call)
            return None
        self._logger_checks(call)
        logger, callee = self._choose_logger()
        builtins_ok = all(is_builtin(scope, n) for n in ("format", "repr", "ascii"))
        message = build_message(values, sep, logger.style, builtins_ok, preferred_quote(self.file))
        if self._outgrows_its_line(values, message):
            message = build_message(values, sep, logger.style, builtins_ok, preferred_quote(self.file), keep_lines=True)
        self._check_output(values, message.text)
        level, why = self._level(values, stderr)
        pieces = list(text_and_values(values))
        ends_colon = bool(pieces) and pieces[-1][0] == "text" and str(pieces[-1][1]).rstrip().endswith(":")
        secret = self._secret(values, message.text)
        if secret is not None:
            raise _Keep(f"it shows what may be a credential ({secret}): mask or remove it", "warning")
        if level == "exception" and self._try401():
            trimmed = self._without_exception(values)
            if trimmed is not None:
                message = build_message(trimmed, sep, logger.style, builtins_ok, preferred_quote(self.file))
            else:
                level, why = "error", " (shows the caught exception; a traceback would repeat it)"
        try:
            self._check_shown(logger, level)
        except _Keep:
            # a line of a notice printed over several lines is not left behind on stdout
            # while the others become records: it takes their level
            notice = self._notice_level(values) if level == "info" else None
            if notice is None:
                raise
            level, why = notice, " (a line of the notice around it)"
            self._check_shown(logger, level)
        args = [cst.Arg(message.format)] + [cst.Arg(a) for a in message.args]
        new_call = self._log_call(callee, level, args, call)
        if level == "exception":
            self._traceback_logged[-1] = True
        self.dropped_stream |= stream
        block = self._blocks[-1] if self._blocks else None
        announces = block is not None and ends_colon and level in ("error", "exception", "warning")
        self._announced = (block, block.current, level) if announces else None  # type: ignore[union-attr]
        return new_call, level, why

    def _outgrows_its_line(self, values: list[cst.BaseExpression], message) -> bool:
        """Whether a message the author wrote as literals on several lines, joined into one
        literal, would not fit on the line where its first literal starts (black then keeps an
        implicit concatenation on its lines; joined, it fits and black joins it too)."""
        if not (len(values) == 1 and isinstance(values[0], cst.ConcatenatedString) and "\n" in _code(values[0])):
            return False
        _, column, _ = self.reporter.position(values[0])
        width = column - 1 + len(_code(message.format)) + (1 if message.args else 0)
        return width > self.file.project.style.line_length

    def _logger_checks(self, call: cst.Call) -> None:
        scope = self._scope(call.func)
        logger_assignments = scope[self.logger.name]
        if self.logger.index is None:
            if logger_assignments:
                raise _Keep(f"the name '{self.logger.name}' means something else here")
        elif any(a.scope is not self.global_scope for a in logger_assignments) and not self._local_logger_in_scope():
            raise _Keep(f"the name '{self.logger.name}' is shadowed here")
        if self._runs_at_import() and self._current_top < self.first_index:
            raise _Keep("runs at import time before the module logger exists")

    def _local_logger_in_scope(self) -> bool:
        logger, callee = self._choose_logger()
        return logger is not self.logger

    # --- what stays on stdout ------------------------------------------------------------

    def _check_removable(self, call: cst.Call) -> None:
        """An empty print is removed, unless that changes a layout someone reads or leaves a
        block of nothing."""
        if _comments(call):
            raise _Keep("a comment inside the call would be lost")
        for frame in reversed(self._frames):
            if frame.progress:
                raise _Keep("ends a line of progress or console output")
            if frame.kind in ("def", "cli"):
                break
        line = self._line
        if line is not None and isinstance(line, cst.SimpleStatementLine) and line.trailing_whitespace.comment is not None:
            raise _Keep("a comment on its line would be left on a `pass`")
        if isinstance(line, cst.SimpleStatementSuite) and all(self._is_empty_print(s) for s in line.body):
            raise _Keep("removing it would leave a block that is only `pass`")
        if self._blocks and self._blocks[-1].owner != "module":
            block = self._blocks[-1]
            if all(
                isinstance(s, cst.SimpleStatementLine) and all(self._is_empty_print(small) for small in s.body)
                for s in block.body
            ):
                raise _Keep("removing it would leave a block that is only `pass`")

    def _is_empty_print(self, small: cst.CSTNode) -> bool:
        if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
            return False
        call = small.value
        if not (isinstance(call.func, cst.Name) and call.func.value == "print"):
            return False
        values = [a.value for a in call.args if a.keyword is None]
        return not values or (len(values) == 1 and string_value(values[0]) == "")

    def _check_output(self, values: list[cst.BaseExpression], text: str) -> None:
        """Output styled for a terminal or drawn in place, and labels of output that stays."""
        if any(code in text for code in ANSI) or RICH_MARKUP.search(text):
            raise _Keep("styled for a terminal (ANSI codes or rich markup)")
        if "\r" in text:
            raise _Keep("progress output drawn in place (\\r)")
        for value in values:
            styled = self._styled(value)
            if styled:
                raise _Keep(f"styled for a terminal ({styled})")
        following = self._next_statement()
        if following is not None:
            for small in following.body if isinstance(following, cst.SimpleStatementLine) else ():
                if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                    names = self._qualified(small.value.func)
                    if names & {"pprint.pprint", "pprint.pp", "sys.stdout.write"}:
                        raise _Keep("labels the output below it, which stays on stdout")

    def _styled(self, value: cst.BaseExpression) -> str | None:
        found: list[str] = []
        rewriter = self

        class Styles(cst.CSTVisitor):
            def visit_Name(self, node: cst.Name) -> None:
                for q in rewriter._qualified(node):
                    if q.startswith(STYLE_MODULES):
                        found.append(q)
                if node.value in ("colored", "cprint", "Fore", "Back", "Style"):
                    found.append(node.value)

            def visit_Call(self, node: cst.Call) -> None:
                func = node.func
                # Django's color styles: self.style.ERROR(...), style.SUCCESS(...)
                if isinstance(func, cst.Attribute) and func.attr.value.isupper():
                    owner = cst.helpers.get_full_name_for_node(func.value) or ""
                    if owner.rsplit(".", 1)[-1].lower() == "style":
                        found.append(f"{owner}.{func.attr.value}()")
                for q in rewriter._qualified(func):
                    if q.startswith(STYLE_MODULES):
                        found.append(q)

        value.visit(Styles())
        return found[0] if found else None

    def _next_statement(self) -> cst.CSTNode | None:
        if not self._blocks:
            return None
        block = self._blocks[-1]
        return block.body[block.current + 1] if block.current + 1 < len(block.body) else None

    # --- the level ----------------------------------------------------------------------

    def _text_level(self, text: str) -> Level | None:
        if DEPRECATION.search(text):
            return "warning"  # a deprecation notice, whatever else it says ("will raise an exception")
        found: Level | None = None
        earliest = None
        for level, pattern in self._words:
            match = pattern.search(text)
            if match and (earliest is None or match.start() < earliest):
                found, earliest = level, match.start()  # type: ignore[assignment]
        return found

    def _level(self, values: list[cst.BaseExpression], stderr: bool) -> tuple[Level, str]:
        """The level a print's message calls for, and why (for the finding)."""
        exits = self._ends_process()
        if exits is not None:
            return "error", f" (the process then ends: {exits})"
        text = _level_text(values)
        block = self._blocks[-1] if self._blocks else None
        previous = self._announced
        if block is not None and previous is not None and previous[0] is block and previous[1] == block.current - 1:
            # the line before ended with a colon: this one goes on with its message
            return ("error" if previous[2] == "exception" else previous[2]), " (goes on with the message above)"
        said = self._text_level(text)
        comments = " ".join(comments_of(self._line_stmt))
        recovery = self._recovery is not None and bool(self._recovery.search(text) or self._recovery.search(comments))
        if self._in_except():
            shows = self._shows_exception(values)
            if said == "error" or shows:
                if recovery:
                    if re.search(r"\bexpected\b", text + " " + comments, re.IGNORECASE):
                        return "info", " (a failure it says is expected)"
                    return "warning", " (a failure it recovers from)"
                if shows and not text.strip(" :-,.;"):
                    # only the exception: its message alone, no traceback to repeat it
                    return "error", " (shows the caught exception)"
                if self._raises_after() and not (self.project.lint is not None and self.project.lint.enabled("TRY400")):
                    # the exception goes on up with its traceback: a second one here repeats it
                    return "error", " (the handler raises it again)"
                level: Level = "error" if self._traceback_logged[-1] else self.options.except_level
                return level, ""
        if said in ("error", "warning"):
            return said, ""
        debug = self._debug_leftover(values, text, comments)
        if said == "debug" or debug:
            return "debug", f" ({debug})" if debug else ""
        if stderr:
            return "warning", ""
        return "info", ""

    def _notice_level(self, values: list[cst.BaseExpression]) -> Level | None:
        """The level the plain-text prints right above this one call for (a deprecation
        notice over three prints is one warning), when one of them calls for one."""
        if not self._blocks or not values or not all(string_value(v) is not None for v in values):
            return None
        block = self._blocks[-1]
        found: list[Level] = []
        # the lines above it (it goes on with their notice); the lines below only when it ends
        # with a colon (it announces them)
        heading = str(string_value(values[-1])).rstrip().endswith(":")
        for step in (-1, 1) if heading else (-1,):
            index = block.current + step
            while 0 <= index < len(block.body):
                texts = self._literal_print(block.body[index])
                if texts is None:
                    break
                level = self._text_level(" ".join(texts))
                if level in ("warning", "error"):
                    found.append(level)
                index += step
        if "error" in found:
            return "error"
        return "warning" if found else None

    def _literal_print(self, stmt: cst.CSTNode) -> list[str] | None:
        """The texts of a statement that is one print of string literals only."""
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and self._is_print(stmt.body[0])):
            return None
        call = stmt.body[0].value  # type: ignore[attr-defined]
        texts = [string_value(a.value) for a in call.args if a.keyword is None]
        return None if not texts or any(t is None for t in texts) else texts  # type: ignore[return-value]

    def _is_print(self, small: cst.CSTNode) -> bool:
        return (
            isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)
            and isinstance(small.value.func, cst.Name) and small.value.func.value == "print"
        )

    def _debug_leftover(self, values: list[cst.BaseExpression], text: str, comments: str) -> str | None:
        if DEBUG_COMMENT.search(comments):
            return "a leftover debug print: its comment says debug"
        for test in self._guards:
            if any(DEBUG_GUARD.match(n) for n in names_in(test)):
                return "a leftover debug print: it runs under a debug flag"
        frame = self._frames[-1] if self._frames else None
        alone = frame is None or frame.kind not in ("def", "cli") or frame.messages == 0
        if alone and values and all(bare_value(v) for v in values) and not self._shows_exception(values):
            return "a leftover debug print: values without a message"
        return None

    def _shows_exception(self, values: list[cst.BaseExpression]) -> bool:
        """A value shows the exception being handled (its name, ``traceback.format_exc()``)."""
        name = self._except_names[-1] if self._except_names else None
        wanted = {"traceback.format_exc", "sys.exc_info", "traceback.format_exception"}
        for value in values:
            if name is not None and name in names_in(value):
                return True
            if any(self._qualified(call.func) & wanted for call in calls_in(value)):
                return True
        return False

    def _ends_process(self) -> str | None:
        """What ends the process with a failure right after the print, in its block or a block
        around it (within its def): ``sys.exit(1)``, ``raise SystemExit(1)``, ``os._exit(...)``."""
        line = self._line
        if line is not None:
            seen = False
            for small in line.body:
                if seen:
                    ends = self._exit_of(small)
                    if ends is not None or isinstance(small, (cst.Return, cst.Raise, cst.Continue, cst.Break)):
                        return ends[1] if ends and ends[0] else None
                seen = seen or small is self._current_expr
            if isinstance(line, cst.SimpleStatementSuite):
                return None  # `if x: print(...)`: what follows the if may not run after it
        for block in reversed(self._blocks):
            for stmt in block.body[block.current + 1:]:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        ends = self._exit_of(small)
                        if ends is not None or isinstance(small, (cst.Return, cst.Raise, cst.Continue, cst.Break)):
                            return ends[1] if ends and ends[0] else None
            if block.owner in ("def", "class"):
                return None
        return None

    def _raises_after(self) -> bool:
        """Whether a ``raise`` follows the print in its own block (an except body that logs and
        raises again)."""
        line = self._line
        if line is not None:
            seen = False
            for small in line.body:
                if seen and isinstance(small, cst.Raise):
                    return True
                seen = seen or small is self._current_expr
        if not self._blocks:
            return False
        block = self._blocks[-1]
        return any(
            isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(small, cst.Raise) for small in stmt.body)
            for stmt in block.body[block.current + 1:]
        )

    def _exit_of(self, small: cst.CSTNode) -> tuple[bool, str] | None:
        """(whether with a failure, what) when the statement ends the process."""
        if isinstance(small, cst.Raise) and small.exc is not None:
            exc = small.exc
            func = exc.func if isinstance(exc, cst.Call) else exc
            if not self._qualified(func) & {"builtins.SystemExit", "SystemExit"}:
                return None
            code = exc.args[0].value if isinstance(exc, cst.Call) and exc.args else None
            return code is not None and self._failure_code(code), "raise SystemExit(...)"
        if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            call = small.value
            names = self._qualified(call.func)
            if "os._exit" in names:
                return True, "os._exit()"
            if names & {"sys.exit", "builtins.exit", "builtins.quit", "exit", "quit"}:
                label = cst.helpers.get_full_name_for_node(call.func) or "exit"
                return bool(call.args) and self._failure_code(call.args[0].value), f"{label}(...)"
        return None

    @staticmethod
    def _failure_code(code: cst.BaseExpression) -> bool:
        """An exit status that is certainly a failure: a non-zero number, or a message."""
        if isinstance(code, cst.Integer):
            return code.evaluated_value != 0
        if isinstance(code, cst.UnaryOperation) and isinstance(code.expression, cst.Integer):
            return True
        return string_value(code) is not None or isinstance(code, (cst.FormattedString, cst.ConcatenatedString))

    def _secret(self, values: list[cst.BaseExpression], text: str) -> str | None:
        """What in the message reads as a credential or a connection string, or None."""
        if URL_PASSWORD.search(text):
            return "a URL with a password"
        previous = ""
        for kind, item in text_and_values(values):
            if kind == "text":
                previous = item  # type: ignore[assignment]
                continue
            if SECRET_LABEL.search(previous):
                return f"the value after '{previous.strip()}'"
            for name in shown_names(item):  # type: ignore[arg-type]
                if SECRET_NAME.search(name):
                    return f"'{name}'"
            previous = ""
        return None

    def _try401(self) -> bool:
        lint = self.project.lint
        return lint is not None and lint.enabled("TRY401")

    def _without_exception(self, values: list[cst.BaseExpression]) -> list[cst.BaseExpression] | None:
        """The print's values without the caught exception at their end (ruff TRY401: the
        traceback shows it), or None when it is elsewhere."""
        name = self._except_names[-1] if self._except_names else None
        if name is None:
            return None
        last = values[-1]
        if isinstance(last, cst.Name) and last.value == name and len(values) > 1:
            rest = list(values[:-1])
            text = string_value(rest[-1])
            if text is not None and text.rstrip(" :-,") != text:
                rest[-1] = cst.SimpleString(string_literal(text.rstrip(" :-,"), quote_of(rest[-1]) or file_quote(self.file)))
            return rest if not any(name in names_in(v) for v in rest) else None
        if isinstance(last, cst.FormattedString) and last.parts:
            part = last.parts[-1]
            if isinstance(part, cst.FormattedStringExpression) and isinstance(part.expression, cst.Name) and part.expression.value == name:
                parts = list(last.parts[:-1])
                if parts and isinstance(parts[-1], cst.FormattedStringText):
                    stripped = parts[-1].value.rstrip(" :-,")
                    parts[-1] = parts[-1].with_changes(value=stripped)
                trimmed = last.with_changes(parts=parts)
                rest = [*values[:-1], trimmed]
                return rest if not any(name in names_in(v) for v in rest) else None
        return None

    # --- whether the record is shown ----------------------------------------------------

    def _check_shown(self, logger: ModuleLogger, level: Level) -> None:
        """Keep the print when the logging in effect where it runs would drop the record
        (a debug leftover is meant to be hidden)."""
        number = LEVELS[level]
        if self._runs_at_import() and (self.configured_at is None or self._current_top <= self.configured_at):
            if number < logging.WARNING:
                raise _Keep(
                    f"runs at import time, before logging is configured: {_a(level)} record would not be shown"
                )
        if level == "debug":
            return
        facts = self.project.logging
        if facts is None or logger.kind in ("loguru", "structlog"):
            return  # no project facts (one file on its own): its caller vouches for the set-up
        name = logger.logs_as
        if name == "__name__":
            name = self._module_name()
        if name is None:
            if number >= logging.ERROR:
                return
            raise _Keep(f"cannot tell what the logger from {logger.kind} `{self._factory_label(logger)}` shows at {level.upper()}")
        verdict = facts.verdict(self.file.path, name, number, self.codemod.keeps_path)
        if not verdict.shown:
            raise _Keep(verdict.reason)

    def _factory_label(self, logger: ModuleLogger) -> str:
        return "get_logger(...)" if logger.kind == "helper" else "getLogger(...)"

    def _module_name(self) -> str:
        facts = self.project.logging
        if self.revision:
            # alembic loads a revision by path, as a top-level module of no package
            return re.sub(r"\W", "_", self.file.path.rpartition("/")[2].removesuffix(".py"))
        return facts.module_name(self.file.path) if facts is not None else self.file.path

    def _log_call(self, callee: str, level: Level, args: list[cst.Arg], replaces: cst.Call) -> cst.Call:
        fixed = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]
        owner, _, attr = callee.rpartition(".")
        func: cst.BaseExpression = cst.Attribute(value=cst.Name(owner), attr=cst.Name(attr)) if owner else cst.Name(attr)
        call = _laid_out_like(replaces, cst.Call(func=cst.Attribute(value=func, attr=cst.Name(level)), args=fixed))
        if _comments(call) < _comments(replaces):
            raise _Keep("a comment inside the call would be lost")
        if callee == self.logger.name:
            self.used_logger = True
        return call

    # --- removing empty prints without losing comments -----------------------------------

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        kept = [s for s in updated.body if id(s) not in self._removed]
        if len(kept) == len(updated.body):
            return updated
        if kept:
            kept[-1] = kept[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(body=kept)
        line = updated.with_changes(body=[cst.Pass()])
        if not updated.trailing_whitespace.comment:
            self._removed.add(id(line))
            self._keepalive.append(line)
        return line

    def leave_SimpleStatementSuite(
        self, original: cst.SimpleStatementSuite, updated: cst.SimpleStatementSuite
    ) -> cst.SimpleStatementSuite:
        kept = [s for s in updated.body if id(s) not in self._removed]
        if len(kept) == len(updated.body):
            return updated
        if kept:
            kept[-1] = kept[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(body=kept or [cst.Pass()])

    def _drop_removed(self, body: list) -> list:
        out: list = []
        carried: list[cst.EmptyLine] = []
        for stmt in body:
            if id(stmt) in self._removed:
                carried.extend(stmt.leading_lines)
                continue
            if carried:
                stmt = stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])
                carried = []
            out.append(stmt)
        if carried or not out:
            # Comments above a removed last line (or an emptied block) stay, above a `pass`.
            out.append(cst.SimpleStatementLine(body=[cst.Pass()], leading_lines=carried))
        return out

    def _single_expr(self, stmt: cst.CSTNode) -> int | None:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
            return id(stmt.body[0])
        return None

    def _drop_double_tracebacks(self, body: list) -> list:
        out = list(body)
        for k in range(1, len(out)):
            if self._single_expr(out[k]) in self._print_exc_exprs and self._single_expr(out[k - 1]) in self._exception_exprs:
                if out[k].trailing_whitespace.comment is None:
                    marker = out[k].with_changes(body=[cst.Pass()])
                    self._removed.add(id(marker))
                    self._keepalive.append(marker)
                    out[k] = marker
        return out

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        if id(original) in self._main_bodies:
            self._main_depth -= 1
        self._blocks.pop()
        if self._print_exc_exprs and self._exception_exprs:
            updated = updated.with_changes(body=self._drop_double_tracebacks(list(updated.body)))
        if not any(id(s) in self._removed for s in updated.body):
            return updated
        return updated.with_changes(body=self._drop_removed(list(updated.body)))

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        self._blocks.pop()
        if not any(id(s) in self._removed for s in updated.body):
            return updated
        body = self._drop_removed(list(updated.body))
        if len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) and not original.body:
            body = []
        return updated.with_changes(body=body)


_LABEL = re.compile(r"[\w][\w -]*:\s*(?=\x00)")


def _level_text(values: list[cst.BaseExpression]) -> str:
    """The literal text of a print, for its level; in a line of counters (``New: {n} Failed:
    {m}``) the labels are names of numbers, not what happened, and are left out."""
    joined = "".join(str(item) if kind == "text" else "\x00" for kind, item in text_and_values(values))
    if len(_LABEL.findall(joined)) >= 2:
        joined = _LABEL.sub(" ", joined)
    return joined.replace("\x00", " ")


def _a(level: str) -> str:
    return ("an " if level in ("info", "error", "exception") else "a ") + level.upper()


def _callee(call: cst.Call) -> str:
    return cst.helpers.get_full_name_for_node(call.func) or "logger"


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _laid_out_like(original: cst.Call, call: cst.Call) -> cst.Call:
    """``call`` laid out like the ``original`` it replaces when that broke the line after its
    parenthesis (a long message keeps its own line; a comment there stays with it)."""
    if not isinstance(original.whitespace_before_args, cst.ParenthesizedWhitespace) or not original.args or not call.args:
        return call
    last = original.args[-1]
    args = list(call.args)
    closing = last.comma.whitespace_after if isinstance(last.comma, cst.Comma) else last.whitespace_after_arg
    if len(args) > 1 and isinstance(args[0].value, cst.ConcatenatedString) and isinstance(closing, cst.ParenthesizedWhitespace):
        # a message kept on its lines: one argument a line, with a trailing comma, as black
        # lays out a call that does not fit on one line
        between = cst.Comma(whitespace_after=original.whitespace_before_args)
        args = [a.with_changes(comma=between) for a in args[:-1]]
        args.append(call.args[-1].with_changes(comma=cst.Comma(whitespace_after=closing)))
    elif isinstance(last.comma, cst.Comma):
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=last.comma.whitespace_after))
    else:
        args[-1] = args[-1].with_changes(whitespace_after_arg=last.whitespace_after_arg)
    return call.with_changes(whitespace_before_args=original.whitespace_before_args, args=args)


class _CommentCount(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def visit_Comment(self, node: cst.Comment) -> None:
        self.count += 1


def _comments(node: cst.CSTNode) -> int:
    counter = _CommentCount()
    node.visit(counter)
    return counter.count


def _logging_bound_elsewhere(global_scope: GlobalScope) -> bool:
    """The module binds ``logging`` to something other than the standard library module."""
    for assignment in global_scope["logging"]:
        node = getattr(assignment, "node", None)
        if isinstance(node, cst.Import) and any(
            cst.helpers.get_full_name_for_node(a.name) == "logging" and a.asname is None for a in node.names
        ):
            continue
        return True
    return False


def transform(codemod: PrintToLogging, wrapper: MetadataWrapper, file: FileContext, reporter: Reporter) -> cst.Module:
    module = wrapper.module
    scopes = wrapper.resolve(ScopeProvider)
    global_scope = scopes[module]
    assert isinstance(global_scope, GlobalScope)
    reason = module_reason(codemod, module, scopes, file)
    if reason is not None:
        return keep_all(module, scopes, reporter, reason)
    revision = is_revision(module)
    existing = find_module_logger(module, global_scope)
    if existing is not None:
        logger = existing
        first_index = existing.index + 1  # type: ignore[operator]
    else:
        name = choose_logger_name(codemod.options.logger_name, names_in_use(set(scopes.values())))
        if name is None:
            return keep_all(module, scopes, reporter, "no free name for a module logger")
        if _logging_bound_elsewhere(global_scope):
            return keep_all(module, scopes, reporter, "the name 'logging' is bound to something else here")
        logs_as = "__name__"
        facts = file.project.logging
        if revision and facts is not None:
            logs_as = facts.migration_logger(file.path) or "__name__"
        logger = ModuleLogger(name, "percent", None, logs_as=logs_as)
        first_index = logger_insert_index(module)
    configured_at = None
    for index, stmt in enumerate(module.body):
        configures = Configures(scopes)
        stmt.visit(configures)
        if configures.found:
            configured_at = index
            break
    transformer = _Rewriter(codemod, file, scopes, global_scope, logger, first_index, reporter, configured_at, revision)
    new_module = module.visit(transformer)
    if not transformer.changed:
        return module
    if transformer.converted_print_exc or transformer.dropped_stream:
        used_before = names_used(module)
    if transformer.converted_print_exc:
        new_module = remove_unused_imports(new_module, "traceback", {"print_exc"}, used_before, file.path)
    if transformer.dropped_stream:
        new_module = remove_unused_imports(new_module, "sys", {"stderr", "stdout"}, used_before, file.path)
    new_module = unbind_unused_handlers(module, new_module)
    if existing is None and transformer.used_logger:
        new_module = add_logger(new_module, logger.name, logger.logs_as or "__name__", sorting_for(file), file_quote(file))
    return new_module
