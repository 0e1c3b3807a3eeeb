"""Code the project copied from elsewhere is left alone by every codemod.

A vendored copy is another project's code: rewriting it makes the next update of the copy a
merge, and its maintainers are elsewhere. Two signs, both cheap:

- its folder: ``vendor/``, ``vendored/``, ``_vendor/``, ``third_party/``, ``externals/`` at any
  depth (default excludes, gitignore-style; ``exclude: ["!vendor/"]`` takes one back);
- its header: a module whose opening comments or docstring carry a licence other than the
  project's own (an MIT project holding a file "Licensed under the Apache License"), or say it
  was copied ("vendored from", "copied from", "taken from" a URL).

A file named on the command line is taken as asked.
"""

from __future__ import annotations

import re
from pathlib import Path

from prodfix.engine.containment import file_inside

VENDORED_DIRS = ("vendor/", "vendored/", "_vendor/", "third_party/", "externals/")
HEADER_CHARS = 3000
_LICENCES = (  # (kind, what its text says), most specific first
    ("AGPL", re.compile(r"GNU Affero General Public License|\bAGPL", re.IGNORECASE)),
    ("LGPL", re.compile(r"GNU Lesser General Public License|GNU Library General Public License|\bLGPL", re.IGNORECASE)),
    ("GPL", re.compile(r"GNU General Public License|\bGPL-?[23]", re.IGNORECASE)),
    ("Apache", re.compile(r"Apache License|Apache-2\.0", re.IGNORECASE)),
    ("MPL", re.compile(r"Mozilla Public License|\bMPL-?2", re.IGNORECASE)),
    ("MIT", re.compile(r"Permission is hereby granted, free of charge|\bMIT License\b|SPDX-License-Identifier:\s*MIT\b", re.IGNORECASE)),
    ("BSD", re.compile(r"Redistribution and use in source and binary forms|\bBSD[- ][23]-Clause|\bBSD License", re.IGNORECASE)),
    ("PSF", re.compile(r"Python Software Foundation License|\bPSF-2", re.IGNORECASE)),
)
_COPIED = re.compile(r"\b(?:vendored|copied|taken|borrowed|forked)\s+from\b[^\n]*(?:https?://|github\.com|\w+\.\w+)", re.IGNORECASE)
LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENSE.rst", "LICENCE", "COPYING", "COPYING.txt")


def licence_of(text: str) -> str | None:
    for kind, pattern in _LICENCES:
        if pattern.search(text):
            return kind
    return None


def project_licence(root: Path) -> str | None:
    """The licence the repository's own LICENSE file (or pyproject.toml) names, or None."""
    for name in LICENCE_FILES:
        path = root / name
        if file_inside(root, path) and not path.is_symlink():
            try:
                return licence_of(path.read_text(encoding="utf-8", errors="replace")[:HEADER_CHARS])
            except OSError:
                return None
    return None


def _header(source: str) -> str:
    """The module's opening comments and docstring (where a copied file keeps its licence)."""
    head = source[:HEADER_CHARS]
    lines = []
    in_doc = None
    for line in head.splitlines():
        stripped = line.strip()
        if in_doc:
            lines.append(line)
            if in_doc in stripped:
                in_doc = None
            continue
        if not stripped or stripped.startswith("#"):
            lines.append(line)
            continue
        for quote in ('"""', "'''"):
            if stripped.lstrip("rRbBuU").startswith(quote):
                lines.append(line)
                rest = stripped.lstrip("rRbBuU")[3:]
                in_doc = None if quote in rest else quote
                break
        else:
            break
    return "\n".join(lines)


def copied_from_elsewhere(source: str, licence: str | None) -> str | None:
    """Why the module is another project's code, or None."""
    head = source[:HEADER_CHARS]
    if not any(word in head for word in ("icen", "opied", "endored", "aken from", "orrowed", "orked from")):
        return None
    header = _header(source)
    if _COPIED.search(header):
        return "its header says it was copied from elsewhere"
    if licence is not None:
        kind = licence_of(header)
        if kind is not None and kind != licence:
            return f"its header carries another licence ({kind}; the project's is {licence})"
    return None
