"""What the code already says about a call's timeout, and how long the objects it makes live.

Read from Python's own ast (the pipeline's tree of the module, ``FileContext.tree``), not from
libcst: names and shapes are all that is asked, and the ast is far cheaper to walk. The
rewrite asks, for the def or class it is in (``AstScope.node``), questions answered once per
def, class and module and cached:

- a value named as a timeout at hand: a parameter of the function, a ``self.`` attribute the
  class sets (or a class attribute, or a property), a lookup sibling calls in the same class
  already pass (``timeout=self.config["timeout"]``), a module-level constant, an imported
  name, a setting the module reads (``settings.HTTP_TIMEOUT``), a zero-argument function it
  calls (``get_client_timeout()``). Names are matched by their words (:func:`classify`): a
  timeout, not a cache expiry, a lock wait, a job limit or a value in milliseconds, and not
  one named for another kind of client (``REDIS_TIMEOUT`` for an HTTP call);
- whether the call may legitimately run long (:func:`runs_long`);
- for SQLAlchemy engines and clients: whether a name is returned, stored, disposed of, and
  which requests on a session pass their own timeout.

Facts come from what the region-reduced parse keeps (engine/regions.py): the def the call is
in, its class (``AddTimeouts.needs`` keeps such a class whole) and module-level code. What the
module reads or calls anywhere (``settings.HTTP_TIMEOUT`` in another def) comes from the ast of
its whole text, parsed again only when the text names a timeout at all, so that results never
depend on what was left out.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from prodfix.codemods.common.ast_facts import children, walk

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_)|[A-Z]?[a-z]+|\d+|[A-Z]+")

# Words that make a name something else than a network timeout in seconds.
EXCLUDED = frozenset(
    {
        "cache", "caching", "session", "sessions", "token", "tokens", "lock", "locks", "locking", "idle", "expire",
        "expires", "expiry", "expiration", "ttl", "keepalive", "keep", "alive", "celery", "task", "tasks", "job",
        "jobs", "worker", "workers", "lease", "heartbeat", "login", "otp", "password", "captcha", "throttle",
        "retry", "retries", "backoff", "sleep", "poll", "polling", "graceful", "grace", "shutdown", "startup", "boot",
        "query", "queries", "statement", "command", "cooldown", "ms", "millis", "msec", "milliseconds", "minutes",
        "minute", "min", "mins", "hours", "hour", "days", "day", "page", "browser", "navigation", "render", "js",
        "wait", "waiting", "lambda", "queue", "visibility", "soft", "hard", "limit", "total", "overall",
        "deadline", "budget", "script", "test", "tests", "mock", "fake", "dummy", "ui", "frontend", "client_side",
        "error", "errors", "exception", "exceptions", "exc", "exceeded", "expired", "warning", "reached", "handler",
    }
)
# Words any timeout name may have without saying which client it is for.
GENERIC = frozenset(
    {
        "timeout", "timeouts", "time", "out", "default", "defaults", "global", "max", "maximum", "base", "app",
        "client", "clients", "network", "net", "remote", "external", "upstream", "outbound", "service",
        "services", "conn", "connect", "connection", "read", "response", "write", "socket", "s", "sec", "secs",
        "second", "seconds", "value", "the", "for", "in", "get", "my", "our", "io", "call", "calls", "_",
        "settings", "setting", "config", "conf", "option", "options", "cfg", "webpage", "website", "site",
        "internet", "online", "http_client",
    }
)
FAMILIES: dict[str, frozenset[str]] = {
    "http": frozenset(
        {"http", "https", "request", "requests", "req", "api", "web", "webhook", "webhooks", "url", "fetch",
         "rest", "httpx", "aiohttp", "download", "upload", "proxy", "http_client"}
    ),
    "redis": frozenset({"redis"}),
    "db": frozenset({"db", "database", "sql", "pg", "postgres", "postgresql", "mysql", "mongo", "mongodb", "psql"}),
    "smtp": frozenset({"smtp", "mail", "email", "mailer"}),
    "ftp": frozenset({"ftp", "ftps"}),
    "ssh": frozenset({"ssh", "sftp", "paramiko"}),
    "imap": frozenset({"imap", "mail", "email"}),
    "pop": frozenset({"pop", "pop3", "mail", "email"}),
    "nntp": frozenset({"nntp", "news"}),
    "socket": frozenset({"tcp"}),
}
_FAMILY_WORDS = frozenset().union(*FAMILIES.values())

# A call in a def or class named with one of these may run long: reading its response is not
# bounded by anything a literal could know (queries, jobs, conversions, LLM calls, streams...).
LONG_WORDS = frozenset(
    {
        "stream", "streams", "streaming", "poll", "polling", "longpoll", "watch", "watcher", "listen", "listener",
        "subscribe", "subscriber", "events", "sse", "tail", "follow", "wait", "query", "queries", "execute",
        "executor", "run", "runner", "job", "jobs", "task", "tasks", "worker", "batch", "bulk", "export",
        "exporter", "import", "importer", "upload", "uploader", "download", "downloader", "convert", "converter",
        "conversion", "ocr", "transcribe", "transcription", "inference", "infer", "predict", "prediction",
        "generate", "generator", "generation", "completion", "completions", "chat", "research", "install",
        "installer", "build", "deploy", "backup", "restore", "migrate", "migration", "sync", "crawl", "crawler",
        "scrape", "scraper", "render", "train", "training", "embed", "embedding", "embeddings", "index",
        "indexer", "reindex", "process", "processor", "analyze", "analysis", "summarize", "llm", "agent",
        "pipeline", "report", "ingest", "harvest", "transcode", "extract", "parse", "invoke",
    }
)
# Words in a URL or query that say the server holds the response open on purpose.
STREAM_WORDS = frozenset({"stream", "streaming", "events", "sse", "watch", "longpoll", "subscribe", "listen", "follow"})
LONG_POLL_KEYS = frozenset({"timeout", "wait", "long_poll", "longpoll", "watch", "follow", "stream", "blocking"})


def words(name: str) -> list[str]:
    """``HTTPClientTimeout`` -> http, client, timeout; ``read_timeout_s`` -> read, timeout, s."""
    return [w.lower() for w in _WORD.findall(name)]


@dataclass(frozen=True)
class Named:
    part: str  # "both", "connect" or "read"
    score: int  # 3: names this kind of client; 2: generic; 1: names a service (GITHUB_TIMEOUT)


def classify(name: str, family: str) -> Named | None:
    """Whether ``name`` reads as a timeout in seconds for a client of ``family``, and which part."""
    lower = name.lower()
    if "timeout" not in lower and "time_out" not in lower:
        return None
    if name[:1].isupper() and not name.isupper():
        return None  # CamelCase: a class (ClientTimeout, ReadTimeoutError), not a value
    found = set(words(name))
    if "timeout" not in found and not {"time", "out"} <= found:
        # TIMEOUTS, request_timeouts... ; not "timeoutMs"-like glued units (checked below)
        if not any(w.startswith("timeout") for w in found):
            return None
    if found & EXCLUDED or lower.endswith(("ms", "_millis", "millis")):
        return None
    hits = {f for f, vocabulary in FAMILIES.items() if found & vocabulary}
    if hits and family not in hits:
        return None
    part = "connect" if found & {"connect", "connection", "conn"} else "read" if found & {"read", "response"} else "both"
    if family == "redis" and "socket" in found and part == "both":
        part = "read"  # REDIS_SOCKET_TIMEOUT: redis-py's socket_timeout, the per-command one
    score = 1 if service_words(name) else 3 if family in hits else 2
    return Named(part, score)


def service_words(name: str) -> frozenset[str]:
    """The words of a timeout's name that say which service it is for (``khoj`` in
    ``KHOJ_API_TIMEOUT_SECONDS``): neither generic nor a kind of client."""
    found = set(words(name))
    return frozenset(found - GENERIC - _FAMILY_WORDS - {w for w in found if w.startswith("timeout")})


# --- facts ------------------------------------------------------------------------------------


@dataclass
class Candidate:
    code: str  # the expression, as it is to be written at the call
    part: str
    score: int
    where: str  # for the finding: "the function's parameter timeout"
    kind: str = "number"  # "number", or what a constant holds when known ("ClientTimeout", "Timeout")


@dataclass
class FunctionFacts:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    params: list[str]
    method: bool  # a plain method: its first parameter is self
    public: bool
    cached: bool  # @lru_cache / @cache: what it returns is kept
    local: set[str]  # every name bound in it (parameters included)
    returned: set[str]  # names whose object leaves the function (returned, yielded, stored, global)
    disposed: set[str]  # names whose .dispose() / .close() it calls
    # receiver name -> one flag per request call on it (name.get(...)): passes its own timeout
    requests_on: dict[str, list[bool]] = field(default_factory=dict)


@dataclass
class ClassFacts:
    node: ast.ClassDef
    attributes: dict[str, ast.expr | None]  # self.X = value (last seen), class-level X = value, properties
    handed_out: set[str]  # self.X returned by a public method or property
    requests_on: dict[str, list[bool]]  # "self.X" -> per request call: passes its own timeout
    siblings: dict[str, list[tuple[ast.expr, str]]]  # family -> (timeout expression, its code)
    runs_jobs: bool  # a method that runs queries or jobs, in a class that mentions a timeout


@dataclass
class ModuleFacts:
    constants: dict[str, tuple[int, ast.expr]]  # module-level NAME = value -> (statement index, value)
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    imported: dict[str, str]  # name -> what it imports
    reads: dict[str, str]  # settings.HTTP_TIMEOUT -> its code, for dotted reads rooted at a module name
    called: set[str]  # module-level names called with no arguments somewhere
    values: set[str]  # module-level names read as plain values somewhere


HTTP_CALL_NAMES = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream", "ws_connect"})


class Facts:
    """Answers for one module (``tree``: its ast; ``source``: its full text)."""

    def __init__(self, tree: ast.Module, source: str) -> None:
        self.tree = tree
        self.source = source
        self._functions: dict[int, FunctionFacts] = {}
        self._classes: dict[int, ClassFacts] = {}
        self._module: ModuleFacts | None = None
        self._lines: list[str] | None = None

    # --- code of a node ---------------------------------------------------------------------

    def code(self, node: ast.AST) -> str | None:
        """The source text of ``node`` as written (None when it spans lines)."""
        if self._lines is None:
            self._lines = self.source.splitlines(keepends=True)
        start, end = node.lineno, node.end_lineno  # type: ignore[attr-defined]
        if start != end or start > len(self._lines):
            return None
        line = self._lines[start - 1].encode("utf-8", "surrogatepass")
        return line[node.col_offset : node.end_col_offset].decode("utf-8", "surrogatepass")  # type: ignore[attr-defined]

    # --- module -----------------------------------------------------------------------------

    def module(self) -> ModuleFacts:
        if self._module is not None:
            return self._module
        constants: dict[str, tuple[int, ast.expr]] = {}
        defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        imported: dict[str, str] = {}
        for index, statement in enumerate(self.tree.body):
            for node in _top_level(statement):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            constants[target.id] = (index, node.value)
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                    constants[node.target.id] = (index, node.value)
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    defs[node.name] = node
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        imported[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
                elif isinstance(node, ast.ImportFrom):
                    for alias in node.names:
                        if alias.name != "*":
                            imported[alias.asname or alias.name] = f"{'.' * node.level}{node.module or ''}.{alias.name}"
        bound = set(constants) | set(defs) | set(imported)
        reads: dict[str, str] = {}
        called: set[str] = set()
        values: set[str] = set()
        # the whole module, also the bodies a reduced parse left out; no name a timeout: nothing to find
        whole = _parse(self.source) if _TIMEOUT_WORD.search(self.source) else None
        nodes = walk(whole) if whole is not None else []
        callees = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
        for node in nodes:
            if (
                isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and "timeout" in node.attr.lower()
                and id(node) not in callees
            ):
                dotted = _dotted(node)
                if dotted is not None and dotted.split(".")[0] in bound:
                    reads.setdefault(dotted, dotted)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args and not node.keywords:
                called.add(node.func.id)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and id(node) not in callees:
                values.add(node.id)
        self._module = ModuleFacts(constants, defs, imported, reads, called, values)
        return self._module

    # --- functions ----------------------------------------------------------------------------

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> FunctionFacts:
        known = self._functions.get(id(node))
        if known is not None:
            return known
        args = node.args
        params = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
        decorators = {_last_name(d) for d in node.decorator_list}
        method = in_class and bool(params) and params[0] == "self" and not decorators & {"staticmethod", "classmethod"}
        local = set(params) | {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        declared: set[str] = set()
        deps: dict[str, set[str]] = {}
        escaping: set[str] = set()
        disposed: set[str] = set()
        requests_on: dict[str, list[bool]] = {}
        for sub in _own_nodes(node):
            if isinstance(sub, (ast.Global, ast.Nonlocal)):
                declared.update(sub.names)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                local.add(sub.id)
            elif isinstance(sub, (ast.Return, ast.Yield, ast.YieldFrom)) and sub.value is not None:
                escaping |= carried(sub.value)
            elif isinstance(sub, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                value = sub.value
                if value is None:
                    continue
                for target in targets:
                    if isinstance(target, ast.Name):
                        deps.setdefault(target.id, set()).update(carried(value))
                    else:  # self.x = ..., d[k] = ...: stored where it outlives the call
                        escaping |= carried(value)
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
                receiver = sub.func.value
                if isinstance(receiver, ast.Name):
                    if sub.func.attr in ("dispose", "close", "aclose"):
                        disposed.add(receiver.id)
                    elif sub.func.attr in HTTP_CALL_NAMES:
                        requests_on.setdefault(receiver.id, []).append(any(k.arg == "timeout" for k in sub.keywords))
            elif isinstance(sub, ast.withitem) and isinstance(sub.optional_vars, ast.Name):
                deps.setdefault(sub.optional_vars.id, set()).update(_names(sub.context_expr))
        escaping |= declared
        # what a returned or stored name was made from leaves with it (Session = sessionmaker(bind=engine))
        returned = set(escaping)
        pending = list(returned)
        while pending:
            for name in deps.get(pending.pop(), ()):
                if name not in returned:
                    returned.add(name)
                    pending.append(name)
        facts = FunctionFacts(
            node=node,
            params=params[1:] if method else params,
            method=method,
            public=not node.name.startswith("_"),
            cached=bool(decorators & {"lru_cache", "cache", "cached", "cached_property", "memoize"}),
            local=local - declared,
            returned=returned,
            disposed=disposed,
            requests_on=requests_on,
        )
        self._functions[id(node)] = facts
        return facts

    # --- classes -------------------------------------------------------------------------------

    def klass(self, node: ast.ClassDef) -> ClassFacts:
        known = self._classes.get(id(node))
        if known is not None:
            return known
        attributes: dict[str, ast.expr | None] = {}
        handed_out: set[str] = set()
        requests_on: dict[str, list[bool]] = {}
        siblings: dict[str, list[tuple[ast.expr, str]]] = {}
        mentions_timeout = False
        runs_jobs = False
        for statement in node.body:
            for top in _top_level(statement):
                if isinstance(top, ast.Assign):
                    for target in top.targets:
                        if isinstance(target, ast.Name):
                            attributes[target.id] = top.value
                elif isinstance(top, ast.AnnAssign) and isinstance(top.target, ast.Name):
                    attributes[top.target.id] = top.value
                elif isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    decorators = {_last_name(d) for d in top.decorator_list}
                    if decorators & {"property", "cached_property"}:
                        attributes.setdefault(top.name, None)
                    if set(words(top.name)) & {"query", "queries", "execute", "job", "jobs", "run"}:
                        runs_jobs = True
                    public = not top.name.startswith("_")
                    for sub in walk(top):
                        if isinstance(sub, ast.Return) and public and isinstance(sub.value, ast.Attribute):
                            if _is_self(sub.value.value):
                                handed_out.add(sub.value.attr)
        for sub in walk(node):
            if isinstance(sub, (ast.Assign, ast.AnnAssign)):
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and _is_self(target.value):
                        attributes[target.attr] = sub.value
            elif isinstance(sub, ast.Call):
                func = sub.func
                timeout = next((k.value for k in sub.keywords if k.arg == "timeout"), None)
                if isinstance(func, ast.Attribute) and func.attr in HTTP_CALL_NAMES:
                    receiver = _dotted(func.value)
                    if receiver is not None and receiver.startswith("self."):
                        requests_on.setdefault(receiver, []).append(timeout is not None)
                    if timeout is not None and not (isinstance(timeout, ast.Constant) and timeout.value is None):
                        code = self.code(timeout)
                        if code is not None:
                            siblings.setdefault("http", []).append((timeout, code))
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "timeout" in sub.value.lower():
                mentions_timeout = True
            elif isinstance(sub, (ast.Name, ast.Attribute)) and "timeout" in (
                sub.id if isinstance(sub, ast.Name) else sub.attr
            ).lower():
                mentions_timeout = True
        facts = ClassFacts(
            node=node,
            attributes=attributes,
            handed_out=handed_out,
            requests_on=requests_on,
            siblings=siblings,
            runs_jobs=runs_jobs and mentions_timeout,
        )
        self._classes[id(node)] = facts
        return facts


# --- helpers ------------------------------------------------------------------------------------

_TIMEOUT_WORD = re.compile(r"(?i:time_?out)")


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None



def _top_level(statement: ast.stmt):
    """The statement, or those of an ``if``/``try`` at the same level (``if DEBUG: X = ...``)."""
    if isinstance(statement, (ast.If, ast.Try)):
        for part in (statement.body, statement.orelse, getattr(statement, "finalbody", []),
                     *[h.body for h in getattr(statement, "handlers", [])]):
            for inner in part:
                yield from _top_level(inner)
    else:
        yield statement


def _own_nodes(function: ast.AST):
    """The nodes of a def's body, not those of the defs and classes inside it."""
    stack = list(reversed(function.body))  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(reversed(children(node)))


