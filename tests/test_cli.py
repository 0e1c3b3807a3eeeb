"""The command line as a user meets it: the installed console script and click's runner."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import commit_all, configure_logging, prodfix_exe, run_git
from prodfix.cli import main


def prodfix(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [prodfix_exe(), *args], cwd=cwd, capture_output=True,
        env={**os.environ, "CI": "", "GITHUB_OUTPUT": "", **(env or {})},
    )


def invoke(cwd: Path, *args: str):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


# --- end to end on the sample backend -------------------------------------------------------


def test_patch_applies_and_sample_tests_still_pass(sample_backend: Path) -> None:
    out = prodfix(sample_backend, "diff")
    assert out.returncode == 0, out.stderr
    patch = out.stdout
    assert patch.startswith(b"diff --git a/app/database.py b/app/database.py\n")
    assert b"+    logger.info(\"Processing order %s\", order[\"id\"])" in patch
    assert b"+@retry(\n" in patch and b"+        timeout=(10, None),\n" in patch
    assert b"+++ b/requirements.txt\n" in patch and b"+tenacity>=8\n" in patch
    assert b"scripts/seed.py" not in patch and b"tests/test_orders.py" not in patch
    assert b"2 files scanned" not in out.stderr and b"would change" in out.stderr
    (sample_backend / "prodfix.patch").write_bytes(patch)
    run_git(sample_backend, "apply", "--check", "prodfix.patch")
    run_git(sample_backend, "apply", "prodfix.patch")
    (sample_backend / "prodfix.patch").unlink()
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=sample_backend, capture_output=True, text=True,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    again = prodfix(sample_backend, "diff")
    assert again.returncode == 0 and again.stdout == b""


def test_fix_then_diff_is_empty_and_check_is_clean(sample_backend: Path) -> None:
    before = prodfix(sample_backend, "check")
    assert before.returncode == 1
    fixed = prodfix(sample_backend, "fix")
    assert fixed.returncode == 0, fixed.stderr
    assert b"5 changed" in fixed.stderr
    assert "log.info(" in (sample_backend / "app/store.py").read_text()
    assert prodfix(sample_backend, "diff").stdout == b""
    after = prodfix(sample_backend, "check")
    assert after.returncode == 0, after.stdout


def test_python_dash_m_and_help(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "prodfix", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "Usage: prodfix" in out.stdout
    assert "3  some files could not be processed" in out.stdout
    # a user reads what prodfix does and how to start, not the module's developer notes
    assert "Codemods that make a Python backend production-ready" in out.stdout
    assert "prodfix diff > fix.patch" in out.stdout and "parse options, build a plan" not in out.stdout
    listing = prodfix(tmp_path, "list")
    assert b"PF001  print-to-logging" in listing.stdout


def test_patch_file_option(sample_backend: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.patch"
    out = prodfix(sample_backend, "diff", "--patch", str(target))
    assert out.returncode == 0 and out.stdout == b""
    assert target.read_bytes().startswith(b"diff --git a/app/database.py")


# --- bad input ----------------------------------------------------------------------------


def test_syntax_error_exit_3_and_file_untouched(sample_backend: Path) -> None:
    broken = sample_backend / "app" / "broken.py"
    content = b"def f(:\n    print('x')\n"
    broken.write_bytes(content)
    out = prodfix(sample_backend, "fix")
    assert out.returncode == 3
    assert b"app/broken.py:1: syntax error" in out.stderr
    assert broken.read_bytes() == content
    assert "logger.info(" in (sample_backend / "app/orders.py").read_text()


def test_undecodable_file_is_reported(git_repo: Path) -> None:
    (git_repo / "bad.py").write_bytes(b"x = 1\nprint('\xff\xfe')\n")
    out = prodfix(git_repo, "check")
    assert out.returncode == 3
    assert b"bad.py:2: cannot decode as utf-8" in out.stderr


def test_crlf_bom_and_latin1_survive_byte_for_byte(git_repo: Path) -> None:
    crlf = b"import os\r\n\r\n\r\ndef f(x):\r\n    # caf\xc3\xa9\r\n    print('value', x)\r\n    return x\r\n"
    latin1 = b"# -*- coding: latin-1 -*-\nimport os\n\n# caf\xe9\ndef g():\n    print('d\xe9j\xe0 vu')\n"
    bom = b"\xef\xbb\xbfimport os\n\n\ndef h():\n    print(f'{os.sep} sep')\n"
    configure_logging(git_repo)
    (git_repo / "crlf.py").write_bytes(crlf)
    (git_repo / "latin1.py").write_bytes(latin1)
    (git_repo / "bom.py").write_bytes(bom)
    commit_all(git_repo)
    patch = prodfix(git_repo, "diff").stdout
    (git_repo / "p.patch").write_bytes(patch)
    run_git(git_repo, "apply", "--check", "p.patch")
    (git_repo / "p.patch").unlink()
    out = prodfix(git_repo, "fix")
    assert out.returncode == 0, out.stderr
    assert (git_repo / "crlf.py").read_bytes() == (
        b"import logging\r\nimport os\r\n\r\nlogger = logging.getLogger(__name__)\r\n\r\n\r\n"
        b"def f(x):\r\n    # caf\xc3\xa9\r\n    logger.info('value %s', x)\r\n    return x\r\n"
    )
    assert (git_repo / "latin1.py").read_bytes() == (
        b"# -*- coding: latin-1 -*-\nimport logging\nimport os\n\nlogger = logging.getLogger(__name__)\n\n"
        b"# caf\xe9\ndef g():\n    logger.info('d\xe9j\xe0 vu')\n"
    )
    assert (git_repo / "bom.py").read_bytes() == (
        b"\xef\xbb\xbfimport logging\nimport os\n\nlogger = logging.getLogger(__name__)\n\n\n"
        b"def h():\n    logger.info('%s sep', os.sep)\n"
    )


def test_fix_keeps_file_mode(git_repo: Path) -> None:
    target = git_repo / "tool.py"
    target.write_text("def f():\n    print('hi')\n")
    target.chmod(0o750)
    configure_logging(git_repo)
    commit_all(git_repo)
    assert invoke(git_repo, "fix", "-q").exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert "logger.info('hi')" in target.read_text()
    assert not [p for p in git_repo.iterdir() if "prodfix-tmp" in p.name]


def test_fix_refuses_uncommitted_files_and_writes_nothing(sample_backend: Path) -> None:
    orders = sample_backend / "app" / "orders.py"
    edited = orders.read_text() + "\n# my work in progress\n"
    orders.write_text(edited)
    untracked = sample_backend / "app" / "draft.py"
    untracked.write_text("def f():\n    print('draft')\n")
    before = {p: p.read_bytes() for p in sample_backend.rglob("*.py")}
    out = prodfix(sample_backend, "fix")
    assert out.returncode == 2
    assert b"refusing to rewrite 2 files with uncommitted changes: app/draft.py, app/orders.py" in out.stderr
    assert {p: p.read_bytes() for p in sample_backend.rglob("*.py")} == before
    assert run_git(sample_backend, "stash", "list") == ""
    forced = prodfix(sample_backend, "fix", "--allow-dirty")
    assert forced.returncode == 0
    assert "# my work in progress" in orders.read_text() and "logger.info(" in orders.read_text()
    assert "logger.info('draft')" in untracked.read_text()


def test_unknown_codemod_suggests(tmp_path: Path) -> None:
    result = invoke(tmp_path, "check", "--select", "print-to-loging")
    assert result.exit_code == 2
    assert "unknown codemod 'print-to-loging'; did you mean 'print-to-logging'?" in result.output


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(tmp_path, "diff", "nope")
    assert result.exit_code == 2
    assert "nope: no such file or directory" in result.output


# --- configuration -----------------------------------------------------------------------


def test_yaml_syntax_error_names_file_and_line(git_repo: Path) -> None:
    (git_repo / ".prodfix.yml").write_text("select: [print-to-logging\nignore: []\n")
    (git_repo / "a.py").write_text("print('x')\n")
    out = prodfix(git_repo, "fix")
    assert out.returncode == 2
    assert b".prodfix.yml:" in out.stderr and b"invalid YAML" in out.stderr
    assert (git_repo / "a.py").read_text() == "print('x')\n"


def test_unknown_option_names_key_path_and_line(git_repo: Path) -> None:
    (git_repo / ".prodfix.yml").write_text(
        "select: [print-to-logging]\ncodemods:\n  print-to-logging:\n    logger_nme: log\n"
    )
    result = invoke(git_repo, "check")
    assert result.exit_code == 2
    assert ".prodfix.yml:4: codemods.print-to-logging.logger_nme: unknown option" in result.output


def test_wrong_option_type(git_repo: Path) -> None:
    (git_repo / ".prodfix.yml").write_text("codemods:\n  print-to-logging:\n    except_level: loud\n")
    result = invoke(git_repo, "check")
    assert result.exit_code == 2
    assert "except_level: expected one of 'exception', 'error', got 'loud'" in result.output


def test_options_reach_the_codemod_from_pyproject(git_repo: Path) -> None:
    (git_repo / "pyproject.toml").write_text(
        '[tool.prodfix]\nexclude = ["legacy/**"]\n\n'
        '[tool.prodfix.codemods.print-to-logging]\nlogger_name = "_log"\n'
    )
    (git_repo / "svc.py").write_text("def f():\n    print('hi')\n")
    configure_logging(git_repo)
    (git_repo / "legacy").mkdir()
    (git_repo / "legacy" / "old.py").write_text("def f():\n    print('old')\n")
    commit_all(git_repo)
    result = invoke(git_repo, "fix", "-q")
    assert result.exit_code == 0, result.output
    assert "_log = logging.getLogger(__name__)" in (git_repo / "svc.py").read_text()
    assert (git_repo / "legacy" / "old.py").read_text() == "def f():\n    print('old')\n"
    shown = invoke(git_repo, "config")
    assert "logger_name = '_log'" in shown.output and "pyproject.toml" in shown.output


def test_ignore_turns_a_codemod_off(git_repo: Path) -> None:
    (git_repo / "svc.py").write_text("print('hi')\n")
    result = invoke(git_repo, "check", "--ignore", "PF001")
    assert result.exit_code == 0
    shown = invoke(git_repo, "config", "--ignore", "print-to-logging")
    assert "print-to-logging: off: --ignore" in shown.output


# --- output formats -----------------------------------------------------------------------


def test_check_json_and_github(sample_backend: Path) -> None:
    out = prodfix(sample_backend, "check", "--format", "json")
    assert out.returncode == 1
    items = json.loads(out.stdout)
    assert {
        "codemod": "print-to-logging", "code": "PF001", "path": "app/orders.py", "line": 9,
        "column": 5, "message": "print() -> logger.info()", "fixable": True, "kind": "fix",
    } in items
    assert [i["path"] for i in items] == sorted(i["path"] for i in items)
    assert {i["codemod"] for i in items} == {"print-to-logging", "add-timeouts", "add-retry"}
    gh = prodfix(sample_backend, "check", "--format", "github")
    assert (
        b"::warning file=app/orders.py,line=9,col=5,title=PF001 print-to-logging::print() -> logger.info()"
        in gh.stdout.splitlines()
    )


def test_explain_shows_kept_prints_and_rationale(sample_backend: Path) -> None:
    plain = invoke(sample_backend, "check")
    assert "print kept" not in plain.output
    explained = invoke(sample_backend, "check", "--explain")
    assert "print kept: writes to a file or stream" in explained.output
    assert "problem:" in explained.output and "impact:" in explained.output


def test_clean_tree_exits_0(git_repo: Path) -> None:
    (git_repo / "ok.py").write_text("import logging\n")
    result = invoke(git_repo, "check")
    assert result.exit_code == 0
    assert "1 file scanned, 0 would change" in result.output


def test_profile_names_every_phase_and_the_counts(sample_backend: Path) -> None:
    out = prodfix(sample_backend, "diff", "--profile", "-j", "1")
    assert out.returncode == 0, out.stderr
    table = out.stderr.decode()
    for phase in ("discovery", "prefilter", "parse", "metadata", "add-timeouts", "print-to-logging", "render", "output"):
        assert f"\n{phase} " in table, (phase, table)
    scanned = int(table.split("files scanned ")[1].split(",")[0])
    kept = int(table.split("kept by prefilters ")[1].split(",")[0])
    parsed = int(table.split("parsed ")[1].split(",")[0])
    assert scanned >= kept >= parsed > 0
    # profiling is a side channel: the patch is the same as without it
    assert out.stdout == prodfix(sample_backend, "diff", "-j", "1").stdout


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_pathological_files_are_skipped_with_a_reason_and_the_rest_runs(git_repo: Path, jobs: str) -> None:
    """A generated data module over the time budget, and an expression nested beyond what
    Python parses, end as clear per-file errors; the other files are still fixed (in the
    main process and in pool workers alike)."""
    rows = "".join(f"    'key{i}': [{i}, {i * 2}, 'value {i}'],\n" for i in range(15000))
    (git_repo / "data.py").write_text("DATA = {\n" + rows + "}\n\n\ndef f():\n    print('loaded', len(DATA))\n")
    (git_repo / "chain.py").write_text("def f():\n    print(" + "+".join(["1"] * 50000) + ")\n")
    (git_repo / "ok.py").write_text("def g(x):\n    print('value', x)\n")
    configure_logging(git_repo)
    for index in range(8):  # enough files for a worker pool
        (git_repo / f"more_{index}.py").write_text(f"X = {index}\n")
    commit_all(git_repo)
    out = subprocess.run(
        [prodfix_exe(), "diff", "--file-timeout", "0.5", "-j", jobs], cwd=git_repo, capture_output=True, timeout=120,
    )
    assert out.returncode == 3, out.stderr
    assert b"data.py: skipped: took longer than 0.5 s (--file-timeout)" in out.stderr
    assert b"chain.py: skipped: nested too deeply" in out.stderr
    assert b"diff --git a/ok.py b/ok.py" in out.stdout and b"data.py" not in out.stdout
    # a file over the budget is not cached as such: the next run tries it again
    cached = b"".join(p.read_bytes() for p in (git_repo / ".prodfix_cache").rglob("results-*.json"))
    assert b'"data.py"' not in cached and b'"ok.py"' in cached


def test_pre_commit_hooks_manifest_is_valid_and_runs_real_commands(git_repo: Path) -> None:
    import yaml

    manifest = Path(__file__).parent.parent / ".pre-commit-hooks.yaml"
    check = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(manifest)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    (git_repo / "m.py").write_text("def f(x):\n    return x\n")
    configure_logging(git_repo)
    commit_all(git_repo)
    (git_repo / "m.py").write_text("def f(x):\n    print('value', x)\n")
    run_git(git_repo, "add", "m.py")  # staged, not committed: what a pre-commit hook sees
    for hook in yaml.safe_load(manifest.read_text()):
        program, *args = hook["entry"].split()
        assert program == "prodfix"
        # as pre-commit calls it: the entry, then the staged file names
        out = prodfix(git_repo, *args, "m.py")
        assert out.returncode == (1 if args[0] == "check" else 0), (hook["id"], out.stderr)
    assert "logger.info('value %s', x)" in (git_repo / "m.py").read_text()
