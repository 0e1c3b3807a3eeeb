"""The ``prodfix`` command line: parse options, build a plan, run the engine, hand results to output.

The text a user reads in ``prodfix --help`` is ``USAGE`` below, not this docstring.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import click
from rich.console import Console

from prodfix import __version__
from prodfix.codemods import registry
from prodfix.codemods.base import Finding
from prodfix.engine.results import FileResult
from prodfix.engine import profile as profiling
from prodfix.engine.budget import DEFAULT_SECONDS
from prodfix.engine.cache import JsonStore, namespace
from prodfix.engine.discovery import unusable_git
from prodfix.engine.plan import Plan, PlanError, make_plan
from prodfix.engine.profile import OFF, Phases
from prodfix.engine.runner import default_jobs, run_project
from prodfix.engine.safe_write import ChangedOnDisk, remove_stale_temps, replace_checked
from prodfix.engine.safe_write import output_file as replacing
from prodfix.output import findings as findings_output
from prodfix.output.patch import file_patch
from prodfix.output.report import DEFAULT_MAX_CHARS, ReportBuilder
from prodfix.vcs.defaults import BOT_EMAIL, BOT_NAME, DEFAULT_BRANCH, DEFAULT_TITLE, FORGE_KINDS
from prodfix.vcs.worktree import merge_state, uncommitted_paths

USAGE = """Codemods that make a Python backend production-ready: logging instead of
print, timeouts on network clients, retries where the app connects at start-up, resources
closed by context managers, imports that resolve. Every change is a reviewable diff first.

\b
  prodfix check            what would change (exit 1 when anything would)
  prodfix diff > fix.patch the patch, nothing written
  prodfix fix              apply it (files with uncommitted changes are refused)
  prodfix fix --branch     one commit per codemod on a branch, working tree untouched
  prodfix pr               that branch pushed and its pull request opened (CI)
  prodfix list             the codemods; --select/--ignore take their names or codes

Configuration: .prodfix.yml or [tool.prodfix] in pyproject.toml (`prodfix config`).

Exit codes (every command):

\b
  0  success; for `check`: nothing to change
  1  `check` only: something would change or needs attention
  2  usage or configuration error, or `fix` refusing to rewrite uncommitted files
     (nothing was written); for `pr`: no token, or the remote or forge refused
     (re-running is safe)
  3  some files could not be processed (decode or syntax error, a codemod's
     internal error), each reported with its path and line; the rest were
"""

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_ERRORS = 0, 1, 2, 3
PROGRESS_MIN_FILES = 50


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> "click.exceptions.Exit":
    _stderr().print(f"[bold red]error:[/] {findings_output.escape(message)}")
    return click.exceptions.Exit(EXIT_USAGE)


def _common(func: Callable) -> Callable:
    options = [
        click.argument("paths", nargs=-1, type=click.Path(path_type=Path)),
        click.option("--select", multiple=True, help="Codemods to run, by name or code, comma-separated; 'all' for every one. Replaces the configured selection."),
        click.option("--ignore", multiple=True, help="Codemods not to run, by name or code, comma-separated."),
        click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching this gitignore-style glob (relative to the project root); repeatable."),
        click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False), help="Use this .prodfix.yml or pyproject.toml instead of searching for one."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes (default: the number of CPUs)."),
        click.option("--quiet", "-q", is_flag=True, help="No summary line and no progress bar."),
        click.option("--file-timeout", type=click.FloatRange(min=0), default=DEFAULT_SECONDS, show_default=True, metavar="SECONDS", help="Skip (and report) a file that takes longer than this; 0: no limit."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache (.prodfix_cache/ at the project root)."),
        click.option("--profile", is_flag=True, help="Print on stderr where the time went, phase by phase (discovery, prefilter, parse, metadata, each codemod, render, write)."),
        click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, expose_value=False, callback=_remember_unsafe, help="Also make the fixes marked unsafe (they may change behaviour the code relies on; without this check lists them as suggestions and the report under their own heading). Default: unsafe-fixes in the configuration, else off."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _remember_unsafe(ctx: click.Context, param: click.Parameter, value: bool | None) -> None:
    """--unsafe-fixes reaches the plan through the context, not every command's signature."""
    ctx.meta["prodfix.unsafe_fixes"] = value


