"""add-timeouts: every network client gets a timeout.

Why: a call without a timeout waits forever when a peer stalls. A worker hangs, the pool
drains, and the service stops answering while its health check still says "healthy".

What changes (matched by qualified name, so aliases and ``from`` imports count):

- requests: ``requests.get/post/put/patch/delete/head/options/request`` and the same methods on
  a ``requests.Session()`` the code created gain ``timeout=<seconds>``; ``timeout=None`` is
  replaced, any other timeout kept.
- httpx: only an explicit ``timeout=None`` is replaced (its defaults are bounded already).
- aiohttp: ``ClientSession(...)`` gains ``timeout=ClientTimeout(total=<seconds>)``.
- stdlib: ``urlopen``, ``http.client.HTTP(S)Connection``, ``smtplib.SMTP/SMTP_SSL``,
  ``ftplib.FTP``, ``socket.create_connection`` gain ``timeout=``.
- Redis (sync and asyncio clients, ``from_url``, connection pools): ``socket_timeout`` and
  ``socket_connect_timeout``.
- SQLAlchemy ``create_engine``/``create_async_engine``: ``pool_pre_ping=True``, and the driver's
  connect timeout in ``connect_args`` when the URL literal names a known driver.
- Drivers: ``psycopg2/psycopg.connect`` ``connect_timeout``; ``asyncpg.connect/create_pool``
  ``timeout`` and ``command_timeout``; ``pymongo.MongoClient`` server-selection, connect and
  socket timeouts.

What it leaves alone (and reports): calls passing ``**kwargs`` (the timeout may be inside, and a
second one crashes at run time), a timeout already given positionally, ``Redis(connection_pool=
...)`` (the pool carries the socket settings), ``connect_args`` that is not a dict literal. It
never adds ``pool_size``/``max_overflow`` (they crash with NullPool and SQLite pools).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, ScopeProvider

from prodfix.codemods.base import Codemod, FileContext, Rationale, Reporter
from prodfix.codemods.common.call_args import (
    add_keywords,
    append_with_commas,
    has_star_args,
    has_star_kwargs,
    is_none,
    keyword,
    make_keyword,
    positional,
    replace_keyword_value,
    separator_after,
)
from prodfix.codemods.common.names import qualified_names
from prodfix.codemods.print_message import string_value

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request")
REQUESTS_FUNCS = frozenset(f"requests.{m}" for m in HTTP_METHODS) | frozenset(
    f"requests.api.{m}" for m in HTTP_METHODS
)
REQUESTS_SESSIONS = frozenset({"requests.Session", "requests.session", "requests.sessions.Session"})
HTTPX_CALLS = frozenset(f"httpx.{m}" for m in (*HTTP_METHODS, "stream")) | {"httpx.Client", "httpx.AsyncClient"}
AIOHTTP_SESSION = frozenset({"aiohttp.ClientSession", "aiohttp.client.ClientSession"})
# qualified name -> index of the timeout parameter when passed positionally
STDLIB = {
    "urllib.request.urlopen": 2,
    "http.client.HTTPConnection": 2,
    "http.client.HTTPSConnection": 2,
    "smtplib.SMTP": 3,
    "smtplib.SMTP_SSL": 3,
    "smtplib.LMTP": 3,
    "ftplib.FTP": 4,
    "ftplib.FTP_TLS": 4,
    "socket.create_connection": 1,
}
_REDIS_BASES = ("redis", "redis.client", "redis.asyncio", "redis.asyncio.client")
REDIS_CLIENTS = frozenset(
    f"{base}.{cls}" for base in _REDIS_BASES for cls in ("Redis", "StrictRedis")
) | frozenset(f"{base}.{cls}.from_url" for base in _REDIS_BASES for cls in ("Redis", "StrictRedis")) | frozenset(
    {"redis.from_url", "redis.asyncio.from_url"}
)
REDIS_POOLS = frozenset(
    {
        "redis.ConnectionPool", "redis.BlockingConnectionPool", "redis.connection.ConnectionPool",
        "redis.asyncio.ConnectionPool", "redis.asyncio.BlockingConnectionPool",
        "redis.asyncio.connection.ConnectionPool",
    }
)
REDIS_POOL_URLS = frozenset(f"{name}.from_url" for name in REDIS_POOLS)
SQLALCHEMY_ENGINES = frozenset(
    {
        "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine", "sqlmodel.create_engine",
        "sqlalchemy.ext.asyncio.create_async_engine", "sqlalchemy.ext.asyncio.engine.create_async_engine",
    }
)
PSYCOPG_CONNECT = frozenset({"psycopg2.connect", "psycopg.connect", "psycopg.AsyncConnection.connect", "psycopg.Connection.connect"})
ASYNCPG_CONNECT = frozenset({"asyncpg.connect", "asyncpg.create_pool"})
MONGO_CLIENTS = frozenset({"pymongo.MongoClient", "pymongo.mongo_client.MongoClient", "motor.motor_asyncio.AsyncIOMotorClient"})

# A read timeout breaks these: they wait for data on purpose (pub/sub, blocking pops, streams, rq).
BLOCKING_REDIS = re.compile(
    r"\.(?:pubsub|listen|subscribe|psubscribe|blpop|brpop|brpoplpush|blmove|blmpop|bzpopmin|"
    r"bzpopmax|bzmpop|xread|xreadgroup)\s*\(|\bimport rq\b|\bfrom rq\b"
)

# A call can only resolve to one of the clients above through an import of one of these
# (``urllib`` and ``http`` alone: ``import urllib`` still reaches ``urllib.request``).
CLIENT_MODULES = (
    "requests", "httpx", "aiohttp", "urllib.request", "http.client", "smtplib", "ftplib", "socket",
    "redis", "sqlalchemy", "sqlmodel", "psycopg2", "psycopg", "asyncpg", "pymongo", "motor",
)
TRIGGER_NAMES = frozenset(
    {*HTTP_METHODS, "stream", "Client", "AsyncClient", "ClientSession", "urlopen", "HTTPConnection",
     "HTTPSConnection", "SMTP", "SMTP_SSL", "LMTP", "FTP", "FTP_TLS", "create_connection", "Redis",
     "StrictRedis", "from_url", "ConnectionPool", "BlockingConnectionPool", "create_engine",
     "create_async_engine", "connect", "create_pool", "MongoClient", "AsyncIOMotorClient"}
)


def _number(value: float) -> cst.BaseExpression:
    return cst.Integer(str(int(value))) if float(value).is_integer() else cst.Float(repr(float(value)))


def _driver(url: str) -> str | None:
    """The DBAPI driver a SQLAlchemy URL selects, from its scheme."""
    match = re.match(r"^([a-z0-9_]+)(?:\+([a-z0-9_]+))?://", url.strip(), re.IGNORECASE)
    if not match:
        return None
    dialect, driver = match.group(1).lower(), (match.group(2) or "").lower()
    if dialect in ("postgresql", "postgres"):
        return driver or "psycopg2"
    if dialect in ("mysql", "mariadb"):
        return driver or "mysqldb"
    if dialect == "sqlite":
        return driver or "pysqlite"
    return None


def _url_literal(expr: cst.BaseExpression) -> str | None:
    """The text of a URL literal, or of an f-string's leading literal part (enough for the scheme)."""
    value = string_value(expr)
    if value is not None:
        return value
    if isinstance(expr, cst.FormattedString) and expr.parts and isinstance(expr.parts[0], cst.FormattedStringText):
        return expr.parts[0].value
    return None


