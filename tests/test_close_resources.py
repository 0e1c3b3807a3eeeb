"""close-resources against ruff's SIM115, and converted code run for real: same results,
resources closed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from conftest import commit_all, prodfix_exe
from helpers import ruff_rows, run_codemod
from test_add_timeouts import http_server  # noqa: F401  (a real loopback HTTP server fixture)

FIXTURES = Path(__file__).parent / "fixtures" / "close_resources"


@pytest.mark.parametrize("case", sorted(p.stem for p in FIXTURES.glob("*.py") if not p.name.endswith(".expected.py")))
def test_every_sim115_case_is_converted_or_explained(case: str) -> None:
    path = FIXTURES / f"{case}.py"
    flagged = ruff_rows("SIM115", path, ignore_noqa=True)  # a `# noqa: SIM115` line is converted too
    result = run_codemod("close-resources", path.read_text())
    handled = {f.line for f in result.findings if f.kind in ("fix", "warning")}
    missing = {line for line in flagged if line not in handled and "prodfix: ignore" not in path.read_text().splitlines()[line - 1]}
    assert not missing, f"SIM115 lines neither converted nor explained: {sorted(missing)}"
    # inline reads are converted also where SIM115 accepts them (``return open(p).read()``)
    file_fixes = {f.line for f in result.findings if f.kind == "fix" and "open(...)" in f.message and "inline" not in f.message}
    assert file_fixes <= flagged, f"changed open() calls SIM115 accepts: {sorted(file_fixes - flagged)}"


def test_the_touch_idiom_is_not_a_finding() -> None:
    assert run_codemod("close-resources", (FIXTURES / "touch_idiom.py").read_text()).findings == []


# --- behaviour ----------------------------------------------------------------------------------

class _Tracker:
    def __init__(self) -> None:
        self.handles: list = []

    def open(self, *args, **kwargs):
        handle = open(*args, **kwargs)
        self.handles.append(handle)
        return handle

    @property
    def all_closed(self) -> bool:
        return bool(self.handles) and all(h.closed for h in self.handles)


def _module(source: str, name: str) -> dict:
    namespace: dict = {"__name__": name}
    exec(compile(source, f"{name}.py", "exec"), namespace)
    return namespace


def _both(fixture: str) -> tuple[dict, dict]:
    source = (FIXTURES / f"{fixture}.py").read_text()
    converted = run_codemod("close-resources", source)
    assert converted.changed
    return _module(source, "original"), _module(converted.new_text, "converted")


@pytest.mark.parametrize(
    ("function", "make_args"),
    [
        ("read", lambda d: [d / "in.txt"]),
        ("never_closed", lambda d: [d / "config.json"]),
        ("lines", lambda d: [d / "in.txt"]),
        ("copy", lambda d: [d / "in.txt", d / "out.txt"]),
    ],
)
def test_files_same_result_and_closed(tmp_path: Path, function: str, make_args) -> None:
    (tmp_path / "in.txt").write_text("alpha\nbeta\n")
    (tmp_path / "config.json").write_text('{"name": "svc"}')
    original, converted = _both("open_close_pairs")
    results = []
    for namespace in (original, converted):
        tracker = _Tracker()
        namespace["open"] = tracker.open
        results.append(namespace[function](*[str(a) for a in make_args(tmp_path)]))
        if namespace is converted:
            assert tracker.all_closed, f"{function}: a handle stays open after the converted code ran"
    assert results[0] == results[1]


def test_never_closed_original_leaks_and_converted_does_not(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"name": "svc"}')
    original, converted = _both("open_close_pairs")
    leaks = _Tracker()
    original["open"] = leaks.open
    original["never_closed"](str(tmp_path / "config.json"))
    assert not leaks.all_closed
    closes = _Tracker()
    converted["open"] = closes.open
    converted["never_closed"](str(tmp_path / "config.json"))
    assert closes.all_closed


def test_inline_and_try_finally_under_resource_warnings(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import gc, sys, warnings
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from helpers import ruff_rows, run_codemod
        warnings.simplefilter("error", ResourceWarning)
        source = open({str(FIXTURES / "inline_use.py")!r}).read()
        namespace = {{"__name__": "converted"}}
        exec(run_codemod("close-resources", source).new_text, namespace)
        path = {str(tmp_path / "data.json")!r}
        namespace["dump"]({{"a": 1}}, path)
        assert namespace["load"](path) == {{"a": 1}}
        assert namespace["first"](path, 0) == ('{{"a": 1}}', 0)
        gc.collect()
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-c", script], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_sqlite_connection_closed_and_same_rows(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as setup:
        setup.execute("create table t (x)")
    setup.close()
    original, converted = _both("clients")
    closed: list[bool] = []

    class Tracked(sqlite3.Connection):
        def close(self):
            closed.append(True)
            super().close()

    fake = types.SimpleNamespace(connect=lambda path: sqlite3.connect(path, factory=Tracked))
    original["sqlite3"] = converted["sqlite3"] = fake
    assert original["rows"](str(db)) == converted["rows"](str(db)) == [(1,)]
    assert closed == [True, True]


def test_session_against_a_real_http_server(http_server: str) -> None:  # noqa: F811
    original, converted = _both("clients")
    assert original["fetch"](http_server + "/ok") == converted["fetch"](http_server + "/ok") == "ok"


# --- classes across files -----------------------------------------------------------------------

def test_class_gains_protocol_and_callers_in_other_files_use_with(git_repo: Path) -> None:
    (git_repo / "app").mkdir()
    (git_repo / "app" / "__init__.py").write_text("")
    (git_repo / "app" / "clients.py").write_text(textwrap.dedent(
        """\
        import requests


        class ApiClient:
            def __init__(self):
                self.http = requests.Session()

            def close(self):
                self.http.close()
        """
    ))
    (git_repo / "app" / "jobs.py").write_text(textwrap.dedent(
        """\
        from app.clients import ApiClient


        def run():
            client = ApiClient()
            try:
                return client.http.headers
            finally:
                client.close()
        """
    ))
    commit_all(git_repo)
    out = subprocess.run([prodfix_exe(), "fix", "--select", "close-resources"], cwd=git_repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "def __enter__(self):" in (git_repo / "app" / "clients.py").read_text()
    assert "    with ApiClient() as client:\n        return client.http.headers\n" in (git_repo / "app" / "jobs.py").read_text()
    check = subprocess.run([sys.executable, "-c", "from app.jobs import run; print(type(run()).__name__)"], cwd=git_repo, capture_output=True, text=True)
    assert check.returncode == 0 and "CaseInsensitiveDict" in check.stdout, check.stderr


def test_defs_without_closable_calls_are_skipped_without_losing_track_of_scopes() -> None:
    """Functions that call nothing closable are not visited (the cost of a cold run); the defs
    and classes nested in them must not shift which scope later functions get: here the
    function-local import in ``fetch`` only resolves in ``fetch``'s own scope."""
    source = textwrap.dedent(
        """\
        def boring():
            def inner():
                class Local:
                    def method(self):
                        return 1
                return Local
            return inner


        def fetch(url):
            from requests import Session
            s = Session()
            data = s.get(url).text
            s.close()
            return data
        """
    )
    result = run_codemod("close-resources", source)
    assert "with Session() as s:" in result.new_text
    assert [f.line for f in result.findings] == [12]


