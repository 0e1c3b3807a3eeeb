"""engine/regions.py: leaving the bodies a codemod does not need out of the libcst parse changes
nothing in what comes out.

Every fixture (and every module of the fix-imports projects) runs with all codemods twice:
with regions on a reduced parse, forced even for small files, and on the whole file. Each
input also runs with an unrelated class and function appended, so that some body is always
left out. Both runs must give the same text and the same findings.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import libcst as cst
import pytest

from helpers import header
from prodfix.codemods import registry
from prodfix.codemods.base import Codemod, ProjectContext, Rationale
from prodfix.codemods.common import ast_facts
from prodfix.config import build_options
from prodfix.engine import pipeline, regions
from prodfix.engine.plan import make_plan
from prodfix.engine.pipeline import process_source
from prodfix.codemods.base import Needs
from prodfix.engine.regions import reduce
from prodfix.engine.source import decode_source

FIXTURES = Path(__file__).parent / "fixtures"
UNRELATED = '''

class Unrelated:
    """Nothing here for any codemod."""

    @staticmethod
    def helper(value, *, scale=2):
        total = 0
        for item in range(value):
            total += item * scale
        return total

    def other(self):
        return {"key": [1, 2, 3]}


def unrelated_function(a, b=None):
    if b is None:
        b = []
    b.append(a)
    return b
'''


@pytest.fixture()
def always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regions for any file, however small."""
    monkeypatch.setattr(regions, "MIN_SAVED", 0)
    monkeypatch.setattr(pipeline, "MIN_SAVED", 0)


def _codemods(path: Path, source: str) -> list[Codemod]:
    out = []
    raw = header(source, "options")
    for cls in registry.CODEMODS:
        opts = None
        if raw and path.parent.name == cls.name.replace("-", "_"):
            opts = build_options(cls, json.loads(raw), str)
        out.append(cls(opts))
    return out


def _both(source: str, rel: str, codemods: list[Codemod], project: ProjectContext):
    decoded = decode_source(source.encode("utf-8"))
    reduced = process_source(decoded, rel, codemods, project, regions=True)
    whole = process_source(decoded, rel, codemods, project, regions=False)
    return reduced, whole


def _standalone_inputs() -> list[Path]:
    return sorted(
        p for p in FIXTURES.rglob("*.py")
        if not p.name.endswith(".expected.py") and "fix_imports" not in p.parts and "github_openapi" not in p.parts
    )


def test_every_fixture_gives_the_same_result_with_regions(always: None, monkeypatch: pytest.MonkeyPatch) -> None:
    used = []
    original = regions.reduce

    def counting(*args, **kwargs):
        out = original(*args, **kwargs)
        used.append(out is not None)
        return out

    monkeypatch.setattr(pipeline, "reduce", counting)
    different = []
    for path in _standalone_inputs():
        source = path.read_text(encoding="utf-8")
        rel = header(source, "fixture-path") or path.relative_to(FIXTURES).as_posix()
        codemods = _codemods(path, source)
        # all together (their needs are joined), and each codemod that can do with less alone
        runs = [codemods] + [[c] for c in codemods if type(c).needs is not Codemod.needs]
        for text in (source, source + UNRELATED):
            for chosen in runs:
                project = ProjectContext(root=".", unsafe_fixes=header(source, "unsafe-fixes") == "true")
                reduced, whole = _both(text, rel, chosen, project)
                if (reduced.new_text, reduced.findings, reduced.error) != (whole.new_text, whole.findings, whole.error):
                    different.append((path.relative_to(FIXTURES).as_posix(), [c.name for c in chosen]))
    assert not different
    assert sum(used) >= 60  # the reduced parse really ran, on many of them (75 when written)


@pytest.mark.parametrize("project", sorted(p.name for p in (FIXTURES / "fix_imports").iterdir() if p.is_dir()))
def test_fix_imports_projects_give_the_same_result_with_regions(always: None, project: str) -> None:
    root = FIXTURES / "fix_imports" / project
    plan = make_plan([root], select=["all"])
    for path, rel in plan.files:
        source = path.read_text(encoding="utf-8")
        for text in (source, source + UNRELATED):
            reduced, whole = _both(text, rel, list(plan.codemods), plan.project)
            assert (reduced.new_text, reduced.findings) == (whole.new_text, whole.findings), rel