class AddTimeouts(Codemod):
    name = "add-timeouts"
    code = "PF002"
    summary = "timeouts on HTTP, Redis, database, SMTP/FTP and socket clients that have none"
    rationale = Rationale(
        problem="Network calls and clients are created without a timeout.",
        impact=(
            "When a peer stalls the call waits forever: workers hang, the pool drains and the "
            "service stops answering while its health check still reports healthy."
        ),
        fix="Give every client a bounded timeout (connect and read) and a liveness check on pooled connections.",
        severity="high",
    )
    prefilter = re.compile(
        r"requests|httpx|aiohttp|urlopen|HTTPS?Connection|smtplib|ftplib|create_connection|"
        r"redis|Redis|create_(?:async_)?engine|psycopg|asyncpg|MongoClient|motor"
    )
    metadata = (ScopeProvider,)

    @dataclass(frozen=True)
    class Options:
        seconds: float = 30
        redis_socket: float = 10
        redis_connect: float = 5
        db_connect: float = 10
        db_command: float = 30

    def candidates(self, facts, source: str, path: str, project=None) -> bool:
        """A client module imported, and a trigger called on an imported name or a session:
        ``requests.get()``, ``get()`` from ``from requests import get``, ``session.get()``."""
        if not any(m in ("urllib", "http") or m.startswith(CLIENT_MODULES) for m in facts.modules):
            return False
        aliases = {local for local, target in facts.bound.items() if target.rpartition(".")[2] in TRIGGER_NAMES}
        names = TRIGGER_NAMES | aliases
        sessions = not facts.call_names.isdisjoint({"Session", "session", "Client", "AsyncClient", "ClientSession"})
        for name, call in facts.calls:
            if name in names and (sessions or (facts.qualified(call) or "").startswith(CLIENT_MODULES)):
                return True
        return False

    def transform(self, wrapper: MetadataWrapper, file: FileContext, reporter: Reporter) -> cst.Module:
        module = wrapper.module
        scopes = wrapper.resolve(ScopeProvider)
        sessions = _SessionFinder(scopes)
        if "ession" in file.source:  # Session / session: the only way a session can exist
            module.visit(sessions)
        rewriter = _Rewriter(self.options, scopes, sessions, reporter, TRIGGER_NAMES | _aliases(module))
        rewriter.blocking_redis = BLOCKING_REDIS.search(file.source) is not None
        new_module = module.visit(rewriter)
        return new_module if rewriter.changed else module


