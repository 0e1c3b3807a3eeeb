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
    CELERY_SIGNALS,
    GUNICORN_HOOKS,
    ROUTE_DECORATORS,
    SIDE_EFFECT_CALLS,
    CONNECT_CALLS,
    DEPENDENCY,
    EXCEPTIONS,
    MONGO_CLIENTS,
    OSERROR_KINDS,
    REQUEST_PARAMS,
    RETRY_CALLS,
    RETRY_DECORATOR_PACKAGES,
    RETRY_PARAMS,
    TENACITY_NAMES,
    AddRetry,
)
from prodfix.codemods.base import FileContext, Reporter
from prodfix.codemods.common.import_refs import ModuleNames
from prodfix.codemods.common.imports import add_plain_import, import_block, sorting_for
from prodfix.codemods.common.logger import (
    add_logger,
    choose_logger_name,
    find_module_logger,
    names_in_use,
)
from prodfix.codemods.common.quotes import file_quote
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
    retry_call: str | None = None  # a retry it runs itself: ``for attempt in Retrying(...)``
    retried_callees: set[str] = field(default_factory=set)  # called in its loop that retries
    is_generator: bool = False
    callees: set[str] = field(default_factory=set)  # calls in the body, by qualname in this file
    once_callees: set[str] = field(default_factory=set)  # the callees called outside loops
    passed: dict[str, str] = field(default_factory=dict)  # a name given to a call as an argument -> the call
    loops: int = 0  # loops around the code being visited
    startup_reason: str | None = None  # why the function itself is start-up code
    writes: bool = False  # it also writes: its @retry is an unsafe fix
    is_startup_source: bool = False  # its callees are start-up code (lifespan, factory, hook)
    entry: str | None = None  # how it is a start-up entry point ("lifespan serve", "Celery ...")
    connect_call: str | None = None  # the first call that connects, as written
    side_effect: str | None = None  # a call a retry would repeat (mail, writes)
    is_route: bool = False  # a request handler: what it calls is per-request code
    handles: str | None = None  # its connection is in a try whose handler swallows the error


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

    def __init__(self, scopes: ScopeCursor, path: str = "") -> None:
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
        self._classes: list[tuple[str, list[str]]] = []  # enclosing classes: (name, base names)
        self.module_block = _Function(node=None, qualname="<module>", top_index=0)  # type: ignore[arg-type]
        self.module_block.entry = "import time"  # the calls module-level statements make
        self.main_block: _Function | None = None  # the calls of `if __name__ == "__main__":`
        self.main_if: cst.If | None = None
        # statements of the module or of its __main__ block that connect, by (block, index):
        # (the first connecting call as written, the kinds of connection)
        self.sites: dict[tuple[str, int], tuple[str, set[str]]] = {}
        self.wraps: list = []  # the _Wrap of each site moved into a retried function
        self._main_ids: dict[int, int] = {}
        self.class_bases: dict[str, list[str]] = {}  # class -> the names of its bases
        self.instances: dict[str, str] = {}  # module-level instance -> the module's class it is of
        self._guarded: dict[int, str] = {}  # id of a try's body -> the handler that swallows its errors
        self._guards: list[str] = []
        self._main_index = 0
        self.path = path

    def visit_Module(self, node: cst.Module) -> None:
        self._top_ids = {id(stmt): i for i, stmt in enumerate(node.body)}
        # module-level ``cache = Cache(...)`` of a class the module defines: ``cache.open()``
        # calls ``Cache.open``
        classes = {stmt.name.value for stmt in node.body if isinstance(stmt, cst.ClassDef)}
        for stmt in node.body:
            small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target, value = small.targets[0].target, small.value
            elif isinstance(small, cst.AnnAssign):
                target, value = small.target, small.value
            else:
                continue
            if isinstance(target, cst.Name) and isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
                if value.func.value in classes:
                    self.instances[target.value] = value.func.value

    def on_visit(self, node: cst.CSTNode) -> bool:
        index = self._top_ids.get(id(node))
        if index is not None:
            self._top_index = index
        index = self._main_ids.get(id(node))
        if index is not None:
            self._main_index = index
        return super().on_visit(node)

    @property
    def _current(self) -> _Function | None:
        return self._stack[-1] if self._stack else None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.append(None)
        self._names.append(node.name.value)
        self._classes.append((".".join(self._names), [cst.helpers.get_full_name_for_node(b.value) or "" for b in node.bases]))
        self.class_bases[self._classes[-1][0]] = [b.rsplit(".", 1)[-1] for b in self._classes[-1][1]]
        self.scopes.enter()

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._stack.pop()
        self._classes.pop()
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
            parts = dotted.split(".")
            if len(parts) >= 2 and parts[-1] == "connect" and parts[-2] in CELERY_SIGNALS:
                function.startup_reason = f"Celery {parts[-2]} signal"
            if parts[-1] in ROUTE_DECORATORS and len(parts) >= 2 or parts[-1] in ("api_view", "login_required"):
                function.is_route = True
        function.entry = function.startup_reason
        name = node.name.value
        in_class = self._stack and self._stack[-1] is None and self._classes
        if in_class:
            cls, bases = self._classes[-1]
            if name == "ready" and any(b.split(".")[-1] == "AppConfig" for b in bases):
                function.entry = "Django AppConfig.ready"
            elif name == "handle" and re.search(r"(?:^|/)management/commands/[^/]+\.py$", self.path):
                function.entry = f"manage.py {self.path.rsplit('/', 1)[-1][:-3]} command"
        elif not self._stack:
            if name == "lifespan" or _lifespan_shape(node):
                function.entry = "lifespan"
            elif name in APP_FACTORIES:
                function.entry = "app factory"
            elif name in GUNICORN_HOOKS and re.search(r"gunicorn[\w.-]*\.py$", self.path.rsplit("/", 1)[-1]):
                function.entry = f"gunicorn {name} hook"
        if function.entry:
            function.is_startup_source = True
        self.functions.append(function)
        self._stack.append(function)
        self.scopes.enter()

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._stack.pop()
        self._names.pop()
        self.scopes.leave()

    def visit_If(self, node: cst.If) -> None:
        if not self._stack and _is_main_test(node.test):
            self.main_block = _Function(node=None, qualname="__main__", top_index=self._top_index)  # type: ignore[arg-type]
            self.main_block.entry = "__main__ block"
            self.main_if = node
            if isinstance(node.body, cst.IndentedBlock):
                self._main_ids = {id(stmt): i for i, stmt in enumerate(node.body.body)}
            self._stack.append(self.main_block)

    def leave_If(self, node: cst.If) -> None:
        if node is self.main_if:
            self._stack.pop()

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Try(self, node: cst.Try) -> None:
        for handler in node.handlers:
            swallowed = _swallows(handler)
            if swallowed is not None:
                self._guarded[id(node.body)] = swallowed
                break

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if id(node) in self._guarded:
            self._guards.append(self._guarded[id(node)])

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if id(node) in self._guarded:
            self._guards.pop()

    def visit_Yield(self, node: cst.Yield) -> None:
        if self._current is not None:
            self._current.is_generator = True

    def visit_For(self, node: cst.For) -> None:
        self._check_loop(node)
        if self._current is not None:
            self._current.loops += 1

    def leave_For(self, node: cst.For) -> None:
        if self._current is not None:
            self._current.loops -= 1

    def visit_While(self, node: cst.While) -> None:
        self._check_loop(node)
        if self._current is not None:
            self._current.loops += 1

    def leave_While(self, node: cst.While) -> None:
        if self._current is not None:
            self._current.loops -= 1

    def _check_loop(self, loop: cst.For | cst.While) -> None:
        function = self._current
        if function is None:
            return
        finder = _LoopRetryFinder()
        loop.body.visit(finder)
        params = function.node.params if function.node is not None else None
        counted = params is not None and any(
            p.name.value in RETRY_PARAMS for p in [*params.posonly_params, *params.params, *params.kwonly_params]
        )
        if finder.sleeps and (finder.catches or counted):  # a loop that waits, then tries again
            function.has_retry_loop = True
            function.retried_callees |= {c for c in map(self._callee, finder.called) if c is not None}

    def visit_Call(self, node: cst.Call) -> None:
        for arg in node.args:  # FastAPI(lifespan=...), Starlette(lifespan=...)
            if arg.keyword is not None and arg.keyword.value == "lifespan" and isinstance(arg.value, cst.Name):
                self.lifespans.add(arg.value.value)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "add_event_handler" and len(node.args) >= 2:
            if string_value(node.args[0].value) == "startup" and isinstance(node.args[1].value, cst.Name):
                self.startup_handlers.add(node.args[1].value.value)
        if isinstance(func, cst.Attribute) and func.attr.value == "append" and len(node.args) == 1:
            receiver = cst.helpers.get_full_name_for_node(func.value) or ""
            if receiver.endswith("on_startup") and isinstance(node.args[0].value, cst.Name):  # aiohttp
                self.startup_handlers.add(node.args[0].value.value)
        function = self._current
        if self._decorators:
            return
        if function is not None:  # use_lock_for_workers(init_db, ...): given, not called
            for arg in node.args:
                if isinstance(arg.value, cst.Name):
                    function.passed.setdefault(arg.value.value, cst.helpers.get_full_name_for_node(func) or "")
        kinds: set[str] = set()
        mongo_created = mongo_command = False
        if function is not None:
            callee = self._callee(func)
            if callee is not None:
                function.callees.add(callee)
                if not function.loops:  # a loop's calls are steady work (a worker's main loop)
                    function.once_callees.add(callee)
        qualified = self._qualified(func)
        if function is not None and function.retry_call is None and qualified & RETRY_CALLS:
            function.retry_call = f"{cst.helpers.get_full_name_for_node(func)}()"
        for name in qualified:
            if name in CONNECT_CALLS:
                kinds.add(CONNECT_CALLS[name])
            if name in MONGO_CLIENTS:
                mongo_created = True
            if name in AIOKAFKA:
                kinds.add("aiokafka")
        dotted = cst.helpers.get_full_name_for_node(func) or ""
        last_name = dotted.rsplit(".", 1)[-1]
        if isinstance(func, cst.Attribute):
            attr = func.attr.value
            receiver = (cst.helpers.get_full_name_for_node(func.value) or "").lower()
            last = receiver.split(".")[-1]
            if attr in ("connect", "begin") and "engine" in last and not qualified & {"sqlite3.connect"}:
                kinds.add("sqlalchemy")
            elif attr == "create_all" and (receiver.endswith("metadata") or last == "db"):  # Flask-SQLAlchemy's db
                kinds.add("sqlalchemy")
            elif attr == "run_sync" and any(
                isinstance(a.value, cst.Attribute) and a.value.attr.value == "create_all" for a in node.args
            ):
                kinds.add("sqlalchemy")
            elif attr == "ping" and not node.args:
                kinds.add("redis" if "mongo" not in receiver else "mongo")
            elif attr in ("command", "server_info"):
                mongo_command = True
            elif attr == "execute" and node.args and _is_select_one(node.args[0].value):
                kinds.add("sqlalchemy")
            if attr in SIDE_EFFECT_CALLS or (attr in ("add", "add_all", "merge") and any(
                w in last for w in ("session", "db")
            )):
                if function is not None and function.side_effect is None:
                    function.side_effect = f"{dotted or attr}()"
        elif last_name in SIDE_EFFECT_CALLS and function is not None and function.side_effect is None:
            function.side_effect = f"{last_name}()"
        elif dotted == "open" and function is not None and function.side_effect is None and _opens_for_writing(node):
            function.side_effect = "open() for writing"
        if function is None and not self._stack:  # import time: what module-level statements call
            callee = self._callee(func)
            top = self.module.body[self._top_index] if hasattr(self, "module") else None
            if callee is not None and not isinstance(top, (cst.For, cst.While)):
                self.module_block.callees.add(callee)
                self.module_block.once_callees.add(callee)
        if function is None:
            if kinds and not self._stack:  # module level, not a class body
                self._site("module", self._top_index, dotted, kinds)
            return
        if kinds and function is self.main_block and not function.loops:
            self._site("main", self._main_index, dotted, kinds)
        if kinds and function.connect_call is None:
            function.connect_call = f"{dotted}()" if dotted else "a connection"
        if kinds and self._guards and function.handles is None:
            function.handles = self._guards[-1]
        function.kinds |= kinds
        function.mongo_created |= mongo_created
        function.mongo_command |= mongo_command
        if mongo_created and function.connect_call is None:
            function.connect_call = f"{dotted}()"

    def _site(self, block: str, index: int, dotted: str, kinds: set[str]) -> None:
        call, known = self.sites.get((block, index), (f"{dotted or 'a connection'}()", set()))
        self.sites[(block, index)] = (call, known | kinds)

    def _callee(self, func: cst.BaseExpression) -> str | None:
        """The qualname in this file a call may reach: ``helper()``, ``self.helper()``,
        ``cls.helper()``; None for anything else (attributes of other objects, imports)."""
        if isinstance(func, cst.Name):
            return func.value
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            if func.value.value in ("self", "cls") and self._classes:
                return f"{self._classes[-1][0]}.{func.attr.value}"
            cls = self.instances.get(func.value.value)
            bound = self.scopes.current.binding_scope(func.value.value) if cls is not None else None
            if bound is not None and bound.parent is None:  # not a local of the same name
                return f"{cls}.{func.attr.value}"  # a method of a module-level instance
        return None


