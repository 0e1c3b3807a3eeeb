"""Which functions the application's start-up reaches in other modules (a project fact for add-retry).

add-retry follows calls inside a file by itself; a real application starts in one module
(``main.py``'s lifespan, ``apps.py``'s ``ready()``, a ``__main__`` block) and connects in
another (``db.py``'s ``init_models()``). This module finds the start-up entry points of the
repository (an app factory's nested lifespan and startup handlers too) and follows the calls
they make to functions imported from first-party modules, and to the methods of module-level
instances of first-party classes (``redis_client.init()`` -> ``RedisCli.init``), one or more levels, and says, per file, which of its top-level functions start-up reaches and
by which calls.

Cheap by construction: what the graph needs from one file (its entry points, its top-level
functions with the calls each makes, its imports: ``scan_file``) is part of the file's project
facts, scanned in the plan's worker processes from their one read of it and cached by content
hash; substring tests (``may_enter``) keep all but the few files that may hold an entry point
from being parsed, with Python's ``ast``. ``assemble`` then follows the calls serially, in
milliseconds, parsing only the files start-up leads into that hold no entry point. A function
whose name occurs in any file off its start-up path (a view, a task, a test) may be called from
per-request code: it is marked ``shared`` and add-retry leaves it alone (searched for only in
the files add-retry would look at).
"""

from __future__ import annotations

import ast
import os
import re
from collections import deque
from pathlib import Path
from typing import Callable

from prodfix.codemods.add_retry import SIDE_EFFECT_CALLS
from prodfix.codemods.common.ast_facts import walk
from prodfix.globs import TEST_PATH

# ENTRY_TEXT's alternatives, literal: ``any(word in text ...)`` is the same test at half the cost
ENTRY_WORDS = (
    "lifespan", "on_event", "add_event_handler", "on_startup", "create_app", "make_app", "AppConfig", "worker_init",
    "worker_process_init", "__main__", "on_starting", "post_fork", "when_ready", "def handle", "asynccontextmanager",
)
ENTRY_TEXT = re.compile("|".join(re.escape(word) for word in ENTRY_WORDS))
APP_FACTORIES = frozenset({"create_app", "make_app", "build_app", "app_factory", "get_app"})
CELERY_SIGNALS = frozenset({"worker_init", "worker_process_init", "celeryd_init", "celeryd_after_setup", "worker_ready"})
GUNICORN_HOOKS = frozenset({"on_starting", "when_ready", "post_fork", "post_worker_init", "pre_fork"})
MAX_BYTES = 1 << 20
MAX_DEPTH = 4
_APP_FACTORY_DEF = re.compile(r"def[\s\\]+(?:%s)\b" % "|".join(sorted(APP_FACTORIES)))
_COMMAND_FILE = re.compile(r"(?:^|/)management/commands/[^/]+\.py$")
_GUNICORN_FILE = re.compile(r"gunicorn[\w.-]*\.py$")


def _name(expr: ast.expr) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        inner = _name(expr.value)
        return f"{inner}.{expr.attr}" if inner else ""
    if isinstance(expr, ast.Call):
        return _name(expr.func)
    return ""


def _module_of(rel: str) -> str:
    """The dotted path of a file from the repository root (relative imports are resolved
    against it: only its last parts matter)."""
    dotted = rel[:-3].replace("/", ".")
    return dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted


