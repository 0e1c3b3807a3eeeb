"""`prodfix pr`: the branch pushed and one pull request per head branch, created or kept current.

The decisions, in order (forge-neutral; the forge is behind ``forges.base.Forge``):

1. The branch is rebuilt from the current base and compared by tree with the remote branch
   (``build``); a remote branch holding someone else's commits is refused there.
2. Nothing to change: the base already has the changes; an open prodfix pull request is
   closed with a comment ("closed"), otherwise "unchanged". (When ``--verify`` dropped every
   change, nothing is pushed or closed: "skipped".)
3. No open pull request, and the newest closed-unmerged one carried exactly these changes
   (the ``changes=`` id in its marker): a reviewer said no; nothing is pushed ("skipped").
4. The branch is pushed unless the remote already holds the same tree, leased against the sha
   read in step 1.
5. An open pull request is updated when its title or body differ ("updated"; "unchanged" when
   nothing differs and nothing was pushed); otherwise one is created ("created"), and a lost
   race (the forge says it exists) finds and updates it. Labels and reviewers are best effort:
   a failure there is a warning.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prodfix.forges.base import AlreadyExists, Forge, ForgeError, PullRequest
from prodfix.vcs.branch import BranchResult
from prodfix.vcs.defaults import DEFAULT_TITLE  # noqa: F401 - re-exported
from prodfix.vcs.gitcmd import run_git
from prodfix.vcs.remote import fetch_branch, push_branch

CHANGES = re.compile(r"<!-- prodfix:v1 [^>]*\bchanges=([0-9a-f]+)")
CLOSE_COMMENT = (
    "prodfix closed this: the base branch already contains these changes (or nothing is left to change). "
    "A new pull request opens when something new comes up."
)


@dataclass
class PrOutcome:
    status: str  # created, updated, unchanged, closed, skipped
    message: str
    branch: str
    base_sha: str | None = None
    head_sha: str | None = None
    pull: PullRequest | None = None
    pushed: bool = False
    warnings: list[str] = field(default_factory=list)
    result: BranchResult | None = None


def changes_id(root: Path, base: str, tip: str) -> str:
    """A short id of what the branch changes relative to its base: equal changes, equal id."""
    diff = run_git(root, "diff", "--binary", "--no-color", "--no-ext-diff", base, tip)
    return hashlib.blake2b(diff.encode("utf-8", "surrogateescape"), digest_size=6).hexdigest()


def marked_changes(pull: PullRequest) -> str | None:
    match = CHANGES.search(pull.body)
    return match.group(1) if match else None


def publish(
    root: Path,
    remote: str,
    branch: str,
    base_branch: str,
    forge: Forge,
    env: dict[str, str],
    build: Callable[[str | None], BranchResult],
    render: Callable[[BranchResult, str], tuple[str, str]],
    draft: bool = False,
    labels: tuple[str, ...] = (),
    reviewers: tuple[str, ...] = (),
) -> PrOutcome:
    """``build(previous_tip)`` makes the commits (no ref moved); ``render(result, changes_id)``
    gives the title and body. ``env`` authenticates git (remote.auth_environment)."""
    previous = fetch_branch(root, remote, branch, env)
    result = build(previous)
    outcome = PrOutcome("unchanged", "", branch, result.base, result=result)
    kind = forge.kind
    if result.status == "nothing to change" and result.verification is not None and result.verification.dropped:
        # every change broke the user's command: that says nothing about the open pull request
        outcome.status, outcome.head_sha = "skipped", previous
        outcome.message = f"{result.verification.outcome}; nothing pushed, no {kind} touched"
        return outcome
    if result.status == "nothing to change":
        open_pull = forge.open_pull(branch, base_branch)
        outcome.head_sha = previous
        if open_pull is None:
            outcome.message = f"nothing to change on {base_branch}; no {kind} needed"
            return outcome
        forge.close_pull(open_pull, CLOSE_COMMENT)
        outcome.status, outcome.pull = "closed", open_pull
        outcome.message = f"{base_branch} already has the changes; closed #{open_pull.number}"
        return outcome

    assert result.tip is not None
    outcome.head_sha = result.tip
    ident = changes_id(root, result.base, result.tip)
    title, body = render(result, ident)
    open_pull = forge.open_pull(branch, base_branch)
    if open_pull is None:
        closed = forge.closed_pulls(branch, base_branch)
        if closed and closed[0].state == "closed" and marked_changes(closed[0]) == ident:
            outcome.status, outcome.pull = "skipped", closed[0]
            outcome.message = (
                f"#{closed[0].number} with exactly these changes was closed without merging; "
                f"not reopened (it will be when the changes differ)"
            )
            return outcome
    if result.status != "unchanged":
        push_branch(root, remote, result.tip, branch, previous, env)
        outcome.pushed = True
    if open_pull is not None:
        return _update(forge, open_pull, title, body, outcome)
    try:
        created = forge.create_pull(branch, base_branch, title, body, draft)
    except AlreadyExists:  # another run created it between our lookup and our create
        raced = forge.open_pull(branch, base_branch)
        if raced is None:
            raise ForgeError(f"the forge says a {kind} for {branch} exists, but none was found") from None
        return _update(forge, raced, title, body, outcome)
    outcome.status, outcome.pull = "created", created
    outcome.message = f"created #{created.number}"
    for what, call, values in (("labels", forge.add_labels, labels), ("reviewers", forge.request_reviewers, reviewers)):
        if values:
            try:
                call(created, list(values))
            except ForgeError as exc:
                outcome.warnings.append(f"could not add {what} {', '.join(values)} to #{created.number}: {exc}")
    return outcome


def _update(forge: Forge, pull: PullRequest, title: str, body: str, outcome: PrOutcome) -> PrOutcome:
    if pull.title != title or pull.body != body:
        pull = forge.update_pull(pull, title, body)
        outcome.status = "updated"
    else:
        outcome.status = "updated" if outcome.pushed else "unchanged"
    outcome.pull = pull
    outcome.message = f"{outcome.status} #{pull.number}" if outcome.status == "updated" else f"#{pull.number} is up to date"
    return outcome
