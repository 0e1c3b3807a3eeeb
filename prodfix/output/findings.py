"""Findings for people (a rich table), for programs (JSON) and for CI logs (GitHub annotations)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from prodfix.codemods.base import Codemod, Finding

FORMATS = ("text", "json", "github")


def visible(findings: Iterable[Finding], explain: bool) -> list[Finding]:
    return [f for f in findings if explain or f.kind != "note"]


def render_text(console: Console, findings: list[Finding], codemods: Iterable[type[Codemod]], explain: bool) -> None:
    if findings:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("codemod", no_wrap=True)
        table.add_column("location", no_wrap=True, overflow="fold")
        table.add_column("message")
        style = {"fix": "", "unsafe-fix": "cyan", "warning": "yellow", "note": "dim", "error": "red"}
        for f in findings:
            message = escape(label(f))
            table.add_row(
                f"{f.code} {f.codemod}",
                f"{f.path}:{f.line}:{f.column}",
                f"[{style[f.kind]}]{message}[/]" if style[f.kind] else message,
            )
        console.print(table)
    if explain:
        seen = {f.codemod for f in findings}
        for codemod in codemods:
            if codemod.name not in seen:
                continue
            r = codemod.rationale
            console.print(f"\n[bold]{codemod.code} {codemod.name}[/] (severity: {r.severity})")
            console.print(f"  problem: {escape(r.problem)}")
            console.print(f"  impact:  {escape(r.impact)}")
            console.print(f"  fix:     {escape(r.fix)}")


def label(finding: Finding) -> str:
    """The message, saying so when it is an unsafe fix that was not made (a suggestion)."""
    if finding.kind == "unsafe-fix":
        return f"unsafe fix, not made (--unsafe-fixes makes it): {finding.message}"
    return finding.message


def escape(text: str) -> str:
    return text.replace("[", "\\[")


def render_json(findings: list[Finding]) -> str:
    return json.dumps([f.as_dict() for f in findings], indent=2, sort_keys=False) + "\n"


def _ghescape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        level = {"note": "notice", "error": "error"}.get(f.kind, "warning")
        lines.append(
            f"::{level} file={_ghescape(f.path, True)},line={f.line},col={f.column},"
            f"title={_ghescape(f.code + ' ' + f.codemod, True)}::{_ghescape(label(f))}"
        )
    return "\n".join(lines) + ("\n" if lines else "")
