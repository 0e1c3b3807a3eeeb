"""add-timeouts: every network client gets a timeout that fits the call.

Why: a call without a timeout waits forever when a peer stalls. A worker hangs, the pool
drains, and the service stops answering while its health check still says "healthy". But a
timeout that is too short turns a slow call that works today (a user's query, a document
conversion, an LLM answer, a stream) into a failure, so the value matters as much as the fix.

Which value (matched by qualified name, so aliases and ``from`` imports count):

1. the timeout the code already has, nearest first: a parameter of the function (``timeout``,
   ``request_timeout``, ``connect_timeout``/``read_timeout`` as a pair), a ``self.`` attribute,
   class attribute or property of the class, the lookup sibling calls in the class already
   pass (``timeout=self.configuration.get("timeout")``), a module-level constant, an imported
   name, a setting the module reads (``settings.HTTP_CLIENT_TIMEOUT``), a zero-argument function
   it calls (``get_client_timeout()``). A name counts when its words say a timeout in seconds
   for this kind of client (not ``CACHE_TIMEOUT``, ``LOCK_TIMEOUT``, ``TIMEOUT_MS``,
   ``REDIS_TIMEOUT`` for an HTTP call, an exception class); one named for a service
   (``GITHUB_TIMEOUT``) counts only for calls that name that service; two different equally
   good ones mean none. The finding names it. This is a safe fix;
2. otherwise a connect timeout only, which cannot cut a slow answer: requests
   ``timeout=(<connect>, None)``, httpx ``timeout=None`` -> ``httpx.Timeout(None, connect=...)``,
   Redis ``socket_connect_timeout``, paramiko ``connect(timeout=)`` (the TCP connect), database
   drivers' connect timeouts (``connect_timeout``, asyncpg's ``timeout``). Safe;
3. a literal read timeout (``timeout=(10, 30)``, Redis ``socket_timeout``, aiohttp
   ``ClientTimeout(sock_connect=..., sock_read=...)`` (per read, never ``total=``: that caps a
   whole streamed request), stdlib ``timeout=`` (urllib, http.client, smtplib, ftplib, imaplib,
   poplib, nntplib, socket: it bounds every read, not only the connect), asyncpg
   ``command_timeout``, pymongo's timeouts, pg8000's ``timeout``) is an **unsafe fix**: made only
   with ``--unsafe-fixes``, else listed by ``check`` as a suggestion. It is not even suggested
   where the call may legitimately run long: ``stream=True``, a long poll (``params`` with
   ``timeout``/``wait``), a URL saying ``events``/``stream``/``chat``/``convert``..., a def or class
   named for queries, jobs, conversions, generation, uploads..., or a class that runs queries
   with a timeout setting of its own (those get the connect timeout only, or a warning where
   there is none: the stdlib clients).

Also: ``requests.get/post/put/patch/delete/head/options/request`` and the same methods plus
``send`` on a session the code made; SQLAlchemy ``pool_pre_ping=True`` on engines that keep
pooled connections (module or class level, stored on an object, returned) and the driver's
connect timeout in ``connect_args`` when the URL literal names a known driver; psycopg
``connect_timeout``.

What it leaves alone (and reports): calls passing ``**kwargs`` (the timeout may be inside, and a
second one crashes at run time), a timeout already given (positionally too), an explicit
``timeout=None`` of a stdlib client or ``socket_timeout=None`` of Redis (blocking on purpose),
``Redis(connection_pool=...)`` (the pool carries the socket settings), ``connect_args`` that is
not a dict literal or an engine built with ``creator=`` (it ignores them), ``pool_pre_ping`` on
an engine created and disposed of (or dropped) in one function or with ``NullPool``,
``StaticPool``, ``AssertionPool``, or on SQLite; an aiohttp session every request on which passes
its own timeout (aiohttp's own default, 300 s in total and 30 s to connect, already bounds the
others); and a client a public function or class hands out to its callers (a factory: a timeout
there would apply to every caller's blocking command or long request), reported as a warning.
It never adds ``pool_size``/``max_overflow`` (they crash with NullPool and SQLite pools).
"""

from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass

from prodfix.codemods.base import Codemod, Rationale
from prodfix.codemods.common.ast_facts import import_aliases
from prodfix.codemods.options import duration, optional_duration

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request")

