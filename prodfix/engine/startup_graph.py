"""Which functions the application's start-up reaches in other modules (a project fact for add-retry).

add-retry follows calls inside a file by itself; a real application starts in one module
(``main.py``'s lifespan, ``apps.py``'s ``ready()``, a ``__main__`` block) and connects in
another (``db.py``'s ``init_models()``). This module finds the start-up entry points of the
repository and follows the calls they make to functions imported from first-party modules,
one or more levels, and says, per file, which of its top-level functions start-up reaches and
by which calls.

Cheap by construction: only files whose text names an entry point (a few per repository) and
the files their calls reach are parsed, with Python's ``ast``. A function whose name occurs in
any file off its start-up path (a view, a task, a test) may be called from per-request code:
it is marked ``shared`` and add-retry leaves it alone.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

ENTRY_TEXT = re.compile(
    r"lifespan|on_event|add_event_handler|on_startup|create_app|make_app|AppConfig|worker_init|"
    r"worker_process_init|__main__|on_starting|post_fork|when_ready|def handle"
)
APP_FACTORIES = frozenset({"create_app", "make_app", "build_app", "app_factory", "get_app"})
CELERY_SIGNALS = frozenset({"worker_init", "worker_process_init", "celeryd_init", "celeryd_after_setup", "worker_ready"})
GUNICORN_HOOKS = frozenset({"on_starting", "when_ready", "post_fork", "post_worker_init", "pre_fork"})
MAX_BYTES = 1 << 20
MAX_DEPTH = 4


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

    def __init__(self, rel: str, tree: ast.Module, module: str | None) -> None:
        self.rel = rel
        self.imports: dict[str, str] = {}
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.main: list[ast.stmt] = []
        package = (module or "").split(".")
        if not rel.endswith("__init__.py"):
            package = package[:-1]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.imports[alias.asname] = alias.name
                    else:
                        self.imports.setdefault(alias.name.split(".")[0], alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                    base = ".".join([*parent, *([base] if base else [])])
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = f"{base}.{alias.name}"
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[stmt.name] = stmt
            elif isinstance(stmt, ast.If) and _is_main(stmt.test):
                self.main = stmt.body

    def calls(self, body: list[ast.stmt]) -> list[str]:
        """Qualified names of the imported things the statements call (``f()``, ``mod.f()``),
        outside loops: what a worker's main loop calls is its steady work, not its start-up."""
        out: list[str] = []
        for stmt in body:
            for node in _walk_outside_loops(stmt):
                if isinstance(node, ast.Call):
                    dotted = _name(node.func) if isinstance(node.func, (ast.Name, ast.Attribute)) else ""
                    head, _, rest = dotted.partition(".")
                    if head in self.imports:
                        out.append(self.imports[head] + (f".{rest}" if rest else ""))
        return out

    def local_calls(self, body: list[ast.stmt]) -> list[str]:
        out = []
        for stmt in body:
            for node in _walk_outside_loops(stmt):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.functions:
                    out.append(node.func.id)
        return out