def _plan(
    paths, select, ignore, exclude, config_file, phases: Phases = OFF, cache: bool = False, jobs: int | None = None,
    *, strict_git: bool = False,
) -> Plan:
    """``strict_git``: refuse (exit 2) when a ``.git`` is there but git cannot be used (`fix`:
    it could not tell which files have uncommitted changes); otherwise that is a warning."""
    context = click.get_current_context(silent=True)
    unsafe = context.meta.get("prodfix.unsafe_fixes") if context is not None else None
    try:
        plan = make_plan(
            list(paths), config_file, list(select) if select else None, list(ignore), list(exclude),
            phases, cache, jobs or default_jobs(), unsafe,
        )
    except PlanError as exc:
        raise _fail(str(exc)) from None
    for warning in plan.warnings:
        _stderr().print(f"[yellow]warning:[/] {findings_output.escape(warning)}")
    problem = None if plan.in_git else unusable_git(Path(paths[0]) if paths else Path("."))
    if problem is not None and strict_git:
        raise _fail(
            f"{problem}. prodfix cannot tell which files have uncommitted changes, so it rewrites none; "
            "make git work here or pass --allow-dirty. Nothing was written."
        )
    if problem is not None:
        _stderr().print(f"[yellow]warning:[/] {findings_output.escape(problem)}; files are listed without git")
    return plan


def _refuse_mid_merge(root: Path, allow_dirty: bool) -> None:
    """A merge (rebase, cherry-pick...) in progress or unresolved conflicts: `fix` would mix its
    edits into them and rewrite the files around the conflicted ones (exit 2, unless --allow-dirty)."""
    try:
        operation, conflicted = merge_state(root)
    except RuntimeError as exc:
        raise _fail(f"cannot read the work tree's state: {exc}") from None
    if operation is None and not conflicted:
        return
    listed = ", ".join(conflicted[:10]) + (f" and {len(conflicted) - 10} more" if len(conflicted) > 10 else "")
    if operation is None:
        state = f"{_plural(len(conflicted), 'file')} with unresolved conflicts: {listed}"
    else:
        state = f"{operation} is in progress" + (
            f", with {_plural(len(conflicted), 'conflicted file')}: {listed}" if conflicted else ""
        )
    if not allow_dirty:
        raise _fail(
            f"refusing to rewrite files: {state}. Finish or abort it first, or pass --allow-dirty. Nothing was written."
        )
    _stderr().print(
        f"[yellow]warning:[/] {findings_output.escape(state)}; rewriting all the same (--allow-dirty); "
        "files with conflict markers do not parse and are left alone"
    )


def _use_progress(count: int, quiet: bool) -> bool:
    return not quiet and count >= PROGRESS_MIN_FILES and sys.stderr.isatty() and not os.environ.get("CI")


def _results(
    plan: Plan, jobs: int | None, quiet: bool, profile: bool = False, cache: bool = False,
    budget: float | None = None,
) -> Iterator[FileResult]:
    """Every result in path order; with ``cache``, answered from and saved to the result cache."""
    store = JsonStore(plan.root, f"results-{namespace(list(plan.codemods), plan.project)}.json") if cache else None
    stream = run_project(
        list(plan.files), list(plan.codemods), plan.project, jobs or default_jobs(), profile, store, budget,
        plan.digests,
    )
    yield from _with_progress(plan, stream, quiet)
    if store is not None and plan.whole_repo:
        store.retain({rel for _, rel in plan.files})
    warning = store.save() if store is not None else None
    if warning:
        _stderr().print(f"[yellow]warning:[/] {findings_output.escape(warning)}")


