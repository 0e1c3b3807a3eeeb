"""`prodfix pr` against GitLab: real python-gitlab talking to a loopback fake of the documented
merge request API, and real git pushing over authenticated smart HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import commit_all, run_git, serve_over_http
from gitlab_fake import FakeGitLab
from helpers import publish_print_fixes
from prodfix.forges.gitlab import GitLabForge, project_from_url, server_url_for
from prodfix.vcs import secrets
from prodfix.vcs.remote import Credentials, auth_environment
from test_cli import prodfix

TOKEN = "glpat-" + "Pr0dfixTest" * 3
BRANCH = "prodfix/hardening"


@pytest.fixture
def gitlab(tmp_path: Path, sample_backend: Path):
    git_server, bare = serve_over_http(sample_backend, tmp_path / "remotes", "group/service.git", "oauth2", TOKEN)
    api = FakeGitLab(token=TOKEN).start()
    env = {"GITLAB_CI": "true", "GITLAB_TOKEN": TOKEN, "CI_SERVER_URL": api.base_url, "CI_PROJECT_ID": "42"}
    yield sample_backend, bare, api, git_server, env
    api.stop()
    git_server.stop()
    secrets.forget()


def test_pr_opens_a_draft_merge_request_then_changes_nothing(gitlab) -> None:
    repo, bare, api, git_server, env = gitlab
    out = prodfix(repo, "pr", "--draft", "--label", "prodfix", "--reviewer", "alice", "--format", "json", env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["status"], data["number"], data["pushed"]) == ("created", 1, True)
    assert data["url"] == "https://gitlab.invalid/group/service/-/merge_requests/1"
    assert run_git(bare, "rev-parse", f"refs/heads/{BRANCH}").strip() == data["head_sha"]
    mr = api.mrs[1]
    assert mr["title"] == "Draft: prodfix: production-readiness fixes" and mr["labels"] == ["prodfix"] and mr["reviewers"] == [7]
    assert "# prodfix production-readiness report" in mr["description"]
    assert api.violations == []
    assert TOKEN.encode() not in out.stdout + out.stderr

    writes = [r for r in api.requests if r[0] != "GET"]
    pushes = [s for s in git_server.requests if s.path.endswith("git-receive-pack")]
    again = prodfix(repo, "pr", "--draft", "--format", "json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "unchanged"  # the Draft: prefix is not a difference
    assert [r for r in api.requests if r[0] != "GET"] == writes
    assert [s for s in git_server.requests if s.path.endswith("git-receive-pack")] == pushes
    assert api.violations == []


def test_lost_race_closed_merge_request_and_base_with_the_changes(gitlab) -> None:
    repo, _, api, git_server, _ = gitlab
    forge = GitLabForge(TOKEN, "42", api.base_url)
    env = auth_environment(git_server.url("group/service.git"), Credentials(TOKEN, forge.git_username))
    api.race_on_create = True
    raced = publish_print_fixes(repo, forge, env)
    assert (raced.status, raced.pull.number) == ("updated", 1) and len(api.mrs) == 1

    api.mrs[1]["state"] = "closed"
    assert publish_print_fixes(repo, forge, env).status == "skipped"

    (repo / "app" / "extra.py").write_text("def hello():\n    print('hello')\n")
    commit_all(repo)
    fresh = publish_print_fixes(repo, forge, env, reviewers=("nobody",))
    assert (fresh.status, fresh.pull.number) == ("created", 2)
    assert fresh.warnings == ["could not add reviewers nobody to #2: no GitLab user named nobody"]

    run_git(repo, "merge", "-q", "--ff-only", fresh.head_sha)
    closed = publish_print_fixes(repo, forge, env)
    assert (closed.status, closed.pull.number) == ("closed", 2)
    assert api.mrs[2]["state"] == "closed" and api.notes[-1][0] == 2
    assert api.violations == []


def test_a_job_token_authenticates_git_as_gitlab_ci_token() -> None:
    forge = GitLabForge(TOKEN, "group/service", "https://gitlab.example.com", job_token=True)
    assert forge.git_username == "gitlab-ci-token"
    assert GitLabForge(TOKEN, "42", "https://gitlab.example.com").git_username == "oauth2"
    assert server_url_for("git@gitlab.example.com:group/sub/service.git") == "https://gitlab.example.com"
    assert server_url_for("https://oauth2@gitlab.example.com:8443/group/service.git") == "https://gitlab.example.com:8443"
    assert project_from_url("git@gitlab.example.com:group/sub/service.git") == "group/sub/service"
    assert project_from_url("https://gitlab.example.com/group/service.git") == "group/service"
    secrets.forget()
