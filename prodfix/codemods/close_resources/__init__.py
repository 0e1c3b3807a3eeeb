"""close-resources: files, sessions and clients closed by ``with`` / ``async with``.

Why: a file or client that is never closed leaks descriptors and pooled connections until the
process dies; under load that is "too many open files" or an exhausted pool.

What changes, inside functions, where it is provably safe:

1. ``f = open(...)`` ... ``f.close()`` in one block -> ``with open(...) as f:`` around the
   statements that use ``f`` (also when it is never closed);
2. ``x = open(...)`` + ``try: ... finally: x.close()`` -> ``with ... as x:`` (other statements
   of the ``finally`` stay in a ``finally`` around the ``with``);
3. ``open(p).read()``, ``json.load(open(p))`` as a statement or an assignment -> a ``with``
   block binding a fresh name (in a ``return`` it is left alone, as ruff's SIM115 does);
4. the same for clients and other closables: ``requests.Session``, ``httpx.Client``,
   ``httpx.AsyncClient`` and ``aiohttp.ClientSession`` (``async with``, only in ``async def``),
   ``urlopen``, ``socket.socket``, ``zipfile.ZipFile``, ``tarfile.open``,
   ``tempfile.(Named)TemporaryFile``, thread/process pool executors, and
   ``sqlite3.connect`` through ``contextlib.closing`` (its own context manager does not close);
5. a class that stores such a client on ``self`` in ``__init__`` (or a connection, pool or
   redis client: ``redis.asyncio.from_url(url)``) and defines ``close()`` / ``aclose()`` but no
   context-manager protocol gains ``__enter__``/``__exit__`` (the async pair when its close is
   ``async def``); ``svc = Cls(...)`` + ``try/finally: svc.close()`` then becomes ``with
   Cls(...) as svc`` (``async with`` in ``async def``);
6. a generator that yields a resource and closes it after the ``yield`` (a FastAPI dependency
   ``db = SessionLocal(); yield db; db.close()``, a ``@contextmanager``) skips the close when an
   exception is thrown in at the yield: the close moves into ``try: yield db finally:
   db.close()``. Sessions of a ``sessionmaker``/``async_sessionmaker`` factory count here (and
   only here: before SQLAlchemy 1.4 a session has no ``with``). Never closed at all, the
   finally is an unsafe fix; anything else after the yield that uses it (a ``commit()``, which
   must not run on error) is reported and left alone;
7. a ``requests`` response made with a literal ``stream=True`` (it holds its pooled connection
   until it is closed or read to the end; an early return or an exception skips a close at the
   end) is opened with ``with`` like a file: closed after its last use, and after that of what
   is taken from it; ``shutil.copyfileobj(r.raw, out)`` reads it to the end there.

What it leaves alone (reported with the reason): a resource that escapes (returned, yielded,
stored, passed to a function that may keep it, captured by a closure, iterated lazily), a
close inside a condition or loop, a name rebound or used after its close, module-level
handles, ``global``/``nonlocal`` names, generators that already close in a finally and ``ExitStack`` users; a class
whose own ``__enter__`` does more than ``return self`` (it acquires a lock, connects: a with
would do that before the ``try`` whose handlers catch its errors, rule 7) or whose ``__exit__``
may swallow errors.

Unsafe fix (made only with ``--unsafe-fixes``; ``check`` lists it as a suggestion): a ``with``
for a client, socket, executor, temporary file or connection the code never closes (rules 1 and
4 without a close). The close it adds changes when the object ends: an executor's shutdown waits
for the tasks submitted to it, a session closes connections a response may still be read from,
a temporary file is deleted. Also unsafe, as noise rather than risk: turning a ``try/finally``
close longer than five lines (body, handlers and else) into a ``with`` (rule 8: the code is
correct already; the with would rewrite the whole block). Turning an existing close (or a short
``try/finally``) into a ``with``, and closing a plain file (``open``, ``zipfile``, ``tarfile``)
or a streamed response after its last use, are safe.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodfix.codemods.base import Codemod, Rationale
from prodfix.codemods.common.ast_facts import call_root, import_aliases
from prodfix.codemods.common.closable_classes import class_modes

# qualified constructor -> (mode, close method); mode "sync" or "async"
CLOSABLES: dict[str, tuple[str, str]] = {
    "builtins.open": ("sync", "close"),
    "io.open": ("sync", "close"),
    "codecs.open": ("sync", "close"),
    "requests.Session": ("sync", "close"),
    "requests.session": ("sync", "close"),
    "httpx.Client": ("sync", "close"),
    "httpx.AsyncClient": ("async", "aclose"),
    "aiohttp.ClientSession": ("async", "close"),
    "urllib.request.urlopen": ("sync", "close"),
    "socket.socket": ("sync", "close"),
    "zipfile.ZipFile": ("sync", "close"),
    "tarfile.open": ("sync", "close"),
    "tempfile.NamedTemporaryFile": ("sync", "close"),
    "tempfile.TemporaryFile": ("sync", "close"),
    "tempfile.SpooledTemporaryFile": ("sync", "close"),
    # the rest of what ruff's SIM115 knows opens a file (methods on a call: ``Path(p).open()``)
    "io.open_code": ("sync", "close"),
    "pathlib.Path.open": ("sync", "close"),
    "tarfile.TarFile": ("sync", "close"),
    "tarfile.TarFile.open": ("sync", "close"),
    "zipfile.ZipFile.open": ("sync", "close"),
    "bz2.open": ("sync", "close"),
    "bz2.BZ2File": ("sync", "close"),
    "gzip.open": ("sync", "close"),
    "gzip.GzipFile": ("sync", "close"),
    "lzma.open": ("sync", "close"),
    "lzma.LZMAFile": ("sync", "close"),
    "shelve.open": ("sync", "close"),
    "dbm.open": ("sync", "close"),
    "dbm.gnu.open": ("sync", "close"),
    "dbm.ndbm.open": ("sync", "close"),
    "dbm.dumb.open": ("sync", "close"),
    "tokenize.open": ("sync", "close"),
    "wave.open": ("sync", "close"),
    "fileinput.input": ("sync", "close"),
    "fileinput.FileInput": ("sync", "close"),
    "concurrent.futures.ThreadPoolExecutor": ("sync", "shutdown"),
    "concurrent.futures.ProcessPoolExecutor": ("sync", "shutdown"),
    "sqlite3.connect": ("closing", "close"),
}

OPENER_NAMES = frozenset(q.rpartition(".")[2] for q in CLOSABLES)

# requests' functions whose response, made with ``stream=True`` (a literal), holds its pooled
# connection until it is closed or read to the end (rule 9); without it the body is read at once
STREAMED = frozenset(
    f"requests.{verb}" for verb in ("get", "post", "put", "patch", "delete", "head", "options", "request")
)
STREAMED_NAMES = frozenset(q.rpartition(".")[2] for q in STREAMED)


def streams(call: ast.Call) -> bool:
    """``stream=True`` among the call's keywords."""
    return any(
        k.arg == "stream" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords
    )

