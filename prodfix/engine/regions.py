"""Parse only what the codemods look at: the bodies of other top-level defs and classes are
left out of the libcst parse and put back, byte for byte, afterwards.

libcst's parse is the largest cost of a cold run, and it goes mostly to big modules (test
suites) where a codemod looks at one or two functions. When every codemod that wants a file
can say which calls (by name), imports or classes it needs (``Codemod.needs``), the other
top-level ``def``s and ``class``es, and the other methods of the classes it needs a part of,
keep their header (decorators, signature, bases: the names they bind and read in the scope
around them) and get for a body a string spanning as many lines as the body did (one token
for libcst, however long the body), so that every kept line keeps its number and its columns: positions, suppressions and scopes are
those of the whole file. After the codemods ran, each placeholder is found again in the
output, exactly once and unchanged, and replaced by the original body; when anything about
that does not hold, the caller parses the whole file instead.

A def or class is kept whole when it contains a call by one of the needed names, an import
(when needed) or a ``global``/``nonlocal`` declaration (it binds outside its own scope), and
a needed class always is; module-level and class-level code that is not a def is always kept.
``tests/test_regions.py`` runs every fixture both ways and compares.
"""

from __future__ import annotations

import ast
import bisect
import hashlib
import re
from dataclasses import dataclass

from prodfix.codemods.base import Needs

# Below this many characters left out, the whole file is parsed (nothing worth the detour).
MIN_SAVED = 4096

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")  # Python's own line ends, not splitlines'


@dataclass(frozen=True)
class Reduced:
    text: str
    tree: ast.Module
    # (placeholder as emitted, original body text), one per left-out body
    blocks: tuple[tuple[str, str], ...]
    marker: str

    def restore(self, new_text: str) -> str | None:
        """The codemods' output on the whole file, or None when a placeholder moved or changed."""
        if new_text.count(self.marker) != sum(block.count(self.marker) for block, _ in self.blocks):
            return None
        for placeholder, body in self.blocks:
            if new_text.count(placeholder) != 1:
                return None
            new_text = new_text.replace(placeholder, body, 1)
        return new_text


def reduce(text: str, tree: ast.Module, needs: list[Needs | None], facts) -> Reduced | None:
    """``facts``: the ast prefilter's ``AstFacts`` of ``tree``. None when some codemod needs
    the whole file or too little would be left out."""
    if not needs or any(n is None for n in needs):
        return None
    classes = frozenset().union(*(n.classes for n in needs))  # type: ignore[union-attr]
    managed_names = frozenset().union(*(n.calls for n in needs if n.managed))  # type: ignore[union-attr]
    free_names = frozenset().union(*(n.calls for n in needs if not n.managed))  # type: ignore[union-attr]
    with_items = facts.with_items
    needed = sorted(
        [
            call.lineno for name, call in facts.calls
            if name in managed_names or (name in free_names and id(call) not in with_items)
        ]
        + ([node.lineno for node in facts.imports] if any(n.imports for n in needs) else [])  # type: ignore[union-attr]
        + list(facts.declarations)
    )

    def needs_any(node: ast.stmt) -> bool:
        index = bisect.bisect_left(needed, _first_line(node))
        return index < len(needed) and needed[index] <= node.end_lineno  # type: ignore[operator]

    # what can be left out: top-level defs and classes, else the methods of a class
    units: list[ast.stmt] = []
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not needs_any(statement):
                units.append(statement)
        elif isinstance(statement, ast.ClassDef) and statement.name not in classes:
            if not needs_any(statement):
                units.append(statement)
                continue
            units.extend(
                m for m in statement.body
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and not needs_any(m)
            )
    if not units:
        return None
    lines = _LINE.findall(text)
    marker = "prodfix-region-" + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    if marker in text:
        return None
    replaced: dict[int, tuple[int, list[str]]] = {}  # first body line (0-based) -> (count, new lines)
    blocks = []
    saved = 0
    for statement in units:
        first = statement.body[0]
        begin, end = _first_line(first) - 1, statement.end_lineno  # type: ignore[operator]
        if begin < statement.lineno or end is None or end > len(lines):
            continue  # a body on its header's line
        line = lines[begin]
        indent = line[: len(line) - len(line.lstrip(" \t\f"))]
        if line.encode("utf-8", "surrogatepass")[: first.col_offset].strip() or len(indent) != first.col_offset:
            continue  # the body does not start its line: leave it
        body = lines[begin:end]
        number = len(blocks)
        # one string over as many lines: a single token and node for libcst, however long the body
        if len(body) == 1:
            placeholder = [f'{indent}"""{marker} {number}"""{_ending(body[0])}']
        else:
            placeholder = [f'{indent}"""{marker} {number}{_ending(body[0])}']
            placeholder += [_ending(old) for old in body[1:-1]]
            placeholder.append(f'"""{_ending(body[-1])}')
        replaced[begin] = (len(body), placeholder)
        blocks.append(("".join(placeholder), "".join(body)))
        saved += sum(map(len, body))
    if saved < MIN_SAVED:
        return None
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i in replaced:
            count, placeholder = replaced[i]
            out.extend(placeholder)
            i += count
        else:
            out.append(lines[i])
            i += 1
    reduced = "".join(out)
    try:
        reduced_tree = ast.parse(reduced)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return Reduced(reduced, reduced_tree, tuple(blocks), marker)


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None) or []
    return min([statement.lineno, *(d.lineno for d in decorators)])


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]