# what a handler catches that includes a refused connection
_CONNECTION_ERRORS = frozenset({
    "Exception", "BaseException", "OSError", "ConnectionError", "TimeoutError", "ConnectionRefusedError",
    "OperationalError", "InterfaceError", "DBAPIError", "SQLAlchemyError", "DatabaseError", "Error", "RedisError",
    "RedisConnectionError", "PostgresError", "CannotConnectNowError", "ConnectionFailure", "ServerSelectionTimeoutError",
    "AMQPConnectionError", "NoBrokersAvailable", "KafkaConnectionError", "PyMongoError",
})


def _swallows(handler: cst.ExceptHandler) -> str | None:
    """``except redis.exceptions.ConnectionError: log(...)`` (no raise): the handler the
    connection error ends in, as written; None when it catches something else or raises."""
    types = [] if handler.type is None else (
        [e.value for e in handler.type.elements] if isinstance(handler.type, cst.Tuple) else [handler.type]
    )
    names = [cst.helpers.get_full_name_for_node(t) or "" for t in types]
    if types and not any(n.rsplit(".", 1)[-1] in _CONNECTION_ERRORS for n in names):
        return None
    finder = _RaiseFinder()
    handler.body.visit(finder)
    if finder.raises:
        return None
    return f"except {', '.join(names)}" if names else "a bare except"


