"""Hostile repositories: what a contributor commits can never make prodfix reach outside the root.

Each case is the sample backend with one hostile file committed (a manifest, a folder or the
cache linked to somewhere else, by an absolute or a ``../`` link, or to ``/proc/self/environ``).
Every command a CI job runs (check, diff, fix, fix --branch, pr --dry-run, and pr against a
loopback GitHub and git remote) must leave every byte outside the root as it was, and nothing
from outside (a marker in the outside files and in prodfix's own environment) may reach its
output, a commit, the pushed branch or the pull request.
"""

from __future__ import annotations

import hashlib
import os
import secrets as random
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, commit_all, run_git, serve_over_http
from github_fake import FakeGitHub
from prodfix.vcs import secrets
from test_cli import prodfix

TOKEN = "ghs_" + "h0stileT3st" * 4
MARKER = "OUTSIDE-" + random.token_hex(8)


def _outside(folder: Path) -> None:
    folder.mkdir()
    (folder / "secret.txt").write_text(f"requests>=2.31\n{MARKER}\n")
    (folder / "prod.txt").write_text(f"flask\n# {MARKER}\n")
    (folder / "pyproject.toml").write_text(f'[project]\nname = "x"\ndependencies = ["requests"]\n# {MARKER}\n')
    (folder / "results-1.json").write_text(MARKER)
    (folder / "evil.py").write_text(f'def init_db():\n    print("{MARKER}")\n')


