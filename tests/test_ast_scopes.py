"""common/ast_scopes.py answers like libcst's ScopeProvider: on every call in every fixture and
in a set of tricky snippets, the qualified names (imports and builtins) and builtin-ness agree."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, QualifiedNameSource, ScopeProvider

from prodfix.codemods.common.ast_scopes import ScopeCursor, build, dotted_name

FIXTURES = Path(__file__).parent / "fixtures"

SNIPPETS = {
    "aliases": "import requests as rq\nfrom httpx import Client as C\nimport os.path\n"
    "def f():\n    rq.Session()\n    C()\n    os.path.join('a')\n    open('x')\n",
    "local shadows": "import requests\ndef f(requests):\n    requests.get('u')\ndef g():\n    open = 1\n    open('x')\n"
    "def h():\n    open('x')\n    requests.get('u')\n",
    "late local": "import socket\ndef f():\n    socket.create_connection(('h', 1))\n    socket = None\n",
    "class body hidden": "import io\nclass A:\n    io = None\n    def m(self):\n        io.open('x')\n",
    "global": "def f():\n    global open\n    open('x')\nopen = print\n",
    "nonlocal": "def outer():\n    import httpx\n    def inner():\n        nonlocal httpx\n        httpx.Client()\n    return inner\n",
    "function import": "def f():\n    from requests import Session\n    Session()\ndef g():\n    Session()\n",
    "relative": "from .models import Client\nfrom . import db\ndef f():\n    Client()\n    db.connect()\n",
    "comprehension": "def f(paths):\n    return [open(p) for p in paths if open]\n",
    "walrus": "def f(x):\n    if (open := x):\n        open('y')\n",
    "except and with": "import json\ndef f():\n    try:\n        pass\n    except Exception as json:\n        json.load(1)\n"
    "    with open('x') as fh:\n        fh.read()\n",
    "star import": "from os import *\ndef f():\n    getcwd()\n    open('x')\n",
    "call chains": "import requests, redis\nimport httpx as hx\ndef f(u):\n    requests.Session().get(u)\n    hx.Client().get(u)\n"
    "    redis.Redis.from_url(u).get(1)\n    requests.get(u).json()\n    open(u).readline()\n",
}


def _sources() -> list[tuple[str, str]]:
    found = sorted(p for p in FIXTURES.rglob("*.py") if not p.name.endswith(".expected.py"))
    return [*SNIPPETS.items(), *((p.relative_to(FIXTURES).as_posix(), p.read_text(encoding="utf-8")) for p in found)]


class _Compare(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(self, cursor: ScopeCursor) -> None:
        super().__init__()
        self.cursor = cursor
        self.mismatches: list[str] = []
        self._decorators = 0

    def visit_FunctionDef(self, node) -> None:
        self.cursor.enter()

    def leave_FunctionDef(self, node) -> None:
        self.cursor.leave()

    def visit_ClassDef(self, node) -> None:
        self.cursor.enter()

    def leave_ClassDef(self, node) -> None:
        self.cursor.leave()

    def visit_Decorator(self, node) -> None:  # evaluated outside the def: not asked about
        self._decorators += 1

    def leave_Decorator(self, node) -> None:
        self._decorators -= 1

    def visit_Call(self, node: cst.Call) -> None:
        scope = self.get_metadata(ScopeProvider, node.func, None)
        if scope is None or self._decorators or type(scope).__name__ == "ComprehensionScope":
            return
        names = {q.name: q.source for q in scope.get_qualified_names_for(node.func)}
        dotted = dotted_name(node.func)
        if dotted is not None:
            theirs = {n for n, source in names.items() if source in (QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN)}
            ours = self.cursor.current.qualified_names(dotted)
        else:
            # calls in the chain looked through (add-timeouts): compared on imported roots only,
            # libcst maps a builtin's chain (``open(p).readline``) to the builtin alone
            dotted = dotted_name(node.func, through_calls=True)
            if dotted is None:
                return
            theirs = {n for n, source in names.items() if source is QualifiedNameSource.IMPORT}
            ours = {n for n in self.cursor.current.qualified_names(dotted) if not n.startswith("builtins.")}
        if theirs != ours:
            self.mismatches.append(f"{dotted}: libcst {sorted(theirs)} ast_scopes {sorted(ours)}")


@pytest.mark.parametrize(("name", "source"), _sources(), ids=[name for name, _ in _sources()])
def test_qualified_names_agree_with_libcst(name: str, source: str) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        pytest.skip("not Python (a fixture of broken input)")
    wrapper = MetadataWrapper(cst.parse_module(source))
    visitor = _Compare(ScopeCursor(build(tree)))
    wrapper.visit(visitor)
    assert visitor.mismatches == []


def test_names_near_sees_enclosing_scopes_not_siblings() -> None:
    source = "import os\nclass A:\n    f = 1\n    def m(self, fh):\n        return [handle for handle in fh]\ndef g():\n    stream = 2\n"
    cursor = ScopeCursor(build(ast.parse(source)))
    cursor.enter()  # class A
    cursor.enter()  # def m
    near = cursor.current.names_near()
    assert {"os", "A", "f", "m", "self", "fh", "g"} <= near
    assert "handle" not in near and "stream" not in near  # a comprehension's and a sibling's


def test_a_builtin_rebound_later_in_the_function_is_not_the_builtin() -> None:
    """The one deliberate difference: libcst calls ``open`` here the builtin, but Python binds it
    for the whole function (UnboundLocalError at the call); ast_scopes says local, so nothing
    is rewritten in code that cannot run."""
    cursor = ScopeCursor(build(ast.parse("def f():\n    open('x')\n    open = 2\n")))
    cursor.enter()
    assert not cursor.current.is_builtin("open") and cursor.current.qualified_names("open") == set()
