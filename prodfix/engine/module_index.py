"""The first-party module index and the import root(s), computed once per run (project context).

Every ``.py`` file and every folder holding one (namespace packages included) is indexed by
its path relative to the repository. The import root is the folder that ``sys.path`` starts
from when the app runs; when not configured it is chosen by a vote: among the candidates (the
repository root, ``src/``, folders holding ``pyproject.toml``/``setup.cfg``/``pytest.ini``/
``manage.py``/a ``Dockerfile``, pytest ``pythonpath`` entries), the one under which the most
existing first-party absolute imports resolve wins. A folder inside a regular package is a
portion of that package, never a candidate of its own.

Beside the modules, the index knows what is not first-party (engine/third_party.py: every
manifest and lock file, the environment, the standard library), the project's own package
names, and what the modules an unresolved import could be rewritten to define (``exports``):
the evidence fix-imports needs before it rewrites anything.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import os
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from configparser import ConfigParser, Error as ConfigParserError
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from prodfix.engine.containment import file_inside
from prodfix.engine.project_tools import _table
from prodfix.engine.third_party import (
    MANIFEST_FILES,
    Declared,
    Environment,
    environment,
    import_names,
    is_requirements_file,
    known_import_names,
    read_declared,
)

__all__ = ["ModuleIndex", "Layout", "build_index", "count_imports", "import_names", "module_exports", "read_layout"]

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", "pytest.ini", "tox.ini", "manage.py", "Dockerfile")
_IMPORT = re.compile(r"^[ \t\f]*(?:from[ \t\f]+([A-Za-z_][\w.]*)[ \t\f]+import\b|import[ \t\f]+([A-Za-z_][\w.]*(?:[ \t\f]*,[ \t\f]*[A-Za-z_][\w.]*)*))", re.MULTILINE)
# What a module defines at its top level: (sorted names, dynamic). Dynamic: it also makes names
# at run time (a module-level __getattr__, a star import, globals() written to), so a name
# missing from the list may still exist; one in the list does.
Exports = tuple[tuple[str, ...], bool]


@dataclass(frozen=True)
class ModuleIndex:
    files: frozenset[str]  # repository-relative .py paths
    dirs: frozenset[str]  # every folder that holds a .py file, at any depth
    roots: tuple[str, ...]  # import roots, repository-relative ("" is the repository root)
    votes: tuple[tuple[str, int], ...]  # (candidate root, imports resolving under it), best first
    top_names: frozenset[str]  # every module or package name found anywhere in the repository
    # lower-cased names of top_names that are third-party: declared, locked or installed
    # (the standard library is sys.stdlib_module_names, not listed)
    third_party: frozenset[str] = frozenset()
    # the project's own top-level packages (manifest name/packages, packages directly under a root)
    own_packages: frozenset[str] = frozenset()
    # repository-relative file -> what it defines, for the modules an unresolved import could
    # be rewritten to (only those are read; see candidate_files)
    exports: dict[str, Exports] = field(default_factory=dict, compare=False)

    @staticmethod
    def _join(root: str, dotted: str) -> str:
        path = dotted.replace(".", "/")
        return f"{root}/{path}" if root else path

    def fingerprint(self) -> str:
        """What results depend on (files, roots, what is third-party, own packages, the
        candidates' exports), for the result cache."""
        h = hashlib.blake2b(digest_size=16)
        exports = [f"{rel}:{int(dynamic)}:{','.join(names)}" for rel, (names, dynamic) in sorted(self.exports.items())]
        for part in (sorted(self.files), self.roots, sorted(self.third_party), sorted(self.own_packages), exports):
            h.update("\0".join(part).encode("utf-8", "surrogateescape") + b"\1")
        return h.hexdigest()

    def resolves_under(self, dotted: str, root: str) -> bool:
        path = self._join(root, dotted)
        return f"{path}.py" in self.files or path in self.dirs

    def resolves(self, dotted: str, importer: str | None = None) -> bool:
        """Under a root; or, for ``importer``, under its own folder (a script's folder is on
        sys.path) or its package base, the first folder above it that is not a package (what
        pytest and test runners such as Django's put on sys.path)."""
        if any(self.resolves_under(dotted, root) for root in self.roots):
            return True
        if importer is None:
            return False
        folder = importer.rpartition("/")[0]
        if self.resolves_under(dotted, folder):
            return True
        while folder and f"{folder}/__init__.py" in self.files:
            folder = folder.rpartition("/")[0]
        return self.resolves_under(dotted, folder)

    def is_third_party(self, dotted: str) -> bool:
        """Standard library, or a name the manifests, lock files or the environment provide."""
        top = dotted.split(".")[0]
        return top in sys.stdlib_module_names or top == "__main__" or top.lower() in self.third_party

    def may_be_first_party(self, dotted: str) -> bool:
        """Not third-party, and named like a module or package somewhere in the repository:
        an import fix-imports looks at when it does not resolve."""
        top = dotted.split(".")[0]
        return top in self.top_names and not self.is_third_party(dotted)

    def at_a_root(self, dotted: str) -> bool:
        """The top-level name is a module or package directly under an import root: the only
        way a name is first-party by name (a package nested somewhere does not make it so)."""
        top = dotted.split(".")[0]
        return any(self.resolves_under(top, root) for root in self.roots)

    def root_of(self, path: str) -> str | None:
        """The (deepest) import root a repository-relative file lives under."""
        under = [r for r in self.roots if r == "" or path.startswith(r + "/")]
        return max(under, key=len) if under else None

    @cached_property
    def _by_last_name(self) -> dict[str, list[str]]:
        """Every module file and folder by its last name (``app/core/settings.py`` under
        settings, ``app/core/__init__.py`` under core): candidates() looks up one. Built once
        per run, when an import first needs candidates; names are checked only when looked up."""
        found: dict[str, list[str]] = {}
        for path in self.files:
            stem = path[:-3]
            if stem.endswith("/__init__"):
                stem = stem[: -len("/__init__")]
            found.setdefault(stem.rpartition("/")[2], []).append(stem)
        for path in self.dirs:
            found.setdefault(path.rpartition("/")[2], []).append(path)
        return found

    def candidates(self, dotted: str) -> list[str]:
        """Modules under the roots that ``dotted`` most likely meant, matched by dotted suffix."""
        found = set()
        for path in self._by_last_name.get(dotted.rpartition(".")[2], ()):
            for root in self.roots:
                if root and not path.startswith(root + "/"):
                    continue
                name = (path[len(root) + 1 :] if root else path).replace("/", ".")
                if not all(part.isidentifier() for part in name.split(".")):
                    continue
                if name.endswith("." + dotted) or dotted.endswith("." + name):
                    found.add(name)
        return sorted(found)

    def module_file(self, dotted: str) -> str | None:
        """The file (or, for a namespace package, the folder) that ``import dotted`` loads
        under the roots: a package's __init__.py first, then a module, as Python's finder."""
        for root in self.roots:
            path = self._join(root, dotted)
            for candidate in (f"{path}/__init__.py", f"{path}.py"):
                if candidate in self.files:
                    return candidate
            if path in self.dirs:
                return path
        return None

    def missing_names(self, dotted: str, names: Iterable[str], submodules: bool = True) -> tuple[list[str], bool] | None:
        """Which of ``names`` module ``dotted`` neither defines nor re-exports (nor, with
        ``submodules``, has as a submodule: ``from pkg import sub`` imports it, ``pkg.sub`` is
        there only once something did), and whether it is dynamic (so that those are no evidence
        either way); None when it was not examined."""
        where = self.module_file(dotted)
        if where is None:
            return None
        if where.endswith(".py"):
            known = self.exports.get(where)
            if known is None:
                return None
            defined, dynamic = set(known[0]), known[1]
        else:
            defined, dynamic = set(), False  # a namespace package: only its submodules
        package = submodules and (where.endswith("/__init__.py") or not where.endswith(".py"))
        missing = [
            n for n in names
            if n not in defined and not (package and (self.resolves_under(f"{dotted}.{n}", self._root_holding(where))))
        ]
        return missing, dynamic

    def _root_holding(self, path: str) -> str:
        return max((r for r in self.roots if r == "" or path.startswith(r + "/")), key=len)


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _pytest_pythonpath(root: Path, folder: Path) -> list[Path]:
    entries: list[str] = []
    pyproject = folder / "pyproject.toml"
    if file_inside(root, pyproject):
        try:
            options = _table(tomllib.loads(pyproject.read_text(encoding="utf-8")), "tool", "pytest", "ini_options")
        except (ValueError, UnicodeDecodeError, RecursionError):
            options = {}
        value = options.get("pythonpath", [])
        entries += value.split() if isinstance(value, str) else [str(v) for v in _list(value)]
    for name, section in (("pytest.ini", "pytest"), ("setup.cfg", "tool:pytest"), ("tox.ini", "pytest")):
        config = folder / name
        if file_inside(root, config):
            parser = ConfigParser()
            try:
                parser.read(config, encoding="utf-8")
            except (ConfigParserError, UnicodeDecodeError):
                continue
            entries += parser.get(section, "pythonpath", fallback="").split()
    return [folder / e for e in entries]


_DOCKER_PATHS = re.compile(
    r"^\s*(?:ENV\s+PYTHONPATH(?:\s*=\s*|\s+)|WORKDIR\s+)[\"']?([^\s\"']+)", re.IGNORECASE | re.MULTILINE
)


def _dockerfile_roots(dockerfile: Path, root: Path, dirs: frozenset[str]) -> set[str]:
    """Folders a Dockerfile puts on PYTHONPATH or works in, mapped back into the repository:
    ``/app/backend`` is ``backend`` (relative to the Dockerfile's folder) when that folder exists."""
    if not file_inside(root, dockerfile):
        return set()
    try:
        text = dockerfile.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    base = dockerfile.parent.relative_to(root).as_posix()
    base = "" if base == "." else base
    found = set()
    for match in _DOCKER_PATHS.finditer(text):
        for entry in match.group(1).split(":"):
            parts = [p for p in entry.strip("/").split("/") if p and not p.startswith("$")]
            for start in range(len(parts)):
                rel = "/".join(parts[start:])
                candidate = f"{base}/{rel}" if base else rel
                if candidate in dirs:
                    found.add(candidate)
                    break
    return found


def _walk(root: Path) -> tuple[list[Path], list[Path]]:
    """(ROOT_MARKERS files, manifest/requirements/lock files) in the repository, outside hidden,
    node_modules and venv folders: one os.walk for both (globbing once per name walked the
    tree once each). Links to folders are not followed; files are checked when read."""
    markers = frozenset(ROOT_MARKERS)
    found, manifests = [], []
    base = str(root)
    for folder, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d not in ("node_modules", "venv", "site-packages", "__pycache__")
        )
        found.extend(Path(folder, name) for name in sorted(markers.intersection(filenames)))
        in_requirements = "requirements" in folder[len(base) :].lower()  # requirements/base.in
        for name in filenames:
            if name in MANIFEST_FILES:
                manifests.append(Path(folder, name))
            elif (
                name.endswith((".txt", ".in")) and (in_requirements or "requirements" in name.lower())
                and is_requirements_file(f"{folder[len(base) + 1 :]}/{name}".replace(os.sep, "/"))
            ):
                manifests.append(Path(folder, name))
    return found, manifests