class _RaiseFinder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.raises = False

    def visit_Raise(self, node: cst.Raise) -> None:
        self.raises = True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False


def _lifespan_shape(node: cst.FunctionDef) -> bool:
    """``@asynccontextmanager async def anything(app: FastAPI)``: a lifespan, however the
    application registers it (``lifespan_manager.register``, a list of lifespans...)."""
    if node.asynchronous is None or not any(
        (cst.helpers.get_full_name_for_node(d.decorator) or "").endswith("asynccontextmanager") for d in node.decorators
    ):
        return False
    params = [*node.params.posonly_params, *node.params.params]
    if not params:
        return False
    annotation = cst.helpers.get_full_name_for_node(params[0].annotation.annotation) if params[0].annotation else ""
    return params[0].name.value in ("app", "application") or (annotation or "").split(".")[-1] in ("FastAPI", "Starlette")


def _opens_for_writing(call: cst.Call) -> bool:
    mode = call.args[1].value if len(call.args) > 1 and call.args[1].keyword is None else next(
        (a.value for a in call.args if a.keyword is not None and a.keyword.value == "mode"), None
    )
    text = string_value(mode) if mode is not None else None
    return text is not None and re.search(r"[wax]", text) is not None


def _is_main_test(test: cst.BaseExpression) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return False
    if not isinstance(test.comparisons[0].operator, cst.Equal):
        return False
    sides = [test.left, test.comparisons[0].comparator]
    return any(isinstance(x, cst.Name) and x.value == "__name__" for x in sides) and any(
        string_value(x) == "__main__" for x in sides
    )


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
        self.called: list[cst.BaseExpression] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self.catches = True

    def visit_Call(self, node: cst.Call) -> None:
        name = cst.helpers.get_full_name_for_node(node.func) or ""
        if name.split(".")[-1] == "sleep":
            self.sleeps = True
        self.called.append(node.func)


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
    analyzer = _Analyzer(ScopeCursor(build(module_tree(file.tree, module))), file.path)
    analyzer.module = module
    module.visit(analyzer)
    chosen = _choose(codemod, analyzer, file, reporter)
    if not chosen and not analyzer.wraps:
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
        if "sqlalchemy" in kinds and function.node.asynchronous is not None:
            kinds.add("sqlalchemy_async")  # its async drivers' refusals pass through SQLAlchemy as OSError
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
    wrap_decorators: dict[int, str] = {}
    taken = names_in_use(set(scopes.values()))
    for wrap in analyzer.wraps:
        wrap.name = _wrap_name(wrap.call, taken)
        if logger is not None and logger.stdlib and logger.index is not None and logger.index < wrap.top_index:
            logger_ref = logger.name
        elif logger is None and new_logger is not None:
            logger_ref = new_logger
        else:
            logger_ref = "logging.getLogger(__name__)"
        wrap_decorators[id(wrap)] = _decorator_source(codemod, plan, plan.exceptions(wrap.kinds), logger_ref, module.default_indent)
        where = "at import time" if wrap.block == "module" else "in the __main__ block"
        reporter.report(
            wrap.stmt,
            f"{wrap.call} connects {where} without a retry: moved into {wrap.name}(), called in its place, "
            f"with @retry ({codemod.options.attempts} attempts, exponential backoff up to "
            f"{_number(codemod.options.max_wait)} s)",
            unsafe=wrap.writes,
        )
    new_module = module.visit(_Decorate(decorators))
    if analyzer.wraps:
        main_index = analyzer._top_ids.get(id(analyzer.main_if)) if analyzer.main_if is not None else None
        new_module = _wrap_statements(new_module, analyzer.wraps, wrap_decorators, main_index)
    for source, name, alias in plan.imports:
        reporter.need_import(source, name, alias)
    reporter.need_dependency(DEPENDENCY)
    if logger is None and new_logger is not None:
        return add_logger(new_module, new_logger, sorting=sorting_for(file), quote=file_quote(file))
    return add_plain_import(new_module, "logging", sorting_for(file))