def _aliases(module: cst.Module) -> frozenset[str]:
    """Local names under which a trigger is imported: ``from requests import post as http_post``."""
    names = set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                for alias in small.names:
                    if alias.asname is not None and alias.evaluated_name in TRIGGER_NAMES:
                        names.add(alias.evaluated_alias or "")
    return frozenset(names)


class _SessionFinder(cst.CSTVisitor):
    """Names and ``self.<attr>`` bound only to ``requests.Session()`` in a function or class."""

    def __init__(self, scopes: dict) -> None:
        super().__init__()
        self.scopes = scopes
        self._functions: list[int] = [0]
        self._classes: list[int] = [0]
        self._names: dict[tuple[int, str], bool] = {}
        self._attrs: dict[tuple[int, str], bool] = {}

    def is_session_call(self, expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Call) and bool(qualified_names(self.scopes.get(expr.func), expr.func) & REQUESTS_SESSIONS)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(id(node))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(id(node))

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.pop()

    def _bind(self, target: cst.BaseExpression, is_session: bool) -> None:
        if isinstance(target, cst.Name):
            key = (self._functions[-1], target.value)
            self._names[key] = self._names.get(key, True) and is_session
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            key2 = (self._classes[-1], target.attr.value)
            self._attrs[key2] = self._attrs.get(key2, True) and is_session

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, self.is_session_call(node.value))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target, node.value is not None and self.is_session_call(node.value))

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, self.is_session_call(node.item))

    def is_session(self, expr: cst.BaseExpression, function: int, cls: int) -> bool:
        if self.is_session_call(expr):
            return True
        if isinstance(expr, cst.Name):
            return self._names.get((function, expr.value), False)
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
            return self._attrs.get((cls, expr.attr.value), False)
        return False


