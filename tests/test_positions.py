"""codemods.common.positions gives every node the same start and end line as libcst's PositionProvider."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from prodfix.codemods.common.positions import Positions

FIXTURES = Path(__file__).parent / "fixtures"
SOURCES = sorted(FIXTURES.rglob("*.py"))
EXTRA = {
    "crlf_and_tabs": "import os\r\n\r\nclass A:\r\n\tdef f(self):\r\n\t\tprint(1,\r\n\t\t      2)\r\n",
    "decorated_and_comments": "# c\n\n@dec\n@dec2(1)\nasync def f(\n    a,  # why\n):\n    '''doc\n    more'''\n    return [x\n            for x in a]\n",
    "one_line_blocks": "if x: y = 1; z = 2\nelse: pass\nwhile 0: break\nwith a as b, c: pass\nclass C: pass\n",
    "lone_cr_and_continuation": "x = 1 + \\\n    2\ny = (3,\n     4)\n",
}


def _compare(source: str) -> None:
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    expected = wrapper.resolve(PositionProvider)
    ours = Positions(module)
    assert len(expected) > 0
    for node, code_range in expected.items():
        assert node in ours, type(node).__name__
        line, column, end = ours.span(node)
        assert (line, column, end) == (code_range.start.line, code_range.start.column, code_range.end.line), (
            type(node).__name__, cst.Module([]).code_for_node(node)[:60]
        )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_same_positions_as_libcst_on_every_fixture(path: Path) -> None:
    _compare(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_same_positions_on_layout_corner_cases(name: str) -> None:
    _compare(EXTRA[name])


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_asked_about_some_nodes_it_stops_after_them_with_the_same_positions(name: str) -> None:
    module = cst.parse_module(EXTRA[name])
    full = Positions(module)
    nodes = [n for n in _walk(module) if n in full]
    assert full.complete
    # every single node, and pairs of nodes far apart: same spans as the complete render
    for asked in [[n] for n in nodes] + [[nodes[i], nodes[-1 - i]] for i in range(len(nodes) // 2)]:
        some = Positions(module, set(asked))
        assert some.covers(asked)
        for node in asked:
            assert some.span(node) == full.span(node)


def test_a_node_at_the_top_stops_the_render_early() -> None:
    module = cst.parse_module("import os\n\ndef f():\n    return os.getcwd()\n")
    early = Positions(module, {module.body[0]})
    assert not early.complete
    assert early.span(module.body[0]) == (1, 0, 1)
    assert module.body[-1] not in early
    assert not early.covers([module.body[-1]])


def test_a_node_not_in_the_module_means_a_complete_render() -> None:
    module = cst.parse_module("x = 1\ny = 2\n")
    stranger = cst.Name("z")
    positions = Positions(module, {stranger})
    assert positions.complete and stranger not in positions
    assert positions.covers([stranger])  # asking again renders nothing more


def _walk(module: cst.Module) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            found.append(node)
            return True

    module.visit(Collect())
    return found