class _File:
    """One parsed module: its imports (bound name -> qualified) and top-level functions."""

    def __init__(self, rel: str, tree: ast.Module, module: str | None, nodes: list[ast.AST]) -> None:
        self.rel = rel
        self.imports: dict[str, str] = {}
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.methods: dict[str, tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = {}  # "Class.method" -> (class, def)
        # module-level ``name = Class(...)`` (or ``name: Class = Class(...)``): name -> the class,
        # "Class" for one the file defines, qualified for one it imports
        self.instances: dict[str, str] = {}
        self.main: list[ast.stmt] = []
        package = (module or "").split(".")
        if not rel.endswith("__init__.py"):
            package = package[:-1]
        for node in nodes:  # ast.walk's order: a later import of a name wins
            kind = type(node)
            if kind is ast.Import:
                for alias in node.names:  # type: ignore[attr-defined]
                    if alias.asname:
                        self.imports[alias.asname] = alias.name
                    else:
                        self.imports.setdefault(alias.name.split(".")[0], alias.name.split(".")[0])
            elif kind is ast.ImportFrom:
                base = node.module or ""  # type: ignore[attr-defined]
                if node.level:  # type: ignore[attr-defined]
                    level = node.level  # type: ignore[attr-defined]
                    parent = package[: len(package) - (level - 1)] if level > 1 else package
                    base = ".".join([*parent, *([base] if base else [])])
                for alias in node.names:  # type: ignore[attr-defined]
                    self.imports[alias.asname or alias.name] = f"{base}.{alias.name}"
        classes: set[str] = set()
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[stmt.name] = stmt
            elif isinstance(stmt, ast.If) and _is_main(stmt.test):
                self.main = stmt.body
            elif isinstance(stmt, ast.ClassDef):
                classes.add(stmt.name)
                for item in stmt.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self.methods[f"{stmt.name}.{item.name}"] = (stmt.name, item)
        for stmt in tree.body:
            target, value = (
                (stmt.targets[0], stmt.value) if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                else (stmt.target, stmt.value) if isinstance(stmt, ast.AnnAssign) else (None, None)
            )
            if not (isinstance(target, ast.Name) and isinstance(value, ast.Call)):
                continue
            called = _name(value.func) if isinstance(value.func, (ast.Name, ast.Attribute)) else ""
            head, _, rest = called.partition(".")
            if not called or not called.rpartition(".")[2][:1].isupper():
                continue  # a class is called by a capitalised name: ``create_engine()`` makes no instance of ours
            if not rest and head in classes:
                self.instances[target.id] = head
            elif head in self.imports and self.imports[head] != head:
                self.instances[target.id] = self.imports[head] + (f".{rest}" if rest else "")

    def calls(self, body: list[ast.stmt], cls: str | None = None) -> tuple[list[str], list[str]]:
        """(qualified names of the imported things the statements call -- ``f()``,
        ``mod.f()``, ``client.init()`` on an imported instance --, names of the file's top-level
        functions they call, ``Class.method`` of the methods of ``cls`` they call on ``self``
        and ``name.method`` on the file's module-level instances), outside loops: what a
        worker's main loop calls is its steady work, not its start-up."""
        out: list[str] = []
        local: list[str] = []
        functions, imports, instances, methods = self.functions, self.imports, self.instances, self.methods
        for stmt in body:
            if isinstance(stmt, _NOT_FOLLOWED):
                continue  # a loop or a def at the top of the body too: a view an app factory defines
            for node in _walk_outside_loops(stmt):
                if type(node) is ast.Call:
                    func = node.func  # type: ignore[attr-defined]
                    dotted = _name(func) if isinstance(func, (ast.Name, ast.Attribute)) else ""
                    head, _, rest = dotted.partition(".")
                    if head in imports:
                        out.append(imports[head] + (f".{rest}" if rest else ""))
                    if type(func) is ast.Name and func.id in functions:
                        local.append(func.id)
                    elif rest and "." not in rest:
                        if head in ("self", "cls") and cls is not None and f"{cls}.{rest}" in methods:
                            local.append(f"{cls}.{rest}")
                        elif head in instances and head not in imports:
                            local.append(dotted)
        return out, local

    def retried(self, body: list[ast.stmt]) -> list[str]:
        """What the statements call inside a loop that retries (it catches an exception and
        sleeps): qualified names of imported things, plain names of the file's functions."""
        out: list[str] = []
        functions, imports = self.functions, self.imports
        loops = [
            n for stmt in body if not isinstance(stmt, _NOT_NESTED)
            for n in _walk_outside_loops(stmt, keep_loops=True) if isinstance(n, _LOOPS)
        ]
        for loop in loops:
            nodes = list(ast.walk(loop))
            if not any(isinstance(n, ast.ExceptHandler) for n in nodes) or not any(
                isinstance(n, ast.Call) and _name(n.func).rpartition(".")[2] == "sleep" for n in nodes
            ):
                continue
            for node in nodes:
                if type(node) is ast.Call:
                    dotted = _name(node.func)  # type: ignore[attr-defined]
                    head, _, rest = dotted.partition(".")
                    if head in imports and imports[head] != head:
                        out.append(imports[head] + (f".{rest}" if rest else ""))
                    elif not rest and head in functions:
                        out.append(head)
        return out


_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_NOT_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_NOT_FOLLOWED = (*_LOOPS, *_NOT_NESTED)


_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def _statements(tree: ast.Module) -> list[ast.AST]:
    """The statements (and except/case clauses) of the module at any depth, in ``ast.walk``'s
    order (breadth first: a statement's parent is always one of them, so the levels are those
    of the whole tree), without visiting the expressions, most of its nodes."""
    found: list[ast.AST] = [tree]
    for node in found:  # grows while it is read
        for name in node._fields:
            value = getattr(node, name, None)
            if value.__class__ is list and value and isinstance(value[0], _BLOCKS):
                found.extend(value)
    return found


def _walk_outside_loops(node: ast.AST, keep_loops: bool = False) -> list[ast.AST]:
    """``ast.walk`` that does not enter loops, nested defs, classes or lambdas (depth first,
    last child first), as a list; ``keep_loops``: the loops themselves are in it (not what
    they hold)."""
    found = []
    todo = [node]
    pop, push, add = todo.pop, todo.append, found.append
    skip = _NOT_NESTED if keep_loops else _NOT_FOLLOWED
    while todo:
        current = pop()
        add(current)
        if keep_loops and current is not node and isinstance(current, _LOOPS):
            continue
        for name in current._fields:
            value = getattr(current, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, ast.AST) and not isinstance(item, skip):
                        push(item)
            elif isinstance(value, ast.AST) and not isinstance(value, skip):
                push(value)
    return found


def _is_main(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
        and {type(test.left), type(test.comparators[0])} == {ast.Name, ast.Constant}
        and any(isinstance(x, ast.Name) and x.id == "__name__" for x in (test.left, test.comparators[0]))
        and any(isinstance(x, ast.Constant) and x.value == "__main__" for x in (test.left, test.comparators[0]))
    )


def _entries(file: _File, tree: ast.Module, nodes: list[ast.AST]) -> list[tuple[str, list[ast.stmt]]]:
    """(label, body) of each start-up entry point of the module."""
    out: list[tuple[str, list[ast.stmt]]] = []
    named: dict[str, str] = {}  # function name -> label, from calls that register it
    for node in nodes:
        if type(node) is not ast.Call:
            continue
        for kw in node.keywords:  # type: ignore[attr-defined]
            if kw.arg == "lifespan" and isinstance(kw.value, ast.Name):
                named[kw.value.id] = "lifespan"
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""  # type: ignore[attr-defined]
        if attr == "add_event_handler" and len(node.args) >= 2 and isinstance(node.args[1], ast.Name):  # type: ignore[attr-defined]
            if isinstance(node.args[0], ast.Constant) and node.args[0].value == "startup":  # type: ignore[attr-defined]
                named[node.args[1].id] = "startup handler"  # type: ignore[attr-defined]
        if attr == "append" and _name(node.func.value).endswith("on_startup") and node.args:  # type: ignore[attr-defined]
            if isinstance(node.args[0], ast.Name):  # type: ignore[attr-defined]
                named[node.args[0].id] = "startup handler"  # type: ignore[attr-defined]
    gunicorn = _GUNICORN_FILE.search(file.rel.rsplit("/", 1)[-1]) is not None
    for name, fn in file.functions.items():
        label = _handler_label(fn, named)
        if label is None and name in APP_FACTORIES:
            label = "app factory"
        if label is None and gunicorn and name in GUNICORN_HOOKS:
            label = f"gunicorn {name} hook"
        if label is not None:
            out.append((f"{label}: {name}() ({file.rel})", fn.body))
        # an app factory that defines its lifespan or startup handlers inside itself
        # (``def get_application(): @asynccontextmanager async def lifespan(app): ...``)
        for inner in _nested_defs(fn):
            label = _handler_label(inner, named)
            if label is not None:
                out.append((f"{label}: {name}.{inner.name}() ({file.rel})", inner.body))
    command = _COMMAND_FILE.search(file.rel) is not None
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and any(_name(b).split(".")[-1] == "AppConfig" for b in stmt.bases):
            for item in stmt.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "ready":
                    out.append((f"Django AppConfig.ready: {stmt.name}.ready() ({file.rel})", item.body))
        if isinstance(stmt, ast.ClassDef) and command:
            for item in stmt.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "handle":
                    out.append((f"manage.py command: {stmt.name}.handle() ({file.rel})", item.body))
    if file.main:
        out.append((f"__main__ block ({file.rel})", file.main))
    at_import = _import_time(tree)
    if at_import:
        out.append((f"import time ({file.rel})", at_import))
    return out


def _handler_label(fn: ast.FunctionDef | ast.AsyncFunctionDef, named: dict[str, str]) -> str | None:
    """What start-up runs ``fn`` as, wherever it is defined: registered by name (``lifespan=``,
    ``add_event_handler("startup", fn)``, ``on_startup.append(fn)``), decorated as a startup
    event handler or a Celery signal, or shaped as a lifespan; None for anything else."""
    label = named.get(fn.name)
    for dec in fn.decorator_list:
        dotted = _name(dec)
        parts = dotted.split(".")
        if isinstance(dec, ast.Call) and parts[-1] == "on_event" and dec.args and getattr(dec.args[0], "value", None) == "startup":
            label = "startup event handler"
        if len(parts) >= 2 and parts[-1] == "connect" and parts[-2] in CELERY_SIGNALS:
            label = f"Celery {parts[-2]} signal"
    if label is None and (fn.name == "lifespan" or _lifespan_shape(fn)):
        label = "lifespan"
    return label


def _nested_defs(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The functions defined in a top-level function's body (in its ifs, withs and trys too;
    not in loops, classes or the nested functions themselves)."""
    found: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    todo: list[ast.stmt] = list(fn.body)
    while todo:
        stmt = todo.pop(0)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(stmt)
        elif isinstance(stmt, (ast.If, ast.With, ast.AsyncWith, ast.Try)):
            for field in ("body", "orelse", "finalbody"):
                todo.extend(getattr(stmt, field, None) or [])
            for handler in getattr(stmt, "handlers", None) or []:
                todo.extend(handler.body)
    return found


def _lifespan_shape(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """``@asynccontextmanager async def anything(app: FastAPI)``: a lifespan, however it is
    registered (as add-retry's rewrite reads it)."""
    if not isinstance(fn, ast.AsyncFunctionDef) or not any(_name(d).endswith("asynccontextmanager") for d in fn.decorator_list):
        return False
    params = [*fn.args.posonlyargs, *fn.args.args]
    if not params:
        return False
    annotation = _name(params[0].annotation) if params[0].annotation is not None else ""
    return params[0].arg in ("app", "application") or annotation.split(".")[-1] in ("FastAPI", "Starlette")


# a call at the start of a line, by a bare name: ``create_db()`` at the bottom of main.py runs
# at import time; the names most files call so (registrations, logging set-up) do not count
_MODULE_CALL = re.compile(r"^([A-Za-z_]\w*)\(", re.MULTILINE)
_COMMON_CALLS = frozenset({"print", "register", "include", "fileConfig", "setup", "main", "exit", "warn", "patch"})


def _calls_at_import(text: str) -> bool:
    return any(name not in _COMMON_CALLS for name in _MODULE_CALL.findall(text))


def _import_time(tree: ast.Module) -> list[ast.stmt]:
    """The module's own statements that run at import time (not defs, classes, imports,
    loops or its ``__main__`` block)."""
    return [
        stmt for stmt in tree.body
        if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, *_LOOPS))
        and not (isinstance(stmt, ast.If) and _is_main(stmt.test))
    ]