# calls whose result holds on to what they are given (a session factory bound to an engine)
KEEPERS = frozenset({"sessionmaker", "async_sessionmaker", "scoped_session", "partial", "dict", "list", "tuple", "set"})
RECEIVER_KEEPERS = frozenset(
    {"connect", "begin", "cursor", "pipeline", "execution_options", "with_options", "options", "client", "session"}
)


def carried(expr: ast.AST) -> set[str]:
    """The names whose objects ``expr``'s value may hold on to: ``engine`` in ``engine``,
    ``(engine, x)``, ``sessionmaker(bind=engine)``, ``Wrapper(engine)``, ``engine.connect()``;
    not in ``pandas.read_sql(query, engine)`` (a call that returns data)."""
    if isinstance(expr, ast.Name):
        return {expr.id}
    if isinstance(expr, ast.Call):
        func = expr.func
        name = _last_name(func)
        # engine.connect(), client.pipeline(): their result holds on to the receiver; client.get() does not
        out = carried(func.value) if isinstance(func, ast.Attribute) and name in RECEIVER_KEEPERS else set()
        if name in KEEPERS or name[:1].isupper():
            for arg in [*expr.args, *(k.value for k in expr.keywords)]:
                out |= carried(arg)
        else:
            for k in expr.keywords:
                if k.arg in ("bind", "engine"):
                    out |= carried(k.value)
        return out
    if isinstance(expr, (ast.Attribute, ast.Subscript, ast.Starred, ast.Await)):
        return carried(expr.value)
    out: set[str] = set()
    for child in children(expr):
        if isinstance(child, ast.expr):
            out |= carried(child)
    return out


