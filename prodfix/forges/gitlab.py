"""GitLab merge requests through python-gitlab (gitlab.com or a self-managed instance)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import gitlab
from gitlab.exceptions import GitlabError

from prodfix.forges.base import AlreadyExists, Forge, ForgeError, PullRequest
from prodfix.vcs.secrets import redact

DRAFT = "Draft: "
STATES = {"opened": "open", "closed": "closed", "merged": "merged", "locked": "closed"}


def server_url_for(remote: str) -> str | None:
    """``https://host`` of an https or ssh GitLab remote URL."""
    if "://" in remote:
        parts = urlsplit(remote)
        if parts.scheme in ("http", "https"):
            return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
        return f"https://{parts.hostname}" if parts.hostname else None  # ssh://git@host:2222/...
    match = re.match(r"^[^@/]+@([^:/]+):", remote)
    return f"https://{match.group(1)}" if match else None


def project_from_url(remote: str) -> str | None:
    """``group/subgroup/name`` from a GitLab remote URL."""
    path = urlsplit(remote).path if "://" in remote else remote.split(":", 1)[-1]
    path = path.strip("/").removesuffix(".git")
    return path or None


def _message(exc: GitlabError) -> str:
    return redact(f"{exc.response_code or ''} {exc.error_message}".strip())


class GitLabForge(Forge):
    name = "gitlab"
    kind = "merge request"

    def __init__(self, token: str, project: str, url: str, job_token: bool = False) -> None:
        self.token = token
        self.project_id = project
        # a personal/project access token authenticates git as any user ("oauth2" by custom);
        # a CI job token only as gitlab-ci-token
        self.git_username = "gitlab-ci-token" if job_token else "oauth2"
        credentials = {"job_token": token} if job_token else {"private_token": token}
        self._gitlab = gitlab.Gitlab(url.rstrip("/"), timeout=30, retry_transient_errors=True, **credentials)
        self._project = self._gitlab.projects.get(project, lazy=True)
        self._objects: dict[int, object] = {}

    def _call(self, what: str, call):
        try:
            return call()
        except GitlabError as exc:
            raise ForgeError(f"GitLab {what} on {self.project_id}: {_message(exc)}") from None
        except OSError as exc:
            raise ForgeError(redact(f"GitLab {what} on {self.project_id}: {exc}")) from None

    def _pull(self, mr) -> PullRequest:
        self._objects[mr.iid] = mr
        title = mr.title or ""
        return PullRequest(mr.iid, mr.web_url, STATES.get(mr.state, "closed"), title.removeprefix(DRAFT), mr.description or "")

    def _list(self, head: str, base: str, state: str) -> list[PullRequest]:
        found = self._call("listing merge requests", lambda: self._project.mergerequests.list(
            state=state, source_branch=head, target_branch=base, order_by="created_at", sort="desc", per_page=30,
            get_all=False,
        ))
        return [pull for pull in map(self._pull, found) if pull.ours]

    def open_pull(self, head: str, base: str) -> PullRequest | None:
        ours = self._list(head, base, "opened")
        return ours[0] if ours else None

    def closed_pulls(self, head: str, base: str) -> list[PullRequest]:
        pulls = self._list(head, base, "closed") + self._list(head, base, "merged")
        return sorted(pulls, key=lambda p: -p.number)

    def create_pull(self, head: str, base: str, title: str, body: str, draft: bool) -> PullRequest:
        data = {"source_branch": head, "target_branch": base, "title": (DRAFT if draft else "") + title, "description": body}
        try:
            mr = self._project.mergerequests.create(data)
        except GitlabError as exc:
            if exc.response_code == 409:  # "Another open merge request already exists for this source branch"
                raise AlreadyExists(_message(exc)) from None
            raise ForgeError(f"GitLab creating a merge request on {self.project_id}: {_message(exc)}") from None
        return self._pull(mr)

    def _get(self, pull: PullRequest):
        if pull.number in self._objects:
            return self._objects[pull.number]
        return self._call(f"reading !{pull.number}", lambda: self._project.mergerequests.get(pull.number))

    def update_pull(self, pull: PullRequest, title: str, body: str) -> PullRequest:
        mr = self._get(pull)
        mr.title = (DRAFT if (mr.title or "").startswith(DRAFT) else "") + title
        mr.description = body
        self._call(f"updating !{pull.number}", mr.save)
        return self._pull(mr)

    def close_pull(self, pull: PullRequest, comment: str) -> None:
        mr = self._get(pull)
        self._call(f"commenting on !{pull.number}", lambda: mr.notes.create({"body": comment}))
        mr.state_event = "close"
        self._call(f"closing !{pull.number}", mr.save)

    def add_labels(self, pull: PullRequest, labels: list[str]) -> None:
        self._call(
            f"labelling !{pull.number}",
            lambda: self._project.mergerequests.update(pull.number, {"add_labels": ",".join(labels)}),
        )

    def request_reviewers(self, pull: PullRequest, reviewers: list[str]) -> None:
        ids = []
        for name in reviewers:
            users = self._call(f"looking up {name}", lambda: self._gitlab.users.list(username=name, get_all=False))
            if not users:
                raise ForgeError(f"no GitLab user named {name}")
            ids.append(users[0].id)
        self._call(
            f"requesting reviews on !{pull.number}",
            lambda: self._project.mergerequests.update(pull.number, {"reviewer_ids": ids}),
        )
