"""What ``prodfix fix --branch`` and ``prodfix pr`` do once the command line is parsed.

Each codemod runs on a temporary checkout of HEAD (:func:`tree_runner`), the results become
one commit per codemod on the branch (vcs.branch), and ``pr`` pushes that branch and opens or
updates its pull request with the audit report as its body (vcs.pull_request). This module
prints nothing and exits nothing: per-file results go to the caller's ``report`` callback as
they come, a refusal is a :class:`WorkflowError`, and the CLI says it all.

It is imported only by those two commands: ``check`` and ``diff`` load no git or forge code.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prodfix.engine.plan import Plan, PlanError, make_plan
from prodfix.engine.results import FileResult
from prodfix.engine.runner import default_jobs, run_project
from prodfix.forges.choose import choose, fork_event
from prodfix.output.report import ReportBuilder
from prodfix.vcs.branch import EXCLUDED, BranchResult, Identity, build_branch, check_branch_name
from prodfix.vcs.gitcmd import GitError, run_git
from prodfix.vcs.pull_request import PrOutcome, changes_id, publish
from prodfix.vcs.remote import Credentials, auth_environment, remote_url

Report = Callable[[FileResult], None]


class WorkflowError(Exception):
    """The command cannot go on (usage or repository state); its message says why."""


@dataclass(frozen=True)
class Preview:
    """What ``pr --dry-run`` would push and open."""

    base_branch: str  # the branch it would merge into
    title: str
    body: str


def tree_runner(plan: Plan, paths, config_file, exclude, jobs, file_timeout, report: Report, keep: dict | None = None):
    """Runs one codemod on a temporary checkout (vcs.branch.RunCodemod); ``keep`` collects each
    codemod's FileResults by name (the last run of a codemod wins). A file that fails is
    reported once, by the first codemod that fails on it."""
    # the user's paths and --config, as they are found in the temporary checkout
    rel_paths = [Path(p).resolve().relative_to(plan.root) for p in paths] if paths else []
    config = config_file.resolve() if config_file is not None else None
    failed: set[str] = set()

    def run_on(tree: Path, codemod) -> dict[str, bytes]:
        sub = make_plan(
            [tree / p for p in rel_paths] or [tree], config, [codemod.name], [], [*exclude, *EXCLUDED],
            jobs=jobs or default_jobs(), unsafe_fixes=plan.project.unsafe_fixes,
        )
        changed = {}
        results = []
        for result in run_project(list(sub.files), list(sub.codemods), sub.project, jobs or default_jobs(), budget=file_timeout):
            results.append(result)
            if result.error is not None and result.path in failed:
                continue  # reported by the first codemod's run already
            if result.error is not None:
                failed.add(result.path)
            report(result)
            if result.changed and result.new_bytes is not None:
                changed[result.path] = result.new_bytes
        if keep is not None:
            keep[codemod.name] = results
        return changed

    return run_on


def fix_branch(
    plan: Plan, paths, config_file, exclude, jobs, file_timeout, report: Report, branch: str, author: str | None,
    signoff: bool, force: bool, verify: str | None,
) -> BranchResult:
    if not plan.in_git:
        raise WorkflowError(f"{plan.root}: --branch needs a git repository")
    run_on = tree_runner(plan, paths, config_file, exclude, jobs, file_timeout, report)
    try:
        identity = Identity.parse(author) if author else Identity()
        return build_branch(plan.root, branch, list(plan.selection.enabled), run_on, identity, signoff, force, verify)
    except (GitError, PlanError) as exc:
        raise WorkflowError(str(exc)) from None


def pull_request(
    plan: Plan, paths, config_file, exclude, jobs, file_timeout, report: Report, branch: str, base_branch: str | None,
    remote: str, forge_kind: str | None, api_url: str | None, repo: str | None, title: str, labels, reviewers,
    draft: bool, author: str | None, signoff: bool, force: bool, verify: str | None, dry_run: bool, max_chars: int,
) -> tuple[PrOutcome, Preview | None]:
    """The outcome, and for a dry run that has commits the pull request it would open. Raises
    GitError, PlanError or ForgeError when the remote, the repository or the forge refuses."""
    if not plan.in_git:
        raise WorkflowError(f"{plan.root}: prodfix pr needs a git repository")
    check_branch_name(plan.root, branch)
    skip = fork_event(os.environ)
    if skip:
        return PrOutcome("skipped", skip, branch), None
    base_branch = base_branch or current_branch(plan.root)
    if base_branch == branch:
        raise WorkflowError(f"the head branch {branch} is the base branch; pass --branch or --base")
    identity = Identity.parse(author) if author else Identity()
    kept: dict[str, list[FileResult]] = {}
    run_on = tree_runner(plan, paths, config_file, exclude, jobs, file_timeout, report, kept)

    def build(previous: str | None) -> BranchResult:
        return build_branch(plan.root, branch, list(plan.selection.enabled), run_on, identity, signoff, force, verify, previous)

    def render(result: BranchResult, ident: str) -> tuple[str, str]:
        dropped = set(result.verification.dropped) if result.verification else set()
        builder = ReportBuilder(plan.codemods, changes=ident, verification=result.verification)
        for name, results in kept.items():
            if name not in dropped:
                for file_result in results:
                    builder.add(file_result)
        return title, builder.render(max_chars)

    if dry_run:
        result = build(None)
        if result.tip is None:
            message = f"nothing to change on {base_branch}; nothing would be pushed"
            return PrOutcome("unchanged", message, branch, result.base, result=result), None
        pr_title, body = render(result, changes_id(plan.root, result.base, result.tip))
        commits = len(result.commits)
        message = f"would push {commits} commit{'' if commits == 1 else 's'}; nothing was sent"
        return PrOutcome("dry-run", message, branch, result.base, result.tip, result=result), Preview(base_branch, pr_title, body)

    url = remote_url(plan.root, remote)
    chosen = choose(forge_kind, url, api_url, repo, os.environ)
    env = auth_environment(url, Credentials(chosen.token, chosen.git_username))
    outcome = publish(plan.root, remote, branch, base_branch, chosen, env, build, render, draft, tuple(labels), tuple(reviewers))
    return outcome, None


def current_branch(root: Path) -> str:
    """The branch checked out, or (in a detached CI checkout of a branch) the one the run is for."""
    try:
        return run_git(root, "symbolic-ref", "--quiet", "--short", "HEAD").strip()
    except GitError:
        pass
    if os.environ.get("GITHUB_EVENT_NAME", "").startswith("pull_request"):
        # HEAD is GitHub's merge commit of the pull request: not a branch anything can merge into
        raise WorkflowError(
            "HEAD is the merge commit of a pull request; check out its branch "
            "(actions/checkout with `ref: ${{ github.head_ref }}`) or pass --base NAME"
        )
    if os.environ.get("GITHUB_REF_TYPE") == "branch" and os.environ.get("GITHUB_REF_NAME"):
        return os.environ["GITHUB_REF_NAME"]
    if os.environ.get("CI_COMMIT_BRANCH"):
        return os.environ["CI_COMMIT_BRANCH"]
    raise WorkflowError("HEAD is detached and no CI variable names the branch; pass --base NAME")