def _names(expr: ast.AST) -> set[str]:
    return {n.id for n in walk(expr) if isinstance(n, ast.Name)}


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _last_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def is_literal(expr: ast.AST) -> bool:
    """A number, a tuple of numbers and None, or a unary minus of one."""
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, (int, float)) or expr.value is None
    if isinstance(expr, ast.Tuple):
        return all(is_literal(e) for e in expr.elts)
    return isinstance(expr, ast.UnaryOp) and is_literal(expr.operand)


def value_kind(expr: ast.AST | None) -> str:
    """What a constant or attribute holds, when its value says: a ClientTimeout or httpx Timeout
    object, a tuple, else a number (or unknown, treated as one)."""
    if isinstance(expr, ast.Call):
        name = _last_name(expr.func)
        if name in ("ClientTimeout", "Timeout"):
            return name
    if isinstance(expr, ast.Tuple):
        return "tuple"
    return "number"


# --- the value at hand ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Convention:
    """A call's timeout as the code around it gives it: the whole timeout, or its parts."""

    both: Candidate | None = None
    connect: Candidate | None = None
    read: Candidate | None = None

    @property
    def where(self) -> str:
        return "; ".join(c.where for c in (self.connect, self.both, self.read) if c is not None)


def _best(candidates: list[Candidate], part: str) -> Candidate | None | bool:
    """The best candidate for ``part``; False when two different ones are equally good."""
    mine = [c for c in candidates if c.part == part]
    if not mine:
        return None
    top = max(c.score for c in mine)
    codes = {c.code for c in mine if c.score == top}
    if len(codes) > 1:
        return False
    return next(c for c in mine if c.score == top)


