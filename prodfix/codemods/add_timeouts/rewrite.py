"""The libcst half of add-timeouts: see ``prodfix/codemods/add_timeouts/__init__.py`` for the rule."""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import MetadataWrapper

from prodfix.codemods.add_timeouts import (  # the declaration: options, prefilters, constants
    AIOHTTP_SESSION,
    ASYNCPG_CONNECT,
    BLOCKING_REDIS,
    HTTP_METHODS,
    HTTPX_CALLS,
    MONGO_CLIENTS,
    PSYCOPG_CONNECT,
    REDIS_CLIENTS,
    REDIS_POOL_URLS,
    REDIS_POOLS,
    REQUESTS_FUNCS,
    REQUESTS_SESSIONS,
    SQLALCHEMY_ENGINES,
    STDLIB,
    TRIGGER_NAMES,
    AddTimeouts,
)
from prodfix.codemods.base import FileContext, Reporter
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
from prodfix.codemods.common.ast_scopes import ScopeCursor, build, dotted_name, module_tree
from prodfix.codemods.print_message import string_value

# qualified name -> index of the timeout parameter when passed positionally

# A read timeout breaks these: they wait for data on purpose (pub/sub, blocking pops, streams, rq).

# A call can only resolve to one of the clients above through an import of one of these
# (``urllib`` and ``http`` alone: ``import urllib`` still reaches ``urllib.request``).


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

    def __init__(self, scopes: ScopeCursor) -> None:
        super().__init__()
        self.scopes = scopes
        self._functions: list[int] = [0]
        self._classes: list[int] = [0]
        self._names: dict[tuple[int, str], bool] = {}
        self._attrs: dict[tuple[int, str], bool] = {}

    def is_session_call(self, expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Call) and bool(_qualified(self.scopes, expr.func) & REQUESTS_SESSIONS)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(id(node))
        self.scopes.enter()

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.pop()
        self.scopes.leave()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(id(node))
        self.scopes.enter()

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.pop()
        self.scopes.leave()

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
        scopes: ScopeCursor,
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
        self.scopes.enter()

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self._functions.pop()
        self.scopes.leave()
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._classes.append(id(node))
        self.scopes.enter()

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._classes.pop()
        self.scopes.leave()
        return updated

    # --- dispatch -----------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        func = original.func
        last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
        if last not in self.triggers:
            return updated
        names = _qualified(self.scopes, func) & _ALL_TARGETS
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


def _qualified(scopes: ScopeCursor, func: cst.BaseExpression) -> set[str]:
    """What the called expression names through the imports; calls in the chain are looked
    through (``requests.Session().get`` -> ``requests.Session.get``), as libcst does."""
    dotted = dotted_name(func, through_calls=True)
    return scopes.current.qualified_names(dotted) if dotted is not None else set()


_ALL_TARGETS = (
    REQUESTS_FUNCS | HTTPX_CALLS | AIOHTTP_SESSION | frozenset(STDLIB) | REDIS_CLIENTS | REDIS_POOLS
    | REDIS_POOL_URLS | SQLALCHEMY_ENGINES | PSYCOPG_CONNECT | ASYNCPG_CONNECT | MONGO_CLIENTS
)


def transform(codemod: AddTimeouts, wrapper: MetadataWrapper, file: FileContext, reporter: Reporter) -> cst.Module:
    module = wrapper.module
    built = build(module_tree(file.tree, module))  # names from the ast (common/ast_scopes.py), not ScopeProvider
    sessions = _SessionFinder(ScopeCursor(built))
    if "ession" in file.source:  # Session / session: the only way a session can exist
        module.visit(sessions)
    rewriter = _Rewriter(codemod.options, ScopeCursor(built), sessions, reporter, TRIGGER_NAMES | _aliases(module))
    rewriter.blocking_redis = BLOCKING_REDIS.search(file.source) is not None
    new_module = module.visit(rewriter)
    return new_module if rewriter.changed else module