# What ruff's SIM115 calls opening a file: converted inline, and reported when left unmanaged.
FILE_OPENERS = frozenset(
    {
        "builtins.open", "io.open", "io.open_code", "codecs.open", "pathlib.Path.open", "tarfile.open",
        "tarfile.TarFile.open", "zipfile.ZipFile.open", "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile",
        "tempfile.SpooledTemporaryFile", "bz2.open", "gzip.open", "gzip.GzipFile", "lzma.open", "shelve.open",
        "dbm.open", "dbm.gnu.open", "dbm.ndbm.open", "dbm.dumb.open", "tokenize.open", "wave.open",
        "fileinput.input", "fileinput.FileInput",
    }
)
FILE_LABELS = frozenset(q.replace("builtins.", "") for q in FILE_OPENERS)
FILE_OPENER_NAMES = frozenset(q.rpartition(".")[2] for q in FILE_OPENERS)

# Functions that consume a file completely before returning (safe to pass the handle to).
EAGER_CONSUMERS = frozenset(
    {
        "json.load", "json.dump", "pickle.load", "pickle.dump", "yaml.safe_load", "yaml.load",
        "yaml.safe_dump", "yaml.dump", "tomllib.load", "shutil.copyfileobj", "toml.load",
    }
)

DATA_ATTRIBUTES = frozenset(
    {"name", "closed", "mode", "encoding", "status_code", "headers", "url", "ok", "text", "content", "reason"}
)