def find(
    facts: Facts,
    family: str,
    function: FunctionFacts | None,
    klass: ClassFacts | None,
    statement: int | None,
    subject: str = "",
) -> Convention | None:
    """The timeout the code already has for a call of ``family`` made in ``function`` (None at
    module level) of ``klass`` (None outside a class's methods); ``statement``: the index of
    the module-level statement the call is in, when it runs at import time (a constant must be
    bound before it). Nearest first: parameters, the class's own attributes, what sibling calls
    pass, then the module's constants, imports and settings. Two different equally good names
    at one level: no convention (the rewrite then falls back to its own rules). A name that says
    which service it is for (``GITHUB_TIMEOUT``) counts only for a call whose arguments
    (``subject``: their code) name that service too."""
    local = function.local if function is not None else set()
    levels: list[list[Candidate]] = []
    if function is not None:
        levels.append([
            Candidate(p, named.part, named.score, f"the function's parameter {p}")
            for p in function.params if (named := classify(p, family)) is not None
        ])
    if function is not None and function.method and klass is not None:
        levels.append([
            Candidate(f"self.{attr}", named.part, named.score, f"self.{attr}, which the class sets", value_kind(value))
            for attr, value in klass.attributes.items()
            if (named := classify(attr, family)) is not None and not _plain_data(value)
        ])
        levels.append(_siblings(facts, family, klass, local))
    levels.append(_module_candidates(facts, family, local, statement))
    found: dict[str, Candidate] = {}
    blocked: set[str] = set()
    subject = subject.lower()
    for candidates in levels:
        candidates = [c for c in candidates if c.score != 1 or _names_the_service(c.code, subject)]
        for part in ("both", "connect", "read"):
            if part in found or part in blocked:
                continue
            best = _best(candidates, part)
            if best is False:
                blocked.add(part)
            elif best is not None:
                found[part] = best  # type: ignore[assignment]
        if "both" in found or "both" in blocked:
            break
    if not found:
        return None
    return Convention(found.get("both"), found.get("connect"), found.get("read"))