def _with_progress(plan: Plan, stream: Iterator[FileResult], quiet: bool) -> Iterator[FileResult]:
    if not _use_progress(len(plan.files), quiet):
        yield from stream
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # only on a terminal

    with Progress(
        TextColumn("prodfix"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=_stderr(), transient=True,
    ) as progress:
        task = progress.add_task("files", total=len(plan.files))
        for result in stream:
            progress.advance(task, advance=not result.project_level)
            yield result


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class Tally:
    """What a run saw, for the summary line and the exit code."""

    def __init__(self, phases: Phases = OFF) -> None:
        self.start = time.perf_counter()
        self.phases = phases
        self.scanned = 0
        self.kept = 0
        self.parsed = 0
        self.changed = 0
        self.errors = 0
        self.by_codemod: Counter[str] = Counter()
        self.unsafe = 0  # unsafe fixes not made (findings of kind "unsafe-fix")

    def add(self, result: FileResult) -> None:
        self.phases.add(result.timings)
        self.scanned += not result.project_level
        self.kept += result.kept
        self.parsed += result.parsed
        self.changed += result.changed
        internal = result.internal_errors
        if result.error is not None or internal:
            self.errors += 1
        if result.error is not None:
            line = f":{result.error.line}" if result.error.line else ""
            _stderr().print(
                f"[red]error:[/] {findings_output.escape(result.path)}{line}: "
                f"{findings_output.escape(result.error.reason)} (file left unchanged)"
            )
        for finding in internal:  # a codemod failed on the file: its change is dropped
            _stderr().print(
                f"[red]error:[/] {findings_output.escape(result.path)}:{finding.line}: "
                f"{finding.code} {finding.codemod}: {findings_output.escape(finding.message)}"
            )
        for finding in result.findings:
            if finding.kind not in ("note", "error"):
                self.by_codemod[finding.codemod] += 1
            self.unsafe += finding.kind == "unsafe-fix"

    def unwritten(self, path: str, reason: str) -> None:
        """A changed file that could not be written: an error, no longer counted as changed."""
        self.errors += 1
        self.changed -= 1
        _stderr().print(f"[red]error:[/] {findings_output.escape(path)}: {findings_output.escape(reason)}")

    def summary(self, verb: str) -> str:
        counts = ", ".join(f"{name} {n}" for name, n in sorted(self.by_codemod.items())) or "none"
        errors = f", {self.errors} could not be processed" if self.errors else ""
        unsafe = f" ({self.unsafe} unsafe fix{'es' if self.unsafe != 1 else ''} not made: --unsafe-fixes makes them)" if self.unsafe else ""
        return (
            f"prodfix: {_plural(self.scanned, 'file')} scanned, {self.changed} {verb}{errors}; "
            f"findings: {counts}{unsafe}; {time.perf_counter() - self.start:.2f}s"
        )

    def profile(self) -> str:
        counts = {
            "files scanned": self.scanned, "kept by prefilters": self.kept,
            "parsed": self.parsed, "changed": self.changed,
        }
        return profiling.render(self.phases.totals, counts, time.perf_counter() - self.start)

    def finish(self, verb: str, quiet: bool) -> None:
        """The summary line, and the profile table when asked for."""
        if not quiet:
            _stderr().print(self.summary(verb))
        if self.phases is not OFF:
            _stderr().print(findings_output.escape(self.profile()))

    def exit_code(self, findings_fail: bool = False) -> int:
        if self.errors:
            return EXIT_ERRORS
        if findings_fail and (self.changed or sum(self.by_codemod.values())):
            return EXIT_FINDINGS
        return EXIT_OK


@click.group(help=USAGE, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="prodfix")
def main() -> None:
    # The cyclic garbage collector found nothing to free in a whole cold run over Django (libcst's
    # trees are freed by reference counting), yet its passes over them took ~10% of the CPU.
    # Collect far less often, as mypy does; worker processes take the same thresholds.
    gc.set_threshold(200_000, 30, 30)


@main.command("list")
def list_codemods() -> None:
    """Every codemod: name, code, whether it is on by default, and what it does."""
    console = Console(highlight=False, soft_wrap=True)
    for codemod in registry.CODEMODS:
        state = "on" if codemod.default_enabled else "off"
        console.print(f"{codemod.code}  {codemod.name:<20} {state:<4} {codemod.summary}")


@main.command()
@_common
@click.option("--format", "fmt", type=click.Choice(findings_output.FORMATS), default="text", show_default=True, help="text: a table; json: a list of objects; github: ::warning annotations.")
@click.option("--explain", is_flag=True, help="Also show what was deliberately left alone and why each codemod matters.")
def check(paths, select, ignore, exclude, config_file, jobs, quiet, file_timeout, no_cache, profile, fmt, explain) -> None:
    """Report what would change. Exit 1 when anything would, 0 when clean."""
    tally = Tally(Phases() if profile else OFF)
    plan = _plan(paths, select, ignore, exclude, config_file, tally.phases, not no_cache, jobs)
    collected: list[Finding] = []
    for result in _results(plan, jobs, quiet or fmt != "text", profile, not no_cache, file_timeout):
        tally.add(result)
        shown = findings_output.visible(result.findings, explain or fmt == "json")
        # a codemod's internal error is on stderr already (Tally.add), like any per-file error;
        # JSON and annotations carry it too (kind "error")
        collected.extend(f for f in shown if fmt != "text" or f.kind != "error")
    tally.phases.start()
    if fmt == "json":
        click.echo(findings_output.render_json(collected), nl=False)
    elif fmt == "github":
        click.echo(findings_output.render_github(collected), nl=False)
    else:
        if explain and plan.project.modules is not None:
            votes = ", ".join(f"{root or '.'} {n}" for root, n in plan.project.modules.votes) or "configured"
            roots = ", ".join(r or "." for r in plan.project.modules.roots)
            click.echo(f"fix-imports import root: {roots} (imports resolving under each candidate: {votes})")
        # In a pipe or a CI log, no terminal width to respect: do not wrap rows.
        console = Console(highlight=False) if sys.stdout.isatty() else Console(highlight=False, width=240)
        findings_output.render_text(console, collected, plan.selection.enabled, explain)
    tally.phases.mark("output")
    tally.finish("would change", quiet)
    raise click.exceptions.Exit(tally.exit_code(findings_fail=True))


def _stream_patches(
    plan: Plan, tally: Tally, jobs: int | None, quiet: bool, cache: bool, budget: float,
    sink: Callable[[bytes], object],
) -> None:
    for result in _results(plan, jobs, quiet, tally.phases is not OFF, cache, budget):
        tally.add(result)
        tally.phases.start()
        patch = file_patch(result)
        if patch:
            sink(patch)
        tally.phases.mark("output")


@main.command()
@_common
@click.option("--patch", "patch_file", type=click.Path(path_type=Path, dir_okay=False), help="Write the patch to this file instead of stdout.")
def diff(paths, select, ignore, exclude, config_file, jobs, quiet, file_timeout, no_cache, profile, patch_file) -> None:
    """Show the unified diff `fix` would apply; nothing is written.

    On a terminal the diff is colored; in a pipe it is a plain patch that `git apply` takes.
    """
    tally = Tally(Phases() if profile else OFF)
    plan = _plan(paths, select, ignore, exclude, config_file, tally.phases, not no_cache, jobs)
    terminal = patch_file is None and sys.stdout.isatty()
    console = Console(highlight=False)

    def show(patch: bytes) -> None:
        if terminal:
            from rich.syntax import Syntax  # pygments: imported only to colour a terminal diff

            text = patch.decode("utf-8", errors="replace")
            console.print(Syntax(text, "diff", theme="ansi_dark", background_color="default", word_wrap=True))
        else:
            sys.stdout.buffer.write(patch)
            sys.stdout.buffer.flush()

    if patch_file is None:
        _stream_patches(plan, tally, jobs, quiet, not no_cache, file_timeout, show)
    else:
        try:  # a temporary file renamed at the end: never an empty or half-written patch
            with replacing(patch_file) as handle:
                _stream_patches(plan, tally, jobs, quiet, not no_cache, file_timeout, handle.write)
        except OSError as exc:
            raise _fail(f"{patch_file}: cannot write the patch: {exc.strerror}") from None
    tally.finish("would change", quiet)
    raise click.exceptions.Exit(tally.exit_code())


@main.command()
@_common
@click.option("--allow-dirty", is_flag=True, help="Also rewrite files that have uncommitted changes (by default prodfix refuses, so that its edits never mix with yours).")
@click.option("--branch", "branch", is_flag=False, flag_value=DEFAULT_BRANCH, default=None, metavar="[NAME]", help=f"Leave the working tree alone and commit the changes on branch NAME (default {DEFAULT_BRANCH}), one commit per codemod, on top of HEAD.")
@click.option("--author", metavar="'NAME <EMAIL>'", help=f"Author and committer of the --branch commits (default '{BOT_NAME} <{BOT_EMAIL}>').")
@click.option("--signoff", is_flag=True, help="Add a Signed-off-by trailer to the --branch commits.")
@click.option("--force", is_flag=True, help="With --branch: replace the branch even when it holds commits by someone else.")
@click.option("--json", "as_json", is_flag=True, help="With --branch: print the outcome as JSON on stdout (status, branch, base and head sha, commits, verification). $GITHUB_OUTPUT, when set, gets status, branch, base-sha, head-sha.")
@click.option("--verify", metavar="CMD", help="With --branch: run CMD (e.g. 'pytest -q') on the result; the commits that make it fail are found by bisection and dropped.")
def fix(paths, select, ignore, exclude, config_file, jobs, quiet, file_timeout, no_cache, profile, allow_dirty, branch, author, signoff, force, as_json, verify) -> None:
    """Apply the changes in place (atomically: a file is either old or new, never half).

    In a git work tree, files with uncommitted changes are not rewritten unless --allow-dirty
    is given; nothing is written then, and the exit code is 2. The same holds for any file
    while a merge, rebase or cherry-pick is in progress or conflicts are unresolved, and
    where a .git exists that git cannot use (not on PATH, safe.directory).

    With --branch, nothing in the working tree, the index or the current branch changes: the
    codemods run on a temporary checkout of HEAD and each one that changes something becomes
    a commit on the branch. Re-running with nothing new leaves the branch as it is.
    """
    if branch is None and (verify or author or signoff or force or as_json):
        raise _fail("--verify, --author, --signoff, --force and --json go with --branch")
    if branch is not None:
        _fix_branch(
            paths, select, ignore, exclude, config_file, jobs, quiet, file_timeout, branch, author, signoff, force,
            verify, as_json,
        )
    tally = Tally(Phases() if profile else OFF)
    plan = _plan(paths, select, ignore, exclude, config_file, tally.phases, not no_cache, jobs, strict_git=not allow_dirty)
    if plan.in_git:
        _refuse_mid_merge(plan.root, allow_dirty)
    changed = []
    for result in _results(plan, jobs, quiet, profile, not no_cache, file_timeout):
        tally.add(result)
        if result.changed:
            changed.append(result)
    if plan.in_git and not allow_dirty and changed:
        try:
            dirty = uncommitted_paths(plan.root)
        except RuntimeError as exc:
            raise _fail(f"cannot read the work tree's state: {exc}") from None
        blocked = [r.path for r in changed if r.path in dirty]
        if blocked:
            listed = ", ".join(blocked[:10]) + (f" and {len(blocked) - 10} more" if len(blocked) > 10 else "")
            raise _fail(
                f"refusing to rewrite {_plural(len(blocked), 'file')} with uncommitted changes: {listed}. "
                "Commit or stash them first, or pass --allow-dirty. Nothing was written."
            )
    tally.phases.start()
    _remove_stale_temps(plan, changed, quiet)
    for result in changed:
        assert result.new_bytes is not None and result.old_bytes is not None
        try:
            replace_checked(plan.root / result.path, result.old_bytes, result.new_bytes, plan.root)
        except ChangedOnDisk:
            tally.unwritten(result.path, "changed on disk during the run; left as it is")
        except OSError as exc:  # a read-only folder, a full disk: this file, not the run
            tally.unwritten(result.path, f"cannot write: {exc.strerror or exc}; left as it is")
    tally.phases.mark("write")
    tally.finish("changed", quiet)
    raise click.exceptions.Exit(tally.exit_code())


def _remove_stale_temps(plan: Plan, changed: list[FileResult], quiet: bool) -> None:
    """Temporary files an interrupted run (kill -9) left beside the files it wrote."""
    # the folders of the files scanned, and the root (the dependency manifest's)
    folders = {plan.root} | {path.parent for path, _ in plan.files} | {(plan.root / r.path).parent for r in changed}
    removed = remove_stale_temps(folders, plan.root if plan.in_git else None)
    if removed and not quiet:
        listed = ", ".join(os.path.relpath(p, plan.root) for p in removed[:5])
        more = f" and {len(removed) - 5} more" if len(removed) > 5 else ""
        _stderr().print(
            f"prodfix: removed {_plural(len(removed), 'temporary file')} an interrupted run left: "
            f"{findings_output.escape(listed)}{more}"
        )


def _fix_branch(
    paths, select, ignore, exclude, config_file, jobs, quiet, file_timeout, branch, author, signoff, force, verify,
    as_json=False,
) -> None:
    from prodfix.vcs.branch import github_outputs, result_dict
    from prodfix.vcs.workflow import WorkflowError, fix_branch

    plan = _plan(paths, select, ignore, exclude, config_file, jobs=jobs)
    tally = Tally()
    try:
        outcome = fix_branch(
            plan, paths, config_file, exclude, jobs, file_timeout, tally.add, branch, author, signoff, force, verify
        )
    except WorkflowError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result_dict(outcome), indent=2))
    _github_output(github_outputs(outcome))
    console = _stderr()
    base = outcome.base[:12]
    if outcome.verification is not None:
        _say_verification(console, outcome.verification, with_output=True)
    if outcome.status == "nothing to change":
        console.print(f"prodfix: nothing to change on {base}; {branch} left as it is")
    elif outcome.status == "unchanged":
        console.print(f"prodfix: branch {branch} unchanged: it already holds these changes on {base} ({(outcome.tip or '')[:12]})")
    else:
        console.print(f"prodfix: branch {branch} {outcome.status} on {base} ({_plural(len(outcome.commits), 'commit')})")
        for commit in outcome.commits:
            console.print(f"  {commit.sha[:12]} {findings_output.escape(commit.subject)} ({_plural(len(commit.files), 'file')})")
    raise click.exceptions.Exit(EXIT_ERRORS if tally.errors else EXIT_OK)