# Methods whose result is plain data, not an object that still needs its source open.
DATA_METHODS = frozenset(
    {"read", "readline", "readlines", "read1", "json", "fetchall", "fetchone", "fetchmany", "getvalue",
     "recv", "namelist", "getnames", "getmembers", "result", "decode"}
)

FRESH_NAMES = ("f", "fh", "handle", "stream")

_ANY_OPENER = re.compile(
    r"\bopen\s*\(|Session\s*\(|Client\s*\(|urlopen|socket\s*\(|ZipFile|tarfile\.open|TemporaryFile|"
    r"PoolExecutor|sqlite3\.connect|def a?close\b"
)


_WITH_LINE = re.compile(r"[ \t]*(?:async[ \t]+)?with[ \t]+")
_DEF_LINE = re.compile(r"[ \t]*(?:(?:async[ \t]+)?def|class)[ \t]+")
_IMPORT_LINE = re.compile(r"[ \t]*(?:from[ \t]+[\w.]+[ \t]+import|import)[ \t]")
_AFTER_ITEM = re.compile(r"[ \t]*(?:as[ \t]+\w+[ \t]*)?[:,]")
# modules (and classes) whose ``.open(`` opens a file: ``gzip.open(p)``, ``Path(p).open()``
_OPEN_OWNERS = frozenset(
    {"io", "codecs", "tarfile", "TarFile", "zipfile", "ZipFile", "pathlib", "Path", "bz2", "gzip", "lzma",
     "shelve", "dbm", "gnu", "ndbm", "dumb", "tokenize", "wave"}
)
_CALLED_OWNERS = re.compile(r"\b(?:Path|ZipFile|TarFile)\b")  # ``Path(p).open()``: a method on a call
_ALIAS_TEXT = re.compile(r"(\w+)[ \t]+as[ \t]")


def _open_owner(source: str, dot: int, aliases: dict[str, bool]) -> bool:
    """Could the ``x.open(`` whose dot is at ``dot`` open a file? ``gzip.open(``, an alias
    of such a module, ``Path(p).open(`` in a file naming Path, ZipFile or TarFile; never
    ``storage.open(``."""
    if dot and source[dot - 1] == ")":
        if "called" not in aliases:
            aliases["called"] = _CALLED_OWNERS.search(source) is not None
        return aliases["called"]
    start = dot
    while start and (source[start - 1].isalnum() or source[start - 1] == "_"):
        start -= 1
    owner = source[start:dot]
    if owner in _OPEN_OWNERS:
        return True
    if owner not in aliases:  # ``import gzip as gz``: an import binds it
        aliases[owner] = bool(owner) and re.search(rf"\bimport[ \t]+[\w.]+[ \t]+as[ \t]+{owner}\b", source) is not None
    return aliases[owner]


def _unmanaged_opener(source: str, starts, classes: frozenset[str] | set[str] = frozenset()) -> bool:
    """Could an opener be called outside a ``with`` item? The text test before any parse. Not
    such a call: a whole ``with <opener>(...) [as x]:`` item on its own with line (``with
    tempfile.NamedTemporaryFile() as f:``), a ``def open(``/``class XClient(`` definition, a
    name that only contains an opener's (``DatabaseClient``, ``TemporaryFileUploadHandler``;
    unless it is one of the repository's closing ``classes``), a plain import of an opener
    (its calls are found where they are; an import binding it to an alias is kept), or a
    method ``x.open(`` on something that is not a file module (``storage.open()``). Anything
    else, or anything unclear, may be."""
    owners: dict[str, bool] = {}
    for start in starts:  # where a trigger word starts: an opener's text starts with one
        match = _OPENER_TEXT.match(source, start)
        if match is None:
            alias = _ALIAS_TEXT.match(source, start)
            if alias is not None and (alias.group(1) in OPENER_NAMES or alias.group(1) in classes):
                if not start or not (source[start - 1].isalnum() or source[start - 1] in "._"):
                    line_start = source.rfind("\n", 0, start) + 1
                    if _IMPORT_LINE.match(source, line_start):
                        return True  # ``from shelve import open as open_shelf``
            continue
        word = match.group(0)
        if start and source[start - 1] == "." and (word.startswith("open") or word.startswith("session")):
            if word.startswith("session"):
                if not source.endswith("requests", 0, start - 1) and not _open_owner(source, start - 1, {}):
                    continue  # db.session(): not requests'
            elif not _open_owner(source, start - 1, owners):
                continue
        name = _name_at(source, match)
        if name not in OPENER_NAMES and name not in classes:
            continue  # another name that contains an opener's
        expression = start
        while expression and (source[expression - 1].isalnum() or source[expression - 1] in "._"):
            expression -= 1
        line_start = source.rfind("\n", 0, expression) + 1
        paren = _call_paren(source, match)
        if paren is None:
            line_end = source.find("\n", start)
            line = source[line_start : len(source) if line_end == -1 else line_end]
            if _IMPORT_LINE.match(line) and " as " not in line:
                continue  # a plain import: the calls, if any, are elsewhere in the text
            return True  # named, not called here (maybe imported under an alias)
        if _DEF_LINE.fullmatch(source, line_start, expression) is not None:
            continue  # def open(...) / class DatabaseClient(...): a definition
        if _WITH_LINE.fullmatch(source, line_start, expression) is None:
            return True
        end = _closing_paren(source, paren)
        if end is None or _AFTER_ITEM.match(source, end + 1) is None:
            return True
    return False


