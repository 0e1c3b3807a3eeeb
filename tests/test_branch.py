"""`prodfix fix --branch`: one commit per codemod, and the user's checkout left exactly as it was."""

from __future__ import annotations

import hashlib
import json
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import commit_all, configure_logging, run_git
from test_cli import prodfix

BRANCH = "prodfix/hardening"


def _snapshot(repo: Path) -> dict[str, object]:
    """Everything of the checkout a user could notice: files, index, HEAD, status, diffs."""
    files = {
        p.relative_to(repo).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts and ".prodfix_cache" not in p.parts
    }
    return {
        "files": files,
        "index": hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest(),
        "head": (repo / ".git" / "HEAD").read_text(),
        "status": run_git(repo, "status", "--porcelain=v1", "--untracked-files=all"),
        "diff": run_git(repo, "diff"),
        "cached": run_git(repo, "diff", "--cached"),
        "worktrees": run_git(repo, "worktree", "list", "--porcelain"),
    }


def _dirty(repo: Path) -> None:
    (repo / "app" / "orders.py").write_text((repo / "app" / "orders.py").read_text() + "\n# unstaged edit\n")
    (repo / "app" / "store.py").write_text((repo / "app" / "store.py").read_text() + "\n# staged edit\n")
    run_git(repo, "add", "app/store.py")
    (repo / "app" / "scratch.py").write_text("print('untracked')\n")


def test_branch_commits_per_codemod_and_leaves_the_checkout_alone(sample_backend: Path, tmp_path: Path) -> None:
    base = run_git(sample_backend, "rev-parse", "HEAD").strip()
    _dirty(sample_backend)
    before = _snapshot(sample_backend)
    out = prodfix(sample_backend, "fix", "--branch")
    assert out.returncode == 0, out.stderr
    assert f"branch {BRANCH} created".encode() in out.stderr
    assert _snapshot(sample_backend) == before

    log = run_git(sample_backend, "log", "--reverse", "--format=%s|%an <%ae>|%cn <%ce>", f"{base}..{BRANCH}").splitlines()
    assert [line.split("|")[0] for line in log] == [
        "prodfix: timeouts on HTTP, Redis, database, SMTP/FTP and socket clients that have none",
        "prodfix: tenacity @retry with bounded exponential backoff on start-up connection functions",
        "prodfix: print() diagnostics become calls on the module logger with lazy arguments",
    ]
    assert all(line.split("|")[1] == line.split("|")[2] == "prodfix <prodfix@users.noreply.invalid>" for line in log)
    body = run_git(sample_backend, "log", "-1", "--format=%B", f"{BRANCH}~1")
    assert "PF003 add-retry (high)." in body and "- requirements.txt" in body and "- app/database.py" in body
    # the uncommitted edits are not on the branch: it starts from the last commit
    assert "# unstaged edit" not in run_git(sample_backend, "show", f"{BRANCH}:app/orders.py")
    assert "scratch.py" not in run_git(sample_backend, "ls-tree", "-r", "--name-only", BRANCH)

    # the branch holds what `prodfix diff` shows on a clean checkout of the same commit
    clean = tmp_path / "clean"
    subprocess.run(["git", "clone", "-q", str(sample_backend), str(clean)], check=True)
    patch = prodfix(clean, "diff", "--no-cache").stdout.decode()
    branch_diff = run_git(sample_backend, "diff", base, BRANCH)
    changed = sorted(line for line in patch.splitlines() if line[:1] in "+-")
    assert changed and changed == sorted(line for line in branch_diff.splitlines() if line[:1] in "+-")
    # and the sample's own tests pass on it
    run_git(clean, "fetch", "-q", "origin", f"{BRANCH}:{BRANCH}")
    run_git(clean, "checkout", "-q", BRANCH)
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=clean, capture_output=True, text=True
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_rerun_with_nothing_new_keeps_the_branch(sample_backend: Path) -> None:
    assert prodfix(sample_backend, "fix", "--branch").returncode == 0
    tip = run_git(sample_backend, "rev-parse", BRANCH)
    again = prodfix(sample_backend, "fix", "--branch")
    assert again.returncode == 0 and b"unchanged" in again.stderr
    assert run_git(sample_backend, "rev-parse", BRANCH) == tip
    # a new commit on the base: the branch is rebuilt on it
    (sample_backend / "README.md").write_text("docs\n")
    commit_all(sample_backend, "docs")
    moved = prodfix(sample_backend, "fix", "--branch")
    assert b"updated" in moved.stderr
    assert run_git(sample_backend, "rev-parse", f"{BRANCH}~3").strip() == run_git(sample_backend, "rev-parse", "HEAD").strip()