def _startup_paths(analyzer: "_Analyzer", reach: dict | None = None) -> dict[str, list[str]]:
    """Every function of the file reached from a start-up entry point, with the path of calls
    that reaches it (entry point first), following calls in this file breadth first. ``reach``:
    this file's functions that start-up code in other modules calls (``engine/startup_graph.py``),
    each with the calls that lead there, when no other file off that path names it."""
    by_name = {f.qualname: f for f in analyzer.functions}
    sources: list[tuple[str, _Function]] = []
    for name, (calls, shared, *_) in sorted((reach or {}).items()):
        function = by_name.get(name)
        if function is not None and calls and not shared:
            sources.append((calls + " ->", function))  # the calls up to this function
    for function in analyzer.functions:
        name = function.node.name.value
        if function.is_startup_source:
            sources.append((function.entry or function.qualname, function))
        elif name in analyzer.lifespans:
            sources.append(("lifespan", function))
        elif name in analyzer.startup_handlers:
            sources.append(("startup handler", function))
    if analyzer.main_block is not None:
        sources.append(("__main__ block", analyzer.main_block))
    if analyzer.module_block.once_callees:
        sources.append(("import time", analyzer.module_block))
    paths: dict[str, list[str]] = {}
    queue: list[tuple[_Function, list[str]]] = []
    for label, function in sources:
        path = [label, function.qualname]
        if function.node is not None and function.qualname not in paths:
            paths[function.qualname] = path
        queue.append((function, path))
    while queue:
        function, path = queue.pop(0)
        if len(path) > 6:
            continue
        for callee in sorted(function.once_callees):
            target = by_name.get(callee)
            if target is None or target.qualname in paths or target.is_route:
                continue
            paths[target.qualname] = [*path, target.qualname]
            queue.append((target, paths[target.qualname]))
    return paths


