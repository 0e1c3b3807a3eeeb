"""`prodfix fix --branch`: the changes as a branch with one reviewed commit per codemod.

The commits are built in a temporary detached worktree of HEAD, so the user's working tree,
index and current branch are never touched, also when they hold uncommitted work (which the
branch does not include: it starts from the last commit). Codemods run one after the other on
that worktree, each committed on its own (``prodfix: <summary>``, with the files and the
rationale in the body) under a bot identity; git hooks are disabled for these internal
commands. Only then is ``refs/heads/<branch>`` moved, and only when the resulting tree or base
differs from what the branch already holds (a re-run with nothing new changes nothing). A
branch holding commits by anyone else is not overwritten without ``force``.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from prodfix.codemods.base import Codemod
from prodfix.engine.writing import write_atomic
from prodfix.vcs.defaults import BOT_EMAIL, BOT_NAME, DEFAULT_BRANCH  # noqa: F401 - re-exported
from prodfix.vcs.gitcmd import GitError, clean_environ
from prodfix.vcs.gitcmd import run_git as _git

if TYPE_CHECKING:
    import git

# Pushing workflow files needs a token with the `workflows` permission: never touched.
EXCLUDED = (".github/workflows/**",)
# Committers a forge puts on commits it makes for the bot (a merge of the base, a web edit by
# the bot itself): not someone else's work.
PLATFORM_COMMITTERS = frozenset({"noreply@github.com"})
LOCAL = "local"  # build_branch(previous=LOCAL): compare with the local branch and move it


class BranchError(GitError):
    pass


@dataclass(frozen=True)
class Identity:
    name: str = BOT_NAME
    email: str = BOT_EMAIL

    @classmethod
    def parse(cls, text: str) -> "Identity":
        match = re.fullmatch(r"\s*([^<>]+?)\s*<([^<>\s]+@[^<>\s]+)>\s*", text)
        if not match:
            raise BranchError(f"--author must look like 'Name <email>', not {text!r}")
        return cls(match.group(1), match.group(2))

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class BranchCommit:
    sha: str
    codemod: str
    subject: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Verification:
    command: str
    outcome: str  # "passed", "passed after dropping ...", "fails on the base commit too; ..."
    dropped: list[str]  # codemods whose commit made the command fail
    output: str  # the last lines of the failing run, for the report


@dataclass
class BranchResult:
    branch: str
    base: str
    status: str  # "created", "updated", "unchanged" or "nothing to change"
    commits: list[BranchCommit] = field(default_factory=list)
    tip: str | None = None
    verification: Verification | None = None


def result_dict(result: BranchResult) -> dict:
    """The outcome for programs (``fix --branch --json``, ``$GITHUB_OUTPUT``)."""
    v = result.verification
    return {
        "status": result.status,
        "branch": result.branch,
        "base_sha": result.base,
        "head_sha": result.tip,
        "commits": [
            {"sha": c.sha, "codemod": c.codemod, "subject": c.subject, "files": list(c.files)} for c in result.commits
        ] if result.status in ("created", "updated") else [],
        "verification": None if v is None else {"command": v.command, "outcome": v.outcome, "dropped": v.dropped},
    }


def github_outputs(result: BranchResult) -> dict[str, str]:
    """Step outputs for GitHub Actions: ``status``, ``branch``, ``base-sha``, ``head-sha``."""
    return {
        "status": result.status, "branch": result.branch, "base-sha": result.base, "head-sha": result.tip or "",
        "verification": result.verification.outcome if result.verification else "",
    }


# (worktree root, codemod) -> the changed files' new bytes by relative path
RunCodemod = Callable[[Path, type[Codemod]], dict[str, bytes]]


def _message(codemod: type[Codemod], files: list[str], signoff: Identity | None) -> str:
    r = codemod.rationale
    lines = [
        f"prodfix: {codemod.summary}",
        "",
        f"{codemod.code} {codemod.name} ({r.severity}).",
        f"Problem: {r.problem}",
        f"Impact: {r.impact}",
        f"Fix: {r.fix}",
        "",
        "Files:",
        *(f"- {path}" for path in files),
    ]
    if signoff is not None:
        lines += ["", f"Signed-off-by: {signoff}"]
    return "\n".join(lines) + "\n"


def build_branch(
    root: Path,
    branch: str,
    codemods: list[type[Codemod]],
    run_codemod: RunCodemod,
    author: Identity = Identity(),
    signoff: bool = False,
    force: bool = False,
    verify: str | None = None,
    previous: str | None = LOCAL,
) -> BranchResult:
    """``verify``: a shell command run on the result; commits that make it fail are dropped.

    ``previous``: what the branch holds now. By default the local branch, which is then moved;
    ``prodfix pr`` passes the tip it fetched from the remote (or None) and pushes the result
    itself, so no local branch is touched. The commits of ``previous`` must be present locally."""
    import git  # GitPython: ~60 ms to import, needed only here and by foreign_authors

    try:
        repo = git.Repo(root)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise BranchError(f"{root}: --branch needs a git repository") from None
    try:
        base = repo.head.commit.hexsha
    except ValueError:
        raise BranchError(f"{root}: HEAD has no commit yet; the branch is built on top of one") from None
    check_branch_name(root, branch)
    if not repo.head.is_detached and repo.active_branch.name == branch:
        raise BranchError(f"{branch} is the branch checked out here; prodfix only writes to another branch")
    ref = f"refs/heads/{branch}"
    if previous == LOCAL:
        if f"\nbranch {ref}\n" in "\n" + _git(root, "worktree", "list", "--porcelain") + "\n":
            raise BranchError(f"{branch} is checked out in another worktree; prodfix only writes to a branch nobody has checked out")
        existing = repo.git.execute(["git", "rev-parse", "--verify", "-q", ref], with_exceptions=False).strip() or None
    else:
        existing = previous
    if existing and not force:
        others = foreign_authors(repo, base, existing, author)
        if others:
            raise BranchError(
                f"{branch} has commits by {', '.join(others)}; not overwriting them (--force to replace the branch)"
            )
    env = {
        "GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
        "GIT_COMMITTER_NAME": author.name, "GIT_COMMITTER_EMAIL": author.email,
    }
    verification: Verification | None = None
    with tempfile.TemporaryDirectory(prefix="prodfix-branch-") as tmp:
        tree = Path(tmp) / "tree"
        _git(root, "worktree", "add", "--quiet", "--detach", str(tree), base)
        try:
            def chain(chosen: list[type[Codemod]]) -> list[BranchCommit]:
                return _commit_chain(tree, base, chosen, run_codemod, env, author if signoff else None)

            commits = chain(codemods)
            if verify and commits:
                commits, verification = _verify(tree, base, commits, codemods, chain, verify)
        finally:
            _git(root, "worktree", "remove", "--force", str(tree))
    if not commits:
        return BranchResult(branch, base, "nothing to change", [], existing, verification)
    tip = commits[-1].sha
    if existing and repo.commit(existing).tree.hexsha == repo.commit(tip).tree.hexsha and repo.is_ancestor(base, existing):
        return BranchResult(branch, base, "unchanged", commits, existing, verification)
    if previous == LOCAL:
        _git(root, "update-ref", "-m", "prodfix fix --branch", ref, tip, *([existing] if existing else []))
    return BranchResult(branch, base, "updated" if existing else "created", commits, tip, verification)


def check_branch_name(root: Path, branch: str) -> None:
    """A name git takes for a new branch as it is. ``git check-ref-format --branch`` expands
    ``@``, ``@{-1}`` and friends into other names, so the check is also that nothing was."""
    try:
        expanded = _git(root, "check-ref-format", "--branch", branch).strip() if not branch.startswith("-") else ""
    except GitError:
        expanded = ""
    if expanded != branch or branch == "@" or "@{" in branch:
        raise BranchError(f"{branch!r} is not a valid branch name (git check-ref-format --branch)")


def foreign_authors(repo: git.Repo, base: str, tip: str, bot: Identity) -> list[str]:
    """Authors or committers other than the bot on the commits ``tip`` adds to ``base``."""
    others = set()
    for commit in repo.iter_commits(f"{base}..{tip}"):
        if commit.author.email != bot.email:
            others.add(f"{commit.author.name} <{commit.author.email}>")
        if commit.committer.email not in (bot.email, *PLATFORM_COMMITTERS):
            others.add(f"{commit.committer.name} <{commit.committer.email}>")
    return sorted(others)


def _commit_chain(
    tree: Path,
    base: str,
    codemods: list[type[Codemod]],
    run_codemod: RunCodemod,
    env: dict[str, str],
    signoff: Identity | None,
) -> list[BranchCommit]:
    """From a clean checkout of ``base``, each codemod that changes something becomes a commit."""
    _git(tree, "checkout", "--quiet", "--force", "--detach", base)
    _git(tree, "clean", "-q", "-f", "-d", "-x")
    commits = []
    for codemod in codemods:
        changed = run_codemod(tree, codemod)
        if not changed:
            continue
        for rel, data in sorted(changed.items()):
            try:
                write_atomic(tree / rel, data, tree)
            except OSError as exc:  # OutsideRoot: a link the run should not have offered to change
                raise BranchError(f"{rel}: cannot write it in the temporary checkout: {exc.strerror or exc}") from None
        files = sorted(changed)
        _git(tree, "add", "--", *files)
        message = _message(codemod, files, signoff)
        _git(tree, "commit", "--quiet", "--no-verify", "-m", message, env=env)
        sha = _git(tree, "rev-parse", "HEAD").strip()
        commits.append(BranchCommit(sha, codemod.name, message.splitlines()[0], tuple(files)))
    return commits


def _passes(tree: Path, sha: str, command: str) -> tuple[bool, str]:
    """Run the user's command on a clean checkout of ``sha``; (passed, the output's last lines)."""
    _git(tree, "checkout", "--quiet", "--force", "--detach", sha)
    _git(tree, "clean", "-q", "-f", "-d", "-x")
    out = subprocess.run(command, shell=True, cwd=tree, env=clean_environ(), capture_output=True, text=True, check=False)
    tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-5:])
    return out.returncode == 0, tail


def _verify(
    tree: Path,
    base: str,
    commits: list[BranchCommit],
    codemods: list[type[Codemod]],
    chain: Callable[[list[type[Codemod]]], list[BranchCommit]],
    command: str,
) -> tuple[list[BranchCommit], Verification]:
    """Keep the commits that pass ``command``: when the last one fails, bisect the chain for the
    first failing commit, drop its codemod, rebuild the chain without it, and check again."""
    dropped: list[str] = []
    ok, tail = _passes(tree, commits[-1].sha, command)
    if ok:
        return commits, Verification(command, "passed", [], "")
    base_ok, base_tail = _passes(tree, base, command)
    if not base_ok:  # nothing to learn from bisecting: it fails without prodfix too
        return commits, Verification(command, "fails on the base commit too; nothing dropped", [], base_tail)
    while commits and not ok:
        low, high = 0, len(commits) - 1  # the last one fails, the base passes
        while low < high:
            middle = (low + high) // 2
            if _passes(tree, commits[middle].sha, command)[0]:
                low = middle + 1
            else:
                high = middle
        dropped.append(commits[low].codemod)
        commits = chain([c for c in codemods if c.name not in dropped])
        if commits:
            ok, tail = _passes(tree, commits[-1].sha, command)
    if not commits:
        status = "failed with each change; nothing kept (dropped " + ", ".join(dropped) + ")"
    else:
        status = "passed" if not dropped else "passed after dropping " + ", ".join(dropped)
    return commits, Verification(command, status, dropped, tail if dropped else "")
