"""The pipeline's guarantees: ordering across processes, suppressions, invalid output dropped."""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from prodfix.codemods.base import Codemod, ProjectContext, Rationale
from prodfix.codemods.common.suppression import Suppressions
from prodfix.codemods.print_to_logging import PrintToLogging
from prodfix.engine.pipeline import process_source
from prodfix.engine.runner import run_files
from prodfix.engine.source import decode_source
from prodfix.engine.startup_graph import NO_ENTRY


def test_parallel_results_are_identical_and_in_path_order(tmp_path: Path) -> None:
    files = []
    for i in range(40):
        path = tmp_path / f"m{i:02d}.py"
        body = "".join(f"def f{j}(x):\n    print('call', {j}, x)\n" for j in range(i % 7))
        path.write_text("import os\n\n" + body)
        files.append((path, path.name))
    files.reverse()  # the runner keeps the order it is given
    project = ProjectContext(root=str(tmp_path))
    serial = list(run_files(files, [PrintToLogging()], project, jobs=1))
    parallel = list(run_files(files, [PrintToLogging()], project, jobs=2))
    assert [r.path for r in parallel] == [rel for _, rel in files]
    assert [(r.path, r.new_bytes, r.findings) for r in parallel] == [
        (r.path, r.new_bytes, r.findings) for r in serial
    ]
    assert sum(r.changed for r in parallel) == sum(1 for i in range(40) if i % 7)


def test_project_facts_scanned_in_workers_are_those_of_a_serial_scan(tmp_path: Path) -> None:
    from prodfix.engine.plan import make_plan
    from prodfix.engine.runner import MIN_ITEMS_FOR_MAP

    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for i in range(MIN_ITEMS_FOR_MAP + 20):  # enough files for the pool
        closing = (
            f"class Client{i}:\n    def __init__(self):\n        self.session = requests.Session()\n"
            "    def close(self):\n        self.session.close()\n"
        ) if i % 3 == 0 else ""
        (pkg / f"m{i:03d}.py").write_text(f"import requests\nfrom app import m{(i + 1) % 50:03d}\n\n{closing}")
    serial = make_plan([tmp_path], select=["all"], jobs=1).project
    parallel = make_plan([tmp_path], select=["all"], jobs=2).project
    assert parallel.closable_classes == serial.closable_classes
    assert "app.m003.Client3" in parallel.closable_classes
    assert parallel.extendable == serial.extendable
    assert parallel.modules.roots == serial.modules.roots == ("",)
    assert parallel.modules.fingerprint() == serial.modules.fingerprint()


def test_project_facts_from_a_partly_stale_or_corrupt_cache_are_those_of_a_fresh_scan(tmp_path: Path) -> None:
    import json

    from prodfix.engine.plan import make_plan
    from prodfix.engine.runner import MIN_ITEMS_FOR_MAP

    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for i in range(MIN_ITEMS_FOR_MAP + 20):
        (pkg / f"m{i:03d}.py").write_text(f"from app import m{(i + 1) % 50:03d}\n")
    for jobs in (2, 1):
        make_plan([tmp_path], select=["all"], cache=True, jobs=jobs)  # fills .prodfix_cache/…/facts.json
        (pkg / f"m{jobs:03d}.py").write_text(  # changed since: its cached facts are stale
            "class Api:\n    def __init__(self):\n        self.session = requests.Session()\n"
            "    def close(self):\n        self.session.close()\n"
        )
        facts = next(tmp_path.glob(".prodfix_cache/*/facts.json"))
        data = json.loads(facts.read_text())
        data["entries"]["app/m010.py"][1] = {"not": "facts"}  # corrupt: never trusted
        facts.write_text(json.dumps(data))
        cached = make_plan([tmp_path], select=["all"], cache=True, jobs=jobs)
        fresh = make_plan([tmp_path], select=["all"], jobs=1)
        assert cached.project.closable_classes == fresh.project.closable_classes == {
            f"app.m{j:03d}.Api": "sync" for j in range(jobs, 3)
        }
        assert cached.project.modules.fingerprint() == fresh.project.modules.fingerprint()
        assert cached.project.modules.votes == fresh.project.modules.votes
        assert set(cached.digests) == {rel for _, rel in cached.files}
        rewritten = json.loads(facts.read_text())["entries"]
        assert rewritten["app/m010.py"][1] == [[["app", 1]], {}, NO_ENTRY, False]  # scanned again, then cached (no start-up, no logging set-up)
        assert rewritten[f"app/m{jobs:03d}.py"][1][1] == {"Api": ["sync", "close"]}


