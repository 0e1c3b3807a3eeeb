"""Safe and unsafe fixes (ruff's model), the part every codemod shares: a fix marked unsafe is
made only when unsafe fixes are allowed; otherwise it is a finding of kind "unsafe-fix" that
check shows as a suggestion and the report lists under its own heading."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from conftest import commit_all, prodfix_exe, run_git
from prodfix.codemods import registry
from prodfix.codemods.base import UNSAFE_APPLIED, FileContext, Finding, ProjectContext, Reporter
from prodfix.codemods.common.suppression import Suppressions
from prodfix.config import ConfigError, load_config
from prodfix.engine.cache import namespace
from prodfix.engine.pipeline import FileResult
from prodfix.engine.plan import make_plan
from prodfix.output import findings as findings_output
from prodfix.output.report import ReportBuilder

TIMEOUTS = registry.lookup("add-timeouts")


def _reporter(unsafe: bool) -> Reporter:
    project = ProjectContext(root=".", unsafe_fixes=unsafe)
    file = FileContext(path="app/m.py", source="", project=project, suppressions=Suppressions.from_source(""))
    return Reporter(TIMEOUTS(), file, None)


def test_an_unsafe_fix_is_a_suggestion_unless_allowed() -> None:
    safe_run = _reporter(False)
    assert safe_run.unsafe_fix(None, "would add timeout=30") is False
    assert [(f.kind, f.message, f.fixable) for f in safe_run.findings] == [("unsafe-fix", "would add timeout=30", True)]

    unsafe_run = _reporter(True)
    assert unsafe_run.unsafe_fix(None, "would add timeout=30") is True
    assert unsafe_run.findings == []  # the codemod reports the fix it then makes
    unsafe_run.report(None, "added timeout=30", unsafe=True)
    assert [(f.kind, f.message) for f in unsafe_run.findings] == [("fix", "added timeout=30" + UNSAFE_APPLIED)]


@pytest.mark.parametrize("key", ["unsafe-fixes", "unsafe_fixes"])
def test_config_key(tmp_path: Path, key: str) -> None:
    config = tmp_path / ".prodfix.yml"
    config.write_text(f"{key}: true\n")
    assert load_config(config).unsafe_fixes is True
    config.write_text(f"{key}: sometimes\n")
    with pytest.raises(ConfigError, match=f"{key}: expected true or false"):
        load_config(config)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.prodfix]\n{key} = true\n")
    assert load_config(pyproject).unsafe_fixes is True


def test_the_command_line_overrides_the_config(tmp_path: Path) -> None:
    (tmp_path / ".prodfix.yml").write_text("unsafe-fixes: true\n")
    assert make_plan([tmp_path]).project.unsafe_fixes is True
    assert make_plan([tmp_path], unsafe_fixes=False).project.unsafe_fixes is False
    (tmp_path / ".prodfix.yml").write_text("select: [add-timeouts]\n")
    assert make_plan([tmp_path]).project.unsafe_fixes is False
    assert make_plan([tmp_path], unsafe_fixes=True).project.unsafe_fixes is True


def test_the_result_cache_key_includes_the_setting() -> None:
    codemods = [TIMEOUTS()]
    safe = ProjectContext(root=".")
    assert namespace(codemods, safe) != namespace(codemods, dataclasses.replace(safe, unsafe_fixes=True))
    assert namespace(codemods, safe) == namespace(codemods, ProjectContext(root="."))


def _finding(kind: str, message: str, line: int = 3) -> Finding:
    return Finding("app/m.py", line, 5, TIMEOUTS.name, TIMEOUTS.code, message, kind)  # type: ignore[arg-type]


def test_the_report_lists_unsafe_fixes_under_their_own_heading() -> None:
    builder = ReportBuilder([TIMEOUTS()])
    builder.add(FileResult(path="app/m.py", findings=[
        _finding("fix", "requests.get(): added timeout=(10, None)"),
        _finding("unsafe-fix", "requests.get(): timeout=(10, 30) would bound each read", 4),
        _finding("note", "left alone for a reason", 5),
    ]))
    text = builder.render()
    assert "| `PF002` add-timeouts | high | 0 | 1 | 1 | 1 |" in text
    changes, rest = text.split("**Unsafe fixes, not applied** (1)")
    assert "timeout=(10, None)" in changes and "timeout=(10, 30)" not in changes
    unsafe, left_alone = rest.split("**Left alone** (1)")
    assert "timeout=(10, 30) would bound each read" in unsafe and "--unsafe-fixes" in unsafe
    assert "left alone for a reason" in left_alone


def test_check_output_says_a_suggestion_was_not_made() -> None:
    found = [_finding("unsafe-fix", "requests.get(): timeout=(10, 30)")]
    console = Console(width=200, record=True)
    findings_output.render_text(console, found, [TIMEOUTS], explain=False)
    assert "unsafe fix, not made (--unsafe-fixes makes it): requests.get(): timeout=(10, 30)" in console.export_text()
    assert "::warning " in findings_output.render_github(found)
    assert '"kind": "unsafe-fix"' in findings_output.render_json(found)


# --- the command line ---------------------------------------------------------------------------

CLIENT = """\
import requests