def _namespace_portion(folder: str, files: frozenset[str]) -> bool:
    """A folder without __init__.py inside a regular package: part of that package (its
    imports start with the package's name), not a place sys.path starts from."""
    if not folder or f"{folder}/__init__.py" in files:
        return False
    parts = folder.split("/")
    return any(f"{'/'.join(parts[:i])}/__init__.py" in files for i in range(1, len(parts)))


def _candidate_roots(root: Path, dirs: frozenset[str], files: frozenset[str], markers: list[Path]) -> list[str]:
    candidates = {""}
    if "src" in dirs:
        candidates.add("src")
    # The folder above each top-most regular package (backend/ above backend/app/__init__.py).
    for file in files:
        if file.endswith("/__init__.py"):
            package = file[: -len("/__init__.py")]
            parent = package.rpartition("/")[0]
            if f"{parent}/__init__.py" not in files and parent.count("/") < 3:
                candidates.add(parent)
    for found in markers:
        rel = found.parent.relative_to(root).as_posix()
        candidates.add("" if rel == "." else rel)
    candidates = {c for c in candidates if not _namespace_portion(c, files)}
    # What a Dockerfile or pytest puts on sys.path is a root wherever it is.
    for found in markers:
        if found.name == "Dockerfile":
            candidates |= _dockerfile_roots(found, root, dirs)
        for entry in _pytest_pythonpath(root, found.parent):
            try:
                rel_entry = entry.resolve().relative_to(root).as_posix()
            except ValueError:
                continue
            candidates.add("" if rel_entry == "." else rel_entry)
    return sorted(c for c in candidates if c == "" or c in dirs)


