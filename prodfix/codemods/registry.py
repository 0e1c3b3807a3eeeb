"""Every codemod prodfix ships, in the fixed order they run on a file."""

from __future__ import annotations

import difflib

from prodfix.codemods.add_retry import AddRetry
from prodfix.codemods.add_timeouts import AddTimeouts
from prodfix.codemods.base import Codemod
from prodfix.codemods.close_resources import CloseResources
from prodfix.codemods.fix_imports import FixImports
from prodfix.codemods.print_to_logging import PrintToLogging

# Order matters: each codemod sees the tree the previous one produced.
CODEMODS: tuple[type[Codemod], ...] = (FixImports, AddTimeouts, AddRetry, CloseResources, PrintToLogging)

BY_KEY: dict[str, type[Codemod]] = {
    **{c.name: c for c in CODEMODS},
    **{c.code.lower(): c for c in CODEMODS},
}


class UnknownCodemod(ValueError):
    pass


def lookup(key: str) -> type[Codemod]:
    found = BY_KEY.get(key.strip().lower())
    if found is not None:
        return found
    choices = sorted(BY_KEY)
    close = difflib.get_close_matches(key.strip().lower(), choices, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    names = ", ".join(c.name for c in CODEMODS)
    raise UnknownCodemod(f"unknown codemod '{key}'{hint} (known: {names})")


def resolve(keys: list[str]) -> list[type[Codemod]]:
    """Names or codes (or 'all') to codemod classes, in registry order."""
    chosen: set[type[Codemod]] = set()
    for key in keys:
        if key.strip().lower() == "all":
            chosen.update(CODEMODS)
        elif key.strip():
            chosen.add(lookup(key))
    return [c for c in CODEMODS if c in chosen]
