"""The audit report: markdown a reviewer can act on, for `prodfix report` and pull request bodies.

Like a careful engineer's production audit: a summary table (codemod, severity, files,
changes), then per codemod the problem, its impact, the fix, every change with its file and
line, the unsafe fixes it did not apply (under their own heading; `--unsafe-fixes` applies
them), what was deliberately left alone and why, and how to turn the codemod off. It ends with a
hidden marker carrying the tool version and a hash of the effective configuration, so a bot
can recognise its own pull request. The text is deterministic (sorted, no timestamps) and
capped below GitHub's 65,536-character body limit: when it would not fit, the per-codemod
lists are shortened and the report says how to get the full one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from prodfix import __version__
from prodfix.codemods.base import Codemod, Finding

GITHUB_BODY_LIMIT = 65_536
DEFAULT_MAX_CHARS = 65_000  # a margin under the limit for what a bot appends
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass
class CodemodSection:
    codemod: type[Codemod]
    files: set[str] = field(default_factory=set)  # files this codemod changed
    changes: list[Finding] = field(default_factory=list)  # kind "fix"
    unsafe: list[Finding] = field(default_factory=list)  # kind "unsafe-fix": not made
    left_alone: list[Finding] = field(default_factory=list)  # warnings and notes


def config_hash(codemods: Iterable[Codemod]) -> str:
    """A short hash of the selected codemods and their effective options."""
    h = hashlib.blake2b(digest_size=6)
    for codemod in codemods:
        options = dataclasses.asdict(codemod.options) if dataclasses.is_dataclass(codemod.options) else {}
        h.update(json.dumps([codemod.name, options], sort_keys=True, default=repr).encode())
    return h.hexdigest()


class ReportBuilder:
    """Collects FileResults (in any order) and renders the markdown."""

    def __init__(self, codemods: Iterable[Codemod], changes: str | None = None, verification=None) -> None:
        """``changes``: the id of the branch's diff, carried in the marker (a closed pull request
        with the same id is not reopened); ``verification``: vcs.branch.Verification of the branch."""
        self.codemods = list(codemods)
        self.sections = {type(c).name: CodemodSection(type(c)) for c in self.codemods}
        self.errors: list[tuple[str, int, str]] = []
        self.changes = changes
        self.verification = verification

    def add(self, result) -> None:  # engine.pipeline.FileResult
        if result.error is not None:
            self.errors.append((result.path, result.error.line, result.error.reason))
        for name in result.changed_by:
            if name in self.sections:
                self.sections[name].files.add(result.path)
        for finding in result.findings:
            if finding.kind == "error":  # a codemod failed on the file: with the files not processed
                self.errors.append((result.path, finding.line, f"{finding.codemod}: {finding.message}"))
                continue
            section = self.sections.get(finding.codemod)
            if section is None:
                continue
            if finding.kind == "fix":
                section.changes.append(finding)
                if result.changed:
                    section.files.add(result.path)
            elif finding.kind == "unsafe-fix":
                section.unsafe.append(finding)
            else:
                section.left_alone.append(finding)

    def render(self, max_chars: int = DEFAULT_MAX_CHARS) -> str:
        """The report, shortened until it fits ``max_chars``."""
        for limit in (None, 200, 50, 20, 5, 0):
            text = self._render(limit)
            if len(text) <= max_chars:
                return text
        marker = self._marker()
        cut = max(0, max_chars - len(marker) - 200)
        return text[:cut].rsplit("\n", 1)[0] + "\n\n_(report cut to fit; run `prodfix report` for all of it)_\n\n" + marker

    def _marker(self) -> str:
        changes = f" changes={self.changes}" if self.changes else ""
        return f"<!-- prodfix:v1 version={__version__} config={config_hash(self.codemods)}{changes} -->\n"

    def _render(self, limit: int | None) -> str:
        sections = sorted(
            (s for s in self.sections.values() if s.changes or s.unsafe or s.left_alone),
            key=lambda s: (SEVERITY_ORDER[s.codemod.rationale.severity], s.codemod.code),
        )
        out = ["# prodfix production-readiness report", ""]
        total_files = len(set().union(*(s.files for s in sections))) if sections else 0
        total_changes = sum(len(s.changes) for s in sections)
        if not sections:
            out += ["Nothing to change: every selected codemod found the code already production-ready.", ""]
        else:
            out += [
                f"{total_changes} change{'s' if total_changes != 1 else ''} in {total_files} "
                f"file{'s' if total_files != 1 else ''}, by {len([s for s in sections if s.changes])} codemod(s).",
                "",
                "| codemod | severity | files | changes | unsafe fixes, not applied | left alone |",
                "|---|---|---:|---:|---:|---:|",
            ]
            for s in sections:
                c = s.codemod
                out.append(
                    f"| `{c.code}` {c.name} | {c.rationale.severity} | {len(s.files)} | {len(s.changes)} "
                    f"| {len(s.unsafe)} | {len(s.left_alone)} |"
                )
            out.append("")
        if self.verification is not None:
            v = self.verification
            out += ["## Verification", "", f"`{_md_code(v.command)}`: {_md(v.outcome)}.", ""]
            if v.dropped:
                out += [
                    "The changes of " + ", ".join(f"`{name}`" for name in v.dropped)
                    + " made it fail and are not in this branch. The failing run ended with:", "",
                ]
                out += ["~~~", v.output.replace("~~~", "~ ~ ~"), "~~~", ""]
        for s in sections:
            out += self._section(s, limit)
        if self.errors:
            out += ["## Files that could not be processed", ""]
            out += [f"- `{path}`{f':{line}' if line else ''}: {_md(reason)}" for path, line, reason in sorted(self.errors)]
            out.append("")
        shortened = limit is not None
        if shortened:
            out += ["_Lists are shortened to fit; run `prodfix report` (or `prodfix check --explain`) for all of them._", ""]
        out.append(self._marker())
        return "\n".join(out)

    def _section(self, s: CodemodSection, limit: int | None) -> list[str]:
        c = s.codemod
        r = c.rationale
        out = [
            f"## `{c.code}` {c.name} ({r.severity})",
            "",
            f"**Problem.** {_md(r.problem)}",
            "",
            f"**Impact.** {_md(r.impact)}",
            "",
            f"**Fix.** {_md(r.fix)}",
            "",
        ]
        if s.changes:
            out += [f"**Changes** ({len(s.changes)} in {len(s.files)} file{'s' if len(s.files) != 1 else ''}):", ""]
            out += _items(sorted(s.changes), limit)
        if s.unsafe:
            out += [
                f"**Unsafe fixes, not applied** ({len(s.unsafe)}): each may change behaviour the code "
                "relies on; review it, then apply it by hand or with `prodfix fix --unsafe-fixes`.",
                "",
            ]
            out += _items(sorted(s.unsafe), limit)
        if s.left_alone:
            out += [f"**Left alone** ({len(s.left_alone)}):", ""]
            out += _items(sorted(s.left_alone), limit)
        out += [
            "To turn it off, in `.prodfix.yml` (or `[tool.prodfix]` in `pyproject.toml`):",
            "",
            "```yaml",
            f"ignore: [{c.name}]",
            "```",
            "",
            f"or on one line: `# prodfix: ignore[{c.name}]`.",
            "",
        ]
        return out


def _items(findings: list[Finding], limit: int | None) -> list[str]:
    shown = findings if limit is None else findings[:limit]
    lines = [f"- `{f.path}:{f.line}` {_md(f.message)}" for f in shown]
    if len(shown) < len(findings):
        lines.append(f"- ... and {len(findings) - len(shown)} more")
    return [*lines, ""]


def _md_code(text: str) -> str:
    return text.replace("`", "'").replace("\n", " ")


def _md(text: str) -> str:
    """Plain text safe in markdown: no HTML, and ``__enter__`` or ``*args`` stay literal."""
    for char in ("\\", "*", "_", "|", "`", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