def _passed_paths(analyzer: "_Analyzer", paths: dict[str, list[str]]) -> dict[str, tuple[str, str, str]]:
    """The functions of the file that start-up code passes by name to a call it makes
    (``use_lock_for_workers(init_db, ...)``), and what those call, as start-up does not reach
    them by a call: qualname -> (the call, the name passed, the path of calls as a finding says it)."""
    by_name = {f.qualname: f for f in analyzer.functions}
    found: dict[str, tuple[str, str, str]] = {}
    queue: list[tuple[_Function, str, str, str]] = []
    for qualname, path in sorted(paths.items()):
        source = by_name.get(qualname)
        if source is None:
            continue
        label, *steps = path
        if label.endswith(" ->"):  # from another module: the label ends with the first step
            steps = steps[1:]
        head = " -> ".join(f"{s}()" for s in steps if s not in ("__main__", "<module>"))
        for name, call in sorted(source.passed.items()):
            target = by_name.get(name)
            if not call or target is None or name in paths or name in found or target.is_route:
                continue
            text = f"{head} -> {call.rsplit('.', 1)[-1]}({name}) -> {name}()"
            text = f"{label} {text}" if label.endswith(" ->") else f"{label}: {text}"
            found[name] = (call, name, text)
            queue.append((target, call, name, text))
    while queue:
        function, call, name, text = queue.pop(0)
        for callee in sorted(function.once_callees):
            target = by_name.get(callee)
            if target is None or callee in paths or callee in found or target.is_route or text.count(" -> ") > 8:
                continue
            found[callee] = (call, name, f"{text} -> {callee}()")
            queue.append((target, call, name, found[callee][2]))
    return found