def _walk_outside_loops(node: ast.AST):
    """``ast.walk`` that does not enter loops, nested defs, classes or lambdas."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if not isinstance(child, (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                todo.append(child)


def _is_main(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
        and {type(test.left), type(test.comparators[0])} == {ast.Name, ast.Constant}
        and any(isinstance(x, ast.Name) and x.id == "__name__" for x in (test.left, test.comparators[0]))
        and any(isinstance(x, ast.Constant) and x.value == "__main__" for x in (test.left, test.comparators[0]))
    )


def _entries(file: _File, tree: ast.Module) -> list[tuple[str, list[ast.stmt]]]:
    """(label, body) of each start-up entry point of the module."""
    out: list[tuple[str, list[ast.stmt]]] = []
    named: dict[str, str] = {}  # function name -> label, from calls that register it
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == "lifespan" and isinstance(kw.value, ast.Name):
                named[kw.value.id] = "lifespan"
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if attr == "add_event_handler" and len(node.args) >= 2 and isinstance(node.args[1], ast.Name):
            if isinstance(node.args[0], ast.Constant) and node.args[0].value == "startup":
                named[node.args[1].id] = "startup handler"
        if attr == "append" and _name(node.func.value).endswith("on_startup") and node.args:  # type: ignore[union-attr]
            if isinstance(node.args[0], ast.Name):
                named[node.args[0].id] = "startup handler"
    gunicorn = re.search(r"gunicorn[\w.-]*\.py$", file.rel.rsplit("/", 1)[-1]) is not None
    for name, fn in file.functions.items():
        label = named.get(name)
        for dec in fn.decorator_list:
            dotted = _name(dec)
            parts = dotted.split(".")
            if isinstance(dec, ast.Call) and parts[-1] == "on_event" and dec.args and getattr(dec.args[0], "value", None) == "startup":
                label = "startup event handler"
            if len(parts) >= 2 and parts[-1] == "connect" and parts[-2] in CELERY_SIGNALS:
                label = f"Celery {parts[-2]} signal"
        if label is None and name == "lifespan":
            label = "lifespan"
        if label is None and name in APP_FACTORIES:
            label = "app factory"
        if label is None and gunicorn and name in GUNICORN_HOOKS:
            label = f"gunicorn {name} hook"
        if label is not None:
            out.append((f"{label}: {name}() ({file.rel})", fn.body))
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and any(_name(b).split(".")[-1] == "AppConfig" for b in stmt.bases):
            for item in stmt.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "ready":
                    out.append((f"Django AppConfig.ready: {stmt.name}.ready() ({file.rel})", item.body))
        if isinstance(stmt, ast.ClassDef) and re.search(r"(?:^|/)management/commands/[^/]+\.py$", file.rel):
            for item in stmt.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "handle":
                    out.append((f"manage.py command: {stmt.name}.handle() ({file.rel})", item.body))
    if file.main:
        out.append((f"__main__ block ({file.rel})", file.main))
    return out


def startup_reach(root: Path, rels: list[str]) -> dict[str, dict[str, list[str]]]:
    """rel -> {function: [path of calls, "" or the file off the path that also names it]}."""
    texts: dict[str, str] = {}
    for rel in rels:
        if not rel.endswith(".py"):
            continue
        try:
            with open(os.path.join(root, rel), "rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except OSError:
            continue
        if len(data) <= MAX_BYTES:
            texts[rel] = data.decode("utf-8", errors="replace")
    by_module: dict[str, str | None] = {}  # every dotted suffix of a file's path -> the file (None: ambiguous)
    for rel in texts:
        parts = rel[:-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        for i in range(len(parts)):
            dotted = ".".join(parts[i:])
            if dotted:
                by_module[dotted] = rel if by_module.get(dotted, rel) == rel else None
    parsed: dict[str, _File | None] = {}

    def load(rel: str) -> _File | None:
        if rel not in parsed:
            try:
                tree = ast.parse(texts[rel])
            except (SyntaxError, ValueError):
                parsed[rel] = None
            else:
                parsed[rel] = _File(rel, tree, _module_of(rel))
                parsed[rel].tree = tree  # type: ignore[attr-defined]
        return parsed[rel]

    reached: dict[str, dict[str, list[str]]] = {}
    path_files: dict[tuple[str, str], set[str]] = {}
    queue: list[tuple[_File, list[ast.stmt], list[str], set[str], int]] = []
    seen: set[tuple[str, str]] = set()
    for rel, text in texts.items():
        if ENTRY_TEXT.search(text) is None:
            continue
        file = load(rel)
        if file is None:
            continue
        for label, body in _entries(file, file.tree):  # type: ignore[attr-defined]
            queue.append((file, body, [label], {rel}, 0))
    while queue:
        file, body, path, files, depth = queue.pop(0)
        if depth >= MAX_DEPTH:
            continue
        targets = [(q.rpartition(".")[0], q.rpartition(".")[2]) for q in file.calls(body)]
        targets += [(None, name) for name in file.local_calls(body)]  # helpers of the same file
        for module, name in targets:
            rel = file.rel if module is None else by_module.get(module)
            if rel is None:
                continue
            target = load(rel)
            if target is None or name not in target.functions:
                continue
            if (rel, name) in seen:
                continue
            seen.add((rel, name))
            step = f"{name}()" if rel == file.rel else f"{name}() ({rel})"
            if rel != file.rel:
                reached.setdefault(rel, {})[name] = [" -> ".join([*path, step]), ""]
                path_files[(rel, name)] = {*files, rel}
            queue.append((target, target.functions[name].body, [*path, step], {*files, rel}, depth + 1))
    for rel, functions in reached.items():
        for name, entry in functions.items():
            word = re.compile(rf"\b{re.escape(name)}\b")
            for other, text in texts.items():
                if other not in path_files[(rel, name)] and not _is_test(other) and word.search(text):
                    entry[1] = other
                    break
    return reached


def _is_test(rel: str) -> bool:
    """Tests may call start-up code: that does not make it per-request code."""
    name = rel.rsplit("/", 1)[-1]
    return (
        name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
        or f"/{rel}".find("/tests/") >= 0
    )


def fingerprint(reach: dict[str, dict[str, list[str]]] | None) -> str:
    return "" if reach is None else repr(sorted((rel, sorted(f.items())) for rel, f in reach.items()))
