"""The libcst half of print-to-logging: see ``prodfix/codemods/print_to_logging/__init__.py`` for the rule."""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import GlobalScope, MetadataWrapper, Scope, ScopeProvider

from prodfix.codemods.base import (
    FileContext,
    Reporter,
)
from prodfix.codemods.common.imports import remove_unused_imports
from prodfix.codemods.common.logger import (
    ModuleLogger,
    add_logger,
    choose_logger_name,
    find_module_logger,
    logger_insert_index,
    names_in_use,
)
from prodfix.codemods.common.names import is_builtin, qualified_names
from prodfix.codemods.print_message import build_message, string_value
from prodfix.codemods.print_to_logging import (  # the declaration: options, prefilters, constants
    ARGUMENT_PARSERS,
    CLI_DECORATORS,
    Level,
    PrintToLogging,
)


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = (test.left, target.comparator)
    return any(isinstance(s, cst.Name) and s.value == "__name__" for s in sides) and any(
        string_value(s) == "__main__" for s in sides
    )


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
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Rewriter(cst.CSTTransformer):
    def __init__(
        self,
        options: PrintToLogging.Options,
        scopes: dict,
        global_scope: GlobalScope,
        logger: ModuleLogger,
        first_index: int,
        reporter: Reporter,
    ) -> None:
        super().__init__()
        self.options = options
        self.scopes = scopes
        self.global_scope = global_scope
        self.logger = logger
        self.first_index = first_index
        self.reporter = reporter
        self.changed = False
        self.used_logger = False
        self.converted_print_exc = False
        self._top_index: dict[int, int] = {}
        self._current_top = 0
        self._context: list[str] = []  # "def", "cli", "class", "handler" (a logging handler class), "except"
        # per enclosing except handler: a logger.exception() made from a print logs its
        # traceback already; the handler's later prints become logger.error()
        self._traceback_logged: list[bool] = []
        self._main_bodies: set[int] = set()
        self._main_depth = 0
        self._cli_functions: set[str] = set()
        self._cli_depth = 0
        self._print_exc_names: set[str] = set()  # local names of traceback.print_exc
        # logger.exception() lines made from prints / from print_exc(): a print_exc right after
        # such a print would log the same traceback twice.
        self._exception_exprs: set[int] = set()
        self._print_exc_exprs: set[int] = set()
        self._removed: set[int] = set()  # ids of Pass nodes standing for removed prints
        self._keepalive: list[cst.CSTNode] = []
        word_lists = (
            ("debug", options.debug_words),
            ("warning", options.warning_words),
            ("error", options.error_words),
        )
        self._words = [
            (level, re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE))
            for level, words in word_lists
            if words
        ]

    # --- context tracking ---------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        for index, stmt in enumerate(node.body):
            self._top_index[id(stmt)] = index
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
            if isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name) and small.module.value == "traceback":
                names = small.names
                if not isinstance(names, cst.ImportStar):
                    self._print_exc_names |= {
                        a.evaluated_alias or a.evaluated_name
                        for a in names
                        if a.evaluated_name == "print_exc"
                    }
            if isinstance(stmt, cst.If) and _is_main_guard(stmt.test):
                self._cli_functions |= _called_names(stmt.body)

    def on_visit(self, node: cst.CSTNode) -> bool:
        index = self._top_index.get(id(node))
        if index is not None:
            self._current_top = index
        return super().on_visit(node)

    def visit_If(self, node: cst.If) -> None:
        if _is_main_guard(node.test):
            self._main_bodies.add(id(node.body))

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if id(node) in self._main_bodies:
            self._main_depth += 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._context.append("def")
        top_level = len(self._context) == 1
        if any(_is_cli_decorator(d) for d in node.decorators) or (
            top_level and node.name.value in self._cli_functions
        ):
            self._cli_depth += 1
            self._context[-1] = "cli"

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if self._context.pop() == "cli":
            self._cli_depth -= 1
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        handler = any(
            q.startswith("logging.") and q.endswith("Handler") for base in node.bases for q in self._qualified(base.value)
        )
        self._context.append("handler" if handler else "class")

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._context.pop()
        return updated

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._context.append("except")
        self._traceback_logged.append(False)

    def leave_ExceptHandler(self, original: cst.ExceptHandler, updated: cst.ExceptHandler) -> cst.ExceptHandler:
        self._context.pop()
        self._traceback_logged.pop()
        return updated

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self._context.append("except")
        self._traceback_logged.append(False)

    def leave_ExceptStarHandler(
        self, original: cst.ExceptStarHandler, updated: cst.ExceptStarHandler
    ) -> cst.ExceptStarHandler:
        self._context.pop()
        self._traceback_logged.pop()
        return updated

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
        try:
            replacement = self._convert(call, target)
        except _Keep as keep:
            self.reporter.report(call, f"print kept: {keep.reason}", "note")
            return updated
        if replacement is not None and replacement[1] == "debug" and not self.reporter.unsafe_fix(
            call, f"print() -> {self.logger.name}.debug(): under the usual INFO threshold (WARNING where logging "
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
        new_call, level = replacement
        label = "traceback.print_exc()" if target == "print_exc" else "print()"
        self.converted_print_exc |= target == "print_exc"
        self.reporter.report(call, f"{label} -> {self.logger.name}.{level}()", unsafe=level == "debug")
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

    def _common_checks(self, call: cst.Call) -> Scope:
        if self._main_depth:
            raise _Keep("program output under `if __name__ == '__main__':`")
        if self._cli_depth:
            raise _Keep("program output in a command-line entry point")
        if "handler" in self._context:
            # a handler's print is how it reports its own failure: logging there can recurse
            raise _Keep("inside a logging handler")
        scope = self._scope(call.func)
        logger_assignments = scope[self.logger.name]
        if self.logger.index is None:
            if logger_assignments:
                raise _Keep(f"the name '{self.logger.name}' means something else here")
        elif any(a.scope is not self.global_scope for a in logger_assignments):
            raise _Keep(f"the name '{self.logger.name}' is shadowed here")
        if self._runs_at_import() and self._current_top < self.first_index:
            raise _Keep("runs at import time before the module logger exists")
        return scope

    def _convert(self, call: cst.Call, target: str) -> tuple[cst.Call, Level] | None:
        if target == "print_exc":
            if call.args:
                raise _Keep("traceback.print_exc() with arguments writes elsewhere")
            if not self._in_except():
                raise _Keep("traceback.print_exc() outside an except block")
            self._common_checks(call)
            level: Level = self.options.except_level
            return self._log_call(level, [cst.Arg(cst.SimpleString('"Unhandled exception"'))], call), level

        scope = self._scope(call.func)
        if not is_builtin(scope, "print"):
            raise _Keep("print is not the builtin here")
        self._common_checks(call)
        values: list[cst.BaseExpression] = []
        sep = " "
        stderr = False
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
                    stderr = True
                elif "sys.stdout" not in names and not is_none:
                    raise _Keep("writes to a file or stream")
            elif keyword == "flush":
                if not (isinstance(value, (cst.Name, cst.Integer)) and (
                    not isinstance(value, cst.Name) or value.value in ("True", "False", "None")
                )):
                    raise _Keep("flush= is not a constant")
            else:
                raise _Keep(f"unknown keyword {keyword}=")
        if not values or (len(values) == 1 and string_value(values[0]) == ""):
            if _comments(call):
                raise _Keep("a comment inside the call would be lost")
            return None
        builtins_ok = all(is_builtin(scope, n) for n in ("format", "repr", "ascii"))
        message = build_message(values, sep, self.logger.style, builtins_ok)
        level = self._level(message.text, stderr)
        args = [cst.Arg(message.format)] + [cst.Arg(a) for a in message.args]
        new_call = self._log_call(level, args, call)
        if level == "exception":
            self._traceback_logged[-1] = True
        return new_call, level

    def _level(self, text: str, stderr: bool) -> Level:
        found: Level | None = None
        earliest = None
        for level, pattern in self._words:
            match = pattern.search(text)
            if match and (earliest is None or match.start() < earliest):
                found, earliest = level, match.start()  # type: ignore[assignment]
        if self._in_except() and found not in ("debug", "warning"):
            return "error" if self._traceback_logged[-1] else self.options.except_level
        if found is not None:
            return found
        return "warning" if stderr else "info"

    def _log_call(self, level: Level, args: list[cst.Arg], replaces: cst.Call) -> cst.Call:
        fixed = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]
        call = _laid_out_like(
            replaces, cst.Call(func=cst.Attribute(value=cst.Name(self.logger.name), attr=cst.Name(level)), args=fixed)
        )
        if _comments(call) < _comments(replaces):
            raise _Keep("a comment inside the call would be lost")
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
        if self._print_exc_exprs and self._exception_exprs:
            updated = updated.with_changes(body=self._drop_double_tracebacks(list(updated.body)))
        if not any(id(s) in self._removed for s in updated.body):
            return updated
        return updated.with_changes(body=self._drop_removed(list(updated.body)))

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        if not any(id(s) in self._removed for s in updated.body):
            return updated
        body = self._drop_removed(list(updated.body))
        if len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) and not original.body:
            body = []
        return updated.with_changes(body=body)


