"""add-retry: patched start-up code retries against a server that refuses at first; the
dependency it needs is declared in the project's manifest."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import textwrap
import threading
from pathlib import Path

import pytest

from conftest import commit_all, prodfix_exe, run_git
from helpers import run_codemod
from prodfix.engine.manifest import declare

# --- behaviour against a real local server -------------------------------------------------


class FlakyRedis:
    """A loopback server speaking just enough RESP: closes the first `failures` connections
    at once, then answers every command (PING with +PONG, the rest with +OK)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            if self.connections <= self.failures:
                conn.close()
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while buffer.startswith(b"*"):
                    parts = buffer.split(b"\r\n")
                    count = int(parts[0][1:])
                    needed = 1 + 2 * count
                    if len(parts) <= needed:
                        break
                    command = parts[2].upper()
                    buffer = b"\r\n".join(parts[needed:])
                    conn.sendall(b"+PONG\r\n" if command == b"PING" else b"+OK\r\n")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


STARTUP = """\
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def init_redis(port):
    # redis-py's own retry is off so that each attempt is one connection
    client = redis.Redis(host="127.0.0.1", port=port, protocol=2, retry=Retry(NoBackoff(), 0))
    return client.ping()
"""

ASYNC_STARTUP = """\
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


async def init_cache(port):
    client = redis.asyncio.Redis(host="127.0.0.1", port=port, protocol=2, retry=Retry(NoBackoff(), 0))
    try:
        return await client.ping()
    finally:
        await client.aclose()
"""

OPTIONS = {"attempts": 4, "multiplier": 0.01, "max_wait": 0.05}


