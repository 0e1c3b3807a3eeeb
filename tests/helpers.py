"""Running one codemod on a source string, as the engine does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from prodfix.codemods import registry
from prodfix.codemods.base import ProjectContext
from prodfix.codemods.common.style import ImportStyle, Style
from prodfix.config import build_options
from prodfix.engine.pipeline import FileResult, process_source
from prodfix.engine.project_tools import LintRules
from prodfix.engine.source import decode_source


def header(source: str, key: str) -> str | None:
    for line in source.splitlines()[:6]:
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


def make_style(settings: dict | None) -> Style:
    """A Style from a fixture's ``# style: {json}`` header: Style's fields, with ``imports``
    as ImportStyle's (lists for tuples; ``headings`` a {section: text} mapping)."""
    settings = dict(settings or {})
    imports = dict(settings.pop("imports", {}))
    if "headings" in imports:
        imports["headings"] = tuple(imports["headings"].items())
    for key, value in imports.items():
        if isinstance(value, list):
            imports[key] = tuple(value)
    return Style(imports=ImportStyle(**imports), **settings)


def run_codemod(
    name: str, source: str, path: str = "app/module.py", options: dict | None = None, unsafe: bool = False,
    style: Style | None = None, lint: LintRules | None = None, modules=None,
) -> FileResult:
    """``unsafe``: make the fixes the codemod marks unsafe (--unsafe-fixes); ``style``, ``lint``,
    ``modules``: the project's conventions, ruff rules and module index."""
    codemod_cls = registry.lookup(name)
    opts = build_options(codemod_cls, options or {}, lambda key: str(key)) if options else None
    decoded = decode_source(source.encode("utf-8"))
    project = ProjectContext(root=".", unsafe_fixes=unsafe, style=style or Style(), lint=lint, modules=modules)
    return process_source(decoded, path, [codemod_cls(opts)], project)


def transform(name: str, source: str) -> tuple[str, FileResult]:
    """Apply the codemod as configured by the fixture's own header lines (``# options: {json}``,
    ``# fixture-path: app/x.py``, ``# unsafe-fixes: true``, ``# style: {json}`` (make_style),
    ``# lint: CODE,CODE`` (the ruff rules the project selects))."""
    raw_options = header(source, "options")
    options = json.loads(raw_options) if raw_options else None
    path = header(source, "fixture-path") or "app/module.py"
    raw_style = header(source, "style")
    style = make_style(json.loads(raw_style)) if raw_style else None
    raw_lint = header(source, "lint")
    lint = LintRules(select=tuple(c.strip() for c in raw_lint.split(","))) if raw_lint else None
    result = run_codemod(
        name, source, path, options, unsafe=header(source, "unsafe-fixes") == "true", style=style, lint=lint
    )
    return (result.new_text if result.changed else source), result


def ruff_rows(rule: str, path: Path, ignore_noqa: bool = False) -> set[int]:
    """Lines ruff reports for one rule in one file (ruff is a test dependency); ``ignore_noqa``:
    also those a ``# noqa`` comment suppresses."""
    ruff = Path(sys.executable).with_name("ruff")
    out = subprocess.run(
        [str(ruff), "check", "--no-cache", "--select", rule, "--output-format", "json", str(path)]
        + (["--ignore-noqa"] if ignore_noqa else []),
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