class _Shout(Codemod):
    """Upper-cases every string: it rewrites the placeholders too, which must not survive."""

    name = "shout"
    code = "PF999"
    summary = "test"
    rationale = Rationale("p", "i", "f", "low")

    def wants(self, source, path, project=None):
        return True

    def candidates(self, facts, source, path, project=None):
        return True

    def needs(self, facts, source, path, project=None):
        return Needs(calls=frozenset({"shout"}))

    def transform(self, wrapper, file, reporter):
        class Upper(cst.CSTTransformer):
            def leave_SimpleString(self, original, updated):
                return updated.with_changes(value=updated.value.upper())

        return wrapper.module.visit(Upper())


def test_a_placeholder_that_does_not_come_back_means_a_whole_parse(always: None) -> None:
    source = 'def shout():\n    return "a"\n\n\ndef quiet():\n    x = "b"\n    return x\n'
    decoded = decode_source(source.encode())
    result = process_source(decoded, "m.py", [_Shout()], ProjectContext("."))
    assert result.new_text == source.replace('"a"', '"A"').replace('"b"', '"B"')
    assert result.error is None


def _reduced(source: str, needs: Needs) -> regions.Reduced | None:
    tree = ast.parse(source)
    return reduce(source, tree, [needs], ast_facts.collect(tree))


def test_left_out_bodies_keep_every_line_and_header(always: None) -> None:
    source = (
        "import os\r\n\r\n"
        "class A(Base, metaclass=M):\r\n"
        "    attr = os.sep\r\n\r\n"
        "    @decorate(1)\r\n"
        "    def used(self):\r\n"
        "        return open('x')\r\n\r\n"
        "    @property\r\n"
        "    def unused(\r\n"
        "        self,\r\n"
        "    ):\r\n"
        "        # a comment\r\n"
        "        return 1\r\n\r\n"
        "def g(): return 2\r\n\r\n"
        "def h(x=os.name):\r\n"
        "    global STATE\r\n"
        "    STATE = x\r\n\r\n"
        "def last():\r\n"
        "    return 3"
    )
    reduced = _reduced(source, Needs(calls=frozenset({"open"})))
    assert reduced is not None
    old_lines, new_lines = source.split("\r\n"), reduced.text.split("\r\n")
    assert len(old_lines) == len(new_lines)
    kept = [line for line in old_lines if line in new_lines]
    # headers, class-level code, the needed method, a one-line def and a def declaring a global
    for line in ("class A(Base, metaclass=M):", "    attr = os.sep", "        return open('x')", "    @property",
                 "    def unused(", "    ):", "def g(): return 2", "    global STATE", "def last():"):
        assert line in kept
    assert "        return 1" not in new_lines and "    return 3" not in new_lines
    assert "        # a comment" in new_lines  # before the body's first statement: kept
    assert reduced.restore(reduced.text) == source


def test_needed_classes_and_managed_calls(always: None) -> None:
    source = (
        "class Owner:\n    def close(self):\n        pass\n\n"
        "def managed():\n    with open('x') as f:\n        return f.read()\n"
    )
    reduced = _reduced(source, Needs(calls=frozenset({"open"}), classes=frozenset({"Owner"}), managed=False))
    assert reduced is not None
    assert "        pass\n" in reduced.text  # a needed class is kept whole
    assert "f.read()" not in reduced.text  # a call already in a with item does not keep its def
    kept = _reduced(source, Needs(calls=frozenset({"open"}), classes=frozenset({"Owner"})))
    assert kept is None  # with managed calls counted, nothing is left to leave out


def test_a_codemod_needing_the_whole_module_means_no_reduction(always: None) -> None:
    source = "def f():\n    return 1\n"
    tree = ast.parse(source)
    assert reduce(source, tree, [Needs(), None], ast_facts.collect(tree)) is None


def test_restore_refuses_a_moved_or_changed_placeholder(always: None) -> None:
    source = "def a():\n    x = 1\n    return x\n\n\ndef b():\n    return open('p')\n"
    reduced = _reduced(source, Needs(calls=frozenset({"open"})))
    assert reduced is not None
    assert reduced.restore(reduced.text) == source
    placeholder = reduced.blocks[0][0]
    assert reduced.restore(reduced.text.replace(placeholder, placeholder.upper())) is None
    assert reduced.restore(reduced.text + placeholder) is None
