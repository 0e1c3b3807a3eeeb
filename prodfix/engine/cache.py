"""The result cache: ``.prodfix_cache/`` at the project root, so an unchanged tree costs a hash.

What a cached result depends on, and therefore its key:

- the file: its path relative to the root and a BLAKE2 hash of its bytes (never the mtime);
- the run: prodfix's version and a fingerprint of its own source files (an editable install
  being worked on must not reuse stale results), the codemods selected with their effective
  options, and the project facts they read (module index, closable classes). These make a
  namespace digest; each namespace has its own file.

Per-file project facts (a file's imports and the classes it defines that close something) are
cached the same way in ``facts.json``, so a warm run does not rescan the repository either.

Safety: entries are JSON, never pickle (a cache is data, not code); every entry is checked
field by field when read and anything unexpected is a miss, never trusted. Files are written
whole to a temporary name and renamed, so concurrent runs each leave a complete file (the last
one wins; the other's entries are recomputed next time). The folder has its own ``.gitignore``
and ``CACHEDIR.TAG``, like ruff's; ``--no-cache`` neither reads nor writes it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from prodfix import __version__
from prodfix.codemods.base import Finding

CACHE_DIR = ".prodfix_cache"
KEEP_NAMESPACES = 4  # result files kept: a few option sets (pre-commit, CI) in turn
_GITIGNORE = "# Created by prodfix: its cache, never committed.\n*\n"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# prodfix result cache (https://bford.info/cachedir/)\n"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _code_fingerprint() -> str:
    """prodfix's own source files, by name, size and mtime (a cheap stat of ~40 files)."""
    package = Path(__file__).resolve().parent.parent
    h = hashlib.blake2b(__version__.encode(), digest_size=16)
    for path in sorted(package.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(package)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def namespace(codemods: list[Any], project: Any) -> str:
    """The digest of everything besides a file's own bytes that its result depends on."""
    h = hashlib.blake2b(_code_fingerprint().encode(), digest_size=16)
    for codemod in codemods:
        options = dataclasses.asdict(codemod.options) if dataclasses.is_dataclass(codemod.options) else {}
        h.update(json.dumps([codemod.name, options], sort_keys=True, default=repr).encode())
    if project.modules is not None:
        h.update(project.modules.fingerprint().encode())
    if project.closable_classes is not None:
        h.update(json.dumps(sorted(project.closable_classes.items())).encode())
    return h.hexdigest()


class JsonStore:
    """One JSON file of ``{relative path: [content digest, payload]}``, loaded once, saved once."""

    def __init__(self, root: Path, name: str) -> None:
        self.folder = root / CACHE_DIR / __version__
        self.path = self.folder / name
        self._entries: dict[str, list] = {}
        self._dirty = False
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # missing or corrupt: start empty
        if isinstance(loaded, dict) and isinstance(loaded.get("entries"), dict):
            self._entries = loaded["entries"]

    def get(self, rel: str, digest: str) -> Any:
        entry = self._entries.get(rel)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == digest:
            return entry[1]
        return None

    def entry(self, rel: str) -> tuple[str, Any] | None:
        """(content digest, payload) cached for ``rel``, whatever its file holds now."""
        entry = self._entries.get(rel)
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str):
            return entry[0], entry[1]
        return None

    def put(self, rel: str, digest: str, payload: Any) -> None:
        self._entries[rel] = [digest, payload]
        self._dirty = True

    def retain(self, rels: set[str]) -> None:
        """Forget files no longer in the repository (call only after a run that saw all of it)."""
        gone = [rel for rel in self._entries if rel not in rels]
        for rel in gone:
            del self._entries[rel]
        self._dirty = self._dirty or bool(gone)

    def save(self) -> str | None:
        """Write the file atomically; returns a warning instead of raising when it cannot."""
        if not self._dirty:
            return None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            top = self.folder.parent
            for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _TAG)):
                if not (top / name).exists():
                    (top / name).write_text(text, encoding="utf-8")
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    # dumps, not dump: dump to a file takes json's pure-Python encoder (~8x slower)
                    handle.write(json.dumps({"entries": self._entries}, separators=(",", ":")))
                os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; a cache is shareable
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._forget_old_namespaces()
        except OSError as exc:
            return f"cannot write the cache in {self.folder.parent}: {exc.strerror or exc}"
        self._dirty = False
        return None

    def _forget_old_namespaces(self) -> None:
        """Keep the few most recently written result files (other option sets, other project
        facts); older ones would never be read again."""
        if not self.path.name.startswith("results-"):
            return
        others = sorted(
            (p for p in self.folder.glob("results-*.json") if p != self.path),
            key=lambda p: p.stat().st_mtime_ns, reverse=True,
        )
        for stale in others[KEEP_NAMESPACES - 1 :]:
            stale.unlink(missing_ok=True)


# --- FileResult <-> JSON ----------------------------------------------------------------------

_FINDING_FIELDS = ("path", "line", "column", "codemod", "code", "message", "kind")


def result_to_json(result: Any) -> dict:
    return {
        "findings": [[getattr(f, name) for name in _FINDING_FIELDS] for f in result.findings],
        "error": [result.error.line, result.error.reason] if result.error is not None else None,
        "kept": result.kept,
        "parsed": result.parsed,
        "changed_by": list(result.changed_by),
        "dependencies": [list(d) for d in result.dependencies],
        "new": base64.b64encode(result.new_bytes).decode("ascii") if result.new_bytes is not None else None,
        "new_digest": content_digest(result.new_bytes) if result.new_bytes is not None else None,
    }


def result_from_json(payload: Any, rel: str, digest: str, data: bytes | None) -> Any:
    """The FileResult a cache entry stands for, or None when the entry is not well formed.
    ``data``: the file's bytes (whose hash is ``digest``), needed only when it changes."""
    from prodfix.engine.pipeline import FileError, FileResult

    try:
        findings = []
        for row in payload["findings"]:
            values = dict(zip(_FINDING_FIELDS, row, strict=True))
            if not (isinstance(values["line"], int) and isinstance(values["column"], int)):
                return None
            if not all(isinstance(values[k], str) for k in ("path", "codemod", "code", "message", "kind")):
                return None
            findings.append(Finding(**values))
        result = FileResult(path=rel, findings=findings)
        error = payload["error"]
        if error is not None:
            line, reason = error
            if not (isinstance(line, int) and isinstance(reason, str)):
                return None
            result.error = FileError(line, reason)
        result.kept, result.parsed = bool(payload["kept"]), bool(payload["parsed"])
        result.changed_by = tuple(str(name) for name in payload["changed_by"])
        result.dependencies = tuple((str(a), str(b), str(c)) for a, b, c in payload["dependencies"])
        if payload["new"] is not None:
            if data is None:
                return None
            new = base64.b64decode(payload["new"], validate=True)
            if content_digest(new) != payload["new_digest"]:
                return None
            result.old_bytes, result.new_bytes = data, new
        result.digest = digest
        return result
    except (KeyError, TypeError, ValueError):
        return None
