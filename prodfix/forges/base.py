"""What prodfix needs from a code forge: find, create, update and close its own pull request.

A new forge is a file implementing :class:`Forge`; the create/update/close decisions live in
``prodfix.vcs.pull_request`` and never see a forge's API.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

MARKER = "<!-- prodfix:v1 "  # every body prodfix writes ends with this marker (output/report.py)


class ForgeError(Exception):
    """A forge call failed; the message is safe to print (redacted)."""


class AlreadyExists(ForgeError):
    """Creating the pull request lost a race: one for this head branch exists already."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    state: str  # "open", "closed" (unmerged) or "merged"
    title: str
    body: str

    @property
    def ours(self) -> bool:
        return MARKER in self.body


class Forge(ABC):
    name: str  # "github", "gitlab"
    git_username: str  # the HTTP Basic user git authenticates the token as
    token: str
    kind: str = "pull request"  # what the forge calls it, for messages

    @abstractmethod
    def open_pull(self, head: str, base: str) -> PullRequest | None:
        """prodfix's open pull request from ``head`` into ``base``, if any."""

    @abstractmethod
    def closed_pulls(self, head: str, base: str) -> list[PullRequest]:
        """prodfix's closed or merged pull requests from ``head``, newest first."""

    @abstractmethod
    def create_pull(self, head: str, base: str, title: str, body: str, draft: bool) -> PullRequest:
        """Raises AlreadyExists when an open one for ``head`` exists (a concurrent run)."""

    @abstractmethod
    def update_pull(self, pull: PullRequest, title: str, body: str) -> PullRequest: ...

    @abstractmethod
    def close_pull(self, pull: PullRequest, comment: str) -> None: ...

    @abstractmethod
    def add_labels(self, pull: PullRequest, labels: list[str]) -> None: ...

    @abstractmethod
    def request_reviewers(self, pull: PullRequest, reviewers: list[str]) -> None: ...