def fetch(url):
    return requests.get(url).json()
"""


def _prodfix(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [prodfix_exe(), *args, "--select", "add-timeouts"], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "CI": "", "GITHUB_OUTPUT": ""},
    )


def test_check_lists_the_unsafe_fix_diff_leaves_it_out_and_unsafe_fixes_make_it(git_repo: Path) -> None:
    (git_repo / "app").mkdir()
    (git_repo / "app" / "client.py").write_text(CLIENT)
    commit_all(git_repo)

    check = _prodfix(git_repo, "check", "--format", "json")
    assert check.returncode == 1
    kinds = {(f["kind"], f["fixable"]) for f in json.loads(check.stdout)}
    assert kinds == {("fix", True), ("unsafe-fix", True)}
    suggestion = next(f for f in json.loads(check.stdout) if f["kind"] == "unsafe-fix")
    assert "timeout=(10, 30)" in suggestion["message"]
    text = _prodfix(git_repo, "check")
    assert "unsafe fix, not made (--unsafe-fixes makes it)" in text.stdout
    assert "(1 unsafe fix not made: --unsafe-fixes makes them)" in text.stderr

    diff = _prodfix(git_repo, "diff")
    assert diff.returncode == 0
    assert "+    return requests.get(url, timeout=(10, None)).json()" in diff.stdout
    assert "(10, 30)" not in diff.stdout

    unsafe = _prodfix(git_repo, "diff", "--unsafe-fixes")
    assert "+    return requests.get(url, timeout=(10, 30)).json()" in unsafe.stdout
    assert "unsafe fix" not in unsafe.stderr  # nothing was left out

    report = _prodfix(git_repo, "report")
    assert "**Unsafe fixes, not applied** (1)" in report.stdout

    # the configuration key, and the flag that overrides it
    (git_repo / ".prodfix.yml").write_text("unsafe-fixes: true\n")
    assert "timeout=(10, 30)" in _prodfix(git_repo, "diff").stdout
    assert "timeout=(10, 30)" not in _prodfix(git_repo, "diff", "--no-unsafe-fixes").stdout
    (git_repo / ".prodfix.yml").unlink()

    # fix --branch takes the setting to its runs; without it the branch has the safe fix only
    assert _prodfix(git_repo, "fix", "--branch", "safe").returncode == 0
    assert "timeout=(10, None)" in run_git(git_repo, "show", "safe:app/client.py")
    assert _prodfix(git_repo, "fix", "--branch", "unsafe", "--unsafe-fixes").returncode == 0
    assert "timeout=(10, 30)" in run_git(git_repo, "show", "unsafe:app/client.py")

    assert _prodfix(git_repo, "fix", "--unsafe-fixes").returncode == 0
    assert "timeout=(10, 30)" in (git_repo / "app" / "client.py").read_text()
