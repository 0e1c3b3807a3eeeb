"""Which forge, which token, which repository: from options, the CI environment, the remote URL.

Tokens come from the environment only (never an option: a command line is visible to every
process on the machine) and are registered for redaction as soon as they are read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from prodfix.forges.base import Forge, ForgeError
from prodfix.vcs.defaults import FORGE_KINDS as KINDS
from prodfix.vcs.secrets import register



def detect(remote_url: str, environ: Mapping[str, str]) -> str:
    if environ.get("GITHUB_ACTIONS") == "true" or environ.get("GITHUB_REPOSITORY") or environ.get("GITHUB_API_URL"):
        return "github"
    if environ.get("GITLAB_CI") == "true" or environ.get("CI_SERVER_URL"):
        return "gitlab"
    host = (urlsplit(remote_url).hostname if "://" in remote_url else remote_url.split("@")[-1].split(":")[0]) or ""
    for kind in KINDS:
        if kind in host:
            return kind
    raise ForgeError(f"cannot tell the forge from the remote URL {remote_url!r}; pass --forge github or --forge gitlab")


def choose(kind: str | None, remote_url: str, api_url: str | None, repo: str | None, environ: Mapping[str, str]) -> Forge:
    kind = kind or detect(remote_url, environ)
    if kind == "github":
        from prodfix.forges import github  # PyGithub is imported only when a pull request is opened

        token = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN")
        if not token:
            raise ForgeError(
                "no GitHub token: set GITHUB_TOKEN or GH_TOKEN (in Actions: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`)"
            )
        register(token)
        repository = repo or environ.get("GITHUB_REPOSITORY") or github.repository_from_url(remote_url)
        if not repository:
            raise ForgeError(f"cannot tell the GitHub repository from {remote_url!r}; pass --repo OWNER/NAME")
        api = api_url or environ.get("GITHUB_API_URL") or github.api_url_for(remote_url)
        return github.GitHubForge(token, repository, api)
    if kind == "gitlab":
        from prodfix.forges import gitlab

        token, job = environ.get("GITLAB_TOKEN"), False
        if not token and environ.get("CI_JOB_TOKEN"):
            token, job = environ["CI_JOB_TOKEN"], True
        if not token:
            raise ForgeError("no GitLab token: set GITLAB_TOKEN (a project access token with api and write_repository scopes)")
        register(token)
        project = repo or environ.get("CI_PROJECT_ID") or gitlab.project_from_url(remote_url)
        server = api_url or environ.get("CI_SERVER_URL") or gitlab.server_url_for(remote_url)
        if not project or not server:
            raise ForgeError(f"cannot tell the GitLab project from {remote_url!r}; pass --repo GROUP/NAME and --api-url")
        return gitlab.GitLabForge(token, project, server, job_token=job)
    raise ForgeError(f"unknown forge {kind!r}; choose one of {', '.join(KINDS)}")


def fork_event(environ: Mapping[str, str]) -> str | None:
    """Why this CI run must not push or run anything for the forge, or None.

    A pull request from a fork gets a read-only token (and its code must not run with a
    writable one). The check fails closed: a pull-request event whose payload cannot be read,
    or does not name both repositories, is treated as one from a fork."""
    if environ.get("GITHUB_EVENT_NAME", "").startswith("pull_request"):
        head, base, problem = _github_event_repos(environ.get("GITHUB_EVENT_PATH", ""))
        if problem:
            return f"this run is for a pull request and {problem}; not pushing from a run that may be for a fork"
        if head != base:
            return f"this run is for a pull request from the fork {head}; its token cannot push to {base}"
    source = environ.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID")
    target = environ.get("CI_MERGE_REQUEST_PROJECT_ID")
    if source or target or environ.get("CI_PIPELINE_SOURCE") == "merge_request_event" or environ.get("CI_MERGE_REQUEST_IID"):
        if not source or not target:
            return "this pipeline is for a merge request whose source project is not known; not pushing from a run that may be for a fork"
        if source != target:
            return "this pipeline is for a merge request from a fork; its token cannot push to the project"
    return None


def _github_event_repos(path: str) -> tuple[str, str, str]:
    """(head repository, base repository, why they cannot be told) from a GitHub event file."""
    if not path:
        return "", "", "GITHUB_EVENT_PATH is not set"
    try:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
    except (OSError, ValueError) as exc:
        return "", "", f"its event file {path} cannot be read ({getattr(exc, 'strerror', None) or exc})"
    pull = event.get("pull_request") if isinstance(event, dict) else None
    names = []
    for side in ("head", "base"):
        part = pull.get(side) if isinstance(pull, dict) else None
        repo = part.get("repo") if isinstance(part, dict) else None
        name = repo.get("full_name") if isinstance(repo, dict) else None
        names.append(name if isinstance(name, str) and name else "")
    if not all(names):
        return "", "", f"its event file {path} does not name the head and base repositories (a deleted fork has none)"
    return names[0], names[1], ""