def _link(path: Path, target: str | Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    path.symlink_to(target)


CASES = {
    "requirements.txt to an outside file": lambda repo, out: _link(repo / "requirements.txt", out / "secret.txt"),
    "requirements.txt by ../": lambda repo, out: _link(repo / "requirements.txt", Path("..") / out.name / "secret.txt"),
    "requirements.txt to /proc/self/environ": lambda repo, out: _link(repo / "requirements.txt", "/proc/self/environ"),
    "pyproject.toml to an outside file": lambda repo, out: (
        (repo / "requirements.txt").unlink(), _link(repo / "pyproject.toml", out / "pyproject.toml"),
    ),
    "requirements/ to an outside folder": lambda repo, out: (
        (repo / "requirements.txt").unlink(), _link(repo / "requirements", Path("..") / out.name),
    ),
    ".prodfix_cache to an outside folder": lambda repo, out: _link(repo / ".prodfix_cache", out),
    "an -r include of an outside file": lambda repo, out: (repo / "requirements.txt").write_text(
        f"-r ../{out.name}/secret.txt\nsqlalchemy>=2\n"
    ),
}
MANIFEST_LINKS = {name for name in CASES if name.startswith(("requirements", "pyproject"))}


def _state(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: a link's target, a file's hash."""
    state = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            state[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def _objects(repo: Path) -> str:
    """Every commit, tree and blob of a repository, as text (the branch, what was pushed)."""
    return run_git(repo, "log", "--all", "-p", "--binary", "--format=%H%n%B")


@pytest.fixture
def hostile(tmp_path: Path, request):
    outside = tmp_path / "outside"
    _outside(outside)
    repo = tmp_path / "repo"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    shutil.copytree(FIXTURES / "sample_backend", repo, dirs_exist_ok=True)
    CASES[request.param](repo, outside)
    commit_all(repo, "a hostile contribution")
    git_server, bare = serve_over_http(repo, tmp_path / "remotes", "service.git", "x-access-token", TOKEN)
    api = FakeGitHub(owner="octo", repo="service", token=TOKEN).start()
    env = {
        "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": api.base_url, "GITHUB_REPOSITORY": "octo/service",
        "GITHUB_ACTIONS": "true", "PRODFIX_TEST_MARKER": MARKER,  # /proc/self/environ holds it
    }
    yield request.param, repo, outside, bare, api, env
    api.stop()
    git_server.stop()
    secrets.forget()


@pytest.mark.parametrize("hostile", sorted(CASES), indirect=True)
def test_nothing_outside_the_root_is_read_into_output_or_commits_or_changed(hostile) -> None:
    case, repo, outside, bare, api, env = hostile
    before = _state(outside)
    runs = [
        ("check", "--select", "all"),
        ("diff", "--select", "all"),
        ("report", "--select", "all"),
        ("pr", "--select", "all", "--dry-run"),
        ("fix", "--select", "all", "--branch"),
        ("pr", "--select", "all"),
        ("fix", "--select", "all"),
    ]
    for args in runs:
        out = prodfix(repo, *args, env=env)
        shown = out.stdout + out.stderr
        assert out.returncode in (0, 1), (args, out.stderr)
        assert b"Traceback" not in shown, (args, out.stderr)
        assert MARKER.encode() not in shown, args
        assert _state(outside) == before, args
        if case in MANIFEST_LINKS and args[0] == "check":  # reported, left alone
            assert b"symbolic link" in shown, (args, shown)
    for tree in (repo, bare):
        assert MARKER not in _objects(tree)
    assert api.pulls and all(MARKER not in pull["body"] for pull in api.pulls.values())
    if case in MANIFEST_LINKS:  # the link is still a link, pointing where it did
        link = next(p for p in (repo / "requirements.txt", repo / "pyproject.toml", repo / "requirements") if p.is_symlink())
        assert os.readlink(link) == run_git(repo, "show", f"HEAD:{link.name}")
    shown = run_git(repo, "show", "--stat", "prodfix/hardening")
    assert "prodfix:" in shown  # the branch was built: the rest of the run went on


def test_a_link_named_on_the_command_line_does_not_move_the_root(tmp_path: Path, sample_backend: Path) -> None:
    outside = tmp_path / "outside"
    _outside(outside)
    (sample_backend / "app" / "evil.py").symlink_to(outside / "evil.py")
    commit_all(sample_backend, "a link to a file elsewhere")
    before = _state(outside)
    for command in ("check", "diff", "fix", "report"):
        out = prodfix(sample_backend, command, "--select", "all", "app/evil.py")
        assert out.returncode == 2, (command, out.stderr)
        assert b"app/evil.py: outside the project root" in out.stderr, out.stderr
        assert _state(outside) == before
    branch = prodfix(sample_backend, "fix", "--branch", "--select", "all", "app/evil.py")
    assert branch.returncode == 2 and _state(outside) == before
    whole = prodfix(sample_backend, "fix", "--select", "all")  # the link is not a file of the repository
    assert whole.returncode == 0, whole.stderr
    assert _state(outside) == before and (sample_backend / "app" / "evil.py").is_symlink()


def test_a_configuration_file_linked_outside_is_not_read(tmp_path: Path, sample_backend: Path) -> None:
    outside = tmp_path / "outside"
    _outside(outside)
    (outside / "conf.yml").write_text(f"select: [{MARKER}]\n")
    (sample_backend / ".prodfix.yml").symlink_to(outside / "conf.yml")
    commit_all(sample_backend, "config elsewhere")
    out = prodfix(sample_backend, "check")
    assert out.returncode == 2
    assert b".prodfix.yml: a symbolic link that leads outside the repository" in out.stderr
    assert MARKER.encode() not in out.stdout + out.stderr


def test_a_manifest_linked_inside_the_root_is_edited_at_its_target(tmp_path: Path) -> None:
    from prodfix.engine.manifest import declare

    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("redis\n")
    (tmp_path / "requirements.txt").symlink_to("requirements/base.txt")
    edit = declare(tmp_path, ["tenacity>=8"])
    assert (edit.path, edit.new) == ("requirements/base.txt", b"redis\ntenacity>=8\n")
    (tmp_path / "requirements.txt").unlink()
    (tmp_path / "requirements.txt").symlink_to(tmp_path.parent)  # a folder: not a manifest
    assert declare(tmp_path, ["tenacity>=8"]).path == "requirements/base.txt"