def count_imports(text: str, counts: Counter[str]) -> None:
    """Add the absolute imports of one source text (a cheap line scan, no parse): the regex
    runs only at the start of lines that contain "import" (a third of the time of finditer)."""
    seen = -1
    index = text.find("import")
    while index != -1:
        start = text.rfind("\n", 0, index) + 1
        index = text.find("import", index + 6)
        if start == seen:
            continue
        seen = start
        match = _IMPORT.match(text, start)
        if match is None:
            continue
        if match.group(1):
            counts[match.group(1)] += 1
        else:
            for name in match.group(2).split(","):
                counts[name.strip()] += 1


@dataclass(frozen=True)
class Layout:
    """What the repository's files and folders say before any import is counted: the part of
    the index that walks and reads the file system (marker files, manifests, pytest and Docker
    settings, the environment), so that it can run beside the import scan, in a worker process."""

    files: frozenset[str]
    dirs: frozenset[str]
    top_names: frozenset[str]
    declared: Declared
    candidates: tuple[str, ...] | None  # candidate import roots; None: not looked for
    environment: Environment | None = None  # None: not read (fix-imports is not selected)


def read_layout(root: Path, files: list[str], find_roots: bool = True, with_environment: bool = False) -> Layout:
    """``find_roots=False`` when the import roots are configured: no candidates are needed.
    ``with_environment``: list what prodfix's own interpreter can import (fix-imports only)."""
    dirs: set[str] = set()
    tops: set[str] = set()
    for file in files:
        parts = file.split("/")
        tops.add(parts[-1][:-3])
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
            tops.add(parts[i - 1])
    file_set, dir_set = frozenset(files), frozenset(dirs)
    markers, manifests = _walk(root)
    candidates = tuple(_candidate_roots(root, dir_set, file_set, markers)) if find_roots else None
    env = environment(root) if with_environment else None
    return Layout(file_set, dir_set, frozenset(tops), read_declared(root, manifests), candidates, env)


