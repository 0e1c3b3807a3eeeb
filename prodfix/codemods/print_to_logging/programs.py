"""Modules whose prints are all a program's output, or otherwise all stay: one reason covers
every print of the module (each is still reported, one note per print, under ``--explain``)."""

from __future__ import annotations

import re

import libcst as cst

from prodfix.codemods.base import FileContext, Reporter
from prodfix.codemods.common.cleanup import covers
from prodfix.codemods.common.names import is_builtin, qualified_names
from prodfix.codemods.print_message import string_value
from prodfix.codemods.print_to_logging import ARGUMENT_PARSERS, TASK_DECORATORS, PrintToLogging

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z][A-Z0-9]*(?:\s*,\s*[A-Z][A-Z0-9]*)*))?", re.IGNORECASE)

FILE_NOQA = re.compile(
    r"^\s*#\s*(?:ruff\s*:\s*noqa(?::\s*(?P<codes>[A-Z][A-Z0-9]*(?:\s*,\s*[A-Z][A-Z0-9]*)*))?|flake8[:=]\s*noqa\b)",
    re.IGNORECASE | re.MULTILINE,
)

PEP723 = re.compile(r"^# /// script\s*$", re.MULTILINE)


def is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = (test.left, target.comparator)
    return any(isinstance(s, cst.Name) and s.value == "__name__" for s in sides) and any(
        string_value(s) == "__main__" for s in sides
    )


def noqa_t201(codes: str | None) -> bool:
    """A bare ``noqa`` or one naming T201 (or its group T20, T2, T)."""
    if codes is None:
        return True
    return any(covers(code.strip().upper(), ("T201",)) for code in codes.split(","))


class CommandLine(cst.CSTVisitor):
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
        return self.found is None and not is_main_guard(node.test)

    def visit_Call(self, node: cst.Call) -> bool:
        return self._check(node.func, ARGUMENT_PARSERS)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return self._check(node, ARGV) if node.attr.value == "argv" else self.found is None

    def visit_Name(self, node: cst.Name) -> bool:
        return self._check(node, ARGV) if node.value == "argv" else self.found is None

ARGV = frozenset({"sys.argv"})


class Prints(cst.CSTVisitor):
    """Every call of the builtin print (and traceback.print_exc) in the module."""

    def __init__(self, scopes) -> None:
        super().__init__()
        self.scopes = scopes
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value == "print":
            scope = self.scopes.get(func)
            if scope is None or is_builtin(scope, "print"):
                self.found.append(node)
        elif (isinstance(func, cst.Attribute) and func.attr.value == "print_exc") or isinstance(func, cst.Name):
            if "traceback.print_exc" in qualified_names(self.scopes.get(func), func):
                self.found.append(node)


def keep_all(module: cst.Module, scopes, reporter: Reporter, reason: str) -> cst.Module:
    """Every print stays, each with the reason (one line per print under --explain)."""
    prints = Prints(scopes)
    module.visit(prints)
    for call in prints.found:
        if not reporter.suppressed(call):
            reporter.report(call, f"print kept: {reason}", "note")
    return module


class Configures(cst.CSTVisitor):
    """A statement that configures logging (basicConfig, dictConfig, fileConfig) when it runs."""

    def __init__(self, scopes) -> None:
        super().__init__()
        self.scopes = scopes
        self.found = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Call(self, node: cst.Call) -> None:
        names = qualified_names(self.scopes.get(node.func), node.func)
        if names & {"logging.basicConfig", "logging.config.dictConfig", "logging.config.fileConfig"}:
            self.found = True


def module_reason(codemod: PrintToLogging, module: cst.Module, scopes, file: FileContext) -> str | None:
    """Why every print of the module stays, if one reason covers them all."""
    source = file.source
    for match in FILE_NOQA.finditer(source):
        if "flake8" in match.group(0).lower() or noqa_t201(match.group("codes")):
            return f"the file says `{match.group(0).strip()}`"
    if PEP723.search(source):
        return "a script with inline metadata (PEP 723 `# /// script`): its prints are its output"
    facts = file.project.logging
    if facts is not None and file.path in facts.scripts and does_work_at_top(module):
        return "a script run by hand (in no package, imported by nothing): no logging set-up reaches it"
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and any(
            qualified_decorator(scopes, d) & TASK_DECORATORS for d in stmt.decorators
        ):
            return "a module of invoke/fabric tasks, run from a terminal: its prints are its output"
    program = CommandLine(scopes)
    module.visit(program)
    if program.found is not None:
        return "this module is a command-line program (it builds its parser or reads sys.argv); its prints are its output"
    if (
        codemod.options.django_migrations == "keep"
        and "/migrations/" in "/" + file.path
        and "class Migration(" in source
        and "django" in source
    ):
        return "a Django migration: `manage.py migrate` shows its prints (option django_migrations: convert)"
    return None


def qualified_decorator(scopes, decorator: cst.Decorator) -> set[str]:
    expr = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
    return qualified_names(scopes.get(expr), expr)


def does_work_at_top(module: cst.Module) -> bool:
    """The module does its work when run (a loop, a call, a ``__main__`` guard at the top
    level), beyond defining things."""
    for stmt in module.body:
        if isinstance(stmt, (cst.For, cst.While, cst.With, cst.If)):
            return True
        if isinstance(stmt, cst.SimpleStatementLine):
            if any(isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) for small in stmt.body):
                return True
    return False


def is_revision(module: cst.Module) -> bool:
    """An alembic revision: module-level ``revision = ...`` and ``down_revision = ...``."""
    bound = set()
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)):
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    bound |= {t.value for t in targets if isinstance(t, cst.Name)}
    return {"revision", "down_revision"} <= bound
