"""`prodfix report`: the markdown audit report, as a reviewer (or a PR body) gets it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import commit_all, configure_logging
from prodfix.output.report import _md
from test_cli import prodfix

MARKER = re.compile(r"<!-- prodfix:v1 version=[\d.]+ config=[0-9a-f]{12} -->\n\Z")


def test_report_matches_the_findings_and_explains_each_codemod(sample_backend: Path) -> None:
    out = prodfix(sample_backend, "report")
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    findings = json.loads(prodfix(sample_backend, "check", "--format", "json").stdout)
    fixes: dict[str, int] = {}
    for f in findings:
        if f["kind"] == "fix":
            fixes[f["codemod"]] = fixes.get(f["codemod"], 0) + 1
    assert fixes, "the sample backend has something to fix"
    for name, count in fixes.items():
        row = next(line for line in text.splitlines() if line.startswith("| `") and f" {name} |" in line)
        assert row.split("|")[4].strip() == str(count), row
        section = text.split(f"` {name} (", 1)[1].split("\n## ", 1)[0]
        for part in ("**Problem.**", "**Impact.**", "**Fix.**", f"ignore: [{name}]"):
            assert part in section, (name, part)
        assert section.count("\n- `") >= count
    # high severity first, then medium
    assert text.index("add-timeouts (high)") < text.index("print-to-logging (medium)")
    assert "**Left alone** (1):\n\n- `app/store.py:17` print kept" in text
    assert MARKER.search(text)


def test_report_is_deterministic_and_can_go_to_a_file(sample_backend: Path, tmp_path: Path) -> None:
    first = prodfix(sample_backend, "report", "--no-cache").stdout
    second = prodfix(sample_backend, "report").stdout
    third = prodfix(sample_backend, "report").stdout  # from the cache
    assert first == second == third
    target = tmp_path / "report.md"
    assert prodfix(sample_backend, "report", "-o", str(target)).stdout == b""
    assert target.read_bytes() == first


def test_long_reports_are_shortened_to_fit(git_repo: Path) -> None:
    for index in range(120):
        (git_repo / f"mod_{index:03}.py").write_text(
            "".join(f"def f{n}(x):\n    print('value {n}', x)\n\n\n" for n in range(5))
        )
    configure_logging(git_repo)
    commit_all(git_repo)
    full = prodfix(git_repo, "report").stdout.decode()
    assert "600 changes in 120 files" in full and len(full) > 20_000
    short = prodfix(git_repo, "report", "--max-chars", "5000").stdout.decode()
    assert len(short) <= 5000
    assert "600 changes in 120 files" in short and "- ... and " in short
    assert "run `prodfix report`" in short and MARKER.search(short)


def test_nothing_to_report(git_repo: Path) -> None:
    (git_repo / "ok.py").write_text("import logging\n\nlogging.getLogger(__name__).info('fine')\n")
    commit_all(git_repo)
    text = prodfix(git_repo, "report").stdout.decode()
    assert "Nothing to change" in text and "| codemod |" not in text and MARKER.search(text)


def test_messages_stay_literal_in_markdown() -> None:
    assert _md("added __enter__/__exit__ to *Client* | <b>") == r"added \_\_enter\_\_/\_\_exit\_\_ to \*Client\* \| &lt;b&gt;"


def test_the_verification_and_the_changes_id_are_in_the_report() -> None:
    from prodfix.codemods import registry
    from prodfix.output.report import ReportBuilder
    from prodfix.vcs.branch import Verification

    codemods = [registry.lookup("print-to-logging")(), registry.lookup("add-retry")()]
    verification = Verification("pytest -q `x`", "passed after dropping add-retry", ["add-retry"], "E   boom ~~~ 1 failed")
    text = ReportBuilder(codemods, changes="0123456789ab", verification=verification).render()
    assert "## Verification\n\n`pytest -q 'x'`: passed after dropping add-retry." in text
    assert "The changes of `add-retry` made it fail and are not in this branch." in text
    assert "~~~\nE   boom ~ ~ ~ 1 failed\n~~~" in text
    assert re.search(r"<!-- prodfix:v1 version=\S+ config=[0-9a-f]{12} changes=0123456789ab -->\n$", text)
    assert "## Verification" not in ReportBuilder(codemods).render()
