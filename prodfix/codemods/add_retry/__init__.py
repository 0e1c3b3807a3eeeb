"""add-retry: start-up connections retry with bounded exponential backoff (tenacity).

Why: in Docker and Kubernetes the app often starts before its database, cache or broker
accepts connections. Without a retry the first connection error kills the process and the
orchestrator enters a restart loop.

Which functions (sync or async, module level or methods) -- both must hold:

1. the body itself connects: ``engine.connect()``/``engine.begin()``, ``metadata.create_all``,
   Flask-SQLAlchemy's ``db.create_all()``,
   ``conn.run_sync(...create_all)``, ``psycopg2/psycopg/asyncpg/pymysql.connect``,
   ``asyncpg.create_pool``, a Redis ``ping()``, ``MongoClient(...)`` followed by a command,
   ``aio_pika.connect(_robust)``, ``pika.BlockingConnection``, kafka producers, ``SELECT 1``
   probes (never ``sqlite3.connect``: a local file needs no retry);
2. it is start-up code: reached, through calls in the same file (``helper()``,
   ``self.helper()``, any depth), from an entry point -- a FastAPI/Starlette lifespan, an
   ``on_event("startup")`` or ``add_event_handler("startup", ...)`` handler, aiohttp's
   ``app.on_startup``, an app factory (``create_app``...), Django's ``AppConfig.ready()``, a
   ``manage.py`` command's ``handle()``, a Celery ``worker_init``/``worker_process_init``
   signal, a gunicorn hook (``on_starting``, ``post_fork``, ``when_ready``...) in
   ``gunicorn*.py``, a script's ``if __name__ == "__main__":`` block, the module's own
   statements at import time (``run_migrations()`` at the bottom of a settings module); or its name matches
   ``name_patterns`` (``init_*``, ``connect*``, ``setup_*``...); or it is listed in ``targets``
   (``path.py:qualname``). A lifespan is also any ``@asynccontextmanager async def f(app)``,
   however the application registers it, and the lifespan and startup handlers an app factory
   defines inside itself (``def get_application(): @asynccontextmanager async def lifespan(app)``).
   ``client.init()`` on a module-level ``client = Client(...)`` of a class of the repository
   (this module or another) is a call of ``Client.init``. A function start-up only passes to
   another call (``use_lock_for_workers(init_db, ...)``) is reported, with the path, not decorated. The finding names the entry point and the calls that lead to the
   connection (``lifespan: lifespan() -> prepare() -> create_models() -> engine.begin()``).

What it adds, closest to the ``def`` (under framework decorators)::

    @retry(
        stop=stop_after_attempt(5),
        wait=wait_exponential(multiplier=1, max=30),
        retry=retry_if_exception_type((OperationalError, ConnectionError, TimeoutError)),
        before_sleep=before_sleep_log(logger, logging.WARNING),
        reraise=True,
    )

The exceptions are the connection errors of the driver the function uses (SQLAlchemy's
OperationalError/InterfaceError, redis' ConnectionError/TimeoutError, psycopg's, pymysql's...,
with the built-in ConnectionError/TimeoutError, or OSError for drivers and async SQLAlchemy
engines that let socket errors through), never ``Exception``, referred to the way the module
imports things; the module logger is reused or added (shared with print-to-logging); and
``tenacity>=8`` is declared in the project's dependency manifest.

What it leaves alone: test modules (``TEST_PATH``), without a word. Reported: alembic's
``env.py`` (it runs inside an alembic command; the retry belongs where that starts), code with its
own retry (a tenacity, backoff, retrying or any ``retry*`` decorator, ``Retrying(...)`` run
as a loop, a loop that sleeps after catching an exception or in a function taking
``attempts``/``retries``/``tries``, a caller in the file that calls it in such a loop:
``wait_for_db()``, or such a helper that it calls first, waiting for the database before it
connects), generators, functions that catch the connection error themselves and carry on
(``except ConnectionError: log``, no ``raise``: a retry would never see it), functions
taking a request or session (per-request work), start-up functions that another function of
the file which is not start-up code (a request handler, a task) also calls, start-up functions
that also send mail or write (``send_mail``, ``create_user``, ``commit``...: a retry would
repeat it). Calls into other modules are followed by the project's start-up graph
(``engine/startup_graph.py``); a function another module also names is left alone.

Connections at import time (a settings module running ``command.upgrade(cfg, "head")``,
``metadata.create_all()``, ``engine.connect()``; the same in a ``__main__`` block): the
statement moves into a function decorated with @retry, called in its place::

    @retry(...)
    def _migrate():
        command.upgrade(Config("alembic.ini"), "head")


    _migrate()

(``conn = engine.connect()`` becomes ``def _connect(): return engine.connect()`` and
``conn = _connect()``). Only when that is clearly the same code: one statement on its line,
after the imports, binding no name but a ``with ... as`` name nothing else reads, with no
``global``/``return``/``del``/walrus, nothing a retry would repeat; otherwise reported, as is
a connection inside a loop, ``try`` or ``if`` at module level.

Unsafe fix (made only with ``--unsafe-fixes``; ``check`` lists it as a suggestion): a function
that also writes (SQL ``INSERT``/``UPDATE``/``DELETE``, an ORM ``add``/``merge``, a Redis write,
a published message). It is not idempotent: a failure after the write retries the whole
function and writes twice. Decorating a function that only connects is safe.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodfix.codemods.base import Codemod, Rationale
from prodfix.codemods.options import count, duration, function_targets, words
from prodfix.globs import TEST_PATH

DEPENDENCY = "tenacity>=8"

_ENGINE_CALL = re.compile(r"(?i:engine)[\w.]*(?:\([^()\n]*\)|\[[^\]\n]*\])?\s*\.\s*(?:connect|begin)\s*\(")
# the whole string literal is the query (what _selects_one accepts), not SQL that starts so
_SELECT_ONE_TEXT = re.compile(r"[\"'][ \t\r\n]*[Ss][Ee][Ll][Ee][Cc][Tt][ \t\r\n]+1[ \t\r\n]*;?[ \t\r\n]*[\"']")
_DRIVER_IMPORT = re.compile(r"(?:^|;)[ \t\f]*(?:from|import)[ \t\f]+(?:psycopg2?|asyncpg|pymysql)\b", re.MULTILINE)

# qualified call -> connection kind
CONNECT_CALLS = {
    "psycopg2.connect": "psycopg2",
    "psycopg.connect": "psycopg",
    "psycopg.Connection.connect": "psycopg",
    "psycopg.AsyncConnection.connect": "psycopg",
    "asyncpg.connect": "asyncpg",
    "asyncpg.create_pool": "asyncpg",
    "pymysql.connect": "pymysql",
    "aio_pika.connect": "aio_pika",
    "aio_pika.connect_robust": "aio_pika",
    "pika.BlockingConnection": "pika",
    "kafka.KafkaProducer": "kafka",
    "kafka.KafkaConsumer": "kafka",
    "socket.create_connection": "socket",
    "alembic.command.upgrade": "sqlalchemy",
}

MONGO_CLIENTS = frozenset({"pymongo.MongoClient", "motor.motor_asyncio.AsyncIOMotorClient"})

AIOKAFKA = frozenset({"aiokafka.AIOKafkaProducer", "aiokafka.AIOKafkaConsumer"})

# kind -> (qualified exception, alias to use when importing it by name)
EXCEPTIONS: dict[str, list[tuple[str, str | None]]] = {
    "sqlalchemy": [("sqlalchemy.exc.OperationalError", None), ("sqlalchemy.exc.InterfaceError", None)],
    "redis": [
        ("redis.exceptions.ConnectionError", "RedisConnectionError"),
        ("redis.exceptions.TimeoutError", "RedisTimeoutError"),
    ],
    "psycopg2": [("psycopg2.OperationalError", "Psycopg2OperationalError")],
    "psycopg": [("psycopg.OperationalError", "PsycopgOperationalError")],
    "asyncpg": [("asyncpg.exceptions.CannotConnectNowError", None)],
    "pymysql": [("pymysql.err.OperationalError", "PyMySQLOperationalError")],
    "mongo": [("pymongo.errors.ConnectionFailure", None)],
    "aio_pika": [("aio_pika.exceptions.AMQPConnectionError", None)],
    "pika": [("pika.exceptions.AMQPConnectionError", "PikaAMQPConnectionError")],
    "kafka": [("kafka.errors.NoBrokersAvailable", None)],
    "aiokafka": [("aiokafka.errors.KafkaConnectionError", None)],
}

# Drivers that surface refused connections as plain OSError subclasses.
# (SQLAlchemy's async drivers: asyncpg's ConnectionRefusedError or socket.gaierror is raised
# as it is, not wrapped in OperationalError, see sqlalchemy/connectors/asyncio.py)
OSERROR_KINDS = frozenset({"asyncpg", "socket", "aio_pika", "aiokafka", "generic", "sqlalchemy_async"})

TENACITY_NAMES = ("retry", "stop_after_attempt", "wait_exponential", "retry_if_exception_type", "before_sleep_log")

RETRY_DECORATOR_PACKAGES = ("tenacity", "backoff", "retrying")

# retries run as calls: ``for attempt in Retrying(...)``, ``backoff.on_exception(...)(connect)()``
RETRY_CALLS = frozenset({
    "tenacity.Retrying", "tenacity.AsyncRetrying", "tenacity.retry", "backoff.on_exception", "backoff.on_predicate",
    "retrying.Retrying", "retrying.retry",
})

# a loop that sleeps in a function taking one of these counts its attempts: its own retry
RETRY_PARAMS = frozenset({"attempts", "max_attempts", "retries", "max_retries", "tries", "max_tries", "retry", "timeout"})

REQUEST_PARAMS = frozenset({"request", "req", "session", "db_session", "websocket"})

APP_FACTORIES = frozenset({"create_app", "make_app", "build_app", "app_factory", "get_app"})

# Celery signals sent once when a worker (process) starts: ``@worker_process_init.connect``
CELERY_SIGNALS = frozenset({"worker_init", "worker_process_init", "celeryd_init", "celeryd_after_setup", "worker_ready"})

# server hooks gunicorn calls once, from gunicorn.conf.py
GUNICORN_HOOKS = frozenset({"on_starting", "when_ready", "post_fork", "post_worker_init", "pre_fork"})

# ``@app.get(...)``, ``@router.post``, ``@bp.route``: request handlers, never start-up code
ROUTE_DECORATORS = frozenset({"get", "post", "put", "patch", "delete", "route", "websocket", "head", "options", "api_route"})

# calls a retry would repeat: mail, user creation, writes
SIDE_EFFECT_CALLS = frozenset({
    "send_mail", "send_email", "send_message", "send_mass_mail", "mail_admins", "create_user", "create_superuser",
    "commit", "insert_one", "insert_many", "publish", "basic_publish", "write_text", "write_bytes",
})

def _selects_one(expr: ast.expr) -> bool:
    """``"SELECT 1"`` or ``text("SELECT 1")``, as ``_is_select_one`` below, on an ast node."""
    if isinstance(expr, ast.Call) and expr.args:
        expr = expr.args[0]
    return (
        isinstance(expr, ast.Constant) and isinstance(expr.value, str)
        and re.fullmatch(r"\s*select\s+1\s*;?\s*", expr.value, re.IGNORECASE) is not None
    )


def _dotted(expr: ast.expr) -> str:
    """``a.b.c`` -> "a.b.c"; a call or subscript by what it calls or indexes (as libcst's
    ``get_full_name_for_node`` does); anything else ""."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return f"{_dotted(expr.value)}.{expr.attr}"
    if isinstance(expr, ast.Call):
        return _dotted(expr.func)
    if isinstance(expr, ast.Subscript):
        return _dotted(expr.value)
    return ""



