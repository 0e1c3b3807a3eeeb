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
    result = run_codemod("add-timeouts", CLIENT, options={"seconds": 0.5})
    patched = _load(result.new_text)
    assert patched["fetch"](http_server) == "ok"
    start = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        patched["fetch_slow"](http_server)
    assert time.monotonic() - start < 5


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
    result = run_codemod("add-timeouts", REDIS_CLIENT, options={"redis_socket": 0.5, "redis_connect": 0.5})
    assert "socket_timeout=0.5, socket_connect_timeout=0.5" in result.new_text
    patched = _load(result.new_text)
    assert patched["roundtrip"](redis_port) == b"works"
    start = time.monotonic()
    with pytest.raises(redis.exceptions.TimeoutError):
        patched["stalled"](stalled_port)
    # redis-py retries a timed-out command 3 times with backoff by default: bounded, not instant.
    assert time.monotonic() - start < 30
