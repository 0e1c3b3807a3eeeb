"""The result cache: ``.prodfix_cache/`` at the project root, so an unchanged tree costs a hash.

What a cached result depends on, and therefore its key:

- the file: its path relative to the root and a BLAKE2 hash of its bytes (never the mtime);
- the run: prodfix's version and a fingerprint of its own source files (an editable install
  being worked on must not reuse stale results), the codemods selected with their effective
  options, whether unsafe fixes are made, and the project facts they read (module index,
  closable classes, the start-up graph, logging set-up, entry points, lint rules). These make a
  namespace digest; each namespace has its own file.

Per-file project facts (a file's imports and the classes it defines that close something) are
cached the same way in ``facts.json``, so a warm run does not rescan the repository either.

Safety: a cache is input like any other (CI caches are restored across branches, so anyone
who can push a branch can shape one): entries are JSON, never pickle; every entry is checked
field by field when read and anything unexpected is a miss, never trusted. New code taken from
an entry must parse and the entry must be for the exact bytes the file holds now. The folder is
used only when it is a real folder prodfix made (its own ``CACHEDIR.TAG``): a symbolic link, or
a folder someone else made, is refused with a warning and the run goes on without a cache. Files are written
whole to a temporary name and renamed, so concurrent runs each leave a complete file (the last
one wins; the other's entries are recomputed next time). The folder has its own ``.gitignore``
and ``CACHEDIR.TAG``, like ruff's; ``--no-cache`` neither reads nor writes it.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import ast
import json
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from prodfix import __version__
from prodfix.codemods.base import Finding
from prodfix.engine.results import FileError, FileResult, content_digest
from prodfix.engine.writing import current_umask

CACHE_DIR = ".prodfix_cache"
KEEP_NAMESPACES = 4  # result files kept: a few option sets (pre-commit, CI) in turn
STALE_TEMP_SECONDS = 3600  # a temporary file this old is left by a killed run
_GITIGNORE = "# Created by prodfix: its cache, never committed.\n*\n"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# prodfix result cache (https://bford.info/cachedir/)\n"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """prodfix's own source files, by name, size and mtime (a cheap stat of ~70 files, once a run)."""
    package = Path(__file__).resolve().parent.parent
    h = hashlib.blake2b(__version__.encode(), digest_size=16)
    for path in sorted(package.rglob("*.py")):
        st = path.stat()
        h.update(f"{path.relative_to(package)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def namespace(codemods: list[Any], project: Any) -> str:
    """The digest of everything besides a file's own bytes that its result depends on."""
    h = hashlib.blake2b(code_fingerprint().encode(), digest_size=16)
    for codemod in codemods:
        options = dataclasses.asdict(codemod.options) if dataclasses.is_dataclass(codemod.options) else {}
        h.update(json.dumps([codemod.name, options], sort_keys=True, default=repr).encode())
    if getattr(project, "unsafe_fixes", False):  # a result differs with unsafe fixes made
        h.update(b"unsafe-fixes")
    if project.modules is not None:
        h.update(project.modules.fingerprint().encode())
    if project.closable_classes is not None:
        h.update(json.dumps(sorted(project.closable_classes.items())).encode())
    if getattr(project, "startup", None) is not None:
        h.update(json.dumps(sorted(project.startup.items())).encode())
    for facts in (project.logging, project.entry_points, project.lint):  # print-to-logging's
        if facts is not None:
            h.update(facts.fingerprint().encode())
    h.update(f"licence={project.licence}".encode())  # a file under another licence is left alone
    style = getattr(project, "style", None)
    if style is not None:  # a changed line length, quote style or formatter changes the output
        from prodfix.engine import conventions, layout

        h.update(conventions.fingerprint(style).encode())
        h.update(layout.formatter_fingerprint(style, getattr(project, "format", "never")).encode())
    return h.hexdigest()


def folder_refusal(root: Path) -> str | None:
    """Why ``root``'s cache folder must not be used, or None (also when it does not exist yet)."""
    top = root / CACHE_DIR
    try:
        mode = os.lstat(top).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{top}: {exc.strerror}; the cache is not used"
    if stat.S_ISLNK(mode):
        return f"{top} is a symbolic link; the cache is not used (remove the link)"
    if not stat.S_ISDIR(mode):
        return f"{top} is not a folder; the cache is not used"
    tag = top / "CACHEDIR.TAG"
    try:
        ours = stat.S_ISREG(os.lstat(tag).st_mode)  # not a link, a fifo or a device
        if ours:
            with open(tag, "rb") as handle:  # a committed tag is input: read no more than ours holds
                ours = handle.read(len(_TAG.encode()) + 1) == _TAG.encode()
    except (OSError, ValueError):
        ours = False
    if not ours:
        return f"{top} was not made by prodfix (no CACHEDIR.TAG of its own); the cache is not used (remove the folder)"
    version = top / __version__
    if os.path.lexists(version) and (version.is_symlink() or not version.is_dir()):
        return f"{version} is not a folder prodfix made; the cache is not used (remove it)"
    return None


def _read_json(path: Path) -> Any:
    """The JSON in ``path`` (a regular file, not a link), or None when it is missing or unreadable."""
    try:
        # not through a link, and a fifo must not block the run (O_NONBLOCK is moot for files)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None
            return json.loads(handle.read())
    except (OSError, ValueError, RecursionError, MemoryError):
        return None  # missing, a link, corrupt or absurdly nested: a miss


class JsonStore:
    """One JSON file of ``{relative path: [content digest, payload]}``, loaded once, saved once.
    ``refused``: why the project's cache folder is not used (then nothing is read or written)."""

    def __init__(self, root: Path, name: str) -> None:
        self.folder = root / CACHE_DIR / __version__
        self.path = self.folder / name
        self._entries: dict[str, list] = {}
        self._dirty = False
        self.refused = folder_refusal(root)
        if self.refused is not None:
            return
        loaded = _read_json(self.path)
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
        gone = [rel for rel in self._entries if rel not in rels and not rel.startswith("\0")]  # "\0...": not a file
        for rel in gone:
            del self._entries[rel]
        self._dirty = self._dirty or bool(gone)

    def save(self) -> str | None:
        """Write the file atomically; returns a warning instead of raising when it cannot."""
        if not self._dirty or self.refused is not None:
            return None
        top = self.folder.parent
        try:
            refusal = folder_refusal(top.parent)  # made meanwhile by someone else?
            if refusal is not None:
                return refusal
            top.mkdir(parents=True, exist_ok=True)
            for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", _GITIGNORE)):
                if not os.path.lexists(top / name):
                    (top / name).write_text(text, encoding="utf-8")
            self.folder.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    # dumps, not dump: dump to a file takes json's pure-Python encoder (~8x slower)
                    handle.write(json.dumps({"entries": self._entries}, separators=(",", ":")))
                os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600; a cache is shareable
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._forget_old_files()
        except OSError as exc:
            return f"cannot write the cache in {top}: {exc.strerror or exc}"
        self._dirty = False
        return None

    def _forget_old_files(self) -> None:
        """Keep the few most recently written result files (other option sets, other project
        facts; older ones would never be read again), and remove the temporary files of runs
        that were killed while writing. Only regular files of prodfix's own naming go."""
        now = time.time()
        results, stale = [], []
        for entry in os.scandir(self.folder):
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.name.startswith("results-") and entry.name.endswith(".json") and entry.path != str(self.path):
                results.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
            elif entry.name.startswith(".tmp-") and entry.name.endswith(".json"):
                if now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_SECONDS:
                    stale.append(entry.path)
        if self.path.name.startswith("results-"):
            stale += [path for _, path in sorted(results, reverse=True)[KEEP_NAMESPACES - 1 :]]
        for path in stale:
            Path(path).unlink(missing_ok=True)


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
    """The FileResult a cache entry stands for, or None when the entry is not well formed or
    not for these bytes. ``data``: the file's bytes now, needed only when the entry changes
    them; they must hash to ``digest``, the digest the entry is stored under."""
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
            if data is None or content_digest(data) != digest or not result.changed_by:
                return None
            new = base64.b64decode(payload["new"], validate=True)
            if content_digest(new) != payload["new_digest"] or new == data or not _parses(new, rel):
                return None
            result.old_bytes, result.new_bytes = data, new
        result.digest = digest
        return result
    except (KeyError, TypeError, ValueError):
        return None


def _parses(source: bytes, rel: str) -> bool:
    """New code from the cache is written into a source file only when Python can parse it
    (a digest proves nothing: whoever edits an entry can recompute it)."""
    try:
        compile(source, rel, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
