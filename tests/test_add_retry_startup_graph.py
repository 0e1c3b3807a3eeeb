"""add-retry follows start-up into other modules: a lifespan in main.py that calls a helper
in db.py that connects gets that helper decorated, unless another module may call it."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

from conftest import commit_all, prodfix_exe

MAIN = """\
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import db


async def startup():
    await db.prepare()


@asynccontextmanager
async def lifespan(app: FastAPI):
    await startup()
    yield


app = FastAPI(lifespan=lifespan)
"""

DB = """\
from sqlalchemy.ext.asyncio import create_async_engine

from app.models import Base

engine = create_async_engine("postgresql+asyncpg://app@db/app")


async def create_models():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def prepare():
    await create_models()
"""


def _repo(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    commit_all(root)


def _check(root: Path) -> str:
    out = subprocess.run(
        [prodfix_exe(), "check", "--select", "add-retry", "--explain", "--no-cache"], cwd=root, capture_output=True, text=True,
    )
    return " ".join(out.stdout.split())


def test_start_up_in_another_module_is_followed(git_repo: Path) -> None:
    _repo(git_repo, {"app/__init__.py": "", "app/main.py": MAIN, "app/db.py": DB, "app/models.py": "Base = None\n"})
    out = subprocess.run([prodfix_exe(), "diff", "--select", "add-retry", "--no-cache"], cwd=git_repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "+@retry(\n" in out.stdout and " async def create_models():" in out.stdout
    assert out.stdout.count("+@retry(") == 1
    assert "lifespan: lifespan() (app/main.py) -> startup() -> prepare() (app/db.py) -> create_models() -> engine.begin()" in _check(git_repo)


def test_a_helper_another_module_names_is_left_alone(git_repo: Path) -> None:
    views = "from app.db import prepare\n\n\nasync def reset(request):\n    await prepare()\n"
    _repo(git_repo, {"app/__init__.py": "", "app/main.py": MAIN, "app/db.py": DB, "app/views.py": views})
    out = subprocess.run([prodfix_exe(), "diff", "--select", "add-retry", "--no-cache"], cwd=git_repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert "create_models() connects but is not start-up code" in _check(git_repo)


def test_start_up_facts_scanned_in_workers_equal_a_serial_computation(tmp_path: Path) -> None:
    import json

    from prodfix.codemods.add_retry import AddRetry
    from prodfix.engine.discovery import discover
    from prodfix.engine.plan import make_plan
    from prodfix.engine.runner import MIN_ITEMS_FOR_MAP
    from prodfix.engine.startup_graph import NO_ENTRY, file_facts, scan_file, startup_reach

    views = "from app.db import prepare\n\n\nasync def reset(request):\n    await prepare()\n"
    apps = (
        "from django.apps import AppConfig\n\nfrom app import db\n\n\nclass AppAppConfig(AppConfig):\n"
        "    def ready(self):\n        db.create_models()\n"
    )
    command = (
        "from django.core.management.base import BaseCommand\n\nfrom app.db import prepare\n\n\n"
        "class Command(BaseCommand):\n    def handle(self, *args, **options):\n        prepare()\n"
    )
    script = "from app import db\n\nif __name__ == '__main__':\n    db.prepare()\n    while True:\n        db.create_models()\n"
    files = {
        "app/__init__.py": "", "app/main.py": MAIN, "app/db.py": DB, "app/views.py": views, "app/apps.py": apps,
        "app/management/__init__.py": "", "app/management/commands/__init__.py": "",
        "app/management/commands/setup.py": command, "scripts/worker.py": script, "app/broken.py": "def (:\n",
    }
    for i in range(MIN_ITEMS_FOR_MAP + 20):  # enough files for the pool
        files[f"app/m{i:03d}.py"] = f"from app import m{(i + 1) % 50:03d}\n\n\ndef f{i}():\n    return m{(i + 1) % 50:03d}.f{(i + 1) % 50}()\n"
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    rels = list(discover([tmp_path], tmp_path, [], in_git=False).rels)
    codemod = AddRetry(AddRetry.Options())
    serial = startup_reach(tmp_path, rels, lambda rel: codemod.wants((tmp_path / rel).read_text(), rel))
    assert serial["app/db.py"]["create_models"][0].startswith("Django AppConfig.ready: AppAppConfig.ready() (app/apps.py)")
    assert serial["app/db.py"]["prepare"][1] == "app/main.py"  # the first file off its path naming it
    for jobs in (2, 1):
        plan = make_plan([tmp_path], select=["add-retry"], cache=True, jobs=jobs)
        assert plan.project.startup == serial
        cached = json.loads(next(tmp_path.glob(".prodfix_cache/*/facts.json")).read_text())["entries"]
        for rel in rels:
            text = (tmp_path / rel).read_text()
            expected = scan_file(text.encode(), rel)
            if expected is None and rel == "app/db.py":  # start-up leads into it: parsed by the plan
                expected = file_facts(text, rel)
            expected = NO_ENTRY if expected is None else expected
            assert cached[rel][1][2] == expected, rel
        assert make_plan([tmp_path], select=["add-retry"], cache=True, jobs=jobs).project.startup == serial  # from the cache
        shutil.rmtree(tmp_path / ".prodfix_cache")  # the serial scan (jobs=1) starts cold too


def test_cached_start_up_facts_of_the_wrong_shape_are_not_trusted() -> None:
    from prodfix.engine.plan import _valid_facts
    from prodfix.engine.startup_graph import file_facts

    good = file_facts(MAIN, "app/main.py")
    assert good["entries"] and _valid_facts([[], {}, good, False])
    from prodfix.engine.startup_graph import NO_ENTRY

    for startup in (NO_ENTRY, False, {}):
        assert _valid_facts([[], {}, startup, False])
    # what an older prodfix cached for a file it took for one without an entry point (import-time
    # calls and @asynccontextmanager lifespans count now): scanned again
    assert not _valid_facts([[], {}, None, False])
    for startup in (
        [], "x", 0, {"imports": {}}, {**good, "imports": {"db": 1}}, {**good, "functions": {"f": [["a"]]}},
        {**good, "functions": {"f": [["a"], [None], []]}}, {**good, "entries": [["label", ["a"]]]},
        {**good, "functions": {"f": [[], []]}},  # cached before the effects were part of the facts
        {**good, "functions": {"f": [[], [], []]}}, {**good, "entries": [["label", [], []]]},  # or the retry loops
        {**good, "entries": [[1, [], []]]}, {**good, "extra": 1},
        {key: value for key, value in good.items() if key != "rule"},  # before nested entry points
        {**good, "rule": 3},  # before module-level instances
        {key: value for key, value in good.items() if key != "instances"},
    ):
        assert not _valid_facts([[], {}, startup, False]), startup
    assert not _valid_facts([[], {}])  # an entry from before start-up facts: scanned again
    assert not _valid_facts([[], {}, None])  # or from before the logging flag
    assert not _valid_facts([[], {}, None, "yes"])


def test_tests_are_never_start_up_code() -> None:
    """A test module's __main__ block or lifespan runs under the test runner: the start-up
    graph neither scans it nor follows calls into it."""
    from prodfix.engine.startup_graph import scan_file

    source = b"from app import db\n\nif __name__ == '__main__':\n    db.engine.connect()\n"
    assert scan_file(source, "app/run.py") not in (False, None)
    for rel in ("tests/test_db.py", "app/tests/helpers.py", "app/tests.py", "test_db.py", "conftest.py", "db_test.py"):
        assert scan_file(source, rel) is False, rel


def test_a_side_effect_in_another_module_keeps_the_connection_undecorated(git_repo: Path) -> None:
    users = (
        "from django.contrib.auth import get_user_model\n\n\n"
        "def create_admin():\n    get_user_model().objects.create_user('admin')\n\n\n"
        "def ensure_admin():\n    create_admin()\n"
    )
    db = DB.replace(
        "async def prepare():\n    await create_models()\n",
        "async def prepare():\n    await create_models()\n\n\nasync def seed():\n    ensure_admin()\n"
        "    async with engine.begin() as conn:\n        await conn.run_sync(Base.metadata.create_all)\n",
    ).replace("from app.models import Base\n", "from app.models import Base\nfrom app.users import ensure_admin\n")
    main = MAIN.replace("    await db.prepare()\n", "    await db.prepare()\n    await db.seed()\n")
    _repo(git_repo, {"app/__init__.py": "", "app/main.py": main, "app/db.py": db, "app/users.py": users, "app/models.py": "Base = None\n"})
    out = subprocess.run([prodfix_exe(), "diff", "--select", "add-retry", "--no-cache"], cwd=git_repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("+@retry(") == 1 and " async def create_models():" in out.stdout  # seed() is not decorated
    assert (
        "seed() connects at start-up (lifespan: lifespan() (app/main.py) -> startup() -> seed() (app/db.py) -> "
        "engine.begin()) but also calls create_user() in create_admin() (app/users.py), which a retry would repeat"
    ) in _check(git_repo)


def test_a_function_a_package_re_exports_is_followed(git_repo: Path) -> None:
    main = MAIN.replace("from app import db\n", "from app.db import prepare\n").replace("await db.prepare()", "await prepare()")
    package = "from .session import prepare\n\n__all__ = [\"prepare\"]\n"
    _repo(git_repo, {
        "app/__init__.py": "", "app/main.py": main, "app/db/__init__.py": package, "app/db/session.py": DB,
        "app/models.py": "Base = None\n",
    })
    out = subprocess.run([prodfix_exe(), "diff", "--select", "add-retry", "--no-cache"], cwd=git_repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "+++ b/app/db/session.py" in out.stdout and out.stdout.count("+@retry(") == 1
    assert "lifespan: lifespan() (app/main.py) -> startup() -> prepare() (app/db/session.py) -> create_models() -> engine.begin()" in _check(git_repo)


def test_a_lifespan_registered_by_the_application_s_own_manager_is_an_entry_point() -> None:
    """``@lifespan_manager.register @asynccontextmanager async def register_init(app)``
    (fastapi_best_architecture): a lifespan by its shape, not its name."""
    from prodfix.engine.startup_graph import file_facts

    source = (
        "from contextlib import asynccontextmanager\n\nfrom app.db import create_tables\n\n\n"
        "@manager.register\n@asynccontextmanager\nasync def register_init(app):\n    await create_tables()\n    yield\n"
    )
    assert file_facts(source, "app/core/registrar.py")["entries"] == [
        ["lifespan: register_init() (app/core/registrar.py)", ["app.db.create_tables"], [], []]
    ]
    not_a_lifespan = source.replace("(app)", "(path)")
    assert file_facts(not_a_lifespan, "app/core/registrar.py")["entries"] == []


def test_a_connection_another_module_retries_has_its_own_retry(git_repo: Path) -> None:
    prestart = (
        "import time\n\nfrom app import db\n\n\nif __name__ == '__main__':\n    for _ in range(30):\n"
        "        try:\n            db.prepare()\n            break\n        except OSError:\n            time.sleep(1)\n"
    )
    sync_db = DB.replace("async def", "def").replace("await ", "").replace("async with", "with")
    _repo(git_repo, {"app/__init__.py": "", "app/prestart.py": prestart, "app/db.py": sync_db, "app/models.py": "Base = None\n"})
    out = subprocess.run([prodfix_exe(), "diff", "--select", "add-retry", "--no-cache"], cwd=git_repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert (
        "create_models() has its own retry (__main__ block (app/prestart.py) retries it, in a loop that sleeps after an error)"
    ) in _check(git_repo)


def test_what_a_loop_at_the_top_of_an_entry_point_calls_is_not_its_start_up() -> None:
    from prodfix.engine.startup_graph import file_facts

    source = "from app import db\n\nif __name__ == '__main__':\n    db.prepare()\n    while True:\n        db.process()\n"
    assert file_facts(source, "scripts/worker.py")["entries"] == [["__main__ block (scripts/worker.py)", ["app.db.prepare"], [], []]]


def test_a_helper_main_py_calls_at_import_time_is_start_up_code(git_repo: Path) -> None:
    main = "from fastapi import FastAPI\n\nfrom app.db import create_db\n\napp = FastAPI()\n\ncreate_db()\n"
    db = (
        "from sqlalchemy import create_engine\n\nfrom app.models import Base\n\n"
        "engine = create_engine('postgresql://app@db/app')\n\n\ndef create_db():\n    Base.metadata.create_all(bind=engine)\n"
    )
    _repo(git_repo, {"app/__init__.py": "", "app/main.py": main, "app/db.py": db, "app/models.py": "Base = None\n"})
    out = subprocess.run([prodfix_exe(), "diff", "--select", "add-retry", "--no-cache"], cwd=git_repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("+@retry(") == 1 and " def create_db():" in out.stdout
    assert "import time (app/main.py) -> create_db() (app/db.py) -> Base.metadata.create_all()" in _check(git_repo)


def test_what_a_module_calls_at_import_time_is_an_entry_point_only_for_names_worth_it() -> None:
    from prodfix.engine.startup_graph import file_facts, may_enter

    assert may_enter("from app.db import create_db\n\ncreate_db()\n", "app/main.py")
    assert not may_enter("from django.contrib import admin\n\nadmin.site.register(X)\nregister(Y)\nprint(1)\n", "app/admin.py")
    facts = file_facts("from app.db import create_db\n\ncreate_db()\n\nfor x in []:\n    loop_only()\n", "app/main.py")
    assert facts["entries"] == [["import time (app/main.py)", ["app.db.create_db"], [], []]]


def test_what_a_view_defined_inside_the_app_factory_calls_is_not_start_up() -> None:
    from prodfix.engine.startup_graph import file_facts

    source = (
        "from flask import Flask\n\nfrom app import db\n\n\ndef create_app():\n    app = Flask(__name__)\n"
        "    db.init()\n\n    @app.route('/')\n    def index():\n        return db.query()\n\n    return app\n"
    )
    assert file_facts(source, "app/__init__.py")["entries"] == [["app factory: create_app() (app/__init__.py)", ["flask.Flask", "app.db.init"], [], []]]


def test_the_cached_start_up_graph_is_the_graph_of_the_tree_as_it_is(tmp_path: Path) -> None:
    """A warm run takes the graph from the facts cache only while every file has the digest it
    had; an edit anywhere computes it again, and an entry of another shape is not trusted."""
    import json

    from prodfix.engine.plan import GRAPH_KEY, make_plan

    (tmp_path / "app").mkdir()
    (tmp_path / "app/__init__.py").write_text("")
    (tmp_path / "app/db.py").write_text("from sqlalchemy import create_engine\n\nengine = create_engine('x')\n\n\ndef prepare():\n    engine.connect()\n")
    (tmp_path / "worker.py").write_text("from app import db\n\nif __name__ == '__main__':\n    db.prepare()\n")
    fresh = make_plan([tmp_path], select=["add-retry"], jobs=1).project.startup
    assert "prepare" in fresh["app/db.py"]
    assert make_plan([tmp_path], select=["add-retry"], cache=True, jobs=1).project.startup == fresh
    facts = next(tmp_path.glob(".prodfix_cache/*/facts.json"))
    assert GRAPH_KEY in json.loads(facts.read_text())["entries"]
    import prodfix.engine.plan as plan_module

    real_startup = plan_module._startup
    plan_module._startup = None  # a warm run must not compute the graph again
    try:
        assert make_plan([tmp_path], select=["add-retry"], cache=True, jobs=1).project.startup == fresh
    finally:
        plan_module._startup = real_startup
    (tmp_path / "worker.py").write_text("from app import db\n")  # no longer starts anything
    assert make_plan([tmp_path], select=["add-retry"], cache=True, jobs=1).project.startup == {}
    data = json.loads(facts.read_text())
    data["entries"][GRAPH_KEY][1] = {"app/db.py": {"prepare": "everything"}}
    facts.write_text(json.dumps(data))
    assert make_plan([tmp_path], select=["add-retry"], cache=True, jobs=1).project.startup == {}


def test_a_lifespan_and_startup_handlers_an_app_factory_defines_are_entry_points() -> None:
    """``def get_application(): @asynccontextmanager async def lifespan(app): ...`` (Hyperion's
    app/app.py): the nested lifespan and the startup handlers registered inside the factory are
    followed; its shutdown handlers and the views it defines are not."""
    from prodfix.engine.startup_graph import file_facts

    source = (
        "from contextlib import asynccontextmanager\n\nfrom fastapi import FastAPI\n\nfrom app import db\n\n\n"
        "def get_application(settings):\n"
        "    @asynccontextmanager\n    async def lifespan(app: FastAPI):\n        await db.create_tables()\n        yield\n\n"
        "    app = FastAPI(lifespan=lifespan)\n\n"
        "    async def start():\n        await db.warm()\n\n"
        "    async def stop():\n        await db.close()\n\n"
        "    app.add_event_handler(\"startup\", start)\n    app.add_event_handler(\"shutdown\", stop)\n\n"
        "    @app.on_event(\"startup\")\n    async def ping():\n        await db.ping()\n\n"
        "    @app.get(\"/\")\n    async def index():\n        await db.query()\n\n"
        "    return app\n"
    )
    entries = file_facts(source, "app/app.py")["entries"]
    assert [e[:2] for e in entries] == [
        ["lifespan: get_application.lifespan() (app/app.py)", ["app.db.create_tables"]],
        ["startup handler: get_application.start() (app/app.py)", ["app.db.warm"]],
        ["startup event handler: get_application.ping() (app/app.py)", ["app.db.ping"]],
    ]


def test_module_level_instances_and_their_methods_are_facts() -> None:
    """``redis_client = RedisCli()`` (fastapi_best_architecture's backend/database/redis.py): the
    instance names its class, the class's methods are functions with the ``self.x()`` calls
    they make; what a lower-case factory returns (``create_engine()``) is no instance of ours."""
    from prodfix.engine.startup_graph import file_facts

    source = (
        "from redis.asyncio import Redis\nfrom sqlalchemy import create_engine\n\nfrom app.search import Search\n\n\n"
        "class RedisCli(Redis):\n    async def init(self):\n        await self.check()\n\n"
        "    async def check(self):\n        await self.ping()\n\n\n"
        "redis_client: RedisCli = RedisCli()\nsearch = Search()\nengine = create_engine('sqlite://')\n"
    )
    assert "RedisCli.init" not in file_facts(source, "app/cache.py")["functions"]  # cached facts: read on demand
    facts = file_facts(source, "app/cache.py", methods=True)
    assert facts["instances"] == {"redis_client": "RedisCli", "search": "app.search.Search"}
    assert facts["functions"]["RedisCli.init"][:2] == [[], ["RedisCli.check"]]
    assert facts["functions"]["RedisCli.check"][:2] == [[], []]
