"""add-timeouts against ruff's S113 and against real servers, healthy and stalled."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import ruff_rows, run_codemod

FIXTURES = Path(__file__).parent / "fixtures" / "add_timeouts"


@pytest.mark.parametrize("case", ["requests_calls", "requests_sessions", "requests_kwargs_kept", "httpx_none"])
def test_every_s113_call_is_handled_and_nothing_else_among_requests(case: str) -> None:
    path = FIXTURES / f"{case}.py"
    reported = ruff_rows("S113", path)
    result = run_codemod("add-timeouts", path.read_text())
    fixed = {f.line for f in result.findings if f.kind == "fix" and not f.message.startswith("requests session")}
    warned = {f.line for f in result.findings if f.kind == "warning"}
    assert reported <= fixed | warned, f"ruff reports lines {sorted(reported - fixed - warned)} that we ignore"
    assert fixed <= reported, f"we change lines {sorted(fixed - reported)} that ruff does not report"
    if case == "requests_calls":
        assert len(reported) >= 8


# --- a real HTTP server, then a stalled one --------------------------------------------------

CLIENT = """\
import requests


def fetch(base):
    return requests.get(base + "/ok").text


def fetch_slow(base):
    return requests.get(base + "/slow").text
"""


@pytest.fixture
def http_server():
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/slow":
                release.wait(30)  # stalls until the test ends
            elif self.path.startswith("/after/"):
                release.wait(float(self.path.rpartition("/")[2]))  # answers after that many seconds
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def _load(source: str) -> dict:
    namespace: dict = {"__name__": "patched_client"}
    exec(compile(source, "patched_client.py", "exec"), namespace)
    return namespace


def _hangs(func, *args, seconds: float = 1.5) -> bool:
    done = threading.Event()

    def call():
        try:
            func(*args)
        except Exception:
            pass
        done.set()

    threading.Thread(target=call, daemon=True).start()
    return not done.wait(seconds)


def test_patched_requests_work_and_a_stalled_server_times_out(http_server: str) -> None:
    import requests

    original = _load(CLIENT)
    assert _hangs(original["fetch_slow"], http_server), "the unpatched client should hang"
    # no convention in this code: a read timeout is an unsafe fix
    assert "timeout=(0.5, None)" in run_codemod("add-timeouts", CLIENT, options={"seconds": 0.5}).new_text
    result = run_codemod("add-timeouts", CLIENT, options={"seconds": 0.5}, unsafe=True)
    assert "timeout=0.5" in result.new_text
    patched = _load(result.new_text)
    assert patched["fetch"](http_server) == "ok"
    start = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        patched["fetch_slow"](http_server)
    assert time.monotonic() - start < 5


# --- the timeout the code already has, and a connect timeout only ------------------------------

CONVENTION_CLIENT = """\
import requests


class Api:
    def __init__(self, base, timeout=5):
        self.base = base
        self.timeout = timeout

    def status(self):
        return requests.get(self.base + "/after/2").text
"""


def test_the_class_timeout_outlasts_a_slow_answer_a_literal_would_cut(http_server: str) -> None:
    import requests

    result = run_codemod("add-timeouts", CONVENTION_CLIENT, options={"seconds": 1})
    assert "requests.get(self.base + \"/after/2\", timeout=self.timeout)" in result.new_text
    assert any("self.timeout, which the class sets" in f.message for f in result.findings)
    assert _load(result.new_text)["Api"](http_server).status() == "ok"  # 2 s answer, 5 s timeout
    # what a 1 s literal does to the same call (the unsafe fix where the code has no convention)
    literal = run_codemod("add-timeouts", CONVENTION_CLIENT.replace("self.timeout = timeout", "pass"),
                          options={"seconds": 1}, unsafe=True)
    assert "timeout=1)" in literal.new_text
    start = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        _load(literal.new_text)["Api"](http_server).status()
    assert time.monotonic() - start < 1.9


CONNECT_CLIENT = """\
import requests


def fetch(base):
    return requests.get(base + "/after/3").text
"""


@pytest.fixture
def never_accepts():
    """A listener whose accept queue is full: the kernel drops new connection attempts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    held = []
    for _ in range(16):
        client = socket.socket()
        client.settimeout(0.3)
        try:
            client.connect(("127.0.0.1", port))
        except OSError:
            client.close()
            break
        held.append(client)
    else:
        pytest.skip("the accept queue never filled up")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for client in held:
            client.close()
        server.close()


def test_a_connect_timeout_only_waits_for_a_slow_answer_and_not_for_a_dead_listener(
    http_server: str, never_accepts: str
) -> None:
    import requests

    result = run_codemod("add-timeouts", CONNECT_CLIENT, options={"connect_seconds": 1, "seconds": 2})
    assert "timeout=(1, None)" in result.new_text
    fetch = _load(result.new_text)["fetch"]
    assert fetch(http_server) == "ok"  # answered after 3 s, longer than any literal here
    start = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectTimeout):
        fetch(never_accepts)
    assert time.monotonic() - start < 2.5


# --- a real redis-server, then a stalled one -------------------------------------------------

REDIS_CLIENT = """\
import redis


def roundtrip(port):
    client = redis.Redis(host="127.0.0.1", port=port)
    client.set("prodfix", "works")
    return client.get("prodfix")


def stalled(port):
    return redis.Redis(host="127.0.0.1", port=port).get("prodfix")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_port():
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (.ci/run installs it)")
        pytest.skip("redis-server is not installed; `apt-get install redis-server` to run this test")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def stalled_port():
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


def test_patched_redis_works_and_a_stalled_server_times_out(redis_port: int, stalled_port: int) -> None:
    import redis

    original = _load(REDIS_CLIENT)
    assert _hangs(original["stalled"], stalled_port), "the unpatched client should hang"
    result = run_codemod("add-timeouts", REDIS_CLIENT, options={"redis_socket": 0.5, "redis_connect": 0.5}, unsafe=True)
    assert "socket_connect_timeout=0.5, socket_timeout=0.5" in result.new_text
    patched = _load(result.new_text)
    assert patched["roundtrip"](redis_port) == b"works"
    start = time.monotonic()
    with pytest.raises(redis.exceptions.TimeoutError):
        patched["stalled"](stalled_port)
    # redis-py retries a timed-out command 3 times with backoff by default: bounded, not instant.
    assert time.monotonic() - start < 30
