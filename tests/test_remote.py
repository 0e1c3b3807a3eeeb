"""Pushing the bot's branch: token only in git's environment, lease against the sha we read."""

from __future__ import annotations

import base64
import os
import shutil
import stat
from pathlib import Path

import pytest

from conftest import commit_all, run_git, serve_over_http
from prodfix.vcs import secrets
from prodfix.vcs.remote import (
    Credentials,
    LeaseRejected,
    RemoteError,
    auth_environment,
    fetch_branch,
    push_branch,
    url_prefix,
)

TOKEN = "ghs_" + "T0kenValue" * 4
USER = "x-access-token"


@pytest.fixture
def served(tmp_path: Path, git_repo: Path):
    """A local repository whose `origin` is a Basic-auth smart-HTTP remote holding its main."""
    (git_repo / "app.py").write_text("x = 1\n")
    commit_all(git_repo)
    server, bare = serve_over_http(git_repo, tmp_path / "remotes", "app.git", USER, TOKEN)
    yield git_repo, server, bare
    server.stop()
    secrets.forget()


def _commit_on_top(repo: Path, text: str) -> str:
    (repo / "app.py").write_text(text)
    run_git(repo, "add", "app.py")
    tree = run_git(repo, "write-tree").strip()
    sha = run_git(repo, "commit-tree", tree, "-p", "HEAD", "-m", "bot").strip()
    run_git(repo, "checkout", "-q", "--", ".")
    run_git(repo, "reset", "-q")
    return sha


def _tree_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_push_authenticates_with_a_header_and_leaves_the_token_nowhere(served, tmp_path: Path, monkeypatch) -> None:
    repo, server, bare = served
    # every git command line prodfix runs is logged by a shim in front of the real git
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    log = tmp_path / "argv.log"
    shim = shim_dir / "git"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {shutil.which("git")} "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{shim_dir}{os.pathsep}{os.environ['PATH']}")
    # actions/checkout leaves a header of its own in .git/config: ours must replace it
    prefix = url_prefix(server.url("app.git"))
    run_git(repo, "config", f"http.{prefix}.extraheader", "AUTHORIZATION: basic c3RhbGU6c3RhbGU=")

    env = auth_environment(server.url("app.git"), Credentials(TOKEN, USER))
    assert fetch_branch(repo, "origin", "prodfix/hardening", env) is None
    sha = _commit_on_top(repo, "x = 2\n")
    push_branch(repo, "origin", sha, "prodfix/hardening", None, env)
    assert run_git(bare, "rev-parse", "refs/heads/prodfix/hardening").strip() == sha
    assert fetch_branch(repo, "origin", "prodfix/hardening", env) == sha

    expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    assert server.requests and all(seen.authorization == [expected] for seen in server.requests)
    assert any(seen.method == "POST" and seen.path.endswith("git-receive-pack") for seen in server.requests)
    encoded = base64.b64encode(f"{USER}:{TOKEN}".encode())
    for where in (repo / ".git", bare):
        data = _tree_bytes(where)
        assert TOKEN.encode() not in data and encoded not in data
    argv = log.read_text()
    assert "push" in argv and TOKEN not in argv and encoded.decode() not in argv


def test_lease_refuses_a_branch_that_moved_since_it_was_read(served) -> None:
    repo, server, bare = served
    env = auth_environment(server.url("app.git"), Credentials(TOKEN, USER))
    first = _commit_on_top(repo, "x = 2\n")
    push_branch(repo, "origin", first, "prodfix/hardening", None, env)
    seen = fetch_branch(repo, "origin", "prodfix/hardening", env)
    # someone pushes in between
    human = _commit_on_top(repo, "x = 'human'\n")
    run_git(repo, "push", "-q", str(bare), f"+{human}:refs/heads/prodfix/hardening")
    ours = _commit_on_top(repo, "x = 3\n")
    with pytest.raises(LeaseRejected, match="changed while prodfix was building it"):
        push_branch(repo, "origin", ours, "prodfix/hardening", seen, env)
    assert run_git(bare, "rev-parse", "refs/heads/prodfix/hardening").strip() == human
    # "must not exist" is a lease too
    with pytest.raises(LeaseRejected):
        push_branch(repo, "origin", ours, "prodfix/hardening", None, env)


def test_a_wrong_or_missing_token_fails_with_a_redacted_message(served) -> None:
    repo, server, _ = served
    with pytest.raises(RemoteError) as no_token:
        fetch_branch(repo, "origin", "main", auth_environment(server.url("app.git"), None))
    assert "ls-remote failed" in str(no_token.value)
    # a URL that echoes the token back in git's error message
    run_git(repo, "remote", "add", "echo", server.url(f"{TOKEN}.git"))
    with pytest.raises(RemoteError) as echoed:
        fetch_branch(repo, "echo", "main", auth_environment(server.url("app.git"), Credentials(TOKEN, USER)))
    assert TOKEN not in str(echoed.value) and secrets.MASK in str(echoed.value)


def test_ssh_and_local_remotes_get_no_header() -> None:
    assert url_prefix("git@github.com:o/r.git") is None
    assert url_prefix("/srv/git/r.git") is None
    assert url_prefix("https://user@github.example.com:8443/o/r.git") == "https://github.example.com:8443/"
    env = auth_environment("git@github.com:o/r.git", Credentials(TOKEN, USER))
    assert env == {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
    secrets.forget()


def test_existing_git_config_count_entries_are_kept(monkeypatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    env = auth_environment("https://github.com/o/r.git", Credentials(TOKEN, USER))
    assert env["GIT_CONFIG_COUNT"] == "3"
    assert env["GIT_CONFIG_KEY_1"] == env["GIT_CONFIG_KEY_2"] == "http.https://github.com/.extraheader"
    assert env["GIT_CONFIG_VALUE_1"] == "" and env["GIT_CONFIG_VALUE_2"].startswith("Authorization: Basic ")
    assert secrets.redact(f"token {TOKEN} and {env['GIT_CONFIG_VALUE_2']}") == "token *** and Authorization: Basic ***"
    secrets.forget()