def test_a_cached_logging_set_up_is_used_as_read_and_a_tampered_one_is_a_miss(tmp_path: Path) -> None:
    """The set-up a file makes is cached with its other facts (no parse of it on a warm run);
    an entry of another shape, digest and all, is scanned again and never reaches the facts."""
    import json

    from prodfix.engine.plan import make_plan

    (tmp_path / "app").mkdir()
    (tmp_path / "app/__init__.py").write_text("import logging\nlogging.basicConfig(level=logging.ERROR)\n")
    fresh = make_plan([tmp_path], select=["print-to-logging"], jobs=1)
    make_plan([tmp_path], select=["print-to-logging"], cache=True, jobs=1)
    facts = next(tmp_path.glob(".prodfix_cache/*/facts.json"))
    data = json.loads(facts.read_text())
    setup = data["entries"]["app/__init__.py"][1][3]
    assert setup["setups"][0]["kind"] == "basicConfig"
    cached = make_plan([tmp_path], select=["print-to-logging"], cache=True, jobs=1)
    assert cached.project.logging.fingerprint() == fresh.project.logging.fingerprint()
    for tampered in (
        {"setups": [{"kind": "basicConfig", "line": 2, "top": True, "config": {"loggers": {"": {"level": "x"}}, "handlers": {}}}], "loggers": []},
        {"setups": "everything", "loggers": []},
        True,
    ):
        data["entries"]["app/__init__.py"][1][3] = tampered
        facts.write_text(json.dumps(data))
        again = make_plan([tmp_path], select=["print-to-logging"], cache=True, jobs=1)
        assert again.project.logging.fingerprint() == fresh.project.logging.fingerprint()
        assert json.loads(facts.read_text())["entries"]["app/__init__.py"][1][3] == setup


def test_suppression_comments() -> None:
    source = "a = 1  # prodfix: ignore\nb = 2  # prodfix: ignore[print-to-logging, PF002]\ns = '# prodfix: ignore'\n"
    sup = Suppressions.from_source(source)
    assert sup.covers(1, 1, "anything", "PF999")
    assert sup.covers(2, 2, "print-to-logging", "PF001")
    assert sup.covers(2, 2, "add-timeouts", "PF002")
    assert not sup.covers(2, 2, "add-retry", "PF003")
    assert not sup.covers(3, 3, "anything", "PF999")  # inside a string, not a comment


class _Broken(Codemod):
    name = "broken"
    code = "PF999"
    summary = "emits code that does not parse"
    rationale = Rationale("p", "i", "f", "low")

    import re as _re

    prefilter = _re.compile("x")

    def transform(self, wrapper, file, reporter):
        module = wrapper.module
        bad = cst.parse_statement("y = 1\n").with_changes(
            body=[cst.Expr(cst.Name("if"))]  # a keyword as a name: renders as invalid code
        )
        reporter.report(None, "would break")
        return module.with_changes(body=[*module.body, bad])


class _Crashing(_Broken):
    name = "crashing"

    def transform(self, wrapper, file, reporter):
        raise RuntimeError("boom")


def test_invalid_output_is_dropped_and_reported() -> None:
    decoded = decode_source(b"x = 1\nprint('error: x')\n")
    result = process_source(decoded, "m.py", [_Broken(), _Crashing(), PrintToLogging()], ProjectContext("."))
    assert result.new_text == (
        "import logging\n\nlogger = logging.getLogger(__name__)\n\nx = 1\nlogger.error('error: x')\n"
    )
    messages = [f.message for f in result.findings]
    assert any("output does not parse" in m for m in messages)
    assert any("RuntimeError: boom" in m for m in messages)
    assert "would break" not in messages
    assert result.changed_by == ("print-to-logging",)


def test_unwanted_files_are_never_parsed() -> None:
    decoded = decode_source(b"def broken(:\n")  # no print: the prefilter says no
    result = process_source(decoded, "m.py", [PrintToLogging()], ProjectContext("."))
    assert result.error is None and not result.parsed and not result.changed


def test_trailing_whitespace_lines_survive() -> None:
    # libcst alone drops some of these trailing lines; seen in a real Flask project.
    source = b"def f():\n    print('x')\n    return 1\n    \n  \n    "
    result = process_source(decode_source(source), "m.py", [PrintToLogging()], ProjectContext("."))
    assert result.new_bytes is not None
    assert result.new_bytes.endswith(b"    logger.info('x')\n    return 1\n    \n  \n    ")


