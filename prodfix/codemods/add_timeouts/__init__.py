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

from prodfix.codemods.base import Codemod, Rationale
from prodfix.codemods.common.ast_facts import import_aliases
from prodfix.codemods.options import duration

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "request")

REQUESTS_FUNCS = frozenset(f"requests.{m}" for m in HTTP_METHODS) | frozenset(
    f"requests.api.{m}" for m in HTTP_METHODS
)

REQUESTS_SESSIONS = frozenset({"requests.Session", "requests.session", "requests.sessions.Session"})
SESSION_NAMES = frozenset(q.rpartition(".")[2] for q in REQUESTS_SESSIONS)  # what creates one, by call name

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
    trigger_words = tuple(sorted({m.split(".")[0] for m in CLIENT_MODULES}))

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
        seconds: float = duration(30)
        redis_socket: float = duration(10)
        redis_connect: float = duration(5)
        db_connect: float = duration(10, whole=True)  # libpq and MySQLdb take whole seconds
        db_command: float = duration(30)

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

    def needs(self, facts, source: str, path: str, project=None):
        """Calls by a trigger name or an alias of one, and the methods creating a requests
        session (``self.session = Session()`` in one method is used in the others)."""
        from prodfix.codemods.base import Needs

        return Needs(calls=frozenset(TRIGGER_NAMES | SESSION_NAMES | import_aliases(facts.imports)))

    def transform(self, wrapper, file, reporter):
        # libcst is imported only once a file needs rewriting (a cached or filtered run never does)
        from prodfix.codemods.add_timeouts.rewrite import transform

        return transform(self, wrapper, file, reporter)
