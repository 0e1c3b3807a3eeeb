"""``# prodfix: ignore`` and ``# prodfix: ignore[name, CODE]`` comments.

A statement whose lines carry such a comment is left alone by every codemod (bare form) or by
the codemods named in the brackets (by name or code).
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

_PATTERN = re.compile(r"#\s*prodfix:\s*ignore(?:\[(?P<names>[^\]]*)\])?", re.IGNORECASE)
ALL = "*"


@dataclass(frozen=True)
class Suppressions:
    by_line: dict[int, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_source(cls, source: str) -> "Suppressions":
        if "prodfix" not in source:
            return cls()
        by_line: dict[int, frozenset[str]] = {}
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
        except (tokenize.TokenError, SyntaxError):
            return cls()
        for tok in tokens:
            if tok.type != tokenize.COMMENT:
                continue
            match = _PATTERN.search(tok.string)
            if not match:
                continue
            names = match.group("names")
            if names is None:
                parsed = frozenset({ALL})
            else:
                parsed = frozenset(n.strip().lower() for n in names.split(",") if n.strip())
            by_line[tok.start[0]] = by_line.get(tok.start[0], frozenset()) | parsed
        return cls(by_line)

    def covers(self, start: int, end: int, name: str, code: str) -> bool:
        if not self.by_line:
            return False
        wanted = {ALL, name.lower(), code.lower()}
        return any(
            not wanted.isdisjoint(self.by_line.get(line, ())) for line in range(start, end + 1)
        )
