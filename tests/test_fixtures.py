"""Every fixture pair: <case>.py becomes <case>.expected.py (or stays as it is without one)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import shutil

from helpers import transform
from prodfix.codemods import registry
from prodfix.engine.plan import make_plan
from prodfix.engine.runner import run_project

FIXTURES = Path(__file__).parent / "fixtures"
CODEMOD_DIRS = {c.name.replace("-", "_"): c.name for c in registry.CODEMODS}


def _cases():
    for folder in sorted(FIXTURES.iterdir()):
        if folder.name not in CODEMOD_DIRS:
            continue
        for case in sorted(folder.glob("*.py")):
            if case.name.endswith(".expected.py"):
                continue
            yield pytest.param(CODEMOD_DIRS[folder.name], case, id=f"{folder.name}/{case.stem}")


@pytest.mark.parametrize(("codemod", "case"), list(_cases()))
def test_fixture(codemod: str, case: Path) -> None:
    source = case.read_text(encoding="utf-8")
    expected_file = case.with_name(case.stem + ".expected.py")
    expected = expected_file.read_text(encoding="utf-8") if expected_file.exists() else source
    output, result = transform(codemod, source)
    assert result.error is None, result.error
    assert not [f for f in result.findings if "internal error" in f.message]
    assert output == expected
    ast.parse(output)
    again, second = transform(codemod, output)
    assert again == output, "not idempotent: a second run changed the output"
    assert not [f for f in second.findings if f.kind == "fix"]


def _project_cases():
    for folder in sorted(FIXTURES.iterdir()):
        if folder.name not in CODEMOD_DIRS:
            continue
        for case in sorted(p for p in folder.iterdir() if p.is_dir()):
            yield pytest.param(case, id=f"{folder.name}/{case.name}")


def _run_project(root: Path) -> dict[str, str]:
    """Run the configured codemods over a copied multi-file fixture; returns changed texts."""
    plan = make_plan([root])
    results = run_project(list(plan.files), list(plan.codemods), plan.project, jobs=1)
    changed = {}
    for result in results:
        assert result.error is None, (result.path, result.error)
        assert not [f for f in result.findings if "internal error" in f.message], result.findings
        if result.changed:
            changed[result.path] = result.new_text
    return changed


@pytest.mark.parametrize("case", list(_project_cases()))
def test_project_fixture(case: Path, tmp_path: Path) -> None:
    """A folder is a small repository: every <name>.expected.py is what <name>.py becomes;
    every other file must stay as it is. Then a second run changes nothing."""
    root = tmp_path / case.name
    shutil.copytree(case, root, ignore=shutil.ignore_patterns("*.expected.py"))
    changed = _run_project(root)
    expected = {
        p.relative_to(case).as_posix().replace(".expected.py", ".py"): p.read_text()
        for p in case.rglob("*.expected.py")
    }
    assert changed == expected
    for rel, text in changed.items():
        ast.parse(text)
        (root / rel).write_text(text)
    assert _run_project(root) == {}, "not idempotent"


def test_every_codemod_has_fixtures() -> None:
    for name in CODEMOD_DIRS:
        folder = FIXTURES / name
        assert folder.is_dir() and any(folder.rglob("*.expected.py")), name
        assert any(
            not p.with_name(p.stem + ".expected.py").exists()
            for p in folder.rglob("*.py") if not p.name.endswith(".expected.py")
        ), f"{name} has no must-not-change case"
