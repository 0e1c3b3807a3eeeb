"""Every converted message is still shown where it runs: the converted code is run the way the
project runs it (alembic's fileConfig, a fresh interpreter with no logging configured)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from prodfix.engine.plan import make_plan
from prodfix.engine.runner import run_project

ALEMBIC_INI = textwrap.dedent(
    """\
    [alembic]
    script_location = migrations

    [loggers]
    keys = root,sqlalchemy,alembic

    [handlers]
    keys = console

    [formatters]
    keys = generic

    [logger_root]
    level = WARN
    handlers = console
    qualname =

    [logger_sqlalchemy]
    level = WARN
    handlers =
    qualname = sqlalchemy.engine

    [logger_alembic]
    level = INFO
    handlers =
    qualname = alembic

    [handler_console]
    class = StreamHandler
    args = (sys.stderr,)
    level = NOTSET
    formatter = generic

    [formatter_generic]
    format = %(levelname)s [%(name)s] %(message)s
    """
)
ENV = textwrap.dedent(
    """\
    import logging
    from logging.config import fileConfig

    from alembic import context

    config = context.config
    fileConfig(config.config_file_name)
    logger = logging.getLogger("alembic.env")
    """
)
REVISION = textwrap.dedent(
    """\
    revision = "a1b2c3"
    down_revision = None


    def upgrade():
        print("Updating dashboards position data:")
        for dashboard in ({"id": 7, "layout": "[]"},):
            print("  Updating dashboard: {}".format(dashboard["id"]))
            if dashboard["layout"] == "[]":
                print(f"Warning: dashboard {dashboard['id']} has an empty layout")
        print("Done.")
    """
)
# runs the revision as alembic does: logging from the ini (fileConfig), then the file loaded by
# path as a module of no package, then upgrade()
RUN_REVISION = textwrap.dedent(
    """\
    import importlib.util, logging.config, sys
    logging.config.fileConfig(sys.argv[1])
    spec = importlib.util.spec_from_file_location("a1b2c3_fill_py", sys.argv[2])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.upgrade()
    """
)
SETTINGS = textwrap.dedent(
    """\
    import os

    if os.environ.get("SAML_LOCAL_METADATA_PATH") is not None:
        print("DEPRECATION NOTICE:")
        print("SAML_LOCAL_METADATA_PATH is no longer supported, please update")
        print("your configuration and reload.")
        raise SystemExit(1)

    DEBUG = False
    """
)


def _converted(root: Path) -> dict[str, str]:
    plan = make_plan([root], select=["print-to-logging"])
    results = run_project(list(plan.files), list(plan.codemods), plan.project, jobs=1)
    return {r.path: r.new_text for r in results if r.changed}


def _messages(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if line]


def test_a_revision_logs_to_the_logger_alembic_ini_shows(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "migrations" / "env.py").write_text(ENV)
    revision = root / "migrations" / "versions" / "a1b2c3_fill.py"
    revision.write_text(REVISION)
    pristine = tmp_path / "pristine.py"
    shutil.copy(revision, pristine)
    before = subprocess.run([sys.executable, "-c", RUN_REVISION, str(root / "migrations" / "alembic.ini"), str(pristine)],
                            capture_output=True, text=True, check=True)
    printed = _messages(before.stdout)
    assert len(printed) == 4

    changed = _converted(root)
    new = changed["migrations/versions/a1b2c3_fill.py"]
    assert 'logging.getLogger("alembic.env")' in new and "print(" not in new
    revision.write_text(new)
    after = subprocess.run([sys.executable, "-c", RUN_REVISION, str(root / "migrations" / "alembic.ini"), str(revision)],
                           capture_output=True, text=True, check=True)
    assert after.stdout == ""
    logged = [line.split("] ", 1)[1] for line in _messages(after.stderr)]
    assert logged == [line.rstrip() for line in printed] or logged == printed
    assert "WARNING [alembic.env] Warning: dashboard 7 has an empty layout" in after.stderr


def test_an_import_time_notice_before_system_exit_still_reaches_stderr(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "settings.py").write_text(SETTINGS)
    changed = _converted(root)
    new = changed["app/settings.py"]
    assert "print(" not in new and new.count("logger.error(") == 3
    (root / "app" / "settings.py").write_text(new)
    env = {"SAML_LOCAL_METADATA_PATH": "/x", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-c", "import app.settings"], cwd=root, env=env, capture_output=True, text=True)
    assert run.returncode == 1
    assert _messages(run.stderr) == [
        "DEPRECATION NOTICE:",
        "SAML_LOCAL_METADATA_PATH is no longer supported, please update",
        "your configuration and reload.",
    ]


def test_an_import_time_info_print_stays_a_print(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text('import logging\n\nlogging.basicConfig(level=logging.INFO)\n')
    (root / "app" / "plugins.py").write_text('print("loading plugins")\n\n\ndef load(name):\n    print("loaded", name)\n')
    new = _converted(root)["app/plugins.py"]
    assert new.startswith('import logging\n\nlogger = logging.getLogger(__name__)\n\nprint("loading plugins")\n')
    assert 'logger.info("loaded %s", name)' in new
