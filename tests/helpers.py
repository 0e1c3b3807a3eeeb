"""Running one codemod on a source string, as the engine does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from prodfix.codemods import registry
from prodfix.codemods.base import ProjectContext
from prodfix.config import build_options
from prodfix.engine.pipeline import FileResult, process_source
from prodfix.engine.source import decode_source


def header(source: str, key: str) -> str | None:
    for line in source.splitlines()[:3]:
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


def run_codemod(
    name: str, source: str, path: str = "app/module.py", options: dict | None = None, unsafe: bool = False
) -> FileResult:
    """``unsafe``: make the fixes the codemod marks unsafe (--unsafe-fixes)."""
    codemod_cls = registry.lookup(name)
    opts = build_options(codemod_cls, options or {}, lambda key: str(key)) if options else None
    decoded = decode_source(source.encode("utf-8"))
    return process_source(decoded, path, [codemod_cls(opts)], ProjectContext(root=".", unsafe_fixes=unsafe))


def transform(name: str, source: str) -> tuple[str, FileResult]:
    """Apply the codemod as configured by the fixture's own header lines (``# options: {json}``,
    ``# fixture-path: app/x.py``, ``# unsafe-fixes: true``)."""
    raw_options = header(source, "options")
    options = json.loads(raw_options) if raw_options else None
    path = header(source, "fixture-path") or "app/module.py"
    result = run_codemod(name, source, path, options, unsafe=header(source, "unsafe-fixes") == "true")
    return (result.new_text if result.changed else source), result


def ruff_rows(rule: str, path: Path) -> set[int]:
    """Lines ruff reports for one rule in one file (ruff is a test dependency)."""
    ruff = Path(sys.executable).with_name("ruff")
    out = subprocess.run(
        [str(ruff), "check", "--no-cache", "--select", rule, "--output-format", "json", str(path)],
        capture_output=True, text=True,
    )
    return {item["location"]["row"] for item in json.loads(out.stdout)}


def publish_print_fixes(repo: Path, forge, env: dict[str, str], branch: str = "prodfix/hardening", force: bool = False, **kwargs):
    """`prodfix pr`'s flow (vcs.pull_request.publish) with print-to-logging only, base `main`."""
    from prodfix.engine.plan import make_plan
    from prodfix.engine.runner import run_project
    from prodfix.output.report import ReportBuilder
    from prodfix.vcs.branch import build_branch
    from prodfix.vcs.pull_request import DEFAULT_TITLE, publish

    codemods = [registry.lookup("print-to-logging")]

    def run_on(tree: Path, codemod) -> dict[str, bytes]:
        plan = make_plan([tree], None, [codemod.name], [], [])
        return {r.path: r.new_bytes for r in run_project(list(plan.files), list(plan.codemods), plan.project, 1) if r.changed}

    def build(previous):
        return build_branch(repo, branch, codemods, run_on, previous=previous, force=force)

    def render(result, ident):
        return DEFAULT_TITLE, ReportBuilder([c() for c in codemods], changes=ident).render()

    return publish(repo, "origin", branch, "main", forge, env, build, render, **kwargs)