REQUESTS_FUNCS = frozenset(f"requests.{m}" for m in HTTP_METHODS) | frozenset(
    f"requests.api.{m}" for m in HTTP_METHODS
)

REQUESTS_SESSIONS = frozenset({"requests.Session", "requests.session", "requests.sessions.Session"})
SESSION_NAMES = frozenset(q.rpartition(".")[2] for q in REQUESTS_SESSIONS)  # what creates one, by call name

# what a requests session the code made is asked for (``Session.send(prepared)`` too)
SESSION_METHODS = (*HTTP_METHODS, "send")

HTTPX_CALLS = frozenset(f"httpx.{m}" for m in (*HTTP_METHODS, "stream")) | {"httpx.Client", "httpx.AsyncClient"}
HTTPX_CLIENTS = frozenset({"httpx.Client", "httpx.AsyncClient"})

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
    "imaplib.IMAP4": 2,
    "imaplib.IMAP4_SSL": 99,  # keyword-only from Python 3.12 (after keyfile/certfile before)
    "poplib.POP3": 2,
    "poplib.POP3_SSL": 99,
    "nntplib.NNTP": 6,
    "nntplib.NNTP_SSL": 7,
}
# the kind of client each one is, for the names of its timeout (conventions.classify)
STDLIB_FAMILY = {
    "urllib.request.urlopen": "http", "http.client.HTTPConnection": "http", "http.client.HTTPSConnection": "http",
    "smtplib.SMTP": "smtp", "smtplib.SMTP_SSL": "smtp", "smtplib.LMTP": "smtp", "ftplib.FTP": "ftp",
    "ftplib.FTP_TLS": "ftp", "socket.create_connection": "socket", "imaplib.IMAP4": "imap",
    "imaplib.IMAP4_SSL": "imap", "poplib.POP3": "pop", "poplib.POP3_SSL": "pop", "nntplib.NNTP": "nntp",
    "nntplib.NNTP_SSL": "nntp",
}

# paramiko: ``SSHClient.connect(hostname, port, username, password, pkey, key_filename, timeout)``
SSH_CLIENTS = frozenset({"paramiko.SSHClient", "paramiko.client.SSHClient"})
SSH_CONNECT = frozenset(f"{c}.connect" for c in SSH_CLIENTS)

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
    "imaplib", "poplib", "nntplib", "paramiko",
)