def test_crlf_trailing_blank_lines_survive() -> None:
    source = b"print('error: x')\r\n\r\n\r\n"
    result = process_source(decode_source(source), "m.py", [PrintToLogging()], ProjectContext("."))
    assert result.new_bytes == (
        b"import logging\r\n\r\nlogger = logging.getLogger(__name__)\r\n\r\nlogger.error('error: x')\r\n\r\n\r\n"
    )


def test_paused_time_is_not_charged_to_the_file() -> None:
    """One-time imports on a process's first parsed file run with the budget's clock stopped."""
    import time

    import pytest

    from prodfix.engine.budget import FileTimeout, paused, time_budget

    with time_budget(0.3):
        with paused():
            time.sleep(0.5)
        time.sleep(0.1)
    with pytest.raises(FileTimeout):
        with time_budget(0.3):
            time.sleep(0.5)


def test_count_imports_reads_import_lines_only() -> None:
    from collections import Counter

    from prodfix.engine.module_index import count_imports

    counts: Counter[str] = Counter()
    text = (
        "import os, sys\nfrom app.models import User\n  import json  # indented\n"
        "x = 'import nothing'\nfrom . import local\nimport importlib; import re\n"
        "def f():\n    from app.models import Item\n"
    )
    count_imports(text, counts)
    assert counts == Counter({"os": 1, "sys": 1, "app.models": 2, "json": 1, "importlib": 1})


def test_codemods_import_nothing_from_the_engine() -> None:
    """Value types the codemods use live on the ground floor (codemods.base, codemods.common,
    prodfix.globs); the engine imports the codemods, never the other way round."""
    import ast as _ast

    package = Path(__file__).resolve().parent.parent / "prodfix" / "codemods"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        for node in _ast.walk(_ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, _ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, _ast.Import) else []
            )
            offenders += [f"{path.relative_to(package)}:{node.lineno}" for n in names if n.startswith("prodfix.engine")]
    assert offenders == []


def test_logging_set_up_in_tests_is_not_the_applications(tmp_path: Path) -> None:
    """A conftest's basicConfig configures the test run: print-to-logging must not take it for
    the set-up production code runs under; the application's own set-up still counts, also
    when its facts come from the cache."""
    from prodfix.engine.plan import make_plan

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "svc.py").write_text("def f():\n    print('Processing order')\n")
    bare = make_plan([tmp_path], select=["print-to-logging"]).project.logging.fingerprint()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text("import logging\nlogging.basicConfig(level=logging.INFO)\n")
    (tmp_path / "app" / "tests.py").write_text("import logging\nlogging.basicConfig(level=logging.DEBUG)\n")
    assert make_plan([tmp_path], select=["print-to-logging"]).project.logging.fingerprint() == bare
    (tmp_path / "app" / "main.py").write_text("import logging\nlogging.basicConfig(level=logging.INFO)\n")
    configured = make_plan([tmp_path], select=["print-to-logging"], cache=True).project.logging.fingerprint()
    assert configured != bare
    assert make_plan([tmp_path], select=["print-to-logging"], cache=True).project.logging.fingerprint() == configured


def test_a_monorepo_subproject_is_laid_out_by_its_own_formatter_settings(tmp_path: Path) -> None:
    """`prodfix diff server/` in a repository whose formatter settings live in server/ (polar):
    they are read there, as black and ruff find theirs; the root's are used when the folder has none."""
    import subprocess

    from prodfix.engine.plan import make_plan

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # the root: the work tree's top
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    (tmp_path / "server/app").mkdir(parents=True)
    (tmp_path / "server/pyproject.toml").write_text('[tool.black]\nline-length = 119\n[tool.ruff.lint]\nextend-select = ["PLR0402"]\n')
    (tmp_path / "server/app/main.py").write_text("x = 1\n")
    (tmp_path / "web").mkdir()
    (tmp_path / "web/tool.py").write_text("y = 2\n")
    server = make_plan([tmp_path / "server"], select=["all"], jobs=1)
    assert server.project.style.line_length == 119
    assert server.project.lint.enabled("PLR0402")
    assert make_plan([tmp_path / "web"], select=["all"], jobs=1).project.style.line_length == 100
    assert make_plan([tmp_path], select=["all"], jobs=1).project.style.line_length == 100