def _laid_out_like(original: cst.Call, call: cst.Call) -> cst.Call:
    """``call`` laid out like the ``original`` it replaces when that broke the line after its
    parenthesis (a long message keeps its own line; a comment there stays with it)."""
    if not isinstance(original.whitespace_before_args, cst.ParenthesizedWhitespace) or not original.args or not call.args:
        return call
    last = original.args[-1]
    args = list(call.args)
    if isinstance(last.comma, cst.Comma):
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


class _CommandLine(cst.CSTVisitor):
    """Finds an argument parser built, or ``sys.argv`` read, outside ``if __name__ ==
    "__main__":``: such a module is a command-line program (a console script or a script run
    by path needs no guard) and its prints are its output."""

    def __init__(self, scopes) -> None:
        super().__init__()
        self.scopes = scopes
        self.found: cst.CSTNode | None = None

    def _check(self, node: cst.CSTNode, names: frozenset[str]) -> bool:
        if self.found is None and qualified_names(self.scopes.get(node), node) & names:
            self.found = node
        return self.found is None

    def visit_If(self, node: cst.If) -> bool:
        return self.found is None and not _is_main_guard(node.test)

    def visit_Call(self, node: cst.Call) -> bool:
        return self._check(node.func, ARGUMENT_PARSERS)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return self._check(node, _ARGV) if node.attr.value == "argv" else self.found is None

    def visit_Name(self, node: cst.Name) -> bool:
        return self._check(node, _ARGV) if node.value == "argv" else self.found is None