@main.command()
@_common
@click.option("--output", "-o", "output_file", type=click.Path(path_type=Path, dir_okay=False), help="Write the markdown to this file instead of stdout.")
@click.option("--max-chars", type=click.IntRange(min=1000), default=DEFAULT_MAX_CHARS, show_default=True, help="Shorten the lists so the report fits (GitHub caps a pull request body at 65,536).")
def report(paths, select, ignore, exclude, config_file, jobs, quiet, file_timeout, no_cache, profile, output_file, max_chars) -> None:
    """Write the markdown audit report: a summary table, then per codemod the problem, impact,
    fix, every change, what was left alone and why, and how to turn it off. Nothing is changed."""
    tally = Tally(Phases() if profile else OFF)
    plan = _plan(paths, select, ignore, exclude, config_file, tally.phases, not no_cache, jobs)
    builder = ReportBuilder(plan.codemods)
    for result in _results(plan, jobs, quiet, profile, not no_cache, file_timeout):
        tally.add(result)
        builder.add(result)
    text = builder.render(max_chars)
    if output_file is None:
        click.echo(text, nl=False)
    else:
        try:
            with replacing(output_file) as handle:
                handle.write(text.encode("utf-8"))
        except OSError as exc:
            raise _fail(f"{output_file}: cannot write the report: {exc.strerror}") from None
    tally.finish("would change", quiet)
    raise click.exceptions.Exit(tally.exit_code())