def _choose(codemod, analyzer: "_Analyzer", file: FileContext, reporter: Reporter) -> list[_Function]:
    reach = (getattr(file.project, "startup", None) or {}).get(file.path) if file.project is not None else None
    paths = _startup_paths(analyzer, reach)
    passed = _passed_paths(analyzer, paths)
    callers: dict[str, set[str]] = {}
    for function in [*analyzer.functions, *([analyzer.main_block] if analyzer.main_block else []), analyzer.module_block]:
        for callee in function.callees:
            callers.setdefault(callee, set()).add(function.qualname)
    by_name = {f.qualname: f for f in analyzer.functions}
    if analyzer.main_block is not None:
        by_name["__main__"] = analyzer.main_block
    by_name["<module>"] = analyzer.module_block
    startup: set[str] = {"__main__", "<module>", *paths}  # callers that do not make a function per-request
    for function in analyzer.functions:
        name = function.node.name.value
        if function.startup_reason or any(fnmatch.fnmatchcase(name, p) for p in codemod.options.name_patterns):
            startup.add(function.qualname)
    # alembic's env.py runs inside an alembic command: the retry belongs where that starts
    alembic_env = file.path.rsplit("/", 1)[-1] == "env.py" and re.search(
        r"^from[ \t]+alembic[ \t]+import[^\n]*\bcontext\b", file.source, re.MULTILINE
    ) is not None
    chosen = []
    for function in analyzer.functions:
        if not function.kinds and not (function.mongo_created and function.mongo_command):
            continue
        name = function.node.name.value
        if alembic_env:
            reporter.report(
                function.node,
                f"{function.qualname}() connects when alembic runs its env.py; left alone: the retry belongs "
                "where the migration is started (command.upgrade(), the prestart script)",
                "note",
            )
            continue
        own_retry = _own_retry(function, callers, by_name, analyzer.class_bases)
        retried_by = ((reach or {}).get(function.qualname) or ("", "", "", ""))[3]
        if own_retry is None and retried_by:
            own_retry = f"{retried_by} retries it, in a loop that sleeps after an error"
        if own_retry:
            reporter.report(function.node, f"{function.qualname}() has its own retry ({own_retry}); left alone", "note")
            continue
        reason = None
        if function.qualname in paths:
            label, *steps = paths[function.qualname]
            if label.endswith(" ->"):  # from another module: the label ends with the first step
                steps = steps[1:]
            calls = " -> ".join([*(f"{s}()" for s in steps if s not in ("__main__", "<module>")), function.connect_call or "a connection"])
            reason = f"{label} {calls}" if label.endswith(" ->") else f"{label}: {calls}"
        if reason is None and function.startup_reason is not None:
            reason = function.startup_reason
        pattern = next((p for p in codemod.options.name_patterns if fnmatch.fnmatchcase(name, p)), None)
        if reason is None and pattern is not None:
            reason = f"its name matches {pattern}"
        listed = any(
            t == f"{file.path}:{function.qualname}" or t == f":{function.qualname}" for t in codemod.options.targets
        )
        if reason is None and listed:
            reason = "listed in targets"
        reached, shared, deeper, retried_by = (reach or {}).get(function.qualname, ("", "", "", ""))
        if shared and function.qualname not in paths and not listed:
            reporter.report(
                function.node,
                f"{function.qualname}() connects at start-up ({reached}) but {shared} also "
                "names it and may call it per request; left alone",
                "note",
            )
            continue
        if reason is None and function.qualname in passed:
            call, given, text = passed[function.qualname]
            reporter.report(
                function.node,
                f"{function.qualname}() connects, and start-up code passes {given} to {call.rsplit('.', 1)[-1]}() without "
                f"calling it ({text} -> {function.connect_call or 'a connection'}): whether and how that runs it (under a "
                "lock, in a thread, per request) is not known; left alone (list it in targets to decorate it)",
                "note",
            )
            continue
        if reason is None:
            reporter.report(function.node, f"{function.qualname}() connects but is not start-up code; left alone", "note")
            continue
        others = sorted(c for c in callers.get(function.qualname, ()) if c not in startup)
        if others and not listed:
            reporter.report(
                function.node,
                f"{function.qualname}() connects at start-up ({reason}) but {', '.join(o + '()' for o in others)} "
                "also calls it, which is not start-up code; left alone",
                "note",
            )
            continue
        if function.handles is not None and not listed:
            reporter.report(
                function.node,
                f"{function.qualname}() connects at start-up ({reason}) but handles a failed connection itself "
                f"({function.handles}): a retry would never see the error; left alone",
                "note",
            )
            continue
        skip = _skip_reason(function)
        if skip:
            reporter.report(function.node, f"{function.qualname}(): {skip}; left alone", "note")
            continue
        side_effect = function.side_effect or _deeper_effect(function, by_name) or deeper or None
        if side_effect is not None and not listed:
            reporter.report(
                function.node,
                f"{function.qualname}() connects at start-up ({reason}) but also calls {side_effect}, "
                "which a retry would repeat; left alone",
                "note",
            )
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
    analyzer.wraps = [] if alembic_env else _module_wraps(analyzer, file, reporter)
    main = analyzer.main_block
    if main is not None and main.kinds and not any(w.block == "main" for w in analyzer.wraps) and not any(
        block == "main" for block, _ in analyzer.sites
    ):
        reporter.report(
            analyzer.main_if,
            f"the __main__ block connects ({main.connect_call}) without a retry; not changed: move the "
            "connection into a function decorated with @retry",
            "note",
        )
    return chosen


@dataclass
class _Wrap:
    """A statement run at import time (module level or a ``__main__`` block) that connects:
    moved into a function decorated with @retry, called in its place."""

    block: str  # "module" or "main"
    index: int  # in the block
    top_index: int  # of the top-level statement holding it
    stmt: cst.BaseStatement
    call: str
    kinds: set[str]
    returns: bool  # ``name = <connect>``: the function returns the value
    writes: bool = False
    name: str = ""


_MIGRATE_CALLS = frozenset({"upgrade", "downgrade", "stamp", "run_migrations"})
_BLOCK_NAMES = {cst.For: "it runs in a loop", cst.While: "it runs in a loop", cst.Try: "it is inside a try block", cst.If: "it is inside an if block"}


