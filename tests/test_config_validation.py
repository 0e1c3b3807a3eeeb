"""Bad configuration fails clearly: exit code 2, the file and the key named, nothing written.

Each case runs ``fix`` on a committed file that a valid configuration would change, so "the
file is unchanged" means the run stopped before writing, not that there was nothing to do.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import typing
from pathlib import Path

import pytest

from conftest import commit_all, prodfix_exe
from prodfix.codemods import registry
from prodfix.codemods.options import check_of
from prodfix.config import MAX_BYTES
from test_cli import invoke

SOURCE = '''import psycopg2
import requests


def init_db():
    return psycopg2.connect("dbname=app")


def fetch():
    print("fetching")
    return requests.get("http://example.com")
'''


@pytest.fixture
def repo(git_repo: Path) -> Path:
    (git_repo / "svc.py").write_text(SOURCE)
    commit_all(git_repo)
    return git_repo


def refused(repo: Path, *args: str) -> str:
    """Run ``fix``; assert it exits 2 and leaves svc.py alone; return what it printed."""
    result = invoke(repo, "fix", *args)
    assert result.exit_code == 2, result.output
    assert (repo / "svc.py").read_text() == SOURCE
    return result.output


def installed(repo: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [prodfix_exe(), *args], cwd=repo, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "CI": "", "GITHUB_OUTPUT": ""},
    )


# --- option values -------------------------------------------------------------------------


def test_values_at_the_bounds_are_accepted_and_reach_the_code(repo: Path) -> None:
    (repo / ".prodfix.yml").write_text(
        "unsafe-fixes: true\n"  # a literal read timeout is an unsafe fix
        "codemods:\n"
        "  add-timeouts: {seconds: 3600}\n"
        "  add-retry: {attempts: 2, max_wait: 0.5, multiplier: 0.25}\n"
    )
    result = invoke(repo, "fix")
    assert result.exit_code == 0, result.output
    text = (repo / "svc.py").read_text()
    assert 'requests.get("http://example.com", timeout=(10, 3600))' in text
    assert "stop_after_attempt(2)" in text and "wait_exponential(multiplier=0.25, max=0.5)" in text


BAD_OPTIONS = [
    # (codemod, key, YAML value, what the message says about it)
    ("add-timeouts", "seconds", "-5", "expected seconds > 0 and <= 3600, got -5"),
    ("add-timeouts", "seconds", "0", "expected seconds > 0 and <= 3600, got 0"),
    ("add-timeouts", "seconds", ".nan", "got nan"),
    ("add-timeouts", "seconds", ".inf", "got inf"),
    ("add-timeouts", "seconds", "1.0e+40", "got 1e+40"),
    ("add-timeouts", "seconds", "1" + "0" * 400, "got an integer too large"),
    ("add-timeouts", "redis-socket", "3601", "got 3601"),
    ("add-timeouts", "connect_seconds", "0", "expected seconds > 0 and <= 3600, got 0"),
    ("add-timeouts", "read-seconds", "3601", "got 3601"),
    ("add-timeouts", "db_connect", "2.5", "expected a whole number of seconds"),
    ("add-timeouts", "db_command", "true", "expected a number, got True"),
    ("add-retry", "attempts", "0", "expected an integer from 2 to 100, got 0"),
    ("add-retry", "attempts", "101", "got 101"),
    ("add-retry", "attempts", "2.5", "expected an integer, got 2.5"),
    ("add-retry", "attempts", "true", "expected an integer, got True"),
    ("add-retry", "max_wait", "-1", "got -1"),
    ("add-retry", "multiplier", "0", "got 0"),
    ("add-retry", "targets", "[init_db]", "got 'init_db'"),
    ("add-retry", "targets", "['svc.py:init db']", "got 'svc.py:init db'"),
    ("add-retry", "name_patterns", "['']", "expected non-empty strings, got ''"),
    ("print-to-logging", "logger_name", "'my log'", "expected a Python name (an identifier, not a keyword), got 'my log'"),
    ("print-to-logging", "logger_name", "class", "got 'class'"),
    ("print-to-logging", "logger-name", "''", "got ''"),
    ("print-to-logging", "logger_name", "3", "expected a string, got 3"),
    ("print-to-logging", "keep_paths", "['!']", "expected gitignore-style patterns, got '!'"),
    ("print-to-logging", "error_words", "[' ']", "got ' '"),
    ("fix-imports", "roots", "['../elsewhere']", "got '../elsewhere'"),
    ("fix-imports", "renames", "{app.db: 'app db'}", "expected dotted Python names (a.b.Name), got 'app db'"),
]


@pytest.mark.parametrize(("codemod", "key", "value", "expected"), BAD_OPTIONS)
def test_bad_option_value_names_file_key_and_value(repo: Path, codemod: str, key: str, value: str, expected: str) -> None:
    (repo / ".prodfix.yml").write_text(f"select: [all]\ncodemods:\n  {codemod}:\n    {key}: {value}\n")
    output = refused(repo)
    assert f".prodfix.yml:4: codemods.{codemod}.{key}: " in output
    assert expected in output


def test_bad_option_value_in_pyproject(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[tool.prodfix.codemods.add-timeouts]\nseconds = nan\n")
    output = refused(repo)
    assert "pyproject.toml: tool.prodfix.codemods.add-timeouts.seconds: expected seconds > 0" in output
    assert "got nan" in output


def test_installed_fix_exits_2_on_a_negative_timeout(repo: Path) -> None:
    """It used to crash the codemod on every file and exit 0."""
    (repo / ".prodfix.yml").write_text("codemods:\n  add-timeouts:\n    seconds: -5\n")
    out = installed(repo, "fix")
    assert out.returncode == 2, out.stderr
    assert ".prodfix.yml:3: codemods.add-timeouts.seconds: expected seconds > 0 and <= 3600, got -5" in out.stderr
    assert "Traceback" not in out.stderr
    assert (repo / "svc.py").read_text() == SOURCE
    shown = installed(repo, "config")
    assert shown.returncode == 2 and "codemods.add-timeouts.seconds" in shown.stderr


def test_every_option_declares_bounds_or_is_a_closed_type() -> None:
    """A new option gets a check from codemods/options.py unless its type admits only valid
    values (a bool, a Literal)."""
    for codemod in registry.CODEMODS:
        hints = typing.get_type_hints(codemod.Options)
        for f in dataclasses.fields(codemod.Options):
            closed = hints[f.name] is bool or typing.get_origin(hints[f.name]) is typing.Literal
            assert closed or check_of(f) is not None, f"{codemod.name}.{f.name} declares no bounds"


# --- exclude patterns ----------------------------------------------------------------------


def test_bad_exclude_in_yaml_names_file_key_and_pattern(repo: Path) -> None:
    (repo / ".prodfix.yml").write_text("select: [all]\nexclude:\n  - 'legacy/**'\n  - '!'\n")
    output = refused(repo)
    assert ".prodfix.yml:4: exclude.1: not a gitignore-style pattern: '!'" in output


def test_bad_exclude_in_pyproject(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.prodfix]\nexclude = ["docs/", "\\\\"]\n')
    output = refused(repo)
    assert "pyproject.toml: tool.prodfix.exclude.1: not a gitignore-style pattern: '\\\\'" in output


def test_bad_exclude_on_the_command_line(repo: Path) -> None:
    out = installed(repo, "fix", "--exclude", "docs/", "--exclude", "!")
    assert out.returncode == 2, out.stderr
    assert "--exclude '!': not a gitignore-style pattern" in out.stderr
    assert "Traceback" not in out.stderr
    assert (repo / "svc.py").read_text() == SOURCE


# --- the YAML document itself --------------------------------------------------------------


def _alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_at_once(repo: Path) -> None:
    """Ten lines expand to 9**10 values: without a bound this run would not end (seven lines
    took 27 s and 1.2 GB). The timeout only keeps a regression from hanging the suite."""
    (repo / ".prodfix.yml").write_text(_alias_bomb(10))
    out = installed(repo, "fix", timeout=20)
    assert out.returncode == 2, out.stderr
    # a0..a3 hold 10, 91, 820 and 7381 values; a4 (line 5) passes 10000
    assert ".prodfix.yml:5: more than 10000 values once aliases are expanded" in out.stderr
    assert (repo / "svc.py").read_text() == SOURCE


def test_a_few_aliases_are_fine(repo: Path) -> None:
    (repo / ".prodfix.yml").write_text(
        "codemods:\n  print-to-logging:\n    debug_words: &words [trace, verbose]\n    warning_words: *words\n"
    )
    result = invoke(repo, "config")
    assert result.exit_code == 0, result.output
    assert "debug_words = ('trace', 'verbose')" in result.output
    assert "warning_words = ('trace', 'verbose')" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("select: &a [*a]\n", ".prodfix.yml:1: an alias refers to the value that contains it"),
        ("select: " + "[" * 100_000 + "]" * 100_000 + "\n", ".prodfix.yml: invalid YAML: nested too deeply"),
        ("select: !custom x\n", ".prodfix.yml:1: invalid value: could not determine a constructor for the tag '!custom'"),
        ("? [select]\n: [all]\n", ".prodfix.yml:1: a key must be a plain name"),
    ],
)
def test_malformed_yaml_is_refused(repo: Path, text: str, expected: str) -> None:
    (repo / ".prodfix.yml").write_text(text)
    assert expected in refused(repo)


@pytest.mark.parametrize("name", [".prodfix.yml", "pyproject.toml"])
def test_oversized_configuration_is_refused(repo: Path, name: str) -> None:
    head = "select: [all]\n" if name == ".prodfix.yml" else "[tool.prodfix]\nselect = ['all']\n"
    (repo / name).write_text(head + "#" * (MAX_BYTES - len(head)) + "\n")
    assert (repo / name).stat().st_size == MAX_BYTES + 1
    output = refused(repo)
    assert f"{name}: {MAX_BYTES + 1} bytes; a configuration file may be at most {MAX_BYTES} bytes" in output


def test_configuration_of_exactly_the_limit_is_read(repo: Path) -> None:
    head = "select: [print-to-logging]\n"
    (repo / ".prodfix.yml").write_text(head + "#" * (MAX_BYTES - len(head) - 1) + "\n")
    assert (repo / ".prodfix.yml").stat().st_size == MAX_BYTES
    result = invoke(repo, "config")
    assert result.exit_code == 0, result.output
    assert "print-to-logging: on: select in" in result.output


# --- [tool] in pyproject.toml --------------------------------------------------------------


@pytest.mark.parametrize("tool", ["3", '"x"', "[1]"])
def test_tool_that_is_not_a_table_means_no_prodfix_config(repo: Path, tool: str) -> None:
    (repo / "pyproject.toml").write_text(f"tool = {tool}\n")
    commit_all(repo)
    shown = installed(repo, "config")
    assert shown.returncode == 0, shown.stderr
    assert "config:  none found (defaults)" in shown.stdout
    explicit = invoke(repo, "config", "--config", "pyproject.toml")
    assert explicit.exit_code == 0, explicit.output
    fixed = installed(repo, "fix")  # the project-facts readers of pyproject.toml cope as well
    assert fixed.returncode == 0, fixed.stderr
    assert "timeout=(10, None)" in (repo / "svc.py").read_text()


@pytest.mark.parametrize("value", ["3", '"x"', "[1]"])
def test_tool_prodfix_that_is_not_a_table_names_file_and_key(repo: Path, value: str) -> None:
    (repo / "pyproject.toml").write_text(f"[tool]\nprodfix = {value}\n")
    output = refused(repo)
    assert "pyproject.toml: tool.prodfix: expected a table ([tool.prodfix])" in output