@main.command("pr")
@_common
@click.option("--branch", default=DEFAULT_BRANCH, show_default=True, help="The head branch the changes are pushed to.")
@click.option("--base", "base_branch", metavar="NAME", help="The branch the pull request merges into (default: the branch checked out; in CI, the one the run is for).")
@click.option("--remote", default="origin", show_default=True, help="The git remote to push to.")
@click.option("--forge", type=click.Choice(FORGE_KINDS), help="github or gitlab (default: from the CI environment or the remote URL).")
@click.option("--api-url", metavar="URL", help="The forge's API (default: $GITHUB_API_URL or $CI_SERVER_URL, else from the remote URL; GitHub Enterprise: https://HOST/api/v3).")
@click.option("--repo", metavar="OWNER/NAME", help="The repository or GitLab project (default: $GITHUB_REPOSITORY or $CI_PROJECT_ID, else from the remote URL).")
@click.option("--title", default=DEFAULT_TITLE, show_default=True, help="The pull request's title.")
@click.option("--label", "labels", multiple=True, metavar="NAME", help="Label for a new pull request; repeatable; a failure only warns.")
@click.option("--reviewer", "reviewers", multiple=True, metavar="USER", help="Reviewer for a new pull request (GitHub teams as ORG/TEAM); repeatable; a failure only warns.")
@click.option("--draft", is_flag=True, help="Open the pull request as a draft.")
@click.option("--author", metavar="'NAME <EMAIL>'", help=f"Author and committer of the commits (default '{BOT_NAME} <{BOT_EMAIL}>').")
@click.option("--signoff", is_flag=True, help="Add a Signed-off-by trailer to the commits.")
@click.option("--force", is_flag=True, help="Replace the remote branch even when it holds commits by someone else.")
@click.option("--verify", metavar="CMD", help="Run CMD (e.g. 'pytest -q') on the result; the commits that make it fail are found by bisection and dropped; the report says so.")
@click.option("--dry-run", is_flag=True, help="Build the commits and print what would be pushed and the pull request's title and body; contact neither the remote nor the forge, move no branch.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="json: the outcome as one JSON object on stdout.")
@click.option("--max-chars", type=click.IntRange(min=1000), default=DEFAULT_MAX_CHARS, show_default=True, help="Cap on the body (GitHub's limit is 65,536).")
def pull_request(
    paths, select, ignore, exclude, config_file, jobs, quiet, file_timeout, no_cache, profile, branch, base_branch, remote,
    forge, api_url, repo, title, labels, reviewers, draft, author, signoff, force, verify, dry_run, fmt, max_chars,
) -> None:
    """Push the changes to a branch and open or update its pull request (GitHub) or merge
    request (GitLab), with the audit report as its body: the whole CI job in one step.

    The branch is rebuilt from the current base on every run, one commit per codemod, and
    pushed only when its content changed (with --force-with-lease against what was read).
    The open pull request for the branch is found by head branch and the report's hidden
    marker and updated, never duplicated; when the base already has the changes it is closed;
    a pull request closed unmerged stays closed until the changes differ. Nothing in the
    working tree, index or current branch changes.

    \b
    Tokens come from the environment only:
      GitHub: GITHUB_TOKEN or GH_TOKEN (GITHUB_API_URL, GITHUB_REPOSITORY)
      GitLab: GITLAB_TOKEN, or CI_JOB_TOKEN (CI_SERVER_URL, CI_PROJECT_ID)
    A run for a pull request from a fork is skipped (its token is read-only).
    Outcome: created, updated, unchanged, closed or skipped; also written to $GITHUB_OUTPUT.
    """
    from prodfix.forges.base import ForgeError
    from prodfix.vcs.gitcmd import GitError
    from prodfix.vcs.secrets import redact
    from prodfix.vcs.workflow import WorkflowError
    from prodfix.vcs.workflow import pull_request as run_pull_request

    console = _stderr()
    try:
        plan = _plan(paths, select, ignore, exclude, config_file, jobs=jobs)
        tally = Tally()
        outcome, preview = run_pull_request(
            plan, paths, config_file, exclude, jobs, file_timeout, tally.add, branch, base_branch, remote, forge,
            api_url, repo, title, labels, reviewers, draft, author, signoff, force, verify, dry_run, max_chars,
        )
        unprocessed = tally.errors
    except (GitError, PlanError, ForgeError, WorkflowError) as exc:
        raise _fail(redact(str(exc))) from None
    except click.exceptions.Exit:
        raise
    except Exception:  # noqa: BLE001 - a traceback may quote a token: print it redacted
        console.print(findings_output.escape(redact(traceback.format_exc())))
        raise click.exceptions.Exit(EXIT_USAGE) from None
    if preview is not None and fmt == "text":
        result = outcome.result
        click.echo(f"would push {result.tip} to {remote} {branch} ({_plural(len(result.commits), 'commit')} on {preview.base_branch}):")
        for commit in result.commits:
            click.echo(f"  {commit.sha[:12]} {commit.subject} ({_plural(len(commit.files), 'file')})")
        click.echo(f"\nwould open or update the pull request into {preview.base_branch}:\n\ntitle: {preview.title}\n\n{preview.body}", nl=False)
    data = _pr_dict(outcome)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    _github_output({key.replace("_", "-"): data[key] for key in ("status", "number", "url", "head_sha", "branch", "base_sha")})
    for warning in outcome.warnings:
        console.print(f"[yellow]warning:[/] {findings_output.escape(redact(warning))}")
    result = outcome.result
    if result is not None and result.verification is not None:
        _say_verification(console, result.verification, with_output=False)
    where = f" {outcome.pull.url}" if outcome.pull is not None else ""
    head = f" (head {outcome.head_sha[:12]})" if outcome.head_sha else ""
    console.print(f"prodfix pr: {outcome.status}: {findings_output.escape(redact(outcome.message))}{where}{head}")
    raise click.exceptions.Exit(EXIT_ERRORS if unprocessed else EXIT_OK)


def _github_output(values: dict[str, object]) -> None:
    """Append step outputs to $GITHUB_OUTPUT when it is set (GitHub Actions), one per line."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            for key, value in values.items():
                handle.write(f"{key}={'' if value is None else str(value).replace(chr(10), ' ')}\n")
    except OSError as exc:
        raise _fail(f"cannot write $GITHUB_OUTPUT: {exc.strerror}") from None


def _say_verification(console: Console, verification, with_output: bool) -> None:
    """The --verify outcome (vcs.branch.Verification), and with ``with_output`` the failing run's tail."""
    console.print(
        f"prodfix: verify {findings_output.escape(verification.command)!r}: {findings_output.escape(verification.outcome)}"
    )
    if with_output and verification.output:
        console.print(findings_output.escape(verification.output))


def _pr_dict(outcome) -> dict:
    """``pr``'s outcome (vcs.pull_request.PrOutcome) as --format json gives it."""
    from prodfix.vcs.branch import result_dict
    from prodfix.vcs.secrets import redact

    result = outcome.result
    branch = result_dict(result) if result is not None else {}
    return {
        "status": outcome.status,
        "message": redact(outcome.message),
        "number": outcome.pull.number if outcome.pull else None,
        "url": outcome.pull.url if outcome.pull else None,
        "head_sha": outcome.head_sha,
        "branch": outcome.branch,
        "base_sha": outcome.base_sha,
        "pushed": outcome.pushed,
        "commits": branch.get("commits", []),
        "verification": branch.get("verification"),
        "warnings": [redact(w) for w in outcome.warnings],
    }


@main.command("config")
@_common
def show_config(paths, select, ignore, exclude, config_file, jobs, quiet, file_timeout, no_cache, profile) -> None:
    """Print the effective configuration: where it came from, which codemods run and why, their options."""
    plan = _plan(paths, select, ignore, exclude, config_file, jobs=jobs)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"root:    {plan.root}" + (" (git work tree)" if plan.in_git else ""))
    console.print(f"config:  {plan.config.path or 'none found (defaults)'}")
    console.print(f"exclude: {', '.join(plan.config.exclude) or '-'}")
    console.print(f"files:   {len(plan.files)}")
    console.print(f"unsafe fixes: {'made' if plan.project.unsafe_fixes else 'not made (suggestions; --unsafe-fixes makes them)'}")
    if plan.project.modules is not None:
        votes = ", ".join(f"{root or '.'} {n}" for root, n in plan.project.modules.votes) or "configured"
        console.print(f"import root: {', '.join(r or '.' for r in plan.project.modules.roots)} (vote: {votes})")
    style = plan.project.style
    console.print(f"conventions: line length {style.line_length}, formatter {style.formatter or 'none'}, format {plan.project.format}")
    for what, where in style.sources:
        console.print(f"  {findings_output.escape(what)} ({findings_output.escape(where)})")
    for codemod in registry.CODEMODS:
        console.print(f"\n[bold]{codemod.code} {codemod.name}[/]: {plan.selection.reasons[codemod.name]}")
        for key, value in dataclasses.asdict(plan.config.options_for(codemod)).items():
            console.print(f"  {key} = {findings_output.escape(repr(value))}")