def test_new_openers_closed_under_resource_warnings(tmp_path: Path) -> None:
    """gzip, tarfile, zipfile, tempfile and shelve, converted, run with ResourceWarning an error:
    same results, nothing left for the collector to close."""
    script = textwrap.dedent(
        f"""
        import gc, gzip, io, shelve, sys, tarfile, warnings, zipfile
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from helpers import run_codemod
        warnings.simplefilter("error", ResourceWarning)
        with open({str(FIXTURES / "openers.py")!r}) as fixture:
            source = fixture.read()
        converted = run_codemod("close-resources", source)
        assert converted.changed
        ns = {{"__name__": "converted"}}
        exec(compile(converted.new_text, "converted.py", "exec"), ns)
        d = {str(tmp_path)!r}
        with gzip.open(d + "/a.gz", "wb") as out:
            out.write(b"zipped")
        assert ns["gzip_open"](d + "/a.gz") == ns["gzip_inline"](d + "/a.gz") == b"zipped"
        with tarfile.open(d + "/a.tar", "w") as tar:
            tar.add(d + "/a.gz", arcname="a.gz")
        assert ns["tar_open"](d + "/a.tar") == ["a.gz"]
        with zipfile.ZipFile(d + "/a.zip", "w") as z:
            z.writestr("x", "member")
        ns["zip_member"](d + "/a.zip")
        ns["zip_archive"](d + "/a.zip")
        ns["named_temporary"](); ns["temporary"](); ns["spooled"]()
        with shelve.open(d + "/s") as s:
            s["k"] = 42
        assert ns["shelve_open"](d + "/s") == ns["shelf_alias"](d + "/s") == ns["shelve_try_finally"](d + "/s", "k") == 42
        gc.collect()
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-c", script], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    assert "ResourceWarning" not in out.stderr, out.stderr


# --- an async class against a real redis-server -------------------------------------------------

from test_add_timeouts import redis_port  # noqa: E402, F401  (a real redis-server on 127.0.0.1)


def test_async_class_gains_protocol_and_closes_against_real_redis(redis_port: int) -> None:  # noqa: F811
    """The converted module runs against redis-server: same results, and once each caller's
    async with ends (also when its body raises) no connection of the class is left open."""
    import asyncio

    import redis

    original, converted = _both("async_owning_classes")
    url = f"redis://127.0.0.1:{redis_port}/0"
    checker = redis.Redis(host="127.0.0.1", port=redis_port)

    def others() -> int:  # connections besides the checker's own
        return len(checker.client_list()) - 1

    def all_closed() -> bool:  # the server sees a close a moment after the client makes it
        import time

        deadline = time.monotonic() + 2
        while others() and time.monotonic() < deadline:
            time.sleep(0.02)
        return others() == 0

    try:
        for namespace in (original, converted):
            assert asyncio.run(namespace["remember"](url, "prodfix", "works")) == b"works"
            asyncio.run(namespace["enqueue"](url, "job"))
        assert checker.llen("queue") == 2
        assert all_closed()

        async def fails_inside() -> None:
            async with converted["Cache"](url) as cache:
                await cache.redis.ping()
                assert others() == 1
                raise RuntimeError("body failed")

        with pytest.raises(RuntimeError):
            asyncio.run(fails_inside())
        assert all_closed()
    finally:
        checker.close()


def test_generators_close_when_the_consumer_fails(tmp_path: Path) -> None:
    """Rule 9: an exception thrown in at the yield (a failing FastAPI request, a failing with
    body) closes what the converted generator yielded; the original leaked it."""
    import contextlib

    (tmp_path / "in.txt").write_text("data")
    original, converted = _both("generator_resources")
    made: list = []

    class Session:
        closed = False

        def __init__(self):
            made.append(self)

        def close(self):
            self.closed = True

    for namespace, closes in ((original, False), (converted, True)):
        namespace["SessionLocal"] = Session
        dependency = namespace["get_db"]()  # FastAPI drives a dependency like this
        next(dependency)
        with pytest.raises(RuntimeError), contextlib.suppress(StopIteration):
            dependency.throw(RuntimeError("request failed"))
        assert made[-1].closed is closes
        with pytest.raises(RuntimeError), namespace["opened"](str(tmp_path / "in.txt")) as handle:
            assert handle.read() == "data"
            raise RuntimeError("body failed")
        assert handle.closed is closes
        if not closes:
            handle.close()
        dependency = namespace["get_db"]()
        assert next(dependency) is made[-1]
        with contextlib.suppress(StopIteration):
            next(dependency)
        assert made[-1].closed  # a clean finish closes in both


def test_streamed_responses_closed_against_a_real_http_server(http_server: str, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    """Rule 9: the converted functions give the same results and close every streamed response,
    also where the original returned early without closing it."""
    import requests

    closed: list = []
    real_close = requests.Response.close

    def tracked(self):
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(requests.Response, "close", tracked)
    original, converted = _both("stream_responses")
    url = http_server + "/ok"
    for namespace in (original, converted):
        closed.clear()
        assert namespace["first_line"](url) == b"ok"
        assert namespace["download"](url, str(tmp_path / "a")) is True
        namespace["save_raw"](url, str(tmp_path / "b"))
        assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes() == b"ok"
        if namespace is original:
            assert len(closed) == 2  # first_line returned without closing
        else:
            assert len(closed) == 3


TYPED_CLIENT = '''import httpx{extra}


class SlackClient:
    def __init__(self, token: str) -> None:
        self.client = httpx.AsyncClient(headers={{"Authorization": token}})

    async def aclose(self) -> None:
        await self.client.aclose()
'''


def test_a_typed_class_gains_typed_protocol_methods_in_the_projects_idiom() -> None:
    """polar: untyped methods failed mypy (disallow_untyped_defs); with the project's PYI034 a
    class-name return type fails ruff, so Self is used where the module imports it, else the
    methods are left to the maintainer."""
    from prodfix.engine.project_tools import LintRules

    plain = run_codemod("close-resources", TYPED_CLIENT.format(extra=""))
    assert 'async def __aenter__(self) -> "SlackClient":' in plain.new_bytes.decode()
    assert "async def __aexit__(self, *exc_info: object) -> None:" in plain.new_bytes.decode()
    pyi = LintRules(select=("E", "F", "PYI"))
    with_self = run_codemod("close-resources", TYPED_CLIENT.format(extra="\nfrom typing import Self"), lint=pyi)
    assert "async def __aenter__(self) -> Self:" in with_self.new_bytes.decode()
    without = run_codemod("close-resources", TYPED_CLIENT.format(extra=""), lint=pyi)
    assert not without.changed
    assert any("PYI034" in f.message and f.kind == "warning" for f in without.findings)
    # a project on 3.11+ (polar: requires-python >=3.14): ruff 0.17 checks PYI034 by default,
    # so Self is written and imported from typing
    from prodfix.codemods.common.style import Style

    modern = run_codemod("close-resources", TYPED_CLIENT.format(extra=""), style=Style(min_python=(3, 14))).new_bytes.decode()
    assert "async def __aenter__(self) -> Self:" in modern
    assert "from typing import Self" in modern
    old = run_codemod("close-resources", TYPED_CLIENT.format(extra=""), style=Style(min_python=(3, 10))).new_bytes.decode()
    assert 'async def __aenter__(self) -> "SlackClient":' in old
