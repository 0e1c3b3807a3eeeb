"""Unified diffs that ``git apply`` accepts as they are.

The diff is computed on the file's bytes (in its own encoding, newline style and BOM), with
``a/`` and ``b/`` paths relative to the project root, so a latin-1 or CRLF file patches back
byte for byte.
"""

from __future__ import annotations

import difflib

from prodfix.engine.results import FileResult

NO_NEWLINE = b"\\ No newline at end of file\n"


def _lines(data: bytes) -> list[bytes]:
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def file_patch(result: FileResult) -> bytes:
    if result.old_bytes is None or result.new_bytes is None:
        return b""
    old, new = _lines(result.old_bytes), _lines(result.new_bytes)
    path = result.path.encode("utf-8", "surrogateescape")
    out = [b"diff --git a/" + path + b" b/" + path + b"\n"]
    hunks = difflib.diff_bytes(
        difflib.unified_diff, old, new, fromfile=b"a/" + path, tofile=b"b/" + path, lineterm=b""
    )
    for index, line in enumerate(hunks):
        if index < 2:  # the ---/+++ header lines carry no newline with lineterm=b""
            out.append(line + b"\n")
            continue
        if line.startswith(b"@@"):
            out.append(line + b"\n")
        elif line.endswith(b"\n"):
            out.append(line)
        else:
            out.append(line + b"\n" + NO_NEWLINE)
    return b"".join(out)