def _names_the_service(code: str, subject: str) -> bool:
    name = code.removesuffix("()").rpartition(".")[2]
    return all(word in subject for word in service_words(name))


def sibling_literal(facts: Facts, klass: ClassFacts | None) -> str | None:
    """The literal timeout every sibling call in the class passes, when they agree on one."""
    if klass is None:
        return None
    codes = {code for expr, code in klass.siblings.get("http", []) if is_literal(expr)}
    others = [code for expr, code in klass.siblings.get("http", []) if not is_literal(expr)]
    return codes.pop() if len(codes) == 1 and not others else None


def _siblings(facts: Facts, family: str, klass: ClassFacts, local: set[str]) -> list[Candidate]:
    """What the other calls of the class pass as their timeout, when it is not a literal and
    reads only ``self`` and module-level names (so that it means the same at this call)."""
    if family != "http":
        return []
    module = facts.module()
    bound = set(module.constants) | set(module.defs) | set(module.imported)
    out = []
    for expr, code in klass.siblings.get("http", []):
        if is_literal(expr):
            continue
        names = _names(expr)
        if not names or not all(n == "self" or (n in bound and n not in local) for n in names):
            continue
        out.append(Candidate(code, "both", 3, f"{code}, what the other calls in this class pass"))
    return out


def _module_candidates(facts: Facts, family: str, local: set[str], statement: int | None) -> list[Candidate]:
    module = facts.module()
    out = []
    for name, (index, value) in module.constants.items():
        if name in local or (statement is not None and index >= statement) or _plain_data(value):
            continue
        named = classify(name, family)
        if named is not None:
            out.append(Candidate(name, named.part, named.score, f"the module's {name}", value_kind(value)))
    for name, node in module.defs.items():
        args = node.args
        required = len(args.posonlyargs) + len(args.args) - len(args.defaults) + sum(
            d is None for d in args.kw_defaults
        )
        named = classify(name, family)
        if named is not None and name not in local and required == 0:
            out.append(Candidate(f"{name}()", named.part, named.score, f"{name}(), which the module defines"))
    for name, target in module.imported.items():
        named = classify(name, family)
        if named is None or name in local:
            continue
        if name in module.values and name not in module.called:
            out.append(Candidate(name, named.part, named.score, f"{name}, imported from {target.rpartition('.')[0]}"))
        elif name in module.called and name not in module.values:
            out.append(Candidate(f"{name}()", named.part, named.score, f"{name}(), imported from {target.rpartition('.')[0]}"))
    for dotted in module.reads:
        named = classify(dotted.rpartition(".")[2], family)
        if named is not None and dotted.split(".")[0] not in local:
            out.append(Candidate(dotted, named.part, named.score, f"{dotted}, which this module reads"))
    return out


