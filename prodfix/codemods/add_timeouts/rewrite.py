"""The libcst half of add-timeouts: see ``prodfix/codemods/add_timeouts/__init__.py`` for the rule.

Each family of client answers a :class:`_Change`: the edits that are safe (a connect timeout, a
timeout the code already has, ``pool_pre_ping`` on a long-lived engine) and the ones that are
not (a literal read timeout where the code gives none); the unsafe ones are made only when the
run allows unsafe fixes (``Reporter.unsafe_fix``), else they are reported as suggestions.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper

from prodfix.codemods.add_timeouts import (  # the declaration: options, prefilters, constants
    AIOHTTP_SESSION,
    ASYNCPG_CONNECT,
    BLOCKING_REDIS,
    HTTPX_CALLS,
    HTTPX_CLIENTS,
    MONGO_CLIENTS,
    PSYCOPG_CONNECT,
    REDIS_CLIENTS,
    REDIS_POOL_URLS,
    REDIS_POOLS,
    REQUESTS_FUNCS,
    REQUESTS_SESSIONS,
    SESSION_METHODS,
    SQLALCHEMY_ENGINES,
    SSH_CLIENTS,
    SSH_CONNECT,
    STDLIB,
    STDLIB_FAMILY,
    TRIGGER_NAMES,
    AddTimeouts,
)
from prodfix.codemods.add_timeouts import conventions
from prodfix.codemods.add_timeouts.conventions import STREAM_WORDS, LONG_POLL_KEYS, Convention, Facts
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
from prodfix.codemods.common.ast_scopes import AstScope, ScopeCursor, build, dotted_name, module_tree
from prodfix.codemods.common.cleanup import strip_stale_noqa
from prodfix.codemods.common.quotes import file_quote, string_literal
from prodfix.codemods.print_message import quote_of, string_value

# pools that keep no connection to ping (SQLAlchemy)
NO_PING_POOLS = ("NullPool", "StaticPool", "AssertionPool")


def _number(value: float) -> cst.BaseExpression:
    return cst.Integer(str(int(value))) if float(value).is_integer() else cst.Float(repr(float(value)))


def _expr(code: str) -> cst.BaseExpression:
    return cst.parse_expression(code)


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def _pair(first: cst.BaseExpression, second: cst.BaseExpression) -> cst.BaseExpression:
    """``(first, second)``, or ``first`` alone when the two read the same."""
    if _code(first) == _code(second):
        return first
    return cst.Tuple(
        elements=[cst.Element(first, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), cst.Element(second)]
    )


def _call(func: cst.BaseExpression, *args: cst.BaseExpression, **keywords: cst.BaseExpression) -> cst.Call:
    items = [cst.Arg(a) for a in args] + [make_keyword(k, v) for k, v in keywords.items()]
    return add_keywords(cst.Call(func=func, args=[]), items) if items else cst.Call(func=func)


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


def _texts(call: cst.Call) -> list[str]:
    """The string literals among a call's arguments (f-strings: their literal parts)."""
    out = []
    for arg in call.args:
        value = _url_literal(arg.value)
        if isinstance(arg.value, cst.FormattedString):
            value = "".join(p.value for p in arg.value.parts if isinstance(p, cst.FormattedStringText))
        if value:
            out.append(value)
    return out


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
    """Names and ``self.<attr>`` bound only to one kind of object in a function or class:
    a ``requests.Session()`` ("requests") or a ``paramiko.SSHClient()`` ("ssh")."""

    KINDS = {"requests": REQUESTS_SESSIONS, "ssh": SSH_CLIENTS}

    def __init__(self, scopes: ScopeCursor) -> None:
        super().__init__()
        self.scopes = scopes
        self._functions: list[int] = [0]
        self._classes: list[int] = [0]
        self._names: dict[tuple[int, str], str | None] = {}
        self._attrs: dict[tuple[int, str], str | None] = {}

    def kind_of_call(self, expr: cst.BaseExpression) -> str | None:
        if not isinstance(expr, cst.Call):
            return None
        names = _qualified(self.scopes, expr.func)
        return next((kind for kind, made in self.KINDS.items() if names & made), None)

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

    @staticmethod
    def _merge(table: dict, key, kind: str | None) -> None:
        table[key] = kind if table.get(key, kind) == kind else None

    def _bind(self, target: cst.BaseExpression, kind: str | None) -> None:
        if isinstance(target, cst.Name):
            self._merge(self._names, (self._functions[-1], target.value), kind)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
            self._merge(self._attrs, (self._classes[-1], target.attr.value), kind)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, self.kind_of_call(node.value))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target, self.kind_of_call(node.value) if node.value is not None else None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, self.kind_of_call(node.item))

    def kind(self, expr: cst.BaseExpression, function: int, cls: int) -> str | None:
        made = self.kind_of_call(expr)
        if made is not None:
            return made
        if isinstance(expr, cst.Name):
            return self._names.get((function, expr.value))
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
            return self._attrs.get((cls, expr.attr.value))
        return None