def test_commits_by_someone_else_are_not_overwritten(sample_backend: Path) -> None:
    assert prodfix(sample_backend, "fix", "--branch", "bot/fixes").returncode == 0
    run_git(sample_backend, "checkout", "-q", "bot/fixes")
    (sample_backend / "NOTES.md").write_text("reviewer's note\n")
    commit_all(sample_backend, "a human commit")  # run_git's identity: test <test@example.invalid>
    human = run_git(sample_backend, "rev-parse", "HEAD")
    run_git(sample_backend, "checkout", "-q", "main")
    refused = prodfix(sample_backend, "fix", "--branch", "bot/fixes")
    assert refused.returncode == 2 and b"has commits by test <test@example.invalid>" in refused.stderr
    assert run_git(sample_backend, "rev-parse", "bot/fixes") == human
    forced = prodfix(sample_backend, "fix", "--branch", "bot/fixes", "--force")
    assert forced.returncode == 0 and run_git(sample_backend, "rev-parse", "bot/fixes") != human


def test_refuses_the_checked_out_branch_and_bad_names(sample_backend: Path) -> None:
    out = prodfix(sample_backend, "fix", "--branch", "main")
    assert out.returncode == 2 and b"checked out here" in out.stderr
    bad = prodfix(sample_backend, "fix", "--branch", "bad..name")
    assert bad.returncode == 2 and b"not a valid branch name" in bad.stderr
    run_git(sample_backend, "checkout", "-q", "--detach")
    for name in ("@", "@{-1}", "main@{1}"):  # git would expand these into other names
        expanded = prodfix(sample_backend, "fix", "--branch", name)
        assert expanded.returncode == 2 and b"not a valid branch name" in expanded.stderr, name
    assert run_git(sample_backend, "for-each-ref", "--format=%(refname)", "refs/heads/") == "refs/heads/main\n"
    run_git(sample_backend, "checkout", "-q", "main")
    run_git(sample_backend, "worktree", "add", "-q", "-b", "review", str(sample_backend.parent / "other-tree"))
    elsewhere = prodfix(sample_backend, "fix", "--branch", "review")
    assert elsewhere.returncode == 2 and b"checked out in another worktree" in elsewhere.stderr