TRIGGER_NAMES = frozenset(
    {*SESSION_METHODS, "stream", "Client", "AsyncClient", "ClientSession", "urlopen", "HTTPConnection",
     "HTTPSConnection", "SMTP", "SMTP_SSL", "LMTP", "FTP", "FTP_TLS", "create_connection", "Redis",
     "StrictRedis", "from_url", "ConnectionPool", "BlockingConnectionPool", "create_engine",
     "create_async_engine", "connect", "create_pool", "MongoClient", "AsyncIOMotorClient", "IMAP4",
     "IMAP4_SSL", "POP3", "POP3_SSL", "NNTP", "NNTP_SSL", "SSHClient"}
)
# what makes an object whose methods are then looked at (requests sessions, paramiko clients)
SESSION_CALLS = ("Session", "session", "Client", "AsyncClient", "ClientSession", "SSHClient")



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
        fix=(
            "Give every client a timeout that fits it: the one the code already has, else a connect "
            "timeout (a literal read timeout is an unsafe fix); ping long-lived pooled connections."
        ),
        severity="high",
    )
    # An import of a client module (what candidates() needs first). For a package only some of whose submodules are clients
    # (urllib.request, http.client), ``urllib.parse`` and the like do not count; the package
    # itself does (``import urllib`` then ``urllib.request.urlopen()``).
    prefilter = re.compile(
        r"(?:^|;)[ \t\f]*(?:from[ \t\f]+|import[ \t\f]+(?:[\w.]+[ \t\f]*(?:as[ \t\f]+\w+[ \t\f]*)?,[ \t\f]*)*)(?:"
        + "|".join(
            re.escape(m) + r"\b" if "." not in m else rf"{re.escape(m)}\b|{re.escape(m.split('.')[0])}\b(?!\.)"
            for m in sorted({m if "." in m else m.split(".")[0] for m in CLIENT_MODULES})
        )
        + r")",
        re.MULTILINE,
    )
    # Every client module's name contains one of these (one scan of the text each): "http" for
    # httpx and aiohttp too, "psycopg" for psycopg2, "plib" for smtplib, ftplib, imaplib,
    # poplib, nntplib.
    trigger_words = (
        "asyncpg", "http", "motor", "paramiko", "plib", "psycopg", "pymongo", "redis", "requests", "socket",
        "sqlalchemy", "sqlmodel", "urllib",
    )

    def wants(self, source: str, path: str, project=None) -> bool:
        """The import regex, run only on the lines where a client module's name appears."""
        if self.skips(source, path):
            return False
        seen: set[int] = set()
        for index in self.occurrences(source, self.trigger_words):
            line = source.rfind("\n", 0, index) + 1
            if line in seen:
                continue
            seen.add(line)
            end = source.find("\n", index)
            end = len(source) if end == -1 else end
            # every import statement has the word; most lines naming "http" are URLs
            if source.find("import", line, end) != -1 and self.prefilter.search(source, line, end) is not None:
                return True
        return False

    # no libcst metadata: names are resolved from the ast (common/ast_scopes.py), far cheaper

    @dataclass(frozen=True)
    class Options:
        seconds: float = duration(30)  # a read timeout (and the connect one, up to 10 s) unless the two below say
        connect_seconds: float | None = optional_duration()  # HTTP and SSH connect timeouts; unset: min(seconds, 10)
        read_seconds: float | None = optional_duration()  # HTTP, SMTP/FTP/IMAP/POP/NNTP, socket reads; unset: seconds
        redis_socket: float = duration(10)
        redis_connect: float = duration(5)
        db_connect: float = duration(10, whole=True)  # libpq and MySQLdb take whole seconds
        db_command: float = duration(30)

        @property
        def connect(self) -> float:
            return self.connect_seconds if self.connect_seconds is not None else min(self.seconds, 10)

        @property
        def read(self) -> float:
            return self.read_seconds if self.read_seconds is not None else self.seconds

    def candidates(self, facts, source: str, path: str, project=None) -> bool:
        """A client module imported, and a trigger called on an imported name or a session:
        ``requests.get()``, ``get()`` from ``from requests import get``, ``session.get()``."""
        if not any(m in ("urllib", "http") or m.startswith(CLIENT_MODULES) for m in facts.modules):
            return False
        aliases = {local for local, target in facts.bound.items() if target.rpartition(".")[2] in TRIGGER_NAMES}
        names = TRIGGER_NAMES | aliases
        sessions = not facts.call_names.isdisjoint(SESSION_CALLS)
        for name, call in facts.calls:
            if name in names and (sessions or (facts.qualified(call) or "").startswith(CLIENT_MODULES)):
                return True
        return False

    def needs(self, facts, source: str, path: str, project=None):
        """Calls by a trigger name or an alias of one, the methods creating a requests session
        (``self.session = Session()`` in one method is used in the others), and the whole
        classes such calls are in (the attributes a class sets, what its other calls pass).
        Settings the module reads in its other defs are found in Python's ast of the whole
        text (conventions.py), not in what libcst parses."""
        from prodfix.codemods.base import Needs

        calls = frozenset(TRIGGER_NAMES | SESSION_NAMES | import_aliases(facts.imports))
        lines = sorted(call.lineno for name, call in facts.calls if name in calls)
        classes = frozenset(
            node.name for node in (facts.tree.body if facts.tree is not None else [])
            if isinstance(node, ast.ClassDef) and _any_between(lines, node.lineno, node.end_lineno)
        )
        return Needs(calls=calls, classes=classes)

    def transform(self, wrapper, file, reporter):
        # libcst is imported only once a file needs rewriting (a cached or filtered run never does)
        from prodfix.codemods.add_timeouts.rewrite import transform

        return transform(self, wrapper, file, reporter)


def _any_between(lines: list[int], first: int, last: int | None) -> bool:
    index = bisect.bisect_left(lines, first)
    return index < len(lines) and last is not None and lines[index] <= last


assert all(any(w in m.split(".")[0] for w in AddTimeouts.trigger_words) for m in CLIENT_MODULES)
