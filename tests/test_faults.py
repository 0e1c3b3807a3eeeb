"""Faults lose nothing and say so: every command reports what went wrong, with the file's path
(and line), finishes the run, prints its summary and exits 3 (or refuses up front with 2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import commit_all, run_git
from prodfix.cli import main

DEEP = "import requests\n\nx = " + "[" * 150 + "]" * 150 + "\nrequests.get('http://x')\n"
CALL = "import requests\n\n\ndef f():\n    return requests.get('http://x')\n"


def invoke(cwd: Path, *args: str):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def _crash_on_calls(monkeypatch) -> None:
    """add-timeouts raises while visiting the first call, as a bug in a codemod would."""
    import libcst as cst

    import prodfix.codemods.add_timeouts.rewrite as rewrite

    class Boom(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            raise KeyError("boom")

    def transform(codemod, wrapper, file, reporter):
        wrapper.module.visit(Boom())
        return wrapper.module

    monkeypatch.setattr(rewrite, "transform", transform)


# --- a codemod's internal error ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "diff", "report", "fix"])
def test_an_internal_error_is_reported_by_every_command(tmp_path: Path, monkeypatch, command: str) -> None:
    _crash_on_calls(monkeypatch)
    (tmp_path / "app.py").write_text(CALL)
    (tmp_path / "other.py").write_text("def g():\n    print('x')\n")
    out = invoke(tmp_path, command, "--no-cache", ".")
    assert out.exit_code == 3, out.stderr
    assert "app.py:5: PF002 add-timeouts: internal error" in out.stderr and "KeyError: 'boom'" in out.stderr
    assert "1 could not be processed" in out.stderr
    assert (tmp_path / "app.py").read_text() == CALL
    if command == "fix":  # the other file's change is written all the same
        assert "logger.info" in (tmp_path / "other.py").read_text()
    if command == "report":
        assert "`app.py`:5: add-timeouts: internal error" in out.stdout
    if command == "check":  # on stderr like any per-file error, not twice in the table
        assert "internal error" not in out.stdout


def test_an_internal_error_is_in_json_and_annotations_as_an_error(tmp_path: Path, monkeypatch) -> None:
    _crash_on_calls(monkeypatch)
    (tmp_path / "app.py").write_text(CALL)
    out = invoke(tmp_path, "check", "--no-cache", "--format", "json", ".")
    assert out.exit_code == 3
    [row] = json.loads(out.stdout)
    assert (row["kind"], row["line"], row["fixable"]) == ("error", 5, False)
    out = invoke(tmp_path, "check", "--no-cache", "--format", "github", ".")
    assert out.stdout.startswith("::error file=app.py,line=5,")


def test_a_nested_literal_libcst_cannot_visit_is_reported_on_its_line(tmp_path: Path) -> None:
    (tmp_path / "deep.py").write_text(DEEP)
    for command in ("diff", "fix"):
        out = invoke(tmp_path, command, "--no-cache", ".")
        assert out.exit_code == 3, out.stderr
        assert "deep.py:3: PF002 add-timeouts: internal error" in out.stderr and "RecursionError" in out.stderr
        assert (tmp_path / "deep.py").read_text() == DEEP


def test_an_internal_error_comes_back_from_the_cache(tmp_path: Path) -> None:
    (tmp_path / "deep.py").write_text(DEEP)
    for _ in range(2):  # cold, then answered by the result cache
        out = invoke(tmp_path, "diff", ".")
        assert out.exit_code == 3 and "deep.py:3: PF002 add-timeouts: internal error" in out.stderr
    assert (tmp_path / ".prodfix_cache").is_dir()


def test_internal_errors_of_tree_runs_are_reported(git_repo: Path, monkeypatch) -> None:
    _crash_on_calls(monkeypatch)
    (git_repo / "app.py").write_text(CALL)
    (git_repo / "other.py").write_text("def g():\n    print('x')\n")
    commit_all(git_repo)
    out = invoke(git_repo, "fix", "--branch")
    assert out.exit_code == 3, out.stderr
    assert "app.py:5: PF002 add-timeouts: internal error" in out.stderr
    out = invoke(git_repo, "pr", "--dry-run", "--base", "main")
    assert out.exit_code == 3, out.stderr
    assert "app.py:5: PF002 add-timeouts: internal error" in out.stderr
    assert "`app.py`:5: add-timeouts: internal error" in out.stdout  # in the pull request's body


def test_an_unexpected_error_outside_the_codemods_is_a_per_file_error(tmp_path: Path, monkeypatch) -> None:
    import prodfix.engine.pipeline as pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("prodfix bug")

    monkeypatch.setattr(pipeline, "process_source", broken)
    (tmp_path / "app.py").write_text(CALL)
    out = invoke(tmp_path, "fix", "--no-cache", ".")
    assert out.exit_code == 3
    assert "app.py: internal error: RuntimeError: prodfix bug" in out.stderr and "1 file scanned" in out.stderr
