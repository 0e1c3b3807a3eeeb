"""The quote a codemod writes new string literals with: the project's, else the file's.

A project that runs ruff format or black with a quote style (``Style.quote``) gets that one; one
that enforces none gets the quote most of the file's own one-line strings use (docstrings and
strings that hold a quote of the other kind say nothing), double when the file has no strings.
Every codemod that writes a string goes through ``string_literal`` (Q000, and ``ruff format
--check`` with ``quote-style = "single"``, stay quiet on the result).
"""

from __future__ import annotations

import io
import re
import tokenize
from functools import lru_cache
from typing import Any

_ESCAPE = re.compile(r"\\(.)", re.DOTALL)

DOUBLE, SINGLE = '"', "'"


@lru_cache(maxsize=8)  # asked once per string written; the file's text is the same each time
def predominant_quote(source: str) -> str | None:
    """The quote most one-line string literals of ``source`` open with; None when none tells."""
    counts = {DOUBLE: 0, SINGLE: 0}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING:
                _count(token.string, counts)
            elif token.type == getattr(tokenize, "FSTRING_START", -1):
                text = token.string.lstrip("rRbBuUfF")
                if text[:3] not in ('"""', "'''"):
                    counts[text[0]] += 1
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    if counts[DOUBLE] == counts[SINGLE]:
        return None
    return DOUBLE if counts[DOUBLE] > counts[SINGLE] else SINGLE


def _count(literal: str, counts: dict[str, int]) -> None:
    body = literal.lstrip("rRbBuUfF")
    if not body or body[:3] in ('"""', "'''"):
        return
    quote = body[0]
    other = SINGLE if quote == DOUBLE else DOUBLE
    if other in body[1:-1]:
        return  # it had to use this quote
    counts[quote] += 1


def preferred_quote(file: Any) -> str | None:
    """The quote to write strings with in ``file`` (a FileContext): ``Style.quote``, else the
    file's predominant quote; None when neither tells."""
    style = getattr(getattr(file, "project", None), "style", None)
    configured = getattr(style, "quote", None)
    if configured == "single":
        return SINGLE
    if configured == "double":
        return DOUBLE
    return predominant_quote(getattr(file, "source", "") or "")


def file_quote(file: Any) -> str:
    """``preferred_quote``, double when nothing tells (black's and ruff's default)."""
    return preferred_quote(file) or DOUBLE


def string_literal(value: str, quote: str = DOUBLE) -> str:
    """The source of a ``str`` literal for ``value``, in ``quote`` unless that needs more
    escapes than the other quote (as black and ruff format decide)."""
    other = SINGLE if quote == DOUBLE else DOUBLE
    if quote in value and other not in value:
        quote, other = other, quote
    written = repr(value)  # escapes for backslashes and control characters
    body = _ESCAPE.sub(lambda m: m.group(1) if m.group(1) in (SINGLE, DOUBLE) else m.group(0), written[1:-1])
    return quote + body.replace(quote, "\\" + quote) + quote
