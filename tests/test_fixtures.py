"""Every fixture pair: <case>.py becomes <case>.expected.py (or stays as it is without one)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import transform
from prodfix.codemods import registry

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


def test_every_codemod_has_fixtures() -> None:
    for name in CODEMOD_DIRS:
        folder = FIXTURES / name
        assert folder.is_dir() and any(folder.glob("*.expected.py")), name
        assert any(
            not p.with_name(p.stem + ".expected.py").exists()
            for p in folder.glob("*.py") if not p.name.endswith(".expected.py")
        ), f"{name} has no must-not-change case"