def may_enter(text: str, rel: str) -> bool:
    """Whether the file may hold a start-up entry point: it holds the words ``_entries`` needs
    to find one (``__main__``; AppConfig and ready; a lifespan; on_event/add_event_handler;
    on_startup; a Celery signal and connect; an app factory's name), or its path makes it a
    manage.py command (and it says handle) or a gunicorn configuration; and its text names
    one (``ENTRY_TEXT``). Substring tests only: most files fail them all, and are not parsed."""
    if not (
        "__main__" in text
        or "lifespan" in text
        or "asynccontextmanager" in text
        or "_event" in text
        or "on_startup" in text
        or "AppConfig" in text and "ready" in text
        or ("worker_" in text or "celeryd_" in text) and "connect" in text
        or ("_app" in text or "app_factory" in text)
        and any(name in text for name in APP_FACTORIES) and _APP_FACTORY_DEF.search(text) is not None
        or _COMMAND_FILE.search(rel) is not None and "handle" in text
        or _GUNICORN_FILE.search(rel.rsplit("/", 1)[-1]) is not None
        or _calls_at_import(text)
    ):
        return False
    return any(word in text for word in ENTRY_WORDS) or _calls_at_import(text)


def file_facts(text: str, rel: str, enters: bool | None = None, methods: bool = False) -> dict:
    """What the start-up graph needs from one file, JSON-ready: ``{}`` when Python cannot
    parse it, else {"imports": {bound name: qualified}, "functions": {top-level function:
    [[qualified imported calls], [calls of the file's top-level functions], [a call a retry
    would repeat: "send_mail()"], [what it calls in a loop that retries]]}, "entries":
    [[label, imported calls, local calls] of each entry point]} (entries only where
    ``may_enter``: elsewhere the file is only a place start-up calls lead to)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    file = _File(rel, tree, _module_of(rel), _statements(tree))
    # substring tests first: most files neither sleep (no retry loop) nor mail, publish or write
    sleeps = "sleep" in text
    effects = "open" in text or any(word in text for word in EFFECT_CALLS)
    entries: list[tuple[str, list[ast.stmt]]] = []
    if may_enter(text, rel) if enters is None else enters:
        # the calls that register a function by name: only where the text names them
        named = "lifespan" in text or "add_event_handler" in text or "on_startup" in text
        entries = _entries(file, tree, walk(tree) if named else [])
    functions = {
        name: [*file.calls(fn.body), _effects(fn) if effects else [], file.retried(fn.body) if sleeps else []]
        for name, fn in file.functions.items()
    }
    # ``methods``: the methods of its top-level classes too, as "Class.method" (start-up may call
    # them on a module-level instance: read only then, not part of the cached facts -- ~45% more)
    for qualname, (cls, fn) in file.methods.items() if methods else ():
        functions[qualname] = [*file.calls(fn.body, cls), _effects(fn) if effects else [], file.retried(fn.body) if sleeps else []]
    return {
        "imports": file.imports,
        "instances": file.instances,
        "functions": functions,
        "entries": [[label, *file.calls(body), file.retried(body) if sleeps else []] for label, body in entries],
        "rule": FACTS_RULE,
    }


# calls a retry would repeat: mail, users, rows, messages (add-retry's own list, but a commit:
# that a function it calls commits is no effect of its own)
EFFECT_CALLS = SIDE_EFFECT_CALLS - {"commit"}
_WRITE_MODES = re.compile(r"[wax]")


def _effects(fn: ast.AST) -> list[str]:
    """The calls in a function a retry would repeat (at most one: the first), as written:
    ``send_mail()``, ``create_user()``, ``open()`` for writing."""
    for node in ast.walk(fn):
        if type(node) is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            last = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if last in EFFECT_CALLS:
                return [f"{last}()"]
            if last == "open" and isinstance(func, ast.Name):
                mode = node.args[1] if len(node.args) > 1 else next(  # type: ignore[attr-defined]
                    (k.value for k in node.keywords if k.arg == "mode"), None  # type: ignore[attr-defined]
                )
                if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and _WRITE_MODES.search(mode.value):
                    return ["open() for writing"]
    return []


# What the facts cache holds for a file that cannot hold an entry point (``scan_file``'s None);
# named by the version of the rule: an entry from an older rule (None) is scanned again. Short:
# most of a repository's files carry it (version 2: import-time calls, @asynccontextmanager lifespans).
NO_ENTRY = "-2"
# The version of the rule that made a parsed file's facts (3: entry points defined inside a
# top-level function, an app factory's lifespan and startup handlers; 4: module-level instances
# and the methods of top-level classes): older facts are scanned again.
FACTS_RULE = 4


def valid_file_facts(facts: object) -> bool:
    """The shape ``file_facts`` returns (a cache entry is untrusted input), or NO_ENTRY (the
    file names no entry point and was not parsed) or False (not part of the graph: too large)."""
    if facts is False or facts == {} or facts == NO_ENTRY:
        return True
    if not (isinstance(facts, dict) and facts.keys() == {"imports", "instances", "functions", "entries", "rule"}):
        return False
    if facts["rule"] != FACTS_RULE:
        return False  # scanned by an older rule: what it found is not what this one finds
    imports, functions, entries, instances = facts["imports"], facts["functions"], facts["entries"], facts["instances"]
    return (
        isinstance(imports, dict) and all(isinstance(v, str) for v in imports.values())
        and isinstance(instances, dict) and all(isinstance(v, str) for v in instances.values())
        and isinstance(functions, dict) and all(_valid_calls(v, 4) for v in functions.values())
        and isinstance(entries, list)
        and all(isinstance(e, list) and len(e) == 4 and isinstance(e[0], str) and _valid_calls(e[1:], 3) for e in entries)
    )


def _valid_calls(value: object, size: int = 2) -> bool:
    return (
        isinstance(value, list) and len(value) == size
        and all(isinstance(names, list) and all(isinstance(n, str) for n in names) for names in value)
    )


def scan_file(data: bytes, rel: str, text: str | None = None) -> dict | None | bool:
    """The start-up part of one file's project facts (``file_facts``), from its bytes: False
    for a file the graph leaves out (not .py, over MAX_BYTES, a test), None for one that cannot hold an
    entry point (parsed later only if start-up calls lead into it)."""
    if not rel.endswith(".py") or len(data) > MAX_BYTES or TEST_PATH.search(rel):
        return False  # tests run under the test runner: never the application's start-up
    text = data.decode("utf-8", errors="replace") if text is None else text
    return file_facts(text, rel, enters=True) if may_enter(text, rel) else None


REACH_FIELDS = 4  # the length of each function's entry in assemble's answer


def valid_reach(value: object) -> bool:
    """Whether ``value`` has the shape of :func:`assemble`'s answer (the plan caches it: a cache
    is input, another shape is a miss)."""
    return isinstance(value, dict) and all(
        isinstance(rel, str) and isinstance(functions, dict) and all(
            isinstance(name, str) and isinstance(v, list) and len(v) == REACH_FIELDS and all(isinstance(x, str) for x in v)
            for name, v in functions.items()
        )
        for rel, functions in value.items()
    )


def assemble(
    order: list[str],
    graph: dict[str, dict | None],
    text_of: Callable[[str], str],
    relevant: Callable[[str], bool] | None = None,
) -> dict[str, dict[str, list[str]]]:
    """rel -> {function: [path of calls ("" when start-up does not reach it), "" or the file
    off the path that also names it, "" or a call a retry would repeat in what it calls, "" or
    the caller that calls it in a loop that retries]},
    from the per-file facts (``graph``: rel -> ``scan_file``'s answer, for the files of
    ``order``, the graph's files in the repository's order). A file that start-up calls lead
    into but which names no entry point is parsed here (``graph`` is updated: the caller may
    cache it). ``relevant``: only files it accepts are reported (the files a codemod would
    look at); the others' functions are still followed, but not searched for in other files."""
    # the file a dotted module names: the one file with that dotted suffix of its path (None:
    # none, or ambiguous); looked up among the files of the same last name, on demand
    by_last: dict[str, list[list[str]]] = {}
    for rel in order:
        parts = rel[:-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            by_last.setdefault(parts[-1].rpartition(".")[2], []).append([rel, *parts])
    modules: dict[str, str | None] = {}

    def file_of(module: str) -> str | None:
        if module not in modules:
            hits = [
                found[0] for found in by_last.get(module.rpartition(".")[2], ())
                if any(".".join(found[i:]) == module for i in range(1, len(found)))
            ]
            modules[module] = hits[0] if len(hits) == 1 else None
        return modules[module]

    def load(rel: str, name: str, parse: bool = True) -> dict:
        """The facts of the file ``rel``; {} when it has none and cannot define ``name`` (or
        import it: a package's ``__init__.py`` re-exporting it), or is not parsed yet and
        ``parse`` is False."""
        facts = graph.get(rel)
        if facts is None and not parse:
            return {}
        if facts is None:
            text = text_of(rel)
            head, _, method = name.rpartition(".")  # "client.init", "Class.init": an instance's method
            if head and re.search(rf"^{re.escape(head)}\b", text, re.MULTILINE) is not None:
                pass  # a module-level name the method may be called on: it may be an instance
            elif re.search(rf"def[\s\\]+{re.escape(method)}\b", text) is None and (
                not rel.endswith("__init__.py")  # a package re-exports what its modules define
                or re.search(rf"import\b[^\n]*\b{re.escape(head or name)}\b|^[ \t]+{re.escape(head or name)}\b", text, re.MULTILINE) is None
            ):
                return {}  # no def of that name, no re-export of it: not worth a parse yet
            facts = graph[rel] = file_facts(text, rel)
        return facts

    with_methods: dict[str, dict] = {}

    def methods_of(rel: str, facts: dict) -> dict:
        """The facts of ``rel`` with the methods of its classes among its functions (parsed
        again, once: only a call on an instance leads here)."""
        if rel not in with_methods:
            full = file_facts(text_of(rel), rel, enters=False, methods=True)
            extra = {k: v for k, v in (full.get("functions") or {}).items() if "." in k}
            with_methods[rel] = {**facts, "functions": {**facts["functions"], **extra}}
        return with_methods[rel]

    def resolve(rel: str, name: str, parse: bool = True, method: bool = True) -> tuple[str, str, dict, list[str]] | None:
        """Where ``name`` of the module ``rel`` is defined: (file, name, its facts, the files
        that re-export it on the way), following ``from .session import init_db`` in a
        package's ``__init__.py`` (or any module) a few times. ``name`` may be ``obj.method``
        on a module-level ``obj = Class(...)``: ``Class.method`` where the class is defined
        (``method``: or a ``Class.method`` of the file, as ``self.method()`` names it; never
        what a call on a class another module imports names: ``Class.method()`` is not followed)."""
        via: list[str] = []
        for _ in range(MAX_DEPTH):
            target = load(rel, name, parse)
            if not target:
                return None
            head, _, attr = name.partition(".")
            if attr:
                cls = target["instances"].get(head)
                if cls is not None:  # an instance of a class of this file, or of one it imports
                    module, _, cls_name = cls.rpartition(".")
                    found = file_of(module) if module else rel
                    if found is None:
                        return None
                    if found != rel:
                        via.append(rel)
                    rel, name, method = found, f"{cls_name}.{attr}", True
                    continue
                if method and (parse or rel in with_methods):
                    target = methods_of(rel, target)
                if method and name in target["functions"]:
                    return rel, name, target, via
                qualified = target["imports"].get(head)  # the instance re-exported from another module
                if qualified is None:
                    return None
                module, _, imported = qualified.rpartition(".")
                found = file_of(module) if module else None
                if found is None or found == rel:
                    return None
                via.append(rel)
                rel, name, method = found, f"{imported}.{attr}", False
                continue
            if name in target["functions"]:
                return rel, name, target, via
            qualified = target["imports"].get(name)
            if qualified is None:
                return None
            module, _, imported = qualified.rpartition(".")
            found = file_of(module) if module else None
            if found is None or found == rel:
                return None
            via.append(rel)
            rel, name = found, imported
        return None

    relevance: dict[str, bool] = {}

    def wanted(rel: str) -> bool:
        if rel not in relevance:
            relevance[rel] = relevant is None or relevant(rel)
        return relevance[rel]

    reached: dict[str, dict[str, list[str]]] = {}
    path_files: dict[tuple[str, str], set[str]] = {}
    queue: deque[tuple[str, list[str], list[str], list[str], set[str], int]] = deque()
    seen: set[tuple[str, str]] = set()
    for rel in order:
        facts = graph.get(rel)
        if facts:
            for label, calls, local, _ in facts["entries"]:
                queue.append((rel, calls, local, [label], {rel}, 0))
    while queue:
        here, calls, local, path, files, depth = queue.popleft()
        if depth >= MAX_DEPTH:
            continue
        targets: list[tuple[str | None, str, bool]] = [(q.rpartition(".")[0], q.rpartition(".")[2], True) for q in calls]
        targets += [(None, name, True) for name in local]  # helpers of the same file
        for module, name, method in targets:
            rel = here if module is None else file_of(module) if module else None
            if rel is None and module and "." in module:  # ``client.init()`` on an imported instance
                module, _, obj = module.rpartition(".")
                rel, name, method = file_of(module), f"{obj}.{name}", False
            if rel is None:
                continue
            if depth + 1 >= MAX_DEPTH and rel != here and not wanted(rel):
                continue  # it would be reported nowhere and followed no further: no need to parse it
            found = resolve(rel, name, method=method)
            if found is None:
                continue
            rel, name, target, via = found
            if (rel, name) in seen:
                continue
            seen.add((rel, name))
            step = f"{name}()" if rel == here else f"{name}() ({rel})"
            if rel != here:
                reached.setdefault(rel, {})[name] = [" -> ".join([*path, step]), "", "", ""]
                path_files[(rel, name)] = {*files, *via, rel}
            target_calls, target_local = target["functions"][name][:2]
            queue.append((rel, target_calls, target_local, [*path, step], {*files, *via, rel}, depth + 1))
    reached = {rel: functions for rel, functions in reached.items() if wanted(rel)}
    others = [rel for rel in order if not _is_test(rel)] if reached else []

    effects: dict[tuple[str, str], str] = {}

    def effect(rel: str, name: str, depth: int) -> str:
        """A call a retry of ``name`` would repeat, in it or in what it calls (other modules
        too, a few levels): "send_mail() in notify() (app/mail.py)", or ""."""
        key = (rel, name)
        if key in effects:
            return effects[key]
        effects[key] = ""  # a cycle adds nothing
        facts = with_methods.get(rel) or graph.get(rel) or {}
        calls, local, own = facts.get("functions", {}).get(name, ([], [], [], []))[:3]
        found = own[0] if own else ""
        if not found and depth < MAX_DEPTH:
            for module, callee in [(q.rpartition(".")[0], q.rpartition(".")[2]) for q in calls] + [(None, n) for n in local]:
                there = rel if module is None else file_of(module) if module else None
                # only the files the graph has read: effects are not worth a parse of their own
                resolved = resolve(there, callee, parse=False) if there is not None else None
                if resolved is not None:
                    inner = effect(resolved[0], resolved[1], depth + 1)
                    if inner:
                        where = "" if resolved[0] == rel else f" ({resolved[0]})"
                        if " in " not in inner:
                            found = f"{inner} in {resolved[1]}(){where}"
                        else:  # the file of the function it is in, once
                            found = inner if inner.endswith(".py)") else f"{inner}{where}"
                        break
        effects[key] = found
        return found

    # what a retry loop calls has its own retry: "wait_for_db() (app/prestart.py)"
    for rel in order:
        facts = graph.get(rel)
        if not facts:
            continue
        loops = [(f"{name}()", f[3]) for name, f in facts["functions"].items()]
        loops += [(e[0].split(": ", 1)[-1].rsplit(" (", 1)[0] if ": " in e[0] else e[0].split(" (")[0], e[3]) for e in facts["entries"]]
        for caller, retried in loops:
            # what the loop calls, and what that calls (a few levels), retries with it
            todo = [(rel, qualified, 0) for qualified in retried]
            done: set[tuple[str, str]] = set()
            while todo:
                here, qualified, depth = todo.pop(0)
                module, _, callee = qualified.rpartition(".")
                there = here if not module else file_of(module)
                resolved = resolve(there, callee) if there is not None else None
                if resolved is None or resolved[:2] in done or depth >= MAX_DEPTH:
                    continue
                done.add(resolved[:2])
                if wanted(resolved[0]):
                    entry = reached.setdefault(resolved[0], {}).setdefault(resolved[1], ["", "", "", ""])
                    entry.extend([""] * (4 - len(entry)))
                    if not entry[3]:
                        entry[3] = caller if resolved[0] == rel else f"{caller} ({rel})"
                calls, local = resolved[2]["functions"][resolved[1]][:2]
                todo += [(resolved[0], q, depth + 1) for q in calls] + [(resolved[0], n, depth + 1) for n in local]
    for functions in reached.values():
        for entry in functions.values():
            entry.extend([""] * (4 - len(entry)))
    for rel in order:  # the functions of the files add-retry looks at whose retry would repeat something
        facts = graph.get(rel)
        if facts and wanted(rel):
            for name in facts["functions"]:
                found = effect(rel, name, 0)
                if found and not facts["functions"][name][2]:  # what it calls, not its own body (add-retry sees that)
                    reached.setdefault(rel, {}).setdefault(name, ["", "", "", ""])[2] = found
    for rel, functions in reached.items():
        for name, entry in functions.items():
            if not entry[0]:
                continue  # not reached from start-up: only its effects are known
            # a method is called by its own name as an attribute of anything (``client.init()``,
            # not an ``init=False`` argument)
            called = name.rpartition(".")[2]
            word = re.compile(rf"\.\s*{re.escape(called)}\b" if "." in name else rf"\b{re.escape(called)}\b")
            on_path = path_files[(rel, name)]
            for other in others:
                if other not in on_path:
                    text = text_of(other)
                    if called in text and word.search(text):
                        entry[1] = other
                        break
    return reached


def reader(root: Path | str) -> Callable[[str], str]:
    """rel -> its text (read once, decoded as the scan decodes it; "" when unreadable)."""
    texts: dict[str, str] = {}

    def text_of(rel: str) -> str:
        if rel not in texts:
            try:
                with open(os.path.join(root, rel), "rb") as handle:
                    texts[rel] = handle.read(MAX_BYTES + 1).decode("utf-8", errors="replace")
            except OSError:
                texts[rel] = ""
        return texts[rel]

    return text_of


def startup_reach(
    root: Path, rels: list[str], relevant: Callable[[str], bool] | None = None
) -> dict[str, dict[str, list[str]]]:
    """``assemble`` from a serial scan of ``rels`` (the plan scans them in worker processes,
    beside its other per-file facts, and caches the scan)."""
    text_of = reader(root)
    graph: dict[str, dict | None] = {}
    order = []
    for rel in rels:
        if not rel.endswith(".py"):
            continue
        try:
            with open(os.path.join(root, rel), "rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except OSError:
            continue
        facts = scan_file(data, rel)
        if facts is not False:
            graph[rel] = facts  # type: ignore[assignment]
            order.append(rel)
    return assemble(order, graph, text_of, relevant)


def _is_test(rel: str) -> bool:
    """Tests may call start-up code: that does not make it per-request code."""
    name = rel.rsplit("/", 1)[-1]
    return (
        name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
        or f"/{rel}".find("/tests/") >= 0
    )


def fingerprint(reach: dict[str, dict[str, list[str]]] | None) -> str:
    return "" if reach is None else repr(sorted((rel, sorted(f.items())) for rel, f in reach.items()))
