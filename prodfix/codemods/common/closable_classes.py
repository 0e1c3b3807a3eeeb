"""Classes in the repository that close something: they have (or close-resources gives them) a
context-manager protocol, so ``svc = Cls(...)`` + ``try/finally: svc.close()`` in any file can
become ``with Cls(...) as svc``. Computed once per run (project context) with ``ast``, only
over files that define a ``close``/``aclose`` method, from the same single read of the
repository as the module index.
"""

from __future__ import annotations

import ast
import re

OWNED = re.compile(r"(?:Client|Session|Connection|Pool|Executor|ZipFile|socket|open|urlopen|connect|Redis|from_url)$")


def _owns_closable(init: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for node in ast.walk(init):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            stores_on_self = any(
                isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
                for t in node.targets
            )
            if stores_on_self and OWNED.search(name):
                return True
    return False


def _returns_self(method: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The body is ``return self`` (after a docstring)."""
    body = method.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return (
        len(body) == 1
        and isinstance(body[0], ast.Return)
        and isinstance(body[0].value, ast.Name)
        and body[0].value.id == "self"
    )


def _just_closes(method: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The exit closes (``self.close()``, ``self.client.aclose()``) and never returns a value
    that could be true (which would swallow the exception)."""
    closes = False
    for node in ast.walk(method):
        if (
            isinstance(node, ast.Return)
            and node.value is not None
            and not (isinstance(node.value, ast.Constant) and node.value.value in (None, False))
        ):
            return False
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr in ("close", "aclose"):
            target = func.value.value if isinstance(func.value, ast.Attribute) else func.value
            closes = closes or (isinstance(target, ast.Name) and target.id == "self")
    return closes


_FACTORIES = {"sessionmaker": "factory", "async_sessionmaker": "async-factory"}


def _session_factory(node: ast.stmt) -> tuple[str, str] | None:
    """``SessionLocal = sessionmaker(...)`` at module level: (name, "factory" or
    "async-factory"). What it makes has a close() but, before SQLAlchemy 1.4, no with: only
    rule 9 (a finally around a generator's yield) uses it."""
    if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
        return None
    value = node.value
    func = value.func if isinstance(value, ast.Call) else None
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    mode = _FACTORIES.get(name)  # type: ignore[arg-type]
    return (node.targets[0].id, mode) if mode else None


_HARMLESS_BASES = frozenset({"object", "ABC", "abc.ABC", "Generic", "typing.Generic"})
_PROTOCOL = frozenset({"__enter__", "__exit__", "__aenter__", "__aexit__"})


def _base_name(base: ast.expr) -> str | None:
    if isinstance(base, ast.Subscript):  # Generic[T]
        base = base.value
    parts = []
    while isinstance(base, ast.Attribute):
        parts.append(base.attr)
        base = base.value
    return ".".join([base.id, *reversed(parts)]) if isinstance(base, ast.Name) else None


def _bases_without_protocol(node: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: frozenset[str] = frozenset()) -> bool:
    """Every base is known here to have no context-manager protocol: none, ``object``, ``ABC``,
    ``Generic[...]``, or a class of this module that defines none and whose bases have none.
    Any other base (``django.core.files.File``) may have one, which the added methods would
    override."""
    for base in node.bases:
        name = _base_name(base)
        if name in _HARMLESS_BASES:
            continue
        local = classes.get(name) if name else None
        if local is None or name in seen:
            return False
        if any(isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name in _PROTOCOL for m in local.body):
            return False
        if not _bases_without_protocol(local, classes, seen | {name}):
            return False
    return True


def class_modes(tree: ast.Module) -> dict[str, tuple[str, str | None]]:
    """Top-level class name -> (mode, close method to call from the protocol it lacks, or None
    when it already has the protocol), for classes with or due to gain the protocol; and
    module-level session factories (mode "factory" / "async-factory", see _session_factory)."""
    modes: dict[str, tuple[str, str | None]] = {}
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    for node in tree.body:
        factory = _session_factory(node)
        if factory is not None:
            modes[factory[0]] = (factory[1], None)
            continue
        if not isinstance(node, ast.ClassDef):
            continue
        methods = {m.name: m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if "__enter__" in methods or "__aenter__" in methods:
            enter, exit_ = ("__enter__", "__exit__") if "__enter__" in methods else ("__aenter__", "__aexit__")
            # only a protocol a with can stand in for the caller's close with: an enter that
            # acquires or connects would run before the caller's try (rule 7), and a second time
            # where the caller acquires itself; an exit that swallows errors would hide them
            if _returns_self(methods[enter]) and exit_ in methods and _just_closes(methods[exit_]):
                modes[node.name] = ("sync" if enter == "__enter__" else "async", None)
        elif (
            ("close" in methods or "aclose" in methods)
            and "__init__" in methods
            and _owns_closable(methods["__init__"])
            and _bases_without_protocol(node, classes)
        ):
            close = methods.get("aclose") or methods["close"]
            mode = "async" if isinstance(close, ast.AsyncFunctionDef) else "sync"
            modes[node.name] = (mode, close.name)
    return modes


def inherited_protocol(tree: ast.Module) -> dict[str, str]:
    """Top-level classes that own a client and close it but do not gain the protocol because a
    base may have one: class name -> that base, as written."""
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    found = {}
    for node in classes.values():
        methods = {m.name: m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if (
            _PROTOCOL.isdisjoint(methods)
            and ("close" in methods or "aclose" in methods)
            and "__init__" in methods
            and _owns_closable(methods["__init__"])
            and not _bases_without_protocol(node, classes)
        ):
            found[node.name] = ", ".join(_base_name(b) or "?" for b in node.bases)
    return found


_CLOSERS = frozenset({"close", "aclose", "__exit__", "__aexit__"})


def closed_attributes(tree: ast.Module) -> dict[str, frozenset[str]]:
    """Top-level class name -> the attributes its close/aclose/__exit__/__aexit__ close
    (``self.client.close()`` -> "client"): closing them again after its exit is redundant."""
    found: dict[str, frozenset[str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        attrs = set()
        for method in node.body:
            if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and method.name in _CLOSERS:
                for call in ast.walk(method):
                    func = getattr(call, "func", None) if isinstance(call, ast.Call) else None
                    if (
                        isinstance(func, ast.Attribute)
                        and func.attr in ("close", "aclose")
                        and isinstance(func.value, ast.Attribute)
                        and isinstance(func.value.value, ast.Name)
                        and func.value.value.id == "self"
                    ):
                        attrs.add(func.value.attr)
        if attrs:
            found[node.name] = frozenset(attrs)
    return found


def _module_name(rel: str, roots: tuple[str, ...]) -> str:
    under = [r for r in roots if r == "" or rel.startswith(r + "/")]
    root = max(under, key=len) if under else ""
    path = rel[len(root) + 1 :] if root else rel
    path = path[:-3]
    if path.endswith("/__init__"):
        path = path[: -len("/__init__")]
    return path.replace("/", ".")


def file_class_modes(text: str) -> dict[str, tuple[str, str | None]]:
    """``class_modes`` of one source text; empty when it defines nothing that closes."""
    if not re.search(r"def a?close\b|def __a?enter__|sessionmaker\(", text):
        return {}
    try:
        return class_modes(ast.parse(text))
    except (SyntaxError, ValueError):
        return {}


def qualify(per_file: dict[str, dict[str, tuple[str, str | None]]], roots: tuple[str, ...]) -> dict[str, str]:
    """Qualified class name (``app.clients.ApiClient``) -> mode, once the import roots are known."""
    found: dict[str, str] = {}
    for rel, modes in per_file.items():
        module = _module_name(rel, roots)
        for name, (mode, _) in modes.items():
            found[f"{module}.{name}"] = mode
    return found