def _name_at(source: str, match: re.Match) -> str:
    """The whole last name of what ``match`` found: ``NamedTemporaryFile`` for a match of
    ``TemporaryFile`` inside it, ``connect`` for ``sqlite3.connect``."""
    start, end = match.start(), match.end()
    while start and (source[start - 1].isalnum() or source[start - 1] == "_"):
        start -= 1
    if not match.group(0).endswith("("):
        while end < len(source) and (source[end].isalnum() or source[end] == "_"):
            end += 1
    return source[start:end].rstrip("( \t").rpartition(".")[2]


def _call_paren(source: str, match: re.Match) -> int | None:
    """Index of the ``(`` calling what ``match`` names, or None when it is not called there."""
    if match.group(0).endswith("("):
        return match.end() - 1
    index = match.end()
    while index < len(source) and (source[index].isalnum() or source[index] == "_"):
        index += 1
    while index < len(source) and source[index] in " \t":
        index += 1
    return index if index < len(source) and source[index] == "(" else None


def _closing_paren(source: str, opening: int) -> int | None:
    """Index of the parenthesis closing the one at ``opening``, stepping over one-line string
    literals; None when it is not plain (a comment, a triple quote, a line break in a string):
    the caller then assumes the worst."""
    depth = 0
    index = opening
    end = min(len(source), opening + 2000)
    while index < end:
        char = source[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        elif char == "#":
            return None
        elif char in "\"'":
            if source.startswith(char * 3, index):
                return None
            index += 1
            while index < end and source[index] != char:
                if source[index] == "\n":
                    return None
                index += 2 if source[index] == "\\" else 1
        index += 1
    return None


# the words _OPENER_TEXT's matches start with
_OPENER_WORDS = (
    "open", "Session", "session", "Client", "socket", "urlopen", "ZipFile", "TemporaryFile", "PoolExecutor",
    "sqlite3", "TarFile", "BZ2File", "GzipFile", "LZMAFile", "fileinput", "FileInput",
)
_WORDS_NO_SESSION = tuple(w for w in _OPENER_WORDS if w != "session")
_OPENER_TEXT = re.compile(
    r"(?:\bopen(?:_code)?|Session|\bsession|Client|socket)\s*\(|urlopen|ZipFile|TemporaryFile|PoolExecutor|"
    r"sqlite3\.connect|TarFile|BZ2File|GzipFile|LZMAFile|fileinput\.input|FileInput"
)


class CloseResources(Codemod):
    name = "close-resources"
    code = "PF004"
    summary = "files, sessions and clients closed by with/async with; owning classes gain the protocol"
    rationale = Rationale(
        problem="Files, sessions and clients are opened without a context manager.",
        impact="An exception skips the close: descriptors and pooled connections leak until 'too many open files' or an exhausted pool.",
        fix="Open them in a with/async with block (or give the owning class __enter__/__exit__) so they close on every path.",
        severity="medium",
    )
    # An opener called somewhere (whether it is already in a with item, the ast stage decides).
    prefilter = _OPENER_TEXT
    trigger_words = _OPENER_WORDS
    # no libcst metadata: names are resolved from the ast (common/ast_scopes.py), far cheaper
    needs_closable_classes = True

    def wants(self, source: str, path: str, project=None) -> bool:
        classes = project.closable_classes if project is not None else None
        names = {q.rpartition(".")[2] for q in classes} if classes else set()
        words = _OPENER_WORDS if "requests" in source else _WORDS_NO_SESSION  # requests.session(): rare
        if _unmanaged_opener(source, self.occurrences(source, words), names):
            return True
        if "stream=True" in source and "requests" in source:
            return True  # a streamed response (rule 9)
        if "sessionmaker(" in source and "yield" in source:
            return True  # a dependency generator beside its session factory (rule 9)
        if "def close(" in source or "def aclose(" in source:
            # a class that may own a client and close it: the project facts know which do
            extendable = getattr(project, "extendable", None)
            if extendable is None or path in extendable:
                return True
        classes = project.closable_classes if project is not None else None
        if not classes or ".close()" not in source and ".aclose()" not in source:
            return False
        if not hasattr(self, "_class_pattern"):
            names = sorted({q.rpartition(".")[2] for q in classes})
            self._class_pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\s*\(")
        return self._class_pattern.search(source) is not None

    def candidates(self, facts, source: str, path: str, project=None) -> bool:
        """A call to an opener (or a project class that closes) outside a ``with`` item: by its
        plain name, or on an imported module (``requests.Session()``), never ``storage.open()``."""
        classes = project.closable_classes if project is not None else None
        class_names = {q.rpartition(".")[2] for q in classes} if classes else set()
        openers = OPENER_NAMES | facts.aliases_of(set(CLOSABLES))
        streamed = facts.aliases_of(STREAMED) | STREAMED_NAMES if "stream=True" in source else ()
        for name, call in facts.calls:
            if id(call) in facts.with_items:
                continue
            if name in streamed and facts.qualified(call) in STREAMED and streams(call):
                return True
            if name in openers:
                # a plain name is the builtin (open) or local unless an import binds it to
                # something else (django.test.Client is not httpx.Client)
                target = facts.qualified(call)
                if target is None and name == "open" and isinstance(call.func, ast.Attribute):
                    inner = call.func.value  # Path(p).open(): the method of what a call makes
                    if isinstance(inner, ast.Call):
                        made = facts.qualified(inner)
                        target = made and f"{made}.open"
                plain = isinstance(call.func, ast.Name)
                if target in CLOSABLES or (
                    plain and name != "input" and (name not in facts.bound or name in facts.rebound)
                ):
                    return True
            # a repository class that closes, when the call can resolve to it: imported from its
            # module, defined here, or imported relatively (the rewrite resolves those)
            if name in class_names and (
                facts.qualified(call) in classes or name in facts.classes or call_root(call) in facts.relative
            ):
                return True
        if facts.tree is None:
            return False
        # a class that owns a client (any connect()/Pool()/... stored on self) and closes it, or
        # a session factory called here (rule 9)
        modes = class_modes(facts.tree) if "sessionmaker(" in source or not facts.functions.isdisjoint({"close", "aclose"}) else {}
        if any(mode.endswith("factory") and name in facts.call_names for name, (mode, _) in modes.items()):
            return True
        if facts.functions.isdisjoint({"close", "aclose"}):
            return False
        return any(close is not None for _, close in modes.values())

    def needs(self, facts, source: str, path: str, project=None):
        """Defs calling what the rewrite visits a def for (``_Rewriter._names``: openers, classes
        with the protocol, repository classes that close, import aliases), and the classes that
        have or gain the protocol."""
        from prodfix.codemods.base import Needs

        if facts.tree is None:
            return None
        classes = project.closable_classes if project is not None else None
        modes = class_modes(facts.tree)
        names = OPENER_NAMES | set(modes) | {q.rpartition(".")[2] for q in classes or ()} | import_aliases(facts.imports)
        if "stream=True" in source:
            names |= STREAMED_NAMES
        # a call already in a with item is left as it is: a def with only those is not visited
        return Needs(calls=frozenset(names), classes=frozenset(modes), managed=False)

    @dataclass(frozen=True)
    class Options:
        pass

    def transform(self, wrapper, file, reporter):
        # libcst is imported only once a file needs rewriting (a cached or filtered run never does)
        from prodfix.codemods.close_resources.rewrite import transform

        return transform(self, wrapper, file, reporter)
