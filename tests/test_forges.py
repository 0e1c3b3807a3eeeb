"""Choosing the forge, the token and the repository from options, CI variables and the remote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prodfix.forges.base import ForgeError
from prodfix.forges.choose import choose, detect, fork_event
from prodfix.forges.github import GitHubForge, api_url_for, repository_from_url
from prodfix.forges.gitlab import GitLabForge
from prodfix.vcs import secrets


@pytest.fixture(autouse=True)
def _forget():
    yield
    secrets.forget()


def test_detect_prefers_the_ci_environment_then_the_remote_host() -> None:
    assert detect("https://git.example.com/o/r.git", {"GITHUB_ACTIONS": "true"}) == "github"
    assert detect("https://git.example.com/o/r.git", {"GITLAB_CI": "true"}) == "gitlab"
    assert detect("https://git.example.com/o/r.git", {"GITHUB_REPOSITORY": "o/r"}) == "github"
    assert detect("https://git.example.com/o/r.git", {"CI_SERVER_URL": "https://git.example.com"}) == "gitlab"
    assert detect("git@github.com:o/r.git", {}) == "github"
    assert detect("https://gitlab.example.com/g/r.git", {}) == "gitlab"
    with pytest.raises(ForgeError, match="pass --forge github or --forge gitlab"):
        detect("/srv/git/r.git", {})


def test_github_repository_and_api_from_the_remote_or_the_environment() -> None:
    assert repository_from_url("git@github.com:octo/service.git") == "octo/service"
    assert repository_from_url("https://github.com/octo/service") == "octo/service"
    assert api_url_for("https://github.com/octo/service.git") == "https://api.github.com"
    assert api_url_for("git@ghe.example.com:octo/service.git") == "https://ghe.example.com/api/v3"
    forge = choose("github", "https://ghe.example.com/octo/service.git", None, None, {"GH_TOKEN": "ghs_abc123"})
    assert isinstance(forge, GitHubForge) and forge.repository == "octo/service"
    assert forge._github.requester.base_url == "https://ghe.example.com/api/v3"
    env = {"GITHUB_TOKEN": "ghs_abc123", "GITHUB_REPOSITORY": "other/name", "GITHUB_API_URL": "https://api.example.com"}
    forge = choose("github", "https://github.com/octo/service.git", None, None, env)
    assert forge.repository == "other/name" and forge._github.requester.base_url == "https://api.example.com"
    assert secrets.redact("token ghs_abc123 leaked") == "token *** leaked"  # registered as soon as read


def test_missing_tokens_name_the_variables() -> None:
    with pytest.raises(ForgeError, match="set GITHUB_TOKEN or GH_TOKEN"):
        choose("github", "https://github.com/o/r.git", None, None, {})
    with pytest.raises(ForgeError, match="set GITLAB_TOKEN"):
        choose("gitlab", "https://gitlab.com/g/r.git", None, None, {})


def test_gitlab_from_ci_variables_or_the_remote() -> None:
    forge = choose(None, "https://gitlab.example.com/g/r.git", None, None, {"GITLAB_CI": "true", "CI_JOB_TOKEN": "job-1",
                                                                            "CI_PROJECT_ID": "42", "CI_SERVER_URL": "https://gl.example.com"})
    assert isinstance(forge, GitLabForge) and forge.project_id == "42" and forge.git_username == "gitlab-ci-token"
    assert forge._gitlab.url == "https://gl.example.com"
    forge = choose("gitlab", "git@gitlab.example.com:g/sub/r.git", None, None, {"GITLAB_TOKEN": "glpat-1"})
    assert forge.project_id == "g/sub/r" and forge._gitlab.url == "https://gitlab.example.com" and forge.git_username == "oauth2"


def test_fork_events_are_recognised(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"repo": {"full_name": "octo/service"}},
                                                  "base": {"repo": {"full_name": "octo/service"}}}}))
    same = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
    assert fork_event(same) is None
    event.write_text(json.dumps({"pull_request": {"head": {"repo": {"full_name": "fork/service"}},
                                                  "base": {"repo": {"full_name": "octo/service"}}}}))
    assert "fork/service" in fork_event(same)
    assert fork_event({"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event)}) is None
    assert fork_event({"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "7", "CI_MERGE_REQUEST_PROJECT_ID": "42"})
    assert fork_event({"CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "42", "CI_MERGE_REQUEST_PROJECT_ID": "42"}) is None


@pytest.mark.parametrize(
    "payload",
    [None, "not json {", "[]", json.dumps({"pull_request": None}),
     json.dumps({"pull_request": {"head": {"repo": None}, "base": {"repo": {"full_name": "octo/service"}}}}),
     json.dumps({"pull_request": {"head": {"repo": {"full_name": ""}}, "base": {"repo": {"full_name": "octo/service"}}}}),
     json.dumps({"pull_request": {"head": "x", "base": {"repo": {"full_name": "octo/service"}}}})],
    ids=["missing", "invalid", "a list", "no pull", "deleted fork", "empty name", "odd shape"],
)
def test_fork_checks_fail_closed_on_an_event_they_cannot_read(tmp_path: Path, payload) -> None:
    event = tmp_path / "event.json"
    if payload is not None:
        event.write_text(payload)
    why = fork_event({"GITHUB_EVENT_NAME": "pull_request_target", "GITHUB_EVENT_PATH": str(event)})
    assert why is not None and "may be for a fork" in why and str(event) in why
    assert "GITHUB_EVENT_PATH is not set" in fork_event({"GITHUB_EVENT_NAME": "pull_request"})
    assert "source project is not known" in fork_event({"CI_PIPELINE_SOURCE": "merge_request_event"})
    assert "source project is not known" in fork_event({"CI_MERGE_REQUEST_PROJECT_ID": "42"})
