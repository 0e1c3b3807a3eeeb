"""ruff as the oracle: what the codemods write raises no new import-order, unused-import,
unused-name, stale-noqa, quote or manual-from-import finding (I001, F401, F841, RUF100, Q000,
PLR0402) over what the input already had, for every fixture, with ruff configured like the
Style the fixture passes (isort settings, quote style).

Each fixture's input and output go into a folder of their own with its ruff.toml, one ruff run
over all inputs and one over all outputs; findings are compared per fixture and rule (lines
move, so counts are compared)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from helpers import header, make_style, transform
from prodfix.codemods import registry
from prodfix.codemods.common.imports import effective
from prodfix.codemods.common.style import Style
from prodfix.engine.plan import make_plan
from prodfix.engine.runner import run_project

RUFF = Path(sys.executable).with_name("ruff")
FIXTURES = Path(__file__).parent / "fixtures"
CODEMOD_DIRS = {c.name.replace("-", "_"): c.name for c in registry.CODEMODS}
CHECKED = ("I001", "F401", "F841", "RUF100", "Q000", "PLR0402")
# selected too, so that RUF100 knows which noqa codes still suppress something
ALSO = ("T201", "S113", "SIM115", "TRY401", "E501")


# deliberate: when unsure, an import stays (a package's __init__.py may re-export it; ruff does
# not read type comments)
ACCEPTED = {
    ("print_to_logging-cleanup_sys_type_comment_kept", "F401"),
}


def ruff_config(style: Style) -> str:
    imports = effective(style.imports)
    isort = {
        "known-first-party": ["app", *imports.known_first_party],
        "known-third-party": list(imports.known_third_party),
        "force-sort-within-sections": imports.force_sort_within_sections,
        "force-single-line": imports.force_single_line,
        "lines-after-imports": imports.lines_after_imports,
        "combine-as-imports": imports.combine_as_imports,
        "order-by-type": imports.order_by_type,
        "case-sensitive": imports.case_sensitive,
    }
    lines = [f"line-length = {style.line_length}", "[lint.isort]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in isort.items()]
    custom = [s for s, _ in imports.headings if s not in ("future", "stdlib", "thirdparty", "firstparty", "localfolder")]
    if custom:
        order = ["future", "standard-library", *custom, "third-party", "first-party", "local-folder"]
        lines.append(f"section-order = {json.dumps(order)}")
        lines.append("[lint.isort.sections]")
        lines += [f"{name} = {json.dumps([name])}" for name in custom]
    if style.quote:
        lines += ["[lint.flake8-quotes]", f'inline-quotes = "{style.quote}"']
    return "\n".join(lines) + "\n"


def selected(style: Style) -> str:
    codes = [c for c in CHECKED if c != "Q000" or style.quote]  # no quote style: Q000 is not the project's
    return ",".join((*codes, *ALSO))


def findings(root: Path, select: str) -> Counter:
    out = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--select", select, "--output-format", "json", "."],
        capture_output=True, text=True, cwd=root,
    )
    assert out.returncode in (0, 1), out.stderr
    counts: Counter = Counter()
    for item in json.loads(out.stdout):
        rel = Path(item["filename"]).resolve().relative_to(root.resolve())
        if item["code"] in CHECKED:
            counts[(rel.parts[0], item["code"])] += 1
    return counts


def _single_cases():
    for folder in sorted(FIXTURES.iterdir()):
        if folder.name in CODEMOD_DIRS:
            for case in sorted(folder.glob("*.py")):
                if not case.name.endswith(".expected.py"):
                    yield CODEMOD_DIRS[folder.name], case


def test_no_new_lint_finding_on_single_file_fixtures(tmp_path: Path) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    selects: dict[str, str] = {}
    for codemod, case in _single_cases():
        source = case.read_text(encoding="utf-8")
        output, result = transform(codemod, source)
        if output == source:
            continue
        raw = header(source, "style")
        style = make_style(json.loads(raw)) if raw else Style()
        path = header(source, "fixture-path") or "app/module.py"
        name = f"{case.parent.name}-{case.stem}"
        selects[name] = selected(style)
        for root, text in ((before, source), (after, output)):
            target = root / name / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            (root / name / "ruff.toml").write_text(ruff_config(style))
    assert selects
    # one ruff run per selection (most fixtures share one) over each tree
    new = []
    for select in sorted(set(selects.values())):
        names = [n for n, s in selects.items() if s == select]
        old_counts, new_counts = Counter(), Counter()
        for root, counts in ((before, old_counts), (after, new_counts)):
            scratch = root.parent / f"{root.name}-run"
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir()
            for n in names:
                shutil.copytree(root / n, scratch / n)
            counts.update(findings(scratch, select))
        new += [
            (key, old_counts[key], count) for key, count in new_counts.items()
            if count > old_counts[key] and key not in ACCEPTED
        ]
    assert not new, f"new findings (fixture, rule), before, after: {sorted(new)}"


def _project_cases():
    for folder in sorted(FIXTURES.iterdir()):
        if folder.name in CODEMOD_DIRS:
            # the cases that change something (a must-not-change case has no expected file)
            for case in sorted(p for p in folder.iterdir() if p.is_dir() and any(p.rglob("*.expected.py"))):
                yield pytest.param(case, id=f"{folder.name}/{case.name}")


@pytest.mark.parametrize("case", list(_project_cases()))
def test_no_new_lint_finding_on_project_fixtures(case: Path, tmp_path: Path) -> None:
    """A multi-file fixture with its own configuration (PLR0402 on, say): its changed files
    under the project's own ruff settings, before and after."""
    root = tmp_path / case.name
    shutil.copytree(case, root, ignore=shutil.ignore_patterns("*.expected.py"))
    plan = make_plan([root])
    results = [r for r in run_project(list(plan.files), list(plan.codemods), plan.project, jobs=1) if r.changed]
    assert results, "the fixture expects a change"
    lint = plan.project.lint
    checked = [c for c in CHECKED if c != "Q000" and (c != "PLR0402" or (lint is not None and lint.enabled(c)))]
    select = ",".join((*checked, *ALSO))
    before = findings(root, select)
    for result in results:
        (root / result.path).write_bytes(result.new_bytes)
    after = findings(root, select)
    new = [(key, before[key], count) for key, count in after.items() if count > before[key]]
    assert not new, f"new findings (file, rule), before, after: {sorted(new)}"