def _plain_data(value: ast.AST | None) -> bool:
    """A value that cannot be a timeout: a string, a container, a bool."""
    if isinstance(value, ast.Constant):
        return isinstance(value.value, (str, bytes, bool))
    return isinstance(value, (ast.Dict, ast.List, ast.Set, ast.JoinedStr, ast.Lambda))


# --- calls that may run long -------------------------------------------------------------------------


def runs_long(function: ast.AST | None, klass: ClassFacts | None, texts: list[str]) -> str | None:
    """Why a call may legitimately take long to answer, from the names around it (soft: the
    rewrite then bounds the connect only and suggests no read timeout); ``texts``: the string
    literals among the call's arguments (its URL)."""
    for text in texts:
        found = set(re.findall(r"[a-z]+", text.lower())) & LONG_WORDS
        if found:
            return f"its URL says {sorted(found)[0]!r}"
    if function is not None:
        found = set(words(function.name)) & LONG_WORDS  # type: ignore[attr-defined]
        if found:
            return f"it is made in {function.name}()"  # type: ignore[attr-defined]
    if klass is not None:
        found = set(words(klass.node.name)) & LONG_WORDS
        if found:
            return f"it is made in class {klass.node.name}"
        if klass.runs_jobs:
            return f"class {klass.node.name} runs queries or jobs with a timeout setting of its own"
    return None