def test_author_signoff_and_no_user_hooks(sample_backend: Path) -> None:
    hooks = sample_backend / ".git" / "hooks"
    for name in ("pre-commit", "commit-msg", "post-commit", "post-checkout"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho ran >> '{sample_backend / ('hook-' + name)}'\n")
        hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    out = prodfix(sample_backend, "fix", "--branch", "--author", "Ops Bot <ops@example.com>", "--signoff")
    assert out.returncode == 0, out.stderr
    assert not list(sample_backend.glob("hook-*"))
    last = run_git(sample_backend, "log", "-1", "--format=%an <%ae>%n%B", BRANCH)
    assert last.startswith("Ops Bot <ops@example.com>\n")
    assert "Signed-off-by: Ops Bot <ops@example.com>" in last
    wrong = prodfix(sample_backend, "fix", "--branch", "--author", "no email")
    assert wrong.returncode == 2 and b"Name <email>" in wrong.stderr


def _verify_repo(repo: Path, breaking: str = "print-to-logging") -> None:
    (repo / "app").mkdir()
    (repo / "app" / "__init__.py").write_text("")
    (repo / "app" / "report.py").write_text("def show(x):\n    print('total', x)\n")
    configure_logging(repo)
    (repo / "app" / "net.py").write_text("import requests\n\n\ndef fetch(url):\n    return requests.get(url)\n")
    (repo / "tests").mkdir()
    show_check = "capsys.readouterr().out == 'total 3\\n'" if breaking == "print-to-logging" else "True"
    fetch_check = "net.fetch('http://x') == ('ok', {})" if breaking == "add-timeouts" else "True"
    (repo / "tests" / "test_app.py").write_text(
        "from app import net, report\n\n\n"
        "def test_show(capsys):  # print-to-logging changes what it writes\n"
        "    report.show(3)\n"
        f"    assert {show_check}\n\n\n"
        "def test_fetch(monkeypatch):  # add-timeouts changes the arguments\n"
        "    monkeypatch.setattr(net.requests, 'get', lambda url, **kw: ('ok', kw))\n"
        "    net.fetch('http://x')\n"
        f"    assert {fetch_check}\n"
    )
    commit_all(repo)


def _pytest_command() -> str:
    return f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider tests"


@pytest.mark.parametrize("breaking", ["print-to-logging", "add-timeouts"])
def test_verify_drops_exactly_the_breaking_codemod(git_repo: Path, breaking: str) -> None:
    _verify_repo(git_repo, breaking)
    base = run_git(git_repo, "rev-parse", "HEAD").strip()
    out = prodfix(git_repo, "fix", "--branch", "--verify", _pytest_command())
    assert out.returncode == 0, out.stderr
    assert f"passed after dropping {breaking}".encode() in out.stderr
    subjects = run_git(git_repo, "log", "--format=%s", f"{base}..{BRANCH}").splitlines()
    assert len(subjects) == 1 and ("timeouts" in subjects[0]) == (breaking == "print-to-logging")
    net, report = (run_git(git_repo, "show", f"{BRANCH}:app/{name}.py") for name in ("net", "report"))
    assert ("timeout=(10, None)" in net) == (breaking != "add-timeouts")
    assert ("print('total', x)" in report) == (breaking == "print-to-logging")
    assert run_git(git_repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_verify_passing_and_failing_everywhere(sample_backend: Path) -> None:
    ok = prodfix(sample_backend, "fix", "--branch", "--verify", _pytest_command())
    assert ok.returncode == 0 and b": passed" in ok.stderr, ok.stderr
    assert len(run_git(sample_backend, "log", "--format=%s", f"main..{BRANCH}").splitlines()) == 3
    broken = prodfix(sample_backend, "fix", "--branch", "other", "--verify", "exit 1")
    assert b"fails on the base commit too; nothing dropped" in broken.stderr
    assert prodfix(sample_backend, "fix", "--verify", "true").returncode == 2  # needs --branch


def test_json_outcome_and_github_output(sample_backend: Path, tmp_path: Path) -> None:
    outputs = tmp_path / "github_output"
    outputs.write_text("earlier=1\n")
    out = prodfix(sample_backend, "fix", "--branch", "--json", env={"GITHUB_OUTPUT": str(outputs)})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    tip = run_git(sample_backend, "rev-parse", BRANCH).strip()
    assert data["status"] == "created" and data["branch"] == BRANCH and data["head_sha"] == tip
    assert data["base_sha"] == run_git(sample_backend, "rev-parse", "HEAD").strip()
    assert [c["codemod"] for c in data["commits"]] == ["add-timeouts", "add-retry", "print-to-logging"]
    assert data["verification"] is None
    lines = outputs.read_text().splitlines()
    assert lines[0] == "earlier=1" and "status=created" in lines and f"head-sha={tip}" in lines
    again = json.loads(prodfix(sample_backend, "fix", "--branch", "--json").stdout)
    assert again["status"] == "unchanged" and again["head_sha"] == tip and again["commits"] == []
