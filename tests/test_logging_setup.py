"""The logging set-up as project facts: which records the configuration in effect shows."""

from __future__ import annotations

import logging
from pathlib import Path

from prodfix.engine import logging_setup
from prodfix.engine.plan import make_plan
from prodfix.engine.project_tools import LintRules, entry_points, ruff_rules

INFO, WARNING, ERROR, DEBUG = logging.INFO, logging.WARNING, logging.ERROR, logging.DEBUG


def _facts(root: Path, files: dict[str, str]) -> logging_setup.LoggingFacts:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    rels = sorted(r for r in files if r.endswith(".py"))
    per_file = {r: f for r in rels if (f := logging_setup.scan_file(files[r])) is not None}
    return logging_setup.build(root, per_file, rels)


def _never(rel: str) -> bool:
    return rel.startswith("tests/")


def test_no_set_up_shows_warning_and_above(tmp_path: Path) -> None:
    facts = _facts(tmp_path, {"app/__init__.py": "", "app/a.py": "x = 1\n"})
    assert facts.verdict("app/a.py", "app.a", WARNING, _never).shown
    verdict = facts.verdict("app/a.py", "app.a", INFO, _never)
    assert not verdict.shown and "Python's default" in verdict.reason


def test_basic_config_level_from_an_environment_default(tmp_path: Path) -> None:
    main = 'import logging, os\n\ndef main():\n    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "info").upper())\n'
    facts = _facts(tmp_path, {"app/main.py": main, "tests/conftest.py": "import logging\nlogging.basicConfig(level=logging.CRITICAL)\n"})
    assert facts.verdict("app/x.py", "app.x", INFO, _never).shown
    assert not facts.verdict("app/x.py", "app.x", DEBUG, _never).shown


def test_a_level_read_at_run_time_passes_errors_only(tmp_path: Path) -> None:
    facts = _facts(tmp_path, {"app/log.py": "import logging\n\ndef setup(level):\n    logging.basicConfig(level=level)\n"})
    assert facts.verdict("app/x.py", "app.x", ERROR, _never).shown
    verdict = facts.verdict("app/x.py", "app.x", WARNING, _never)
    assert not verdict.shown and verdict.reason.startswith("cannot tell")


def test_dict_config_by_logger_name_handlers_and_propagation(tmp_path: Path) -> None:
    settings = (
        "LOGGING = {\n"
        "    'version': 1,\n"
        "    'handlers': {'console': {'class': 'logging.StreamHandler', 'level': 'INFO'},\n"
        "                 'null': {'class': 'logging.NullHandler'}},\n"
        "    'root': {'level': 'WARNING', 'handlers': ['console']},\n"
        "    'loggers': {'shop': {'level': 'DEBUG'},\n"
        "                'shop.audit': {'level': 'INFO', 'handlers': ['null'], 'propagate': False},\n"
        "                'shop.internal': {'level': 'ERROR'}},\n"
        "}\n"
    )
    facts = _facts(tmp_path, {"config/settings.py": settings})
    assert facts.verdict("shop/views.py", "shop.views", INFO, _never).shown
    assert not facts.verdict("shop/views.py", "shop.views", DEBUG, _never).shown  # the handler is at INFO
    assert "null" in facts.verdict("shop/audit.py", "shop.audit", ERROR, _never).reason
    assert not facts.verdict("shop/internal/x.py", "shop.internal.x", WARNING, _never).shown
    assert not facts.verdict("other.py", "other", INFO, _never).shown
    assert facts.verdict("other.py", "other", WARNING, _never).shown


def test_a_yaml_file_the_code_opens(tmp_path: Path) -> None:
    facts = _facts(tmp_path, {
        "app/main.py": "import logging.config, yaml\n\nwith open('conf/logging.yaml') as f:\n    logging.config.dictConfig(yaml.safe_load(f))\n",
        "conf/logging.yaml": "version: 1\nroot: {level: WARNING, handlers: [h]}\nhandlers: {h: {class: logging.StreamHandler}}\nloggers: {app.worker: {level: INFO}}\n",
    })
    assert facts.setups[0].source == "conf/logging.yaml"
    assert facts.verdict("app/worker.py", "app.worker", INFO, _never).shown
    assert not facts.verdict("app/other.py", "app.other", INFO, _never).shown