class _Rewriter(cst.CSTTransformer):
    def __init__(
        self,
        options: AddTimeouts.Options,
        scopes: dict,
        sessions: _SessionFinder,
        reporter: Reporter,
        triggers: frozenset[str],
    ) -> None:
        super().__init__()
        self.triggers = triggers
        self.options = options
        self.scopes = scopes
        self.sessions = sessions
        self.reporter = reporter
        self.changed = False
        self.blocking_redis = False
        self._functions: list[int] = [0]
        self._classes: list[int] = [0]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(id(node))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self._functions.pop()
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(id(node))

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._classes.pop()
        return updated

    # --- dispatch -----------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        func = original.func
        last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
        if last not in self.triggers:
            return updated
        names = qualified_names(self.scopes.get(func), func) & _ALL_TARGETS
        label = min(names) if names else ""
        session_method = (
            not names
            and isinstance(func, cst.Attribute)
            and last in HTTP_METHODS
            and self.sessions.is_session(func.value, self._functions[-1], self._classes[-1])
        )
        if not names and not session_method:
            return updated
        if self.reporter.suppressed(original):
            return updated
        if session_method:
            label = f"requests session .{last}"
        try:
            new = self._apply(names, updated, session_method)
        except _Skip as skip:
            self.reporter.report(original, f"{label}(): {skip.reason}", skip.kind)
            return updated
        if new is None or new is updated:
            return updated
        self.changed = True
        self.reporter.report(original, f"{label}(): {self._describe(updated, new)}")
        return new

    def _apply(self, names: set[str], call: cst.Call, session_method: bool) -> cst.Call | None:
        o = self.options
        if session_method or names & REQUESTS_FUNCS:
            return self._ensure(call, [("timeout", _number(o.seconds))], replace_none=True)
        if names & HTTPX_CALLS:
            arg = keyword(call, "timeout")
            if arg is not None and is_none(arg.value):
                return replace_keyword_value(call, "timeout", _number(o.seconds))
            return None
        if names & AIOHTTP_SESSION:
            return self._aiohttp(call)
        for name in names & STDLIB.keys():
            if has_star_args(call):
                raise _Skip("*args may carry the timeout positionally; left alone", "warning")
            if len(positional(call)) > STDLIB[name]:
                return None  # the timeout is already passed positionally
            return self._ensure(call, [("timeout", _number(o.seconds))], replace_none=True)
        if names & (REDIS_CLIENTS | REDIS_POOLS | REDIS_POOL_URLS):
            return self._redis(call, names)
        if names & SQLALCHEMY_ENGINES:
            return self._sqlalchemy(call)
        if names & PSYCOPG_CONNECT:
            dsn = positional(call)
            if dsn and "connect_timeout" in (string_value(dsn[0].value) or ""):
                return None
            return self._ensure(call, [("connect_timeout", _number(o.db_connect))])
        if names & ASYNCPG_CONNECT:
            return self._ensure(call, [("timeout", _number(o.db_connect)), ("command_timeout", _number(o.db_command))])
        if names & MONGO_CLIENTS:
            ms = lambda seconds: cst.Integer(str(int(seconds * 1000)))  # noqa: E731
            host = positional(call)
            uri = (string_value(host[0].value) or "") if host else ""
            wanted = [
                ("serverSelectionTimeoutMS", ms(o.db_connect)),
                ("connectTimeoutMS", ms(o.db_connect)),
                ("socketTimeoutMS", ms(o.seconds)),
            ]
            return self._ensure(call, [(k, v) for k, v in wanted if k.lower() not in uri.lower()])
        return None

    # --- families -----------------------------------------------------------------------

    def _ensure(
        self, call: cst.Call, wanted: list[tuple[str, cst.BaseExpression]], replace_none: bool = False
    ) -> cst.Call:
        missing = [(k, v) for k, v in wanted if keyword(call, k) is None]
        nones = [k for k, _ in wanted if replace_none and (a := keyword(call, k)) is not None and is_none(a.value)]
        if missing and has_star_kwargs(call):
            raise _Skip("**kwargs may already carry a timeout; left alone (add one explicitly)", "warning")
        for key in nones:
            call = replace_keyword_value(call, key, dict(wanted)[key])
        return add_keywords(call, [make_keyword(k, v) for k, v in missing])

    def _aiohttp(self, call: cst.Call) -> cst.Call | None:
        if keyword(call, "timeout") is not None:
            return None
        func = call.func
        if isinstance(func, cst.Attribute):
            timeout_cls: cst.BaseExpression = cst.Attribute(value=func.value, attr=cst.Name("ClientTimeout"))
        else:
            self.reporter.need_import("aiohttp", "ClientTimeout")
            timeout_cls = cst.Name("ClientTimeout")
        value = cst.Call(
            func=timeout_cls,
            args=[cst.Arg(keyword=cst.Name("total"), value=_number(self.options.seconds),
                          equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))],
        )
        return self._ensure(call, [("timeout", value)])

    def _redis(self, call: cst.Call, names: set[str]) -> cst.Call | None:
        if keyword(call, "connection_pool") is not None:
            raise _Skip("connection_pool= carries the socket settings; set the timeouts on the pool", "note")
        if names & REDIS_CLIENTS and len(positional(call)) > 4 and not any(n.endswith("from_url") for n in names):
            return None  # socket_timeout passed positionally
        url = positional(call)
        query = (string_value(url[0].value) or "") if url and any(n.endswith("from_url") for n in names) else ""
        wanted = [
            ("socket_timeout", _number(self.options.redis_socket)),
            ("socket_connect_timeout", _number(self.options.redis_connect)),
        ]
        if self.blocking_redis and keyword(call, "socket_timeout") is None:
            self.reporter.report(
                call,
                "socket_timeout not added: this module uses pub/sub, blocking pops, streams or rq, "
                "which wait longer than any read timeout; socket_connect_timeout only",
                "note",
            )
            wanted = wanted[1:]
        return self._ensure(call, [(k, v) for k, v in wanted if k not in query], replace_none=not self.blocking_redis)

    def _sqlalchemy(self, call: cst.Call) -> cst.Call | None:
        args = positional(call)
        url_arg = args[0].value if args else (keyword(call, "url").value if keyword(call, "url") else None)
        driver = _driver(_url_literal(url_arg) or "") if url_arg is not None else None
        wanted: list[tuple[str, cst.BaseExpression]] = [("pool_pre_ping", cst.Name("True"))]
        connect: list[tuple[str, cst.BaseExpression]] = []
        if driver in ("psycopg2", "psycopg", "pg8000", "mysqldb", "pymysql", "aiomysql", "asyncmy"):
            key = "timeout" if driver == "pg8000" else "connect_timeout"
            connect = [(key, _number(self.options.db_connect))]
        elif driver == "asyncpg":
            connect = [("timeout", _number(self.options.db_connect)), ("command_timeout", _number(self.options.db_command))]
        elif driver in ("pysqlite", "aiosqlite"):
            connect = [("timeout", _number(self.options.db_connect))]
        existing = keyword(call, "connect_args")
        if connect and existing is not None:
            if not isinstance(existing.value, cst.Dict):
                raise _Skip("connect_args is not a dict literal; add the driver's connect timeout there", "warning")
            merged = _merge_dict(existing.value, connect)
            if merged is not existing.value:
                call = call.with_changes(args=[a.with_changes(value=merged) if a is existing else a for a in call.args])
        elif connect:
            wanted.append(("connect_args", _dict(connect)))
        return self._ensure(call, wanted)

    @staticmethod
    def _describe(old: cst.Call, new: cst.Call) -> str:
        before = {a.keyword.value: a for a in old.args if a.keyword is not None}
        parts = []
        for arg in new.args:
            if arg.keyword is None:
                continue
            name = arg.keyword.value
            value = _EMPTY.code_for_node(arg.value)
            if len(value) > 40:
                value = value[:37] + "..."
            if name not in before:
                parts.append(f"added {name}={value}")
            elif not before[name].value.deep_equals(arg.value):
                parts.append(f"set {name}={value}")
        return ", ".join(parts) or "updated"


