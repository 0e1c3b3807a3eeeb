"""`prodfix pr`'s decisions over an in-memory forge, with real git and a local bare remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import commit_all, configure_logging, run_git
from helpers import publish_print_fixes
from prodfix.forges.base import AlreadyExists, Forge, ForgeError, PullRequest
from prodfix.vcs.branch import BranchError
from prodfix.vcs.pull_request import CLOSE_COMMENT, changes_id, marked_changes
from prodfix.vcs.remote import auth_environment

BRANCH = "prodfix/hardening"


class MemoryForge(Forge):
    name = "memory"
    git_username = "x-access-token"
    token = ""

    def __init__(self) -> None:
        self.pulls: list[dict] = []
        self.comments: list[tuple[int, str]] = []
        self.calls: list[str] = []
        self.fail_labels = False
        self.race: dict | None = None  # a pull request another run creates just before ours

    def _pr(self, p: dict) -> PullRequest:
        return PullRequest(p["number"], f"https://forge.invalid/pr/{p['number']}", p["state"], p["title"], p["body"])

    def open_pull(self, head, base):
        self.calls.append("find-open")
        found = [p for p in self.pulls if p["head"] == head and p["base"] == base and p["state"] == "open"]
        return self._pr(found[0]) if found else None

    def closed_pulls(self, head, base):
        self.calls.append("find-closed")
        return [self._pr(p) for p in reversed(self.pulls) if p["head"] == head and p["state"] != "open"]

    def create_pull(self, head, base, title, body, draft):
        self.calls.append("create")
        if self.race is not None:
            self.pulls.append(self.race)
            self.race = None
        if any(p["head"] == head and p["state"] == "open" for p in self.pulls):
            raise AlreadyExists("A pull request already exists")
        p = {"number": len(self.pulls) + 1, "head": head, "base": base, "state": "open", "title": title, "body": body,
             "draft": draft, "labels": []}
        self.pulls.append(p)
        return self._pr(p)

    def _find(self, pull):
        return next(p for p in self.pulls if p["number"] == pull.number)

    def update_pull(self, pull, title, body):
        self.calls.append("update")
        p = self._find(pull)
        p.update(title=title, body=body)
        return self._pr(p)

    def close_pull(self, pull, comment):
        self.calls.append("close")
        self.comments.append((pull.number, comment))
        self._find(pull)["state"] = "closed"

    def add_labels(self, pull, labels):
        if self.fail_labels:
            raise ForgeError("422 Validation Failed")
        self._find(pull)["labels"] += labels

    def request_reviewers(self, pull, reviewers):
        self._find(pull)["reviewers"] = reviewers


@pytest.fixture
def project(tmp_path: Path, git_repo: Path):
    """A repository with a print to fix, pushed to a local bare `origin`."""
    (git_repo / "app").mkdir()
    (git_repo / "app" / "__init__.py").write_text("")
    (git_repo / "app" / "jobs.py").write_text("def run(n):\n    print('running', n)\n")
    configure_logging(git_repo)
    commit_all(git_repo)
    bare = tmp_path / "origin.git"
    run_git(tmp_path, "init", "-q", "--bare", str(bare))
    run_git(git_repo, "remote", "add", "origin", str(bare))
    run_git(git_repo, "push", "-q", "origin", "main")
    return git_repo, bare


def _run(repo: Path, forge: MemoryForge, **kwargs):
    return publish_print_fixes(repo, forge, auth_environment(str(repo), None), **kwargs)


def _remote_tip(bare: Path) -> str:
    return run_git(bare, "rev-parse", f"refs/heads/{BRANCH}").strip()


def test_create_then_rerun_unchanged_then_base_moves_then_base_has_the_changes(project) -> None:
    repo, bare = project
    forge = MemoryForge()
    first = _run(repo, forge, labels=("prodfix",), reviewers=("alice",), draft=True)
    assert (first.status, first.pushed, first.pull.number) == ("created", True, 1)
    assert _remote_tip(bare) == first.head_sha
    assert forge.pulls[0]["labels"] == ["prodfix"] and forge.pulls[0]["reviewers"] == ["alice"] and forge.pulls[0]["draft"]
    assert marked_changes(first.pull) == changes_id(repo, first.base_sha, first.head_sha)
    assert "logger" in run_git(repo, "show", f"{first.head_sha}:app/jobs.py")
    assert run_git(repo, "branch", "--list", BRANCH) == ""  # no local branch is made

    again = _run(repo, forge)
    assert (again.status, again.pushed) == ("unchanged", False)
    assert _remote_tip(bare) == first.head_sha and forge.calls.count("create") == 1

    (repo / "README").write_text("unrelated\n")
    commit_all(repo)
    run_git(repo, "push", "-q", "origin", "main")
    moved = _run(repo, forge)
    assert (moved.status, moved.pushed, moved.pull.number) == ("updated", True, 1)
    assert run_git(repo, "merge-base", "--is-ancestor", "main", moved.head_sha) == ""
    assert len(forge.pulls) == 1

    run_git(repo, "merge", "-q", "--ff-only", moved.head_sha)  # the PR gets merged
    run_git(repo, "push", "-q", "origin", "main")
    done = _run(repo, forge)
    assert (done.status, done.pull.number) == ("closed", 1)
    assert forge.comments == [(1, CLOSE_COMMENT)] and forge.pulls[0]["state"] == "closed"
    assert _run(repo, forge).status == "unchanged"  # and stays quiet afterwards


def test_a_closed_pull_request_with_the_same_changes_is_not_reopened(project) -> None:
    repo, bare = project
    forge = MemoryForge()
    first = _run(repo, forge)
    forge.pulls[0]["state"] = "closed"  # a reviewer closed it unmerged
    skipped = _run(repo, forge)
    assert (skipped.status, skipped.pushed) == ("skipped", False)
    assert "closed without merging" in skipped.message and len(forge.pulls) == 1
    # new content: a new pull request
    (repo / "app" / "more.py").write_text("def go():\n    print('go')\n")
    commit_all(repo)
    fresh = _run(repo, forge)
    assert (fresh.status, fresh.pull.number, fresh.pushed) == ("created", 2, True)
    assert _remote_tip(bare) == fresh.head_sha != first.head_sha


def test_a_lost_race_updates_the_pull_request_the_other_run_created(project) -> None:
    repo, _ = project
    forge = MemoryForge()
    forge.race = {"number": 7, "head": BRANCH, "base": "main", "state": "open", "title": "old", "body": "old <!-- prodfix:v1 -->"}
    outcome = _run(repo, forge)
    assert (outcome.status, outcome.pull.number) == ("updated", 7)
    assert forge.pulls[0]["title"] == "prodfix: production-readiness fixes" and len(forge.pulls) == 1


def test_labels_failing_is_a_warning_not_a_failure(project) -> None:
    repo, _ = project
    forge = MemoryForge()
    forge.fail_labels = True
    outcome = _run(repo, forge, labels=("hardening",))
    assert outcome.status == "created"
    assert outcome.warnings == ["could not add labels hardening to #1: 422 Validation Failed"]


def test_a_branch_with_someone_elses_commit_is_not_overwritten(project, tmp_path: Path) -> None:
    repo, bare = project
    forge = MemoryForge()
    first = _run(repo, forge)
    other = tmp_path / "other"
    run_git(tmp_path, "clone", "-q", "-b", BRANCH, str(bare), str(other))
    (other / "notes.txt").write_text("a human fix on the bot branch\n")
    commit_all(other, "human")
    run_git(other, "push", "-q", "origin", BRANCH)
    human_tip = _remote_tip(bare)
    (repo / "README").write_text("base moves\n")
    commit_all(repo)
    with pytest.raises(BranchError, match="has commits by test <test@example.invalid>"):
        _run(repo, forge)
    assert _remote_tip(bare) == human_tip != first.head_sha
    assert _run(repo, forge, force=True).status == "updated"
    assert _remote_tip(bare) != human_tip


def test_when_verification_drops_every_change_the_open_pull_request_is_left_alone(project) -> None:
    from prodfix.vcs.branch import BranchResult, Verification
    from prodfix.vcs.pull_request import publish

    repo, bare = project
    forge = MemoryForge()
    first = _run(repo, forge)
    failed = Verification("pytest -q", "failed with each change; nothing kept (dropped print-to-logging)", ["print-to-logging"], "E boom")

    def build(previous):
        return BranchResult(BRANCH, first.base_sha, "nothing to change", [], previous, failed)

    outcome = publish(repo, "origin", BRANCH, "main", forge, auth_environment(str(repo), None), build, lambda r, i: ("t", "b"))
    assert outcome.status == "skipped" and "failed with each change" in outcome.message
    assert forge.pulls[0]["state"] == "open" and forge.comments == []
    assert _remote_tip(bare) == first.head_sha