_ARGV = frozenset({"sys.argv"})


def transform(codemod: PrintToLogging, wrapper: MetadataWrapper, file: FileContext, reporter: Reporter) -> cst.Module:
    module = wrapper.module
    scopes = wrapper.resolve(ScopeProvider)
    global_scope = scopes[module]
    assert isinstance(global_scope, GlobalScope)
    program = _CommandLine(scopes)
    module.visit(program)
    if program.found is not None:
        reporter.report(program.found, "prints kept: this module reads its command line; they are its output", "note")
        return module
    existing = find_module_logger(module, global_scope)
    if existing is not None:
        logger = existing
        first_index = existing.index + 1  # type: ignore[operator]
    else:
        name = choose_logger_name(codemod.options.logger_name, names_in_use(set(scopes.values())))
        if name is None:
            reporter.report(None, "prints kept: no free name for a module logger", "note")
            return module
        logger = ModuleLogger(name, "percent", None)
        first_index = logger_insert_index(module)
    transformer = _Rewriter(codemod.options, scopes, global_scope, logger, first_index, reporter)
    new_module = module.visit(transformer)
    if not transformer.changed:
        return module
    if transformer.converted_print_exc:
        new_module = remove_unused_imports(new_module, "traceback", {"print_exc"})
    if existing is None and transformer.used_logger:
        new_module = add_logger(new_module, logger.name)
    return new_module