def _patched(source: str) -> dict:
    result = run_codemod("add-retry", source, options=OPTIONS)
    assert result.changed and "@retry(" in result.new_text
    namespace: dict = {"__name__": "patched_startup"}
    exec(compile(result.new_text, "patched_startup.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("failures", [0, 2, 3])
def test_sync_startup_retries_until_the_server_answers(failures: int) -> None:
    server = FlakyRedis(failures)
    try:
        init_redis = _patched(STARTUP)["init_redis"]
        assert init_redis(server.port) is True
        assert server.connections == failures + 1
        assert init_redis.statistics["attempt_number"] == failures + 1
    finally:
        server.close()


def test_sync_startup_gives_up_with_the_original_exception() -> None:
    import redis

    server = FlakyRedis(failures=100)
    try:
        init_redis = _patched(STARTUP)["init_redis"]
        with pytest.raises(redis.exceptions.ConnectionError):
            init_redis(server.port)
        assert server.connections == OPTIONS["attempts"]
    finally:
        server.close()


def test_async_startup_retries_and_gives_up() -> None:
    import redis

    server = FlakyRedis(failures=2)
    try:
        init_cache = _patched(ASYNC_STARTUP)["init_cache"]
        assert asyncio.run(init_cache(server.port)) is True
        assert server.connections == 3
    finally:
        server.close()
    server = FlakyRedis(failures=100)
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            asyncio.run(init_cache(server.port))
        assert server.connections == OPTIONS["attempts"]
    finally:
        server.close()


# --- the dependency manifest ---------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())


def test_requirements_sorted_insert_and_append(tmp_path: Path) -> None:
    _write(tmp_path, {"requirements.txt": "fastapi==0.110\nredis>=5\nsqlalchemy\n"})
    edit = declare(tmp_path, ["tenacity>=8"])
    assert edit.path == "requirements.txt"
    assert edit.new == b"fastapi==0.110\nredis>=5\nsqlalchemy\ntenacity>=8\n"
    _write(tmp_path, {"requirements.txt": "redis\r\nfastapi\r\n# no newline at end"})
    assert declare(tmp_path, ["tenacity>=8"]).new == b"redis\r\nfastapi\r\n# no newline at end\r\ntenacity>=8\r\n"
    _write(tmp_path, {"requirements.txt": "alembic\nzope.interface\n"})
    assert declare(tmp_path, ["tenacity>=8"]).new == b"alembic\ntenacity>=8\nzope.interface\n"


def test_already_declared_anywhere_it_counts(tmp_path: Path) -> None:
    _write(tmp_path, {"requirements.txt": "-r requirements/base.txt\n", "requirements/base.txt": "Tenacity==8.2\n"})
    edit = declare(tmp_path, ["tenacity>=8"])
    assert edit.new == edit.old and "already declared" in edit.message


def test_pyproject_project_and_poetry_keep_formatting(tmp_path: Path) -> None:
    pyproject = '[project]\nname = "svc"\ndependencies = [\n    "fastapi",  # the web framework\n]\n'
    _write(tmp_path, {"pyproject.toml": pyproject})
    assert declare(tmp_path, ["tenacity>=8"]).new.decode() == (
        '[project]\nname = "svc"\ndependencies = [\n    "fastapi",  # the web framework\n    "tenacity>=8",\n]\n'
    )
    poetry = '[tool.poetry.dependencies]\npython = "^3.11"  # pinned\n'
    _write(tmp_path, {"pyproject.toml": poetry})
    assert declare(tmp_path, ["tenacity>=8"]).new.decode() == (
        '[tool.poetry.dependencies]\npython = "^3.11"  # pinned\ntenacity = ">=8"\n'
    )


def test_a_generated_requirements_file_is_left_to_its_source(tmp_path: Path) -> None:
    """fastapi_best_architecture's requirements.txt is ``uv export``'s output: tenacity goes
    into pyproject.toml, which the next export reads; pip-compile's output into its .in file."""
    pyproject = '[project]\nname = "svc"\ndependencies = [\n    "fastapi",\n]\n'
    exported = "# This file was autogenerated by uv via the following command:\n#    uv export -o requirements.txt --no-hashes\nfastapi==0.115.0\n    # via svc\n"
    _write(tmp_path, {"pyproject.toml": pyproject, "requirements.txt": exported})
    edit = declare(tmp_path, ["tenacity>=8"])
    assert edit.path == "pyproject.toml" and '"tenacity>=8"' in edit.new.decode()
    sorted_deps = '[project]\ndependencies = [\n  "fastapi",\n  "sqlparse>=0.5",  # sql\n  "user-agents",\n]\n'
    _write(tmp_path, {"pyproject.toml": sorted_deps})  # a sorted list stays sorted
    assert declare(tmp_path, ["tenacity>=8"]).new.decode() == (
        '[project]\ndependencies = [\n  "fastapi",\n  "sqlparse>=0.5",  # sql\n  "tenacity>=8",\n  "user-agents",\n]\n'
    )
    _write(tmp_path, {"pyproject.toml": pyproject})
    compiled = "#\n# This file is autogenerated by pip-compile with Python 3.12\n#\nflask==3.0.0\n    # via -r requirements.in\n"
    (tmp_path / "pyproject.toml").unlink()
    _write(tmp_path, {"requirements.txt": compiled, "requirements.in": "flask\n"})
    edit = declare(tmp_path, ["tenacity>=8"])
    assert (edit.path, edit.new) == ("requirements.in", b"flask\ntenacity>=8\n")
    (tmp_path / "requirements.in").unlink()  # no source in the repository: the generated file it is
    edit = declare(tmp_path, ["tenacity>=8"])
    assert edit.path == "requirements.txt" and edit.new.endswith(b"tenacity>=8\n")
    _write(tmp_path, {"requirements.txt": exported.replace("fastapi==0.115.0", "tenacity==9.0.0"), "pyproject.toml": pyproject})
    assert "already declared" in declare(tmp_path, ["tenacity>=8"]).message


def test_setup_cfg_and_pipfile(tmp_path: Path) -> None:
    _write(tmp_path, {"setup.cfg": "[options]\ninstall_requires =\n    flask\n    redis\n\n[flake8]\nmax-line-length = 99\n"})
    assert declare(tmp_path, ["tenacity>=8"]).new.decode() == (
        "[options]\ninstall_requires =\n    flask\n    redis\n    tenacity>=8\n\n[flake8]\nmax-line-length = 99\n"
    )
    (tmp_path / "setup.cfg").unlink()
    _write(tmp_path, {"Pipfile": '[packages]\nflask = "*"\n\n[dev-packages]\npytest = "*"\n'})
    assert declare(tmp_path, ["tenacity>=8"]).new.decode() == (
        '[packages]\nflask = "*"\ntenacity = ">=8"\n\n[dev-packages]\npytest = "*"\n'
    )


def test_no_manifest_is_a_warning(git_repo: Path) -> None:
    (git_repo / "db.py").write_text("def init_db(engine):\n    engine.connect()\n")
    commit_all(git_repo)
    out = subprocess.run([prodfix_exe(), "check", "--select", "add-retry"], cwd=git_repo, capture_output=True, text=True)
    assert out.returncode == 1
    assert "add tenacity>=8 to the project's dependencies" in out.stdout


def test_patch_declares_the_dependency_and_applies(git_repo: Path) -> None:
    (git_repo / "requirements.txt").write_text("sqlalchemy\n")
    (git_repo / "app").mkdir()
    (git_repo / "app" / "db.py").write_text(textwrap.dedent(
        """\
        from sqlalchemy import create_engine

        engine = create_engine("sqlite:///app.db")


        def init_db():
            engine.connect()
        """
    ))
    commit_all(git_repo)
    out = subprocess.run([prodfix_exe(), "diff", "--select", "add-retry"], cwd=git_repo, capture_output=True)
    assert out.returncode == 0, out.stderr
    assert b"+++ b/requirements.txt\n" in out.stdout and b"+tenacity>=8\n" in out.stdout
    assert b"1 file scanned" in out.stderr
    (git_repo / "p.patch").write_bytes(out.stdout)
    run_git(git_repo, "apply", "p.patch")
    (git_repo / "p.patch").unlink()
    assert (git_repo / "requirements.txt").read_text() == "sqlalchemy\ntenacity>=8\n"
    again = subprocess.run([prodfix_exe(), "diff", "--select", "add-retry"], cwd=git_repo, capture_output=True)
    assert again.stdout == b""


def test_a_decorator_is_read_in_the_scope_around_the_def() -> None:
    # the parameter named like the aliased decorator must not hide it: decorators are
    # evaluated outside the function, as libcst's scopes say
    source = textwrap.dedent(
        """\
        from backoff import on_exception as oe
        from sqlalchemy import create_engine

        engine = create_engine("postgresql://db/app")


        @oe(Exception, max_tries=3)
        def init_db(oe=None):
            with engine.connect() as connection:
                connection.execute("SELECT 1")
        """
    )
    result = run_codemod("add-retry", source)
    assert not result.changed
    assert [f.message for f in result.findings] == ["init_db() has its own retry (a retry decorator); left alone"]


# --- start-up found through the calls it makes ----------------------------------------------

LIFESPAN = """\
from contextlib import asynccontextmanager

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

PORT = 0


async def check_cache():
    client = redis.asyncio.Redis(host="127.0.0.1", port=PORT, protocol=2, retry=Retry(NoBackoff(), 0))
    try:
        await client.ping()
    finally:
        await client.aclose()


async def prepare():
    await check_cache()


@asynccontextmanager
async def lifespan(app):
    await prepare()
    yield


app = dict(lifespan=lifespan)
"""


def test_a_lifespan_that_connects_through_a_helper_now_starts() -> None:
    result = run_codemod("add-retry", LIFESPAN, options=OPTIONS)
    assert [f.message.split(" without")[0] for f in result.findings if f.kind == "fix"][:1] == [
        "check_cache() connects at start-up (lifespan: lifespan() -> prepare() -> check_cache() -> client.ping())"
    ]
    server = FlakyRedis(failures=2)
    try:
        namespace = _patched(LIFESPAN)
        namespace["PORT"] = server.port

        async def start() -> None:
            async with namespace["lifespan"](None):
                pass

        asyncio.run(start())
        assert server.connections == 3
    finally:
        server.close()


def test_a_helper_request_handlers_also_call_is_left_alone() -> None:
    source = LIFESPAN + '\n\nasync def health(request):\n    await check_cache()\n    return "ok"\n'
    result = run_codemod("add-retry", source)
    assert not result.changed
    assert [f.message for f in result.findings] == [
        "check_cache() connects at start-up (lifespan: lifespan() -> prepare() -> check_cache() -> client.ping()) "
        "but health() also calls it, which is not start-up code; left alone"
    ]


# --- connections at import time ---------------------------------------------------------------

IMPORT_TIME = """\
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

cache = redis.Redis(host="127.0.0.1", port=PORT, protocol=2, retry=Retry(NoBackoff(), 0))
cache.ping()
"""


@pytest.mark.parametrize("failures", [0, 3])
def test_a_module_that_connects_at_import_time_now_imports(failures: int) -> None:
    server = FlakyRedis(failures)
    try:
        source = f"PORT = {server.port}\n" + IMPORT_TIME
        result = run_codemod("add-retry", source, options=OPTIONS)
        assert [f.message.split(" with @retry")[0] for f in result.findings] == [
            "cache.ping() connects at import time without a retry: moved into _ping(), called in its place,"
        ]
        exec(compile(result.new_text, "settings.py", "exec"), {"__name__": "settings"})  # the import
        assert server.connections == failures + 1
    finally:
        server.close()


def test_import_time_connections_that_cannot_move_are_reported() -> None:
    source = (Path(__file__).parent / "fixtures/add_retry/module_level_keep.py").read_text()
    result = run_codemod("add-retry", source)
    assert not result.changed
    assert [(f.line, f.message.split(" connects ")[1].split(". Move")[0]) for f in result.findings] == [
        (11, "at import time, without a retry; not changed: it binds SERVER_VERSION at module level, which other code may read"),
        (15, "at import time and has its own retry (a loop that sleeps after an error); left alone"),
        (22, "at import time, without a retry; not changed: it is inside a try block"),
        (28, "at import time, without a retry; not changed: it also calls send_mail(), which a retry would repeat"),
        (32, "at import time, without a retry; not changed: it shares its line with other statements"),
        (34, "at import time, without a retry; not changed: probe is used after it"),
    ]


def test_the_exceptions_retried_are_connection_errors_never_exception() -> None:
    from prodfix.codemods.add_retry import EXCEPTIONS

    source = "import {0}\n\n\ndef init_x():\n    {0}.connect()\n"
    for kind, names in EXCEPTIONS.items():
        assert all(q.rpartition(".")[2] not in ("Exception", "BaseException") for q, _ in names), kind
    for module in ("psycopg2", "psycopg", "asyncpg", "pymysql"):
        result = run_codemod("add-retry", source.format(module))
        line = next(x for x in result.new_text.splitlines() if "retry_if_exception_type" in x)
        assert "Exception," not in line and "Exception))" not in line, line


def test_start_up_that_already_retries_says_so() -> None:
    source = (Path(__file__).parent / "fixtures/add_retry/own_retry_helpers.py").read_text()
    result = run_codemod("add-retry", source)
    assert not result.changed
    assert [f.message for f in result.findings] == [
        "check_db() has its own retry (wait_for_db() calls it in a loop that sleeps after an error); left alone",
        "ping_until_ready() has its own retry (a loop that sleeps after an error); left alone",
        "warm_up() has its own retry (AsyncRetrying()); left alone",
    ]


def test_a_retry_that_would_repeat_what_a_helper_does_is_reported() -> None:
    source = (Path(__file__).parent / "fixtures/add_retry/side_effects_deep.py").read_text()
    result = run_codemod("add-retry", source)
    assert [f.message.split(" but also calls ")[-1] for f in result.findings if f.kind == "note"] == [
        "send_mail() in notify_start(), which a retry would repeat; left alone",
        "open() for writing, which a retry would repeat; left alone",
    ]


def test_a_check_its_base_class_retries_has_its_own_retry() -> None:
    source = (Path(__file__).parent / "fixtures/add_retry/own_retry_inherited.py").read_text()
    result = run_codemod("add-retry", source)
    assert not result.changed
    assert [f.message for f in result.findings] == [
        f"{name}._check() has its own retry (ServiceCheck.check() calls it in a loop that sleeps after an error); left alone"
        for name in ("PortCheck", "DatabaseCheck")
    ]


def test_a_function_that_waits_with_its_own_helper_first_has_its_own_retry() -> None:
    source = (Path(__file__).parent / "fixtures/add_retry/waits_first.py").read_text()
    result = run_codemod("add-retry", source)
    assert not result.changed
    assert [f.message for f in result.findings][-1] == (
        "init_tables() has its own retry (it waits for the connection with _wait_for_db_connection() first); left alone"
    )


def test_test_modules_are_left_alone_without_a_word() -> None:
    source = "from sqlalchemy import create_engine\n\nengine = create_engine('postgresql://db/t')\n\n\ndef init_db():\n    engine.connect()\n"
    for path in ("tests/conftest.py", "app/tests/test_db.py", "tests.py", "conftest.py"):
        result = run_codemod("add-retry", source, path=path)
        assert not result.changed and not result.findings, path
    assert run_codemod("add-retry", source, path="app/db.py").changed


def test_an_import_time_statement_that_also_writes_is_an_unsafe_fix() -> None:
    source = (
        "from sqlalchemy import create_engine, text\n\nengine = create_engine('postgresql://db/app')\n\n"
        "with engine.begin() as conn:\n    conn.execute(text(\"INSERT INTO audit (event) VALUES ('started')\"))\n"
    )
    kept = run_codemod("add-retry", source)
    assert not kept.changed
    assert [f.kind for f in kept.findings] == ["unsafe-fix"]
    assert "and also runs INSERT INTO: in a function with @retry, a failure after that write runs it again" in kept.findings[0].message
    made = run_codemod("add-retry", source, unsafe=True)
    assert "def _connect():\n    with engine.begin() as conn:" in made.new_text and made.new_text.endswith("\n\n_connect()\n")
    assert [f.kind for f in made.findings] == ["fix"]


def test_alembic_env_py_is_left_to_the_command_that_runs_it() -> None:
    source = (Path(__file__).parent / "fixtures/add_retry/alembic_env.py").read_text()
    result = run_codemod("add-retry", source, path="migrations/env.py")
    assert not result.changed
    assert [f.message for f in result.findings] == [
        "run_migrations_online() connects when alembic runs its env.py; left alone: the retry belongs where the "
        "migration is started (command.upgrade(), the prestart script)"
    ]


def test_a_function_start_up_passes_to_another_call_is_reported_not_decorated() -> None:
    """Hyperion's lifespan runs init_db through use_lock_for_workers(init_db, ...) under a Redis
    lock it assumes is held under 20 s: what the callee does with the function is not known,
    so the connection under it is reported as start-up code, never decorated."""
    source = (Path(__file__).parent / "fixtures/add_retry/startup_passes_a_callback.py").read_text()
    result = run_codemod("add-retry", source)
    assert not result.changed
    assert [f.message for f in result.findings] == [
        "update_tables() connects, and start-up code passes init_db to use_lock_for_workers() without calling it "
        "(lifespan: get_application.lifespan() -> init_lifespan() -> use_lock_for_workers(init_db) -> init_db() -> "
        "update_tables() -> sync_engine.connect()): whether and how that runs it (under a lock, in a thread, per "
        "request) is not known; left alone (list it in targets to decorate it)",
    ]