_EMPTY = cst.Module(body=[])


def _dict(items: list[tuple[str, cst.BaseExpression]]) -> cst.Dict:
    return _merge_dict(cst.Dict(elements=[]), items)


def _merge_dict(node: cst.Dict, items: list[tuple[str, cst.BaseExpression]]) -> cst.Dict:
    present = {string_value(e.key) for e in node.elements if isinstance(e, cst.DictElement)}
    if any(isinstance(e, cst.StarredDictElement) for e in node.elements):
        return node
    missing = [cst.DictElement(cst.SimpleString(f'"{k}"'), v) for k, v in items if k not in present]
    if not missing:
        return node
    separator = separator_after(node.elements, node.lbrace.whitespace_after)
    return node.with_changes(elements=append_with_commas(list(node.elements), missing, separator))


class _Skip(Exception):
    def __init__(self, reason: str, kind: str = "note") -> None:
        self.reason = reason
        self.kind = kind


_ALL_TARGETS = (
    REQUESTS_FUNCS | HTTPX_CALLS | AIOHTTP_SESSION | frozenset(STDLIB) | REDIS_CLIENTS | REDIS_POOLS
    | REDIS_POOL_URLS | SQLALCHEMY_ENGINES | PSYCOPG_CONNECT | ASYNCPG_CONNECT | MONGO_CLIENTS
)