def _names_under(layout: Layout, roots: tuple[str, ...]) -> frozenset[str]:
    """Lower-cased names of the modules and packages directly under any of ``roots``."""
    names = set()
    for path in (*layout.files, *layout.dirs):
        parent, _, name = path.rpartition("/")
        if parent in roots:
            names.add(name.removesuffix(".py").lower())
    return frozenset(names)


def _own_names(layout: Layout) -> frozenset[str]:
    """Lower-cased names of the projects' own packages, as their manifests give them."""
    declared = layout.declared
    return frozenset({name.replace("-", "_") for name in declared.own} | {p.lower() for p in declared.own_packages})


def _third_party(layout: Layout, at_a_root: frozenset[str], own: frozenset[str]) -> frozenset[str]:
    """Lower-cased top-level names that are third-party, among those the repository has
    somewhere (no other name can be mistaken for a first-party one).

    A declared or locked distribution's own name (``redis``), its well-known import name
    (``factory`` for factory-boy) and the names an installed one's metadata gives are
    third-party wherever the repository has a module so named. The names guessed for one that is not installed (``jwt`` for PyJWT) and whatever
    the environment can import are third-party unless the repository has that module at a
    possible import root or it is one of the projects' own: ``app/utils/jwt.py`` does not make
    ``import jwt`` first-party, a top-level ``tests/`` package stays first-party even where
    some distribution installed one."""
    declared = layout.declared
    env = layout.environment
    exact: set[str] = set()
    guessed: set[str] = set()
    for distribution in declared.dependencies | declared.locked:
        exact |= known_import_names(distribution)
        installed = env.import_names_of(distribution) if env is not None else None
        if installed:
            exact |= installed
        else:
            guessed |= import_names(distribution)
    if env is not None:
        guessed |= env.names
    present = {name.lower() for name in layout.top_names}
    return frozenset((exact | (guessed - at_a_root - own)) & present)