def test_an_alembic_environment_applies_its_ini_to_its_revisions_only(tmp_path: Path) -> None:
    ini = (
        "[loggers]\nkeys = root,alembic\n[handlers]\nkeys = console\n[formatters]\nkeys =\n"
        "[logger_root]\nlevel = WARN\nhandlers = console\n"
        "[logger_alembic]\nlevel = INFO\nhandlers =\nqualname = alembic\n"
        "[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nlevel = NOTSET\n"
    )
    env = 'import logging\nfrom logging.config import fileConfig\nfileConfig(config.config_file_name)\nlogger = logging.getLogger("alembic.env")\n'
    facts = _facts(tmp_path, {
        "migrations/alembic.ini": ini, "migrations/env.py": env, "migrations/versions/a1_x.py": "revision = 'a1'\n",
        "app/main.py": "import logging\n\nlogging.basicConfig(level=logging.DEBUG)\n",
    })
    revision = "migrations/versions/a1_x.py"
    assert facts.migration_logger(revision) == "alembic.env"
    assert facts.verdict(revision, "alembic.env", INFO, _never).shown
    assert not facts.verdict(revision, "a1_x", INFO, _never).shown
    assert facts.verdict("app/jobs.py", "app.jobs", DEBUG, _never).shown  # the service's own set-up


def test_module_names_follow_packages_and_namespace_packages() -> None:
    facts = logging_setup.LoggingFacts(packages=frozenset({"taiga", "taiga/importers", "src/dispatch"}))
    assert facts.module_name("taiga/importers/jira/agile.py") == "taiga.importers.jira.agile"
    assert facts.module_name("src/dispatch/x.py") == "dispatch.x"
    assert facts.module_name("taiga/__init__.py") == "taiga"
    assert facts.module_name("extras/tool.py") == "tool"


def test_files_outside_the_root_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("version: 1\nroot: {level: DEBUG}\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "logging.yaml").symlink_to(outside)
    facts = _facts(root, {"app/main.py": "import logging.config\nlogging.config.dictConfig(load('../outside.yaml'))\n"})
    assert all(s.config is None for s in facts.setups)
    assert not facts.verdict("app/x.py", "app.x", INFO, _never).shown


def test_entry_points_and_ruff_rules(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project.scripts]\ntool = "tool.cli:main"\n\n[tool.ruff.lint]\nselect = ["E", "TRY"]\nignore = ["TRY400"]\n'
    )
    (tmp_path / "setup.cfg").write_text("[options.entry_points]\nconsole_scripts =\n    other = tool.other:run\n")
    points = entry_points(tmp_path, ["src/tool/cli.py", "src/tool/other.py", "tool.py"])
    assert points.of("src/tool/cli.py") == {"main"} and points.of("src/tool/other.py") == {"run"}
    rules = ruff_rules(tmp_path)
    assert rules.enabled("TRY401") and not rules.enabled("TRY400") and not rules.enabled("T201")
    assert not LintRules().enabled("TRY401") and LintRules(("ALL",), ("TRY",)).enabled("T201")


def test_the_facts_reach_the_project_context_only_for_print_to_logging(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import logging\n\nlogging.basicConfig(level=logging.INFO)\n")
    with_print = make_plan([tmp_path], select=["print-to-logging"]).project
    assert with_print.logging is not None and with_print.logging.setups[0].rel == "app.py"
    assert with_print.lint is not None and with_print.entry_points is not None
    assert make_plan([tmp_path], select=["add-timeouts"]).project.logging is None


def test_an_alias_bomb_or_a_huge_file_is_not_read(tmp_path: Path) -> None:
    bomb = "version: 1\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(20)
    )  # 9**20 nodes once expanded
    (tmp_path / "logging.yaml").write_text(bomb)
    assert logging_setup.read_config_file(tmp_path / "logging.yaml") is None
    (tmp_path / "logging.ini").write_text("[loggers]\nkeys = root\n" + "#" * (logging_setup.MAX_CONFIG_BYTES + 1))
    assert logging_setup.read_config_file(tmp_path / "logging.ini") is None