@dataclass
class _Edit:
    key: str
    value: cst.BaseExpression | None  # None with ``items``: entries merged into a dict argument
    replace_none: bool = False  # an explicit ``key=None`` is replaced too
    items: list[tuple[str, cst.BaseExpression]] = field(default_factory=list)
    imports: list[tuple[str, str | None]] = field(default_factory=list)  # what the value needs imported


@dataclass
class _Change:
    safe: list[_Edit]
    # made only with unsafe fixes allowed; an edit of a key ``safe`` has replaces that one
    unsafe: list[_Edit] = field(default_factory=list)
    why: str = ""  # said of the safe fix: where its value comes from, or why a connect timeout only
    unsafe_why: str = ""  # why the unsafe edits are unsafe
    notes: list[str] = field(default_factory=list)  # reported as notes beside the fix


@dataclass(frozen=True)
class _Where:
    """The def and class a call is made in (ast nodes, with their facts)."""

    function: conventions.FunctionFacts | None
    klass: conventions.ClassFacts | None
    statement: int | None  # index of the module-level statement, for a call made at import time


class _Rewriter(cst.CSTTransformer):
    def __init__(
        self,
        options: AddTimeouts.Options,
        scopes: ScopeCursor,
        sessions: _SessionFinder,
        reporter: Reporter,
        triggers: frozenset[str],
        facts: Facts,
        top: dict[int, int],
    ) -> None:
        super().__init__()
        self.triggers = triggers
        self.options = options
        self.scopes = scopes
        self.sessions = sessions
        self.reporter = reporter
        self.facts = facts
        self.changed = False
        self.blocking_redis = False
        self._functions: list[int] = [0]
        self._classes: list[int] = [0]
        self._top_ids = top  # id of a module-level statement -> its index
        self._top: int | None = None
        # how a call's value is used, by id of the original call
        self._returned: set[int] = set()
        self._assigned: dict[int, list[cst.BaseExpression]] = {}
        self._with_names: dict[int, str | None] = {}
        self._chained: dict[int, cst.Call] = {}  # call -> the call made on its result (x().get())

    # the module-level statement being visited (statements only: a hook on every node costs)
    def _mark(self, node: cst.CSTNode) -> None:
        index = self._top_ids.get(id(node))
        if index is not None:
            self._top = index

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._mark(node)
        self._timed_on_line = False

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        # `requests.get(url)  # noqa: S113` has its timeout now: the suppression is stale (RUF100)
        if getattr(self, "_timed_on_line", False):
            self._timed_on_line = False
            return strip_stale_noqa(updated, TIMEOUT_RULES)
        return updated

    def visit_If(self, node: cst.If) -> None:
        self._mark(node)

    def visit_Try(self, node: cst.Try) -> None:
        self._mark(node)

    def visit_With(self, node: cst.With) -> None:
        self._mark(node)

    def visit_For(self, node: cst.For) -> None:
        self._mark(node)

    def visit_While(self, node: cst.While) -> None:
        self._mark(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._mark(node)
        self._functions.append(id(node))
        self.scopes.enter()

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self._functions.pop()
        self.scopes.leave()
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._mark(node)
        self._classes.append(id(node))
        self.scopes.enter()

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._classes.pop()
        self.scopes.leave()
        return updated

    # --- how values are used ---------------------------------------------------------------

    def visit_Return(self, node: cst.Return) -> None:
        value = node.value
        if isinstance(value, cst.Await):
            value = value.expression
        if value is not None:
            self._returned.add(id(value))

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value.expression if isinstance(node.value, cst.Await) else node.value
        self._assigned[id(value)] = [t.target for t in node.targets]

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            value = node.value.expression if isinstance(node.value, cst.Await) else node.value
            self._assigned[id(value)] = [node.target]

    def visit_WithItem(self, node: cst.WithItem) -> None:
        name = node.asname.name if node.asname is not None else None
        self._with_names[id(node.item)] = name.value if isinstance(name, cst.Name) else None

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
            self._chained[id(func.value)] = node

    # --- dispatch -----------------------------------------------------------------------

    def _where(self) -> _Where:
        scope: AstScope = self.scopes.current
        function = klass = None
        if scope.kind == "function" and isinstance(scope.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_class = scope.parent is not None and scope.parent.kind == "class"
            function = self.facts.function(scope.node, in_class)
            if in_class and isinstance(scope.parent.node, ast.ClassDef):  # type: ignore[union-attr]
                klass = self.facts.klass(scope.parent.node)  # type: ignore[union-attr]
        elif scope.kind == "class" and isinstance(scope.node, ast.ClassDef):
            klass = self.facts.klass(scope.node)
        return _Where(function, klass, self._top if scope.kind == "module" else None)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        func = original.func
        last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
        if last not in self.triggers:
            return updated
        names = _qualified(self.scopes, func) & _ALL_TARGETS
        label = min(names) if names else ""
        made_on = None
        if not names and isinstance(func, cst.Attribute) and (last in SESSION_METHODS or last == "connect"):
            made_on = self.sessions.kind(func.value, self._functions[-1], self._classes[-1])
            if (made_on == "requests" and last not in SESSION_METHODS) or (made_on == "ssh" and last != "connect"):
                made_on = None
        if not names and made_on is None:
            return updated
        if self.reporter.suppressed(original):
            return updated
        if made_on == "requests":
            label = f"requests session .{last}"
        elif made_on == "ssh":
            label, names = "paramiko SSHClient.connect", set(SSH_CONNECT)
        try:
            change = self._apply(names, original, updated, made_on == "requests", label)
        except _Skip as skip:
            self.reporter.report(original, f"{label}(): {skip.reason}", skip.kind)
            return updated
        if change is None:
            return updated
        return self._make(original, updated, change, label)

    def _make(self, original: cst.Call, call: cst.Call, change: _Change, label: str) -> cst.Call:
        unsafe = [e for e in change.unsafe if _applies(call, e)]
        safe = [e for e in change.safe if _applies(call, e)]
        if (safe or unsafe) and has_star_kwargs(call) and any(keyword(call, e.key) is None for e in [*safe, *unsafe]):
            self.reporter.report(original, f"{label}(): **kwargs may already carry a timeout; left alone (add one explicitly)", "warning")
            return call
        for note in change.notes:
            self.reporter.report(original, f"{label}(): {note}", "note")
        allowed = False
        if unsafe:
            merged = _merge_edits(safe, unsafe)
            shown = ", ".join(
                f"{e.key}={' '.join(_code(_value_of(call, e)).split())}" for e in merged if e.key in {u.key for u in unsafe}
            )
            allowed = self.reporter.unsafe_fix(original, f"{label}(): {shown} {change.unsafe_why}")
        edits = _merge_edits(safe, unsafe) if allowed else safe
        if not edits:
            return call
        new = call
        for edit in edits:
            new = _apply_edit(new, edit, file_quote(self.reporter.file))
        if new is call:
            return call
        for edit in edits:
            for module, name in edit.imports:
                self.reporter.need_import(module, name)
        self.changed = True
        self._timed_on_line = True
        why = f" ({change.why})" if change.why and not allowed else ""
        self.reporter.report(original, f"{label}(): {self._describe(call, new)}{why}", unsafe=allowed)
        return new

    def _apply(
        self, names: set[str], original: cst.Call, call: cst.Call, session_method: bool, label: str
    ) -> _Change | None:
        o = self.options
        where = self._where()
        if session_method or names & REQUESTS_FUNCS:
            return self._requests(original, call, where)
        if names & HTTPX_CALLS:
            return self._httpx(names, original, call, where)
        if names & AIOHTTP_SESSION:
            return self._aiohttp(original, call, where)
        if names & SSH_CONNECT:
            return self._ssh(call, where)
        for name in names & STDLIB.keys():
            return self._stdlib(name, original, call, where, label)
        if names & (REDIS_CLIENTS | REDIS_POOLS | REDIS_POOL_URLS):
            return self._redis(original, call, names, where)
        if names & SQLALCHEMY_ENGINES:
            return self._sqlalchemy(original, call, where)
        if names & PSYCOPG_CONNECT:
            dsn = positional(call)
            if dsn and "connect_timeout" in (string_value(dsn[0].value) or ""):
                return None
            return _Change([_Edit("connect_timeout", _number(o.db_connect))])
        if names & ASYNCPG_CONNECT:
            return _Change(
                [_Edit("timeout", _number(o.db_connect))],
                [_Edit("command_timeout", _number(o.db_command))],
                unsafe_why=f"would end any query that runs longer than {_seconds(o.db_command)}, which works today",
            )
        if names & MONGO_CLIENTS:
            return self._mongo(original, call, where)
        return None

    # --- HTTP -----------------------------------------------------------------------------

    def _connect_value(self, convention: Convention | None) -> cst.BaseExpression:
        if convention is not None and convention.connect is not None:
            return _expr(convention.connect.code)
        return _number(self.options.connect)

    def _requests(self, original: cst.Call, call: cst.Call, where: _Where) -> _Change | None:
        arg = keyword(call, "timeout")
        if arg is not None and not is_none(arg.value):
            return None
        convention = self._convention("http", where, call)
        connect = self._connect_value(convention)
        streams = _streams(call)
        if streams is not None:
            return _Change([_Edit("timeout", _pair(connect, _NONE), replace_none=True)], why=f"a connect timeout only: {streams}")
        if convention is not None and (convention.both or convention.read):
            if convention.both is not None:
                value = _expr(convention.both.code)
                if convention.connect is not None:
                    value = _pair(connect, value)
            else:
                value = _pair(connect, _expr(convention.read.code))  # type: ignore[union-attr]
            return _Change([_Edit("timeout", value, replace_none=True)], why=f"the timeout this code already has: {convention.where}")
        safe = _Edit("timeout", _pair(connect, _NONE), replace_none=True)
        long = conventions.runs_long(_node(where), where.klass, _texts(call))
        if long is not None:
            return _Change([safe], why=f"a connect timeout only: {long}, so it may take long to answer")
        literal = conventions.sibling_literal(self.facts, where.klass)
        read = _expr(literal) if literal is not None else _number(self.options.read)
        because = f" (the other calls in this class pass timeout={literal})" if literal is not None else ""
        return _Change(
            [safe],
            [_Edit("timeout", _pair(connect, read) if literal is None else read, replace_none=True)],
            why="a connect timeout; the code gives no value for a read timeout",
            unsafe_why=f"would also end any response slower than {_code(read)} s{because}; one that is slower today works",
        )

    def _httpx(self, names: set[str], original: cst.Call, call: cst.Call, where: _Where) -> _Change | None:
        arg = keyword(call, "timeout")
        if arg is None or not is_none(arg.value):
            return None  # httpx's own default (5 s) bounds it
        if names & HTTPX_CLIENTS:
            self._not_a_factory(original, where, "a client with timeout=None")
        ref, imports = self._class_ref(call.func, "httpx", "Timeout")
        if ref is None:
            raise _Skip("timeout=None: add httpx.Timeout(None, connect=...) by hand (the name Timeout is taken)", "warning")
        value = _call(ref, _NONE, connect=_number(self.options.connect))
        return _Change(
            [_Edit("timeout", value, replace_none=True, imports=imports)],
            why="a connect timeout only: timeout=None says a response may take as long as it takes",
        )

    def _aiohttp(self, original: cst.Call, call: cst.Call, where: _Where) -> _Change | None:
        if keyword(call, "timeout") is not None:
            return None
        self._not_a_factory(original, where, "a session")
        if self._every_request_has_a_timeout(original, where):
            raise _Skip("every request on this session passes its own timeout; no session default added", "note")
        ref, imports = self._class_ref(call.func, "aiohttp", "ClientTimeout")
        if ref is None:
            raise _Skip("the name ClientTimeout is taken; add timeout=aiohttp.ClientTimeout(...) by hand", "warning")
        convention = self._convention("http", where, call)
        connect = self._connect_value(convention)
        if convention is not None and (convention.both or convention.read):
            chosen = convention.both or convention.read
            if chosen.kind == "ClientTimeout":  # type: ignore[union-attr]
                value = _expr(chosen.code)  # type: ignore[union-attr]
                imports = []
            else:
                value = _call(ref, sock_connect=connect, sock_read=_expr(chosen.code))  # type: ignore[union-attr]
            return _Change([_Edit("timeout", value, imports=imports)], why=f"the timeout this code already has: {convention.where}")
        long = conventions.runs_long(_node(where), where.klass, _texts(call))
        if long is not None:
            raise _Skip(
                f"no session timeout added: {long}, so it may take long to answer; aiohttp's default "
                "(300 s in total, 30 s to connect) already bounds it", "note",
            )
        value = _call(ref, sock_connect=connect, sock_read=_number(self.options.read))
        return _Change(
            [],
            [_Edit("timeout", value, imports=imports)],
            unsafe_why=(
                f"would end any response that pauses longer than {_seconds(self.options.read)} between reads, "
                "which works today (aiohttp's default already caps a request at 300 s in total)"
            ),
        )

    def _every_request_has_a_timeout(self, original: cst.Call, where: _Where) -> bool:
        """Each request made on the session this call creates passes ``timeout=``."""
        chained = self._chained.get(id(original))
        if chained is not None:
            return keyword(chained, "timeout") is not None
        flags = None
        name = self._with_names.get(id(original))
        targets = self._assigned.get(id(original), [])
        if name is None and len(targets) == 1 and isinstance(targets[0], cst.Name):
            name = targets[0].value
        if name is not None and where.function is not None:
            flags = where.function.requests_on.get(name)
        elif len(targets) == 1 and isinstance(targets[0], cst.Attribute) and where.klass is not None:
            dotted = dotted_name(targets[0])
            flags = where.klass.requests_on.get(dotted or "")
        return bool(flags) and all(flags)  # type: ignore[arg-type]

    def _not_a_factory(self, original: cst.Call, where: _Where, what: str) -> None:
        """A public function or class that hands the object out to its callers: reported, not
        changed (a timeout here applies to everything they do with it)."""
        function = where.function
        handed = None
        targets = self._assigned.get(id(original), [])
        if function is not None and function.public and function.node.name != "__init__":
            if id(original) in self._returned or any(
                isinstance(t, cst.Name) and t.value in function.returned for t in targets
            ):
                handed = f"{function.node.name}()"
        if handed is None and where.klass is not None:
            for target in targets:
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
                    if target.attr.value in where.klass.handed_out:
                        handed = f"class {where.klass.node.name}"
        if handed is not None:
            raise _Skip(
                f"{what} that {handed} hands out to its callers; a timeout here would apply to all they do "
                "with it (long requests, blocking commands); not changed: set one where it is used", "warning",
            )

    def _ssh(self, call: cst.Call, where: _Where) -> _Change | None:
        if keyword(call, "timeout") is not None or len(positional(call)) > 6 or has_star_args(call):
            return None
        convention = self._convention("ssh", where, call)
        chosen = convention and (convention.connect or convention.both)
        if chosen:
            return _Change([_Edit("timeout", _expr(chosen.code))], why=f"the timeout this code already has: {convention.where}")  # type: ignore[union-attr]
        return _Change([_Edit("timeout", _number(self.options.connect))], why="paramiko's timeout bounds the TCP connect only")

    def _stdlib(self, name: str, original: cst.Call, call: cst.Call, where: _Where, label: str) -> _Change | None:
        if has_star_args(call):
            raise _Skip("*args may carry the timeout positionally; left alone", "warning")
        if len(positional(call)) > STDLIB[name]:
            return None  # the timeout is already passed positionally
        arg = keyword(call, "timeout")
        if arg is not None:
            if is_none(arg.value):
                raise _Skip("timeout=None is explicit (blocking on purpose); kept", "note")
            return None
        convention = self._convention(STDLIB_FAMILY[name], where, call)
        chosen = convention and (convention.both or convention.read)
        if chosen:
            return _Change([_Edit("timeout", _expr(chosen.code))], why=f"the timeout this code already has: {convention.where}")  # type: ignore[union-attr]
        long = conventions.runs_long(_node(where), where.klass, _texts(call))
        if long is not None:
            raise _Skip(
                f"no timeout added: {long}, so it may take long to answer, and this timeout bounds every "
                "read, not only the connect; add one that fits by hand", "warning",
            )
        seconds = self.options.read
        return _Change(
            [],
            [_Edit("timeout", _number(seconds))],
            unsafe_why=(
                f"bounds the connect and every read and write at {_seconds(seconds)}; "
                "a slower server that answers today would fail"
            ),
        )

    # --- Redis ----------------------------------------------------------------------------

    def _redis(self, original: cst.Call, call: cst.Call, names: set[str], where: _Where) -> _Change | None:
        if keyword(call, "connection_pool") is not None:
            raise _Skip("connection_pool= carries the socket settings; set the timeouts on the pool", "note")
        from_url = any(n.endswith("from_url") for n in names)
        if names & REDIS_CLIENTS and len(positional(call)) > 4 and not from_url:
            return None  # socket_timeout passed positionally
        url = positional(call)
        query = (string_value(url[0].value) or "") if url and from_url else ""
        socket_kw = keyword(call, "socket_timeout")
        missing_connect = keyword(call, "socket_connect_timeout") is None and "socket_connect_timeout" not in query
        missing_socket = socket_kw is None and "socket_timeout" not in query
        if not missing_connect and not missing_socket:
            return None
        self._not_a_factory(original, where, "a Redis client")
        convention = self._convention("redis", where, call)
        change = _Change([])
        if missing_connect:
            value = _expr(convention.connect.code) if convention and convention.connect else _number(self.options.redis_connect)
            change.safe.append(_Edit("socket_connect_timeout", value))
        if socket_kw is not None and is_none(socket_kw.value):
            change.notes.append("socket_timeout=None is explicit (commands may block on purpose); kept")
        elif missing_socket:
            chosen = convention and (convention.read or convention.both)
            if chosen:
                change.safe.insert(0, _Edit("socket_timeout", _expr(chosen.code)))  # type: ignore[union-attr]
                change.why = f"the timeout this code already has: {convention.where}"  # type: ignore[union-attr]
            elif self.blocking_redis:
                change.notes.append(
                    "socket_timeout not added: this module uses pub/sub, blocking pops, streams or rq, "
                    "which wait longer than any read timeout; socket_connect_timeout only"
                )
            else:
                change.unsafe.append(_Edit("socket_timeout", _number(self.options.redis_socket)))
                change.unsafe_why = (
                    f"would end any command slower than {_seconds(self.options.redis_socket)} (a blocking pop, "
                    "a big Lua script), which works today"
                )
        return change

    # --- databases ------------------------------------------------------------------------

    def _mongo(self, original: cst.Call, call: cst.Call, where: _Where) -> _Change | None:
        o = self.options
        ms = lambda seconds: cst.Integer(str(int(seconds * 1000)))  # noqa: E731
        host = positional(call)
        uri = (string_value(host[0].value) or "") if host else ""
        wanted = [
            ("serverSelectionTimeoutMS", ms(o.db_connect)),
            ("connectTimeoutMS", ms(o.db_connect)),
            ("socketTimeoutMS", ms(o.seconds)),
        ]
        edits = [_Edit(k, v) for k, v in wanted if k.lower() not in uri.lower() and keyword(call, k) is None]
        if not edits:
            return None
        self._not_a_factory(original, where, "a MongoDB client")
        return _Change(
            [],
            edits,
            unsafe_why=(
                "would end an operation slower than these, which works today: pymongo already bounds server "
                "selection (30 s) and the connect (20 s); only socketTimeoutMS is unbounded by default"
            ),
        )

    def _sqlalchemy(self, original: cst.Call, call: cst.Call, where: _Where) -> _Change | None:
        args = positional(call)
        url_arg = args[0].value if args else (keyword(call, "url").value if keyword(call, "url") else None)
        driver = _driver(_url_literal(url_arg) or "") if url_arg is not None else None
        change = _Change([])
        pool = keyword(call, "poolclass")
        pool_name = (dotted_name(pool.value) or "").rpartition(".")[2] if pool is not None else ""
        if keyword(call, "pool_pre_ping") is None and driver not in ("pysqlite", "aiosqlite"):
            if pool_name in NO_PING_POOLS:
                change.notes.append(f"pool_pre_ping not added: {pool_name} keeps no connection to ping")
            else:
                short = self._short_lived(original, where)
                if short is None:
                    change.safe.append(_Edit("pool_pre_ping", cst.Name("True")))
                else:
                    change.notes.append(f"pool_pre_ping not added: {short}")
        safe: list[tuple[str, cst.BaseExpression]] = []
        unsafe: list[tuple[str, cst.BaseExpression]] = []
        seconds = _number(self.options.db_connect)
        if driver in ("psycopg2", "psycopg", "mysqldb", "pymysql", "aiomysql", "asyncmy"):
            safe = [("connect_timeout", seconds)]
        elif driver == "pg8000":
            unsafe = [("timeout", seconds)]  # pg8000's timeout is the socket's, for every read too
        elif driver == "asyncpg":
            safe = [("timeout", seconds)]
            unsafe = [("command_timeout", _number(self.options.db_command))]
        if (safe or unsafe) and keyword(call, "creator") is not None:
            change.notes.append("connect_args not added: the engine is built with creator=, which ignores them")
        elif safe or unsafe:
            existing = keyword(call, "connect_args")
            if existing is not None and not isinstance(existing.value, cst.Dict):
                raise _Skip("connect_args is not a dict literal; add the driver's connect timeout there", "warning")
            if safe:
                change.safe.append(_Edit("connect_args", None, items=safe))
            if unsafe:
                change.unsafe.append(_Edit("connect_args", None, items=[*safe, *unsafe]))
                change.unsafe_why = "would end any query (or read) slower than that, which works today"
        return change

    def _short_lived(self, original: cst.Call, where: _Where) -> str | None:
        """Why an engine does not keep pooled connections over time (None: it does, or may):
        created and dropped or disposed of in one function, or used once in place."""
        function = where.function
        if function is None:
            return None  # module or class level: lives as long as the process
        if id(original) in self._chained:
            return "the engine is used once where it is created"
        if id(original) in self._returned:
            return None
        targets = self._assigned.get(id(original))
        if not targets:
            return "the engine is not kept beyond this call"
        for target in targets:
            if not isinstance(target, cst.Name):
                return None  # stored on an object
            name = target.value
            if name in function.disposed:
                return f"{name} is created and disposed of in {function.node.name}()"
            if name in function.returned:
                return None
        return f"{targets[0].value if isinstance(targets[0], cst.Name) else 'it'} is created and dropped in {function.node.name}()"  # type: ignore[union-attr]

    # --- helpers --------------------------------------------------------------------------

    def _convention(self, family: str, where: _Where, call: cst.Call | None = None) -> Convention | None:
        """``call``: what a timeout named for a service (``GITHUB_TIMEOUT``) must be a call to."""
        subject = " ".join(_code(a.value) for a in call.args if a.keyword is None or a.keyword.value != "timeout") if call else ""
        return conventions.find(self.facts, family, where.function, where.klass, where.statement, subject)

    def _class_ref(self, func: cst.BaseExpression, module: str, name: str):
        """``<module>.<name>`` spelled the way the call reaches its module (``http.ClientTimeout``
        for ``http.ClientSession()``), or ``<name>`` imported from it; (None, []) when the name
        is taken by something else."""
        if isinstance(func, cst.Attribute) and dotted_name(func.value) is not None:
            base = dotted_name(func.value)
            if self.scopes.current.qualified_names(f"{base}.{name}") & {f"{module}.{name}"}:
                return cst.Attribute(value=func.value, attr=cst.Name(name)), []
        known = self.scopes.current.qualified_names(name)
        if known and known != {f"{module}.{name}"}:
            return None, []
        return cst.Name(name), [(module, name)]

    @staticmethod
    def _describe(old: cst.Call, new: cst.Call) -> str:
        before = {a.keyword.value: a for a in old.args if a.keyword is not None}
        parts = []
        for arg in new.args:
            if arg.keyword is None:
                continue
            name = arg.keyword.value
            value = " ".join(_code(arg.value).split()).replace("{ ", "{").replace(", }", "}").replace(",}", "}")
            if len(value) > 80:
                value = value[:77] + "..."
            if name not in before:
                parts.append(f"added {name}={value}")
            elif not before[name].value.deep_equals(arg.value):
                parts.append(f"set {name}={value}")
        return ", ".join(parts) or "updated"


_EMPTY = cst.Module(body=[])
_NONE = cst.Name("None")


def _seconds(value: float) -> str:
    return f"{_code(_number(value))} s"


def _node(where: _Where) -> ast.AST | None:
    return where.function.node if where.function is not None else None


def _streams(call: cst.Call) -> str | None:
    """Why a requests call holds its response open on purpose, from the call itself."""
    stream = keyword(call, "stream")
    if stream is not None and isinstance(stream.value, cst.Name) and stream.value.value == "True":
        return "the response is streamed (stream=True); a read timeout would cut a slow stream"
    params = keyword(call, "params")
    if params is not None and isinstance(params.value, cst.Dict):
        for element in params.value.elements:
            key = string_value(element.key) if isinstance(element, cst.DictElement) else None
            if key is not None and key.lower() in LONG_POLL_KEYS:
                return f"a long poll (params {key!r}); the server answers when it has something"
    for text in _texts(call):
        found = set(re.findall(r"[a-z]+", text.lower())) & STREAM_WORDS
        if found:
            return f"its URL says {sorted(found)[0]!r}: the server holds the response open"
    return None


def _applies(call: cst.Call, edit: _Edit) -> bool:
    """Whether the edit changes ``call``: its key is missing (or None, when that is replaced),
    or for dict items, some are missing from the dict literal."""
    arg = keyword(call, edit.key)
    if edit.items:
        if arg is None:
            return True
        if not isinstance(arg.value, cst.Dict) or any(isinstance(e, cst.StarredDictElement) for e in arg.value.elements):
            return False
        present = {string_value(e.key) for e in arg.value.elements if isinstance(e, cst.DictElement)}
        return any(k not in present for k, _ in edit.items)
    return arg is None or (edit.replace_none and is_none(arg.value))


def _merge_edits(safe: list[_Edit], unsafe: list[_Edit]) -> list[_Edit]:
    keys = {e.key for e in unsafe}
    replaced = [next(u for u in unsafe if u.key == e.key) if e.key in keys else e for e in safe]
    return replaced + [u for u in unsafe if u.key not in {e.key for e in safe}]


def _value_of(call: cst.Call, edit: _Edit) -> cst.BaseExpression:
    """What the argument is after the edit (for a message)."""
    if not edit.items:
        return edit.value  # type: ignore[return-value]
    arg = keyword(call, edit.key)
    return _merge_dict(arg.value if arg is not None and isinstance(arg.value, cst.Dict) else cst.Dict([]), edit.items)


def _apply_edit(call: cst.Call, edit: _Edit, quote: str = '"') -> cst.Call:
    """``quote``: what a new string (a dict key) is written with (common/quotes.py)."""
    arg = keyword(call, edit.key)
    if edit.items:
        if arg is None:
            return add_keywords(call, [make_keyword(edit.key, _merge_dict(cst.Dict(elements=[]), edit.items, quote))])
        if not isinstance(arg.value, cst.Dict):
            return call
        merged = _merge_dict(arg.value, edit.items, quote)
        if merged is arg.value:
            return call
        return call.with_changes(args=[a.with_changes(value=merged) if a is arg else a for a in call.args])
    if arg is None:
        return add_keywords(call, [make_keyword(edit.key, edit.value)])  # type: ignore[arg-type]
    if edit.replace_none and is_none(arg.value):
        return replace_keyword_value(call, edit.key, edit.value)  # type: ignore[arg-type]
    return call


def _merge_dict(node: cst.Dict, items: list[tuple[str, cst.BaseExpression]], quote: str = '"') -> cst.Dict:
    present = {string_value(e.key) for e in node.elements if isinstance(e, cst.DictElement)}
    # the dict's own keys say best how its strings are written
    quote = next((q for e in node.elements if isinstance(e, cst.DictElement) and (q := quote_of(e.key))), quote)
    if any(isinstance(e, cst.StarredDictElement) for e in node.elements):
        return node
    missing = [cst.DictElement(cst.SimpleString(string_literal(k, quote)), v) for k, v in items if k not in present]
    if not missing:
        return node
    separator = separator_after(node.elements, node.lbrace.whitespace_after)
    return node.with_changes(elements=append_with_commas(list(node.elements), missing, separator))


# ruff's rules a call without a timeout breaks: flake8-bandit's request-without-timeout
TIMEOUT_RULES = ("S113",)


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
    | REDIS_POOL_URLS | SQLALCHEMY_ENGINES | PSYCOPG_CONNECT | ASYNCPG_CONNECT | MONGO_CLIENTS | SSH_CONNECT
)


def transform(codemod: AddTimeouts, wrapper: MetadataWrapper, file: FileContext, reporter: Reporter) -> cst.Module:
    module = wrapper.module
    tree = module_tree(file.tree, module)
    built = build(tree)  # names from the ast (common/ast_scopes.py), not ScopeProvider
    sessions = _SessionFinder(ScopeCursor(built))
    if "ession" in file.source or "SSHClient" in file.source:  # the only ways a session can exist
        module.visit(sessions)
    # id of each module-level statement -> the index of its first statement in the ast's body
    top, index = {}, 0
    for statement in module.body:
        top[id(statement)] = index
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
    rewriter = _Rewriter(
        codemod.options, ScopeCursor(built), sessions, reporter, TRIGGER_NAMES | _aliases(module),
        Facts(tree, file.source), top,
    )
    rewriter.blocking_redis = BLOCKING_REDIS.search(file.source) is not None
    new_module = module.visit(rewriter)
    return new_module if rewriter.changed else module