def build_index(layout: Layout, imports: Counter[str], configured_roots: tuple[str, ...] = ()) -> ModuleIndex:
    """``imports``: the repository's absolute imports counted by ``count_imports``, for the vote."""
    configured = tuple("" if r in (".", "") else r.strip("/") for r in configured_roots)
    if not configured and layout.candidates is None:
        raise ValueError("read_layout(find_roots=False) cannot vote for an import root")
    at_a_root = _names_under(layout, configured or layout.candidates or ())
    own_names = _own_names(layout)
    index = ModuleIndex(layout.files, layout.dirs, (), (), layout.top_names, _third_party(layout, at_a_root, own_names))
    if configured:
        roots, votes = configured, ()
    else:
        # A project's own package votes for where it is even when another manifest of the
        # repository installs it as a dependency (docs/requirements.txt naming the project).
        first_party = {
            name: n for name, n in imports.items()
            if index.may_be_first_party(name) or name.split(".")[0].lower() in own_names
        }
        votes = []
        for candidate in layout.candidates:
            score = sum(n for name, n in first_party.items() if index.resolves_under(name, candidate))
            votes.append((candidate, score))
        votes.sort(key=lambda v: (-v[1], v[0].count("/") if v[0] else -1, v[0]))
        # Without a single resolving first-party import there is no evidence of the root: no rewrites.
        roots = (votes[0][0],) if votes and votes[0][1] > 0 else ()
    # The project's own packages: what its manifests ship, and every regular package directly
    # under a root (``import shop.x`` inside shop's repository is never rewritten to another path).
    own = {name for name in layout.top_names if name.lower() in own_names}
    for file in layout.files:
        if file.endswith("/__init__.py"):
            package, _, name = file[: -len("/__init__.py")].rpartition("/")
            if package in roots:
                own.add(name)
    return dataclasses.replace(index, roots=roots, votes=tuple(votes), own_packages=frozenset(own))


def candidate_files(index: ModuleIndex, imports: Iterable[str], imports_by_file: Iterable[tuple[str, Iterable]]) -> set[str]:
    """The files of every module an import that does not resolve from the file making it
    could be rewritten to: the only ones whose exports fix-imports reads. ``imports``: the
    repository's distinct absolute imports; ``imports_by_file``: (file, its absolute imports
    as (name, count) pairs) for every file."""
    own = index.own_packages
    suspects = {
        dotted for dotted in imports
        if index.may_be_first_party(dotted) and not index.resolves(dotted) and dotted.split(".")[0] not in own
    }
    files: set[str] = set()
    if not suspects:
        return files
    for rel, names in imports_by_file:
        for dotted, _ in names:
            if dotted in suspects and not index.resolves(dotted, rel):
                for candidate in index.candidates(dotted):
                    # the candidate, and its package (fix-imports writes `from package import
                    # module` only when the package defines no name of its own by that name)
                    for module in (candidate, candidate.rpartition(".")[0]):
                        where = index.module_file(module) if module else None
                        if where is not None and where.endswith(".py"):
                            files.add(where)
    return files


def with_exports(index: ModuleIndex, read: Callable[[str], Exports | None], files: Iterable[str]) -> ModuleIndex:
    """``index`` knowing what each of ``files`` defines (``read(rel)``; None: unreadable)."""
    exports = {}
    for rel in sorted(files):
        known = read(rel)
        if known is not None:
            exports[rel] = known
    return dataclasses.replace(index, exports=exports) if exports else index


def module_exports(source: str | bytes) -> Exports | None:
    """The names a module binds at its top level (defs, classes, assignments, imports, also
    inside module-level if/try/with/for blocks, not under ``if TYPE_CHECKING:``), sorted, and
    whether it is dynamic (module ``__getattr__``, a star import, ``globals()`` written to).
    None when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names: set[str] = set()
    dynamic = False
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            dynamic = dynamic or node.name == "__getattr__"
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(node, ast.AnnAssign) and node.value is None:
                targets = []  # `x: int` binds nothing
            for target in targets:
                names |= _bound(target)
            if isinstance(node, (ast.For, ast.AsyncFor)):
                pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Import):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    dynamic = True
                else:
                    names.add(alias.asname or alias.name)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                pending.extend(node.body)
            pending.extend(node.orelse)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            pending.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                pending.extend(handler.body)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    names |= _bound(item.optional_vars)
            pending.extend(node.body)
        elif isinstance(node, ast.Expr) and _writes_globals(node.value):
            dynamic = True
        if isinstance(node, (ast.Assign, ast.AugAssign)) and any(
            isinstance(t, ast.Subscript) and _writes_globals(t.value) for t in getattr(node, "targets", [getattr(node, "target", None)])
        ):
            dynamic = True
    return tuple(sorted(names)), dynamic


def _bound(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return {n for element in target.elts for n in _bound(element)}
    if isinstance(target, ast.Starred):
        return _bound(target.value)
    return set()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _writes_globals(node: ast.expr) -> bool:
    """``globals()`` itself, or ``globals().update(...)`` / ``vars()[...]``-style calls on it."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("globals", "vars") and not node.args:
            return True
        if isinstance(func, ast.Attribute) and func.attr in ("update", "setdefault") and _writes_globals(func.value):
            return True
    return False
