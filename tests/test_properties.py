"""Generated programs: every codemod runs without crashing, its output parses and is stable."""

from __future__ import annotations

import ast
import warnings

import hypothesmith
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import run_codemod
from prodfix.codemods import registry

PRINTS = st.sampled_from([
    "print('x', 1)\n",
    "def f(e):\n    try:\n        g()\n    except E:\n        print(f'{e!r:>4} 100%', e)\n",
    "print()\n",
    "import traceback\ntraceback.print_exc()\n",
])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(program=hypothesmith.from_grammar(), extra=PRINTS, codemod=st.sampled_from([c.name for c in registry.CODEMODS]))
def test_generated_programs(program: str, extra: str, codemod: str) -> None:
    source = extra + program
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source)
    except (SyntaxError, ValueError):
        return  # the generator sometimes produces what CPython rejects
    first = run_codemod(codemod, source)
    assert not [f for f in first.findings if "internal error" in f.message], first.findings
    if first.error is not None or not first.changed:
        return
    ast.parse(first.new_text)
    second = run_codemod(codemod, first.new_text)
    assert not second.changed, second.new_text
