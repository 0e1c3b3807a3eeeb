"""GitHub (and GitHub Enterprise Server) pull requests through PyGithub.

PyGithub's default retry honours ``Retry-After`` and GitHub's secondary rate limits. Errors are
turned into ForgeError with GitHub's message, redacted.
"""

from __future__ import annotations

import itertools
import re
from urllib.parse import urlsplit

import github
from github import Auth, Github, GithubException

from prodfix.forges.base import AlreadyExists, Forge, ForgeError, PullRequest
from prodfix.vcs.secrets import redact

PUBLIC_API = "https://api.github.com"


def api_url_for(remote: str) -> str:
    """github.com → api.github.com; an Enterprise host serves its API under /api/v3."""
    host = _host(remote)
    return PUBLIC_API if host in (None, "github.com") else f"https://{host}/api/v3"


def repository_from_url(remote: str) -> str | None:
    """``owner/name`` from an https or ssh GitHub remote URL."""
    match = re.search(r"[:/]([^/:]+)/([^/]+?)(?:\.git)?/?$", remote)
    return f"{match.group(1)}/{match.group(2)}" if match else None


def _host(remote: str) -> str | None:
    if "://" in remote:
        return urlsplit(remote).hostname
    match = re.match(r"^[^@/]+@([^:/]+):", remote)  # git@github.com:owner/repo.git
    return match.group(1) if match else None


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    details = [str(e.get("message") or e.get("code") or e) if isinstance(e, dict) else str(e) for e in data.get("errors", [])]
    text = f"{exc.status} {data.get('message') or exc.message or 'error'}" + (f" ({'; '.join(details)})" if details else "")
    return redact(text)


class GitHubForge(Forge):
    name = "github"
    git_username = "x-access-token"

    def __init__(self, token: str, repository: str, api_url: str = PUBLIC_API, seconds_between_writes: float = 1.0) -> None:
        self.token = token
        self.repository = repository
        self.owner = repository.split("/", 1)[0]
        self._github = Github(
            auth=Auth.Token(token), base_url=api_url.rstrip("/"), timeout=30,
            seconds_between_writes=seconds_between_writes, user_agent="prodfix", lazy=True,
        )
        self._repo = self._github.get_repo(repository)  # lazy: no request until one is needed
        self._objects: dict[int, object] = {}  # PyGithub objects of the pull requests seen

    def _call(self, what: str, call):
        try:
            return call()
        except GithubException as exc:
            raise ForgeError(f"GitHub {what} on {self.repository}: {_message(exc)}") from None
        except github.BadAttributeException as exc:
            raise ForgeError(redact(f"GitHub {what} on {self.repository}: unexpected response ({exc})")) from None
        except OSError as exc:
            raise ForgeError(redact(f"GitHub {what} on {self.repository}: {exc}")) from None

    def _pull(self, pr) -> PullRequest:
        self._objects[pr.number] = pr
        state = "merged" if pr.merged_at is not None else pr.state
        return PullRequest(pr.number, pr.html_url, state, pr.title or "", pr.body or "")

    def _list(self, head: str, base: str, state: str) -> list:
        pulls = self._repo.get_pulls(state=state, head=f"{self.owner}:{head}", base=base, sort="created", direction="desc")
        return list(itertools.islice(pulls, 30))  # newest first; older ones do not matter

    def open_pull(self, head: str, base: str) -> PullRequest | None:
        found = self._call("listing pull requests", lambda: self._list(head, base, "open"))
        ours = [pull for pull in map(self._pull, found) if pull.ours]
        return ours[0] if ours else None

    def closed_pulls(self, head: str, base: str) -> list[PullRequest]:
        found = self._call("listing pull requests", lambda: self._list(head, base, "closed"))
        return [pull for pull in map(self._pull, found) if pull.ours]

    def create_pull(self, head: str, base: str, title: str, body: str, draft: bool) -> PullRequest:
        try:
            pr = self._repo.create_pull(base=base, head=head, title=title, body=body, draft=draft)
        except GithubException as exc:
            if exc.status == 422 and "already exists" in _message(exc):
                raise AlreadyExists(_message(exc)) from None
            raise ForgeError(f"GitHub creating a pull request on {self.repository}: {_message(exc)}") from None
        return self._pull(pr)

    def _get(self, pull: PullRequest):
        if pull.number in self._objects:
            return self._objects[pull.number]
        return self._call(f"reading #{pull.number}", lambda: self._repo.get_pull(pull.number))

    def update_pull(self, pull: PullRequest, title: str, body: str) -> PullRequest:
        pr = self._get(pull)
        self._call(f"updating #{pull.number}", lambda: pr.edit(title=title, body=body))
        return PullRequest(pull.number, pull.url, pull.state, title, body)

    def close_pull(self, pull: PullRequest, comment: str) -> None:
        pr = self._get(pull)
        self._call(f"commenting on #{pull.number}", lambda: pr.create_issue_comment(comment))
        self._call(f"closing #{pull.number}", lambda: pr.edit(state="closed"))

    def add_labels(self, pull: PullRequest, labels: list[str]) -> None:
        # PyGithub's add_to_labels posts a bare array, which GitHub accepts but its OpenAPI
        # description does not have; the documented object form goes through its requester.
        url = f"{self._repo.url}/issues/{pull.number}/labels"
        self._call(
            f"labelling #{pull.number}",
            lambda: self._github.requester.requestJsonAndCheck("POST", url, input={"labels": labels}),
        )

    def request_reviewers(self, pull: PullRequest, reviewers: list[str]) -> None:
        pr = self._get(pull)
        users = [r for r in reviewers if "/" not in r]
        teams = [r.split("/", 1)[1] for r in reviewers if "/" in r]  # org/team-slug
        self._call(f"requesting reviews on #{pull.number}", lambda: pr.create_review_request(reviewers=users, team_reviewers=teams))
