"""The libcst half of add-retry: see ``prodfix/codemods/add_retry/__init__.py`` for the rule."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import GlobalScope, MetadataWrapper, ScopeProvider

from prodfix.codemods.add_retry import (  # the declaration: options, prefilters, constants
    AIOKAFKA,
    APP_FACTORIES,
    CONNECT_CALLS,
    DEPENDENCY,
    EXCEPTIONS,
    MONGO_CLIENTS,
    OSERROR_KINDS,
    REQUEST_PARAMS,
    RETRY_DECORATOR_PACKAGES,
    TENACITY_NAMES,
    AddRetry,
)
from prodfix.codemods.base import FileContext, Reporter
from prodfix.codemods.common.import_refs import ModuleNames
from prodfix.codemods.common.imports import add_plain_import
from prodfix.codemods.common.logger import (
    add_logger,
    choose_logger_name,
    find_module_logger,
    names_in_use,
)
from prodfix.codemods.common.ast_scopes import ScopeCursor, build, dotted_name, module_tree
from prodfix.codemods.print_message import string_value

# qualified call -> connection kind
# kind -> (qualified exception, alias to use when importing it by name)
# Drivers that surface refused connections as plain OSError subclasses.


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass
class _Function:
    node: cst.FunctionDef
    qualname: str
    top_index: int
    kinds: set[str] = field(default_factory=set)
    mongo_created: bool = False
    mongo_command: bool = False
    has_retry_decorator: bool = False
    has_retry_loop: bool = False
    is_generator: bool = False
    callees: set[str] = field(default_factory=set)  # plain-name calls in the body
    startup_reason: str | None = None  # why the function itself is start-up code
    writes: bool = False  # it also writes: its @retry is an unsafe fix
    is_startup_source: bool = False  # its callees are start-up code (lifespan, factory, hook)


class _ImportPlan:
    """Decides how each tenacity name and exception is spelled, and what must be imported."""

    def __init__(self, names: ModuleNames) -> None:
        self.names = names
        self.imports: list[tuple[str, str | None, str | None]] = []
        self._taken: set[str] = set()
        refs = {n: names.reference(f"tenacity.{n}") for n in TENACITY_NAMES}
        self._tenacity_module = any(r is None and not names.free(n) for n, r in refs.items())
        if self._tenacity_module and names.reference("tenacity") is None:
            self.imports.append(("tenacity", None, None))
        self._tenacity_refs = refs

    def tenacity(self, name: str) -> str:
        if self._tenacity_module:
            return f"{self.names.reference('tenacity') or 'tenacity'}.{name}"
        ref = self._tenacity_refs[name]
        if ref is not None:
            return ref
        if ("tenacity", name, None) not in self.imports:
            self.imports.append(("tenacity", name, None))
        return name

    def exceptions(self, kinds: set[str]) -> list[str]:
        out: list[str] = []
        for kind in sorted(kinds):
            for qualified, alias in EXCEPTIONS.get(kind, []):
                out.append(self._spell(qualified, alias))
        if kinds & OSERROR_KINDS:
            out.append("OSError")
        else:
            out.extend(["ConnectionError", "TimeoutError"])
        return list(dict.fromkeys(out))

    def _spell(self, qualified: str, alias: str | None) -> str:
        ref = self.names.reference(qualified)
        if ref is not None:
            return ref
        source, _, name = qualified.rpartition(".")
        local = name if alias is None else alias
        if not self.names.free(local) and local not in self._taken:
            local = alias or f"{source.split('.')[0].capitalize()}{name}"
        self._taken.add(local)
        entry = (source, name, None if local == name else local)
        if entry not in self.imports:
            self.imports.append(entry)
        return local


class _Analyzer(cst.CSTVisitor):
    """Per function: what it connects to, whether it is start-up code, and reasons to skip it."""

    def __init__(self, scopes: ScopeCursor) -> None:
        super().__init__()
        self.scopes = scopes
        self.functions: list[_Function] = []
        self.lifespans: set[str] = set()  # names passed as FastAPI/Starlette(lifespan=...)
        self.startup_handlers: set[str] = set()  # names given to add_event_handler("startup", ...)
        self._stack: list[_Function | None] = []  # None for class bodies
        self._names: list[str] = []
        self._top_index = 0
        self._top_ids: dict[int, int] = {}
        self._decorators = 0  # inside a decorator: names are read around the def

    def visit_Module(self, node: cst.Module) -> None:
        self._top_ids = {id(stmt): i for i, stmt in enumerate(node.body)}

    def on_visit(self, node: cst.CSTNode) -> bool:
        index = self._top_ids.get(id(node))
        if index is not None:
            self._top_index = index
        return super().on_visit(node)

    @property
    def _current(self) -> _Function | None:
        return self._stack[-1] if self._stack else None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.append(None)
        self._names.append(node.name.value)
        self.scopes.enter()

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.pop()
        self._names.pop()
        self.scopes.leave()

    def visit_Decorator(self, node: cst.Decorator) -> None:
        self._decorators += 1

    def leave_Decorator(self, node: cst.Decorator) -> None:
        self._decorators -= 1

    def _qualified(self, func: cst.BaseExpression, outside: bool = False) -> set[str]:
        """What a called expression names through the imports (as libcst's qualified names);
        ``outside``: read in the scope around the current def (its decorators)."""
        dotted = dotted_name(func, through_calls=True)
        if dotted is None:
            return set()
        scope = self.scopes.outer if outside or self._decorators else self.scopes.current
        return scope.qualified_names(dotted)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._names.append(node.name.value)
        function = _Function(node=node, qualname=".".join(self._names), top_index=self._top_index)
        for decorator in node.decorators:
            expr = decorator.decorator
            func = expr.func if isinstance(expr, cst.Call) else expr
            dotted = cst.helpers.get_full_name_for_node(func) or ""
            qualified = self._qualified(func)  # decorators are read in the scope around the def
            if dotted.split(".")[-1].startswith("retry") or any(
                q.split(".")[0] in RETRY_DECORATOR_PACKAGES for q in qualified
            ) or dotted.split(".")[0] in RETRY_DECORATOR_PACKAGES:
                function.has_retry_decorator = True
            if isinstance(expr, cst.Call) and dotted.endswith("on_event") and expr.args and (
                string_value(expr.args[0].value) == "startup"
            ):
                function.startup_reason = "startup event handler"
            if dotted.endswith("before_first_request") or dotted.endswith("before_serving"):
                function.startup_reason = "startup hook"
        if node.name.value == "lifespan" or node.name.value in APP_FACTORIES or function.startup_reason:
            function.is_startup_source = True
        self.functions.append(function)
        self._stack.append(function)
        self.scopes.enter()

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.pop()
        self._names.pop()
        self.scopes.leave()

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Yield(self, node: cst.Yield) -> None:
        if self._current is not None:
            self._current.is_generator = True

    def visit_For(self, node: cst.For) -> None:
        self._check_loop(node)

    def visit_While(self, node: cst.While) -> None:
        self._check_loop(node)

    def _check_loop(self, loop: cst.For | cst.While) -> None:
        function = self._current
        if function is None:
            return
        finder = _LoopRetryFinder()
        loop.body.visit(finder)
        if finder.catches and finder.sleeps:
            function.has_retry_loop = True

    def visit_Call(self, node: cst.Call) -> None:
        for arg in node.args:  # FastAPI(lifespan=...), Starlette(lifespan=...)
            if arg.keyword is not None and arg.keyword.value == "lifespan" and isinstance(arg.value, cst.Name):
                self.lifespans.add(arg.value.value)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "add_event_handler" and len(node.args) >= 2:
            if string_value(node.args[0].value) == "startup" and isinstance(node.args[1].value, cst.Name):
                self.startup_handlers.add(node.args[1].value.value)
        function = self._current
        if function is None:
            return
        if isinstance(func, cst.Name):
            function.callees.add(func.value)
        qualified = self._qualified(func)
        for name in qualified:
            if name in CONNECT_CALLS:
                function.kinds.add(CONNECT_CALLS[name])
            if name in MONGO_CLIENTS:
                function.mongo_created = True
            if name in AIOKAFKA:
                function.kinds.add("aiokafka")
        if not isinstance(func, cst.Attribute):
            return
        attr = func.attr.value
        receiver = (cst.helpers.get_full_name_for_node(func.value) or "").lower()
        last = receiver.split(".")[-1]
        if attr in ("connect", "begin") and "engine" in last and not qualified & {"sqlite3.connect"}:
            function.kinds.add("sqlalchemy")
        elif attr == "create_all" and receiver.endswith("metadata"):
            function.kinds.add("sqlalchemy")
        elif attr == "run_sync" and any(
            isinstance(a.value, cst.Attribute) and a.value.attr.value == "create_all" for a in node.args
        ):
            function.kinds.add("sqlalchemy")
        elif attr == "ping" and not node.args:
            function.kinds.add("redis" if "mongo" not in receiver else "mongo")
        elif attr in ("command", "server_info"):
            function.mongo_command = True
        elif attr == "execute" and node.args and _is_select_one(node.args[0].value):
            function.kinds.add("sqlalchemy")


def _is_select_one(expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Call) and expr.args:
        expr = expr.args[0].value
    text = string_value(expr)
    return text is not None and re.fullmatch(r"\s*select\s+1\s*;?\s*", text, re.IGNORECASE) is not None


class _LoopRetryFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.catches = False
        self.sleeps = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self.catches = True

    def visit_Call(self, node: cst.Call) -> None:
        name = cst.helpers.get_full_name_for_node(node.func) or ""
        if name.split(".")[-1] == "sleep":
            self.sleeps = True


class _Decorate(cst.CSTTransformer):
    """Adds the decorator closest to the ``def``, under any framework decorators."""

    def __init__(self, decorators: dict[int, str]) -> None:
        super().__init__()
        self.decorators = decorators

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        source = self.decorators.get(id(original))
        if source is None:
            return updated
        # Parsed at column 0: libcst indents continuation lines with the enclosing block.
        decorator = cst.parse_module(source + "def _(): pass\n").body[0].decorators[0]  # type: ignore[attr-defined]
        return updated.with_changes(decorators=[*updated.decorators, decorator])


def transform(codemod: AddRetry, wrapper: MetadataWrapper, file: FileContext, reporter: Reporter) -> cst.Module:
    module = wrapper.module
    # What each def connects to, from the ast's names (common/ast_scopes.py); libcst's scope
    # analysis (several times a parse) only for a module that gets a decorator: the names in
    # use and the module's logger.
    analyzer = _Analyzer(ScopeCursor(build(module_tree(file.tree, module))))
    module.visit(analyzer)
    chosen = _choose(codemod, analyzer, file, reporter)
    if not chosen:
        return module
    scopes = wrapper.resolve(ScopeProvider)
    global_scope = scopes[module]
    assert isinstance(global_scope, GlobalScope)
    names = ModuleNames(global_scope)
    plan = _ImportPlan(names)
    logger = find_module_logger(module, global_scope)
    new_logger: str | None = None
    if logger is None:
        new_logger = choose_logger_name("logger", names_in_use(set(scopes.values())))
    decorators: dict[int, str] = {}
    for function in chosen:
        kinds = function.kinds | ({"mongo"} if function.mongo_created and function.mongo_command else set())
        exceptions = plan.exceptions(kinds)
        if logger is not None and logger.stdlib and logger.index is not None and logger.index < function.top_index:
            logger_ref = logger.name
        elif logger is None and new_logger is not None:
            logger_ref = new_logger
        else:
            logger_ref = "logging.getLogger(__name__)"
        decorators[id(function.node)] = _decorator_source(codemod, plan, exceptions, logger_ref, module.default_indent)
        reporter.report(
            function.node,
            f"{function.qualname}() connects at start-up ({function.startup_reason}) without a retry: "
            f"added @retry ({codemod.options.attempts} attempts, exponential backoff up to "
            f"{_number(codemod.options.max_wait)} s)",
            unsafe=function.writes,
        )
    new_module = module.visit(_Decorate(decorators))
    for source, name, alias in plan.imports:
        reporter.need_import(source, name, alias)
    reporter.need_dependency(DEPENDENCY)
    if logger is None and new_logger is not None:
        return add_logger(new_module, new_logger)
    return add_plain_import(new_module, "logging")


def _choose(codemod, analyzer: "_Analyzer", file: FileContext, reporter: Reporter) -> list[_Function]:
    startup_names: dict[str, str] = {n: "startup event handler" for n in analyzer.startup_handlers}
    for function in analyzer.functions:
        name = function.node.name.value
        if function.is_startup_source or name in analyzer.lifespans or name in analyzer.startup_handlers:
            for callee in sorted(function.callees):
                startup_names.setdefault(callee, f"called from {function.qualname}()")
    chosen = []
    for function in analyzer.functions:
        if not function.kinds and not (function.mongo_created and function.mongo_command):
            continue
        name = function.node.name.value
        reason = function.startup_reason
        pattern = next((p for p in codemod.options.name_patterns if fnmatch.fnmatchcase(name, p)), None)
        if reason is None and pattern is not None:
            reason = f"its name matches {pattern}"
        if reason is None and function.qualname in startup_names:
            reason = startup_names[function.qualname]
        if reason is None and any(
            t == f"{file.path}:{function.qualname}" or t == f":{function.qualname}" for t in codemod.options.targets
        ):
            reason = "listed in targets"
        if reason is None:
            reporter.report(function.node, f"{function.qualname}() connects but is not start-up code; left alone", "note")
            continue
        skip = _skip_reason(function)
        if skip:
            reporter.report(function.node, f"{function.qualname}(): {skip}; left alone", "note")
            continue
        if reporter.suppressed(function.node.name):
            continue
        writes = _writes(function.node)
        if writes is not None and not reporter.unsafe_fix(
            function.node,
            f"{function.qualname}() connects at start-up ({reason}) and also {writes}: with @retry, a failure "
            "after that write runs the whole function again and writes twice",
        ):
            continue
        function.startup_reason = reason
        function.writes = writes is not None
        chosen.append(function)
    return chosen


# A start-up function that also writes is not idempotent: a retry repeats what ran before the failure.
_WRITE_SQL = re.compile(r"(?i)\b(?:insert\s+into|update\s+[\w.\"]+\s+set|delete\s+from|truncate|drop\s+table|alter\s+table)\b")
_WRITE_METHODS = frozenset(
    {"add", "add_all", "merge", "bulk_save_objects", "bulk_insert_mappings", "insert_one", "insert_many",
     "update_one", "update_many", "delete_one", "delete_many", "publish", "basic_publish", "lpush", "rpush",
     "xadd", "hset", "incr", "produce", "send", "send_message"}
)


class _Writes(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: str | None = None

    def visit_Call(self, node: cst.Call) -> None:
        if self.found is None and isinstance(node.func, cst.Attribute) and node.func.attr.value in _WRITE_METHODS:
            self.found = f"calls .{node.func.attr.value}()"

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        match = _WRITE_SQL.search(node.value) if self.found is None else None
        if match:
            self.found = f"runs {' '.join(match.group(0).split()).upper()}"


def _writes(node: cst.CSTNode) -> str | None:
    """What a function writes besides connecting (SQL INSERT/UPDATE/DELETE, an ORM add, a Redis
    write, a published message), or None."""
    finder = _Writes()
    node.visit(finder)
    return finder.found


def _skip_reason(function: _Function) -> str | None:
    if function.has_retry_decorator:
        return "already has a retry decorator"
    if function.has_retry_loop:
        return "already retries in a loop"
    if function.is_generator:
        return "is a generator"
    params = function.node.params
    for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
        annotation = cst.Module([]).code_for_node(param.annotation.annotation) if param.annotation else ""
        if param.name.value in REQUEST_PARAMS or re.search(r"\b(?:Request|Session|WebSocket)\b", annotation):
            return f"takes {param.name.value!r}: per-request work, not start-up"
    return None


def _decorator_source(codemod, plan: "_ImportPlan", exceptions: list[str], logger_ref: str, indent: str) -> str:
    """The decorator's text; its arguments are indented the way the file indents (spaces or tabs)."""
    o = codemod.options
    t = plan.tenacity
    excs = ", ".join(exceptions)
    return (
        f"@{t('retry')}(\n"
        f"{indent}stop={t('stop_after_attempt')}({o.attempts}),\n"
        f"{indent}wait={t('wait_exponential')}(multiplier={_number(o.multiplier)}, max={_number(o.max_wait)}),\n"
        f"{indent}retry={t('retry_if_exception_type')}(({excs})),\n"
        f"{indent}before_sleep={t('before_sleep_log')}({logger_ref}, logging.WARNING),\n"
        f"{indent}reraise=True,\n"
        f")\n"
    )