def _module_wraps(analyzer: "_Analyzer", file: FileContext, reporter: Reporter) -> list[_Wrap]:
    """The import-time statements that connect and can move into a retried function as they
    are; the others are reported, with the reason."""
    module = analyzer.module
    _, imports_end = import_block(module.body)
    wraps: list[_Wrap] = []
    for (block, index), (call, kinds) in sorted(analyzer.sites.items()):
        if block == "module":
            body, top_index, where = module.body, index, "at import time"
        else:
            assert analyzer.main_if is not None and isinstance(analyzer.main_if.body, cst.IndentedBlock)
            body, top_index, where = analyzer.main_if.body.body, analyzer._top_ids[id(analyzer.main_if)], "in the __main__ block"
        stmt = body[index]
        if reporter.suppressed(stmt):
            continue
        own = _LoopRetryFinder()
        stmt.visit(own)
        if own.catches and own.sleeps:
            reporter.report(stmt, f"{call} connects {where} and has its own retry (a loop that sleeps after an error); left alone", "note")
            continue
        refusal, returns = _wrap_refusal(stmt, module, top_index < imports_end)
        if refusal is None:
            effect = _SideEffects()
            stmt.visit(effect)
            if effect.found:
                refusal = f"it also calls {effect.found}, which a retry would repeat"
        if refusal is not None:
            reporter.report(
                stmt,
                f"{call} connects {where}, without a retry; not changed: {refusal}. Move it into a start-up "
                "function decorated with @retry and call that",
                "note",
            )
            continue
        writes = _writes(stmt)
        if writes is not None and not reporter.unsafe_fix(
            stmt,
            f"{call} connects {where} and also {writes}: in a function with @retry, a failure after that "
            "write runs it again and writes twice",
        ):
            continue
        wraps.append(_Wrap(block, index, top_index, stmt, call, kinds, returns, writes is not None))
    return wraps