class AddRetry(Codemod):
    name = "add-retry"
    code = "PF003"
    summary = "tenacity @retry with bounded exponential backoff on start-up connection functions"
    rationale = Rationale(
        problem="Start-up code connects to a database, cache or broker once, without a retry.",
        impact=(
            "When the dependency is not ready yet (containers start in any order) the first "
            "connection error kills the process and the orchestrator enters a restart loop."
        ),
        fix="Retry the connection a bounded number of times with exponential backoff, logging each wait.",
        severity="high",
    )
    # What a connecting body must contain: the receivers and calls candidates() looks for
    # (engine...connect()/begin(), ping(), create_all, run_sync, SELECT 1, the client classes)
    # or an import of a driver whose connect() it recognises; never any .connect() (Django's
    # signals have thousands). Each regex runs only on files holding its literal word: one
    # regex with all the alternatives cost ten times more.
    # Words that alone make a file worth a look (not Codemod.trigger_words, which are required).
    connect_words = (
        "create_all", "run_sync", "MongoClient", "AsyncIOMotorClient", "aio_pika", "create_pool", "Kafka",
        "create_connection", "alembic",
    )
    gated = (
        ("pika", re.compile(r"\bpika\b")),
        (".ping", re.compile(r"\.ping\s*\(\s*\)")),
        ("ngine", _ENGINE_CALL), ("NGINE", _ENGINE_CALL),
        ("elect", _SELECT_ONE_TEXT), ("ELECT", _SELECT_ONE_TEXT),
        ("psycopg", _DRIVER_IMPORT), ("asyncpg", _DRIVER_IMPORT), ("pymysql", _DRIVER_IMPORT),
    )
    # no metadata declared: the rewrite resolves libcst's scopes itself, only when it decorates
    needs_startup_graph = True  # project fact: what start-up in other modules calls here

    @dataclass(frozen=True)
    class Options:
        attempts: int = count(5, least=2, most=100)  # 1 would be a @retry that never retries
        max_wait: float = duration(30)
        multiplier: float = duration(1)  # seconds: the waits are multiplier * 2**n, up to max_wait
        name_patterns: tuple[str, ...] = words((
            "init_*", "*_init", "connect*", "wait_for_*", "setup_*", "startup*", "on_startup",
            "create_pool*",
        ))
        targets: tuple[str, ...] = function_targets(())  # "path/to/module.py:function" or ":Class.method"

    def skips(self, source: str, path: str) -> bool:
        """Tests: their set-up runs under the test runner, never at the application's start-up."""
        return TEST_PATH.search(path) is not None

    def wants(self, source: str, path: str, project=None) -> bool:
        if self.skips(source, path):
            return False
        if any(word in source for word in self.connect_words):
            return True
        return any(word in source and regex.search(source) for word, regex in self.gated)

    def candidates(self, facts, source: str, path: str, project=None) -> bool:
        """A call that connects, by the same tests as ``_Analyzer.visit_Call``, on names only."""
        qualified = set(CONNECT_CALLS) | MONGO_CLIENTS | AIOKAFKA
        if facts.imports_any({q.split(".")[0] for q in qualified}):
            names = {q.rpartition(".")[2] for q in qualified} | facts.aliases_of(qualified)
            if not facts.call_names.isdisjoint(names):
                return True
        for name, call in facts.calls:
            if not isinstance(call.func, ast.Attribute):
                continue
            receiver = _dotted(call.func.value).lower()
            if name in ("connect", "begin") and "engine" in receiver.split(".")[-1]:
                return True
            if (name == "create_all" and (receiver.endswith("metadata") or receiver.split(".")[-1] == "db")) or name == "run_sync":
                return True
            if (name == "ping" and not call.args) or (name == "execute" and call.args and _selects_one(call.args[0])):
                return True
        return False

    def transform(self, wrapper, file, reporter):
        # libcst is imported only once a file needs rewriting (a cached or filtered run never does)
        from prodfix.codemods.add_retry.rewrite import transform

        return transform(self, wrapper, file, reporter)