class _Bindings(cst.CSTVisitor):
    """Names a statement binds (other than its ``with ... as`` names) and whether it holds
    anything that cannot move into a function (global, return, yield, del, walrus)."""

    def __init__(self) -> None:
        super().__init__()
        self.bound: list[str] = []
        self.immovable: str | None = None

    def _targets(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.bound.append(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._targets(element.value)
        elif isinstance(target, cst.StarredElement):
            self._targets(target.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._targets(node.name.name)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            self.bound.append(alias.evaluated_alias or alias.evaluated_name.split(".")[0])

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            self.immovable = "import *"
            return
        for alias in node.names:
            self.bound.append(alias.evaluated_alias or alias.evaluated_name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.bound.append(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.bound.append(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_CompFor(self, node: cst.CompFor) -> bool:
        return True  # a comprehension's names are its own

    def _refuse(self, what: str) -> None:
        self.immovable = self.immovable or what

    def visit_Global(self, node: cst.Global) -> None:
        self._refuse("global")

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self._refuse("nonlocal")

    def visit_Return(self, node: cst.Return) -> None:
        self._refuse("return")

    def visit_Yield(self, node: cst.Yield) -> None:
        self._refuse("yield")

    def visit_Await(self, node: cst.Await) -> None:
        self._refuse("await")

    def visit_Del(self, node: cst.Del) -> None:
        self._refuse("del")

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._refuse("an assignment expression")


class _Reads(cst.CSTVisitor):
    """Whether any of ``names`` occurs in the module outside ``skip``."""

    def __init__(self, names: set[str], skip: cst.CSTNode) -> None:
        super().__init__()
        self.names = names
        self.skip = skip
        self.found: str | None = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node is self.skip or self.found is not None:
            return False
        if isinstance(node, cst.Name) and node.value in self.names:
            self.found = node.value
        return True


def _wrap_refusal(stmt: cst.BaseStatement, module: cst.Module, before_imports: bool) -> tuple[str | None, bool]:
    """(Why the statement cannot move into a function as it is, or None; whether the function
    returns its value: ``name = <connection>``)."""
    if before_imports:
        return "it runs before the module's imports end", False
    returns = False
    as_names: list[str] = []
    if isinstance(stmt, cst.SimpleStatementLine):
        if len(stmt.body) != 1:
            return "it shares its line with other statements", False
        small = stmt.body[0]
        if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
            returns = True
            checked: cst.CSTNode = small.value
        elif isinstance(small, cst.Expr):
            checked = small
        else:
            return "it is not a call or an assignment", False
    elif isinstance(stmt, cst.With) and stmt.asynchronous is None:
        for item in stmt.items:
            if item.asname is not None:
                if not isinstance(item.asname.name, cst.Name):
                    return "its with statement binds more than a name", False
                as_names.append(item.asname.name.value)
        checked = stmt
    else:
        return _BLOCK_NAMES.get(type(stmt), "it is part of a compound statement"), False
    bindings = _Bindings()
    checked.visit(bindings)
    if bindings.immovable:
        return f"it holds {bindings.immovable}, which does not move into a function", False
    if bindings.bound and not returns:
        names = ", ".join(sorted(set(bindings.bound)))
        return f"it binds {names} at module level, which other code may read", False
    if as_names:
        reads = _Reads(set(as_names), stmt)
        module.visit(reads)
        if reads.found is not None:
            return f"{reads.found} is used after it", False
    return None, returns


class _SideEffects(cst.CSTVisitor):
    """The first call a retry would repeat (mail, user creation, a commit)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: str | None = None

    def visit_Call(self, node: cst.Call) -> None:
        name = cst.helpers.get_full_name_for_node(node.func) or ""
        if self.found is None and name.rsplit(".", 1)[-1] in SIDE_EFFECT_CALLS:
            self.found = f"{name}()"


def _wrap_name(call: str, taken: set[str]) -> str:
    last = call[:-2].rsplit(".", 1)[-1]
    base = "_migrate" if last in _MIGRATE_CALLS else "_create_all" if last == "create_all" else "_ping" if last == "ping" else "_connect"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _wrap_statements(module: cst.Module, wraps: list[_Wrap], decorators: dict[int, str], main_index: int | None) -> cst.Module:
    """Each wrapped statement becomes ``@retry(...) def _name(): <stmt>`` and ``_name()`` (or
    ``name = _name()``), in place, by index: the blocks have the statements the analysis saw."""
    by_block: dict[str, dict[int, _Wrap]] = {}
    for wrap in wraps:
        by_block.setdefault(wrap.block, {})[wrap.index] = wrap

    def rebuild(body, chosen: dict[int, _Wrap], blank: int) -> list:
        out = []
        for index, stmt in enumerate(body):
            wrap = chosen.get(index)
            if wrap is None:
                out.append(stmt)
                continue
            decorator = cst.parse_module(decorators[id(wrap)] + "def _(): pass\n").body[0].decorators[0]  # type: ignore[attr-defined]
            lines = list(stmt.leading_lines)
            while lines and lines[0].comment is None:
                lines.pop(0)
            before = [cst.EmptyLine(indent=False)] * (blank if index > 0 else 0)
            call = cst.Call(cst.Name(wrap.name))
            if wrap.returns:
                small = stmt.body[0]
                inner = cst.SimpleStatementLine([cst.Return(small.value)])
                after = stmt.with_changes(body=[small.with_changes(value=call)], leading_lines=[cst.EmptyLine(indent=False)] * blank)
            else:
                inner = stmt.with_changes(leading_lines=[])
                after = cst.SimpleStatementLine([cst.Expr(call)], leading_lines=[cst.EmptyLine(indent=False)] * blank)
            out.append(cst.FunctionDef(
                name=cst.Name(wrap.name), params=cst.Parameters(), body=cst.IndentedBlock([inner]),
                decorators=[decorator], leading_lines=[*before, *lines],
            ))
            out.append(after)
        return out

    body = list(module.body)
    if "main" in by_block and main_index is not None:
        main_if = body[main_index]
        body[main_index] = main_if.with_changes(
            body=main_if.body.with_changes(body=rebuild(main_if.body.body, by_block["main"], 1))
        )
    if "module" in by_block:
        body = rebuild(body, by_block["module"], 2)
    return module.with_changes(body=body)


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


def _deeper_effect(function: _Function, by_name: dict, depth: int = 0, seen: set | None = None) -> str | None:
    """A call a retry would repeat in what the function calls in this file, any depth:
    "send_mail() in notify()"."""
    seen = set() if seen is None else seen
    for callee in sorted(function.callees):
        target = by_name.get(callee)
        if target is None or callee in seen or target.node is None or depth > 6:
            continue
        seen.add(callee)
        found = target.side_effect or _deeper_effect(target, by_name, depth + 1, seen)
        if found:
            return found if " in " in found else f"{found} in {callee}()"
    return None


def _own_retry(
    function: _Function, callers: dict[str, set[str]] | None = None, by_name: dict | None = None,
    bases: dict[str, list[str]] | None = None,
) -> str | None:
    if function.has_retry_decorator:
        return "a retry decorator"
    if function.has_retry_loop:
        return "a loop that sleeps after an error"
    if function.retry_call is not None:
        return function.retry_call
    for callee in sorted(function.once_callees):  # it waits for the database first: wait_for_db(); connect
        waiter = (by_name or {}).get(callee)
        if waiter is not None and waiter is not function and (waiter.kinds or waiter.mongo_created) and (
            waiter.has_retry_loop or waiter.has_retry_decorator or waiter.retry_call
        ):
            return f"it waits for the connection with {callee}() first"
    # the names a call may reach it by: its own, or a base class's method it overrides
    # (``self._check()`` in ``ServiceCheck.check``'s loop runs ``PortCheck._check``)
    names = [function.qualname]
    cls, _, method = function.qualname.rpartition(".")
    todo = list((bases or {}).get(cls, ())) if cls else []
    while todo and len(names) < 10:
        base = todo.pop(0)
        names.append(f"{base}.{method}")
        todo.extend((bases or {}).get(base, ()))
    for name in names:
        for caller in sorted((callers or {}).get(name, ())):
            other = (by_name or {}).get(caller)
            if other is not None and name in other.retried_callees:
                where = {"__main__": "the __main__ block", "<module>": "module-level code"}.get(caller, f"{caller}()")
                return f"{where} calls it in a loop that sleeps after an error"
    return None


def _skip_reason(function: _Function) -> str | None:
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
