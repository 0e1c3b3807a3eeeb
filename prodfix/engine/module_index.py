"""The first-party module index and the import root(s), computed once per run (project context).

Every ``.py`` file and every folder holding one (namespace packages included) is indexed by
its path relative to the repository. The import root is the folder that ``sys.path`` starts
from when the app runs; when not configured it is chosen by a vote: among the candidates (the
repository root, ``src/``, folders holding ``pyproject.toml``/``setup.cfg``/``pytest.ini``/
``manage.py``/a ``Dockerfile``, pytest ``pythonpath`` entries), the one under which the most
existing first-party absolute imports resolve wins.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import sys
import tomllib
from collections import Counter
from configparser import ConfigParser, Error as ConfigParserError
from dataclasses import dataclass
from pathlib import Path

from prodfix.engine.containment import file_inside
from prodfix.engine.manifest import canonical

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", "pytest.ini", "tox.ini", "manage.py", "Dockerfile")
_IMPORT = re.compile(r"^[ \t\f]*(?:from[ \t\f]+([A-Za-z_][\w.]*)[ \t\f]+import\b|import[ \t\f]+([A-Za-z_][\w.]*(?:[ \t\f]*,[ \t\f]*[A-Za-z_][\w.]*)*))", re.MULTILINE)
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", re.MULTILINE)


@dataclass(frozen=True)
class ModuleIndex:
    files: frozenset[str]  # repository-relative .py paths
    dirs: frozenset[str]  # every folder that holds a .py file, at any depth
    roots: tuple[str, ...]  # import roots, repository-relative ("" is the repository root)
    votes: tuple[tuple[str, int], ...]  # (candidate root, imports resolving under it), best first
    dependencies: frozenset[str]  # canonical names of declared third-party dependencies
    top_names: frozenset[str]  # every module or package name found anywhere in the repository
    # import names the declared dependencies provide under another spelling (jwt for PyJWT,
    # mptt for django-mptt), lower-cased, minus names the repository has at an import root
    provided: frozenset[str] = frozenset()

    @staticmethod
    def _join(root: str, dotted: str) -> str:
        path = dotted.replace(".", "/")
        return f"{root}/{path}" if root else path

    def fingerprint(self) -> str:
        """What results depend on (files, roots, declared dependencies), for the result cache."""
        h = hashlib.blake2b(digest_size=16)
        for part in (sorted(self.files), self.roots, sorted(self.dependencies), sorted(self.provided)):
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

    def is_first_party(self, dotted: str) -> bool:
        top = dotted.split(".")[0]
        return (
            top in self.top_names
            and top not in sys.stdlib_module_names
            and canonical(top) not in self.dependencies
            and top.lower() not in self.provided
        )

    def root_of(self, path: str) -> str | None:
        """The (deepest) import root a repository-relative file lives under."""
        under = [r for r in self.roots if r == "" or path.startswith(r + "/")]
        return max(under, key=len) if under else None

    def modules_under(self, root: str) -> list[str]:
        prefix = f"{root}/" if root else ""
        names = set()
        for file in self.files:
            if file.startswith(prefix):
                rel = file[len(prefix) : -3]
                if rel.endswith("/__init__"):
                    rel = rel[: -len("/__init__")]
                names.add(rel.replace("/", "."))
        for folder in self.dirs:
            if folder.startswith(prefix):
                names.add(folder[len(prefix) :].replace("/", "."))
        return sorted(n for n in names if n and all(p.isidentifier() for p in n.split(".")))

    def candidates(self, dotted: str) -> list[str]:
        """Modules under the roots that ``dotted`` most likely meant, matched by dotted suffix."""
        found = set()
        for root in self.roots:
            for name in self.modules_under(root):
                if name.endswith("." + dotted) or dotted.endswith("." + name):
                    found.add(name)
        return sorted(found)


# Distributions imported under a name their own does not give (nor the rules in import_names).
_IMPORT_NAMES = {
    "attrs": ("attr",), "beautifulsoup4": ("bs4",), "django-cors-headers": ("corsheaders",),
    "django-filter": ("django_filters",), "djangorestframework": ("rest_framework",),
    "dnspython": ("dns",), "faiss-cpu": ("faiss",), "faiss-gpu": ("faiss",),
    "google-api-python-client": ("googleapiclient",), "graphql-core": ("graphql",),
    "msgpack-python": ("msgpack",), "mysqlclient": ("mysqldb",), "opencv-contrib-python": ("cv2",),
    "opencv-python": ("cv2",), "opencv-python-headless": ("cv2",), "pillow": ("pil",),
    "protobuf": ("google",), "psycopg-binary": ("psycopg",), "psycopg2-binary": ("psycopg2",),
    "pycryptodome": ("crypto",), "pycryptodomex": ("cryptodome",), "pygithub": ("github",),
    "pyopenssl": ("openssl",), "pyserial": ("serial",), "python-gitlab": ("gitlab",),
    "python-socketio": ("socketio",), "python-telegram-bot": ("telegram",), "pyzmq": ("zmq",),
    "ruamel-yaml": ("ruamel",), "scikit-learn": ("sklearn",), "social-auth-app-django": ("social_django",),
    "social-auth-core": ("social_core",), "sorl-thumbnail": ("sorl",), "strawberry-graphql": ("strawberry",),
    "strawberry-graphql-django": ("strawberry_django",),
}


def import_names(distribution: str) -> set[str]:
    """The (lower-cased) names a declared distribution is likely imported as: its own name with
    underscores, without a ``python-``/``py``/``django-`` prefix (python-dateutil, PyYAML,
    django-mptt), a namespace (google-cloud-storage), and the well-known others."""
    name = canonical(distribution)
    names = {name.replace("-", "_"), *_IMPORT_NAMES.get(name, ())}
    for prefix in ("python-", "py", "django-"):
        rest = name[len(prefix) :]
        if name.startswith(prefix) and len(rest) >= 3 and "-" not in rest:
            names.add(rest)
    for namespace in ("google", "azure"):
        if name.startswith(namespace + "-"):
            names.add(namespace)
    return names


def _declared_dependencies(root: Path, dirs: frozenset[str]) -> frozenset[str]:
    """Dependencies declared anywhere in the repository (a backend/ folder often has its own)."""
    folders = [root, *(root / d for d in dirs if d.count("/") < 2)]
    names: set[str] = set()
    for folder in folders:
        try:
            for path in [*folder.glob("requirements*.txt"), *(folder / "requirements").glob("*.txt")]:
                if not file_inside(root, path):  # a link out of the repository is not its manifest
                    continue
                text = path.read_text(encoding="utf-8", errors="replace")
                names |= {canonical(m.group(1)) for m in _REQUIREMENT.finditer(text) if not m.group(0).lstrip().startswith("-")}
            names |= _pyproject_dependencies(root, folder / "pyproject.toml")
        except OSError:  # a folder without permission: its files are reported unreadable by the run
            continue
    return frozenset(names)


def _table(data: object, *keys: str) -> dict:
    """``data[k1][k2]...`` when every level is a table, else {}: a hand-written ``tool = 3``
    or ``project = "x"`` means no such table, not a crash."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _pyproject_dependencies(root: Path, pyproject: Path) -> set[str]:
    names: set[str] = set()
    if file_inside(root, pyproject):
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):  # ValueError: TOMLDecodeError, huge ints
            data = {}
        for requirement in _list(_table(data, "project").get("dependencies")):
            match = _REQUIREMENT.match(str(requirement))
            if match:
                names.add(canonical(match.group(1)))
        names |= {canonical(k) for k in _table(data, "tool", "poetry", "dependencies")}
        for group in _table(data, "project", "optional-dependencies").values():
            names |= {canonical(m.group(1)) for r in _list(group) if (m := _REQUIREMENT.match(str(r)))}
        for group in _table(data, "dependency-groups").values():
            names |= {canonical(m.group(1)) for r in _list(group) if isinstance(r, str) and (m := _REQUIREMENT.match(r))}
    return names


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


def _marker_files(root: Path) -> list[Path]:
    """Every ROOT_MARKERS file in the repository, outside hidden, node_modules and venv folders
    (one os.walk: globbing once per marker walked the tree seven times)."""
    markers = frozenset(ROOT_MARKERS)
    found = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in ("node_modules", "venv"))
        found.extend(Path(folder, name) for name in sorted(markers.intersection(filenames)))
    return found


def _candidate_roots(root: Path, dirs: frozenset[str], files: frozenset[str]) -> list[str]:
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
    for found in _marker_files(root):
        rel = found.parent.relative_to(root).as_posix()
        candidates.add("" if rel == "." else rel)
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
    settings), so that it can run beside the import scan, in a worker process."""

    files: frozenset[str]
    dirs: frozenset[str]
    top_names: frozenset[str]
    dependencies: frozenset[str]
    candidates: tuple[str, ...] | None  # candidate import roots; None: not looked for


def read_layout(root: Path, files: list[str], find_roots: bool = True) -> Layout:
    """``find_roots=False`` when the import roots are configured: no candidates are needed."""
    dirs: set[str] = set()
    tops: set[str] = set()
    for file in files:
        parts = file.split("/")
        tops.add(parts[-1][:-3])
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
            tops.add(parts[i - 1])
    file_set, dir_set = frozenset(files), frozenset(dirs)
    candidates = tuple(_candidate_roots(root, dir_set, file_set)) if find_roots else None
    return Layout(file_set, dir_set, frozenset(tops), _declared_dependencies(root, dir_set), candidates)


def _names_under(layout: Layout, roots: tuple[str, ...]) -> frozenset[str]:
    """Lower-cased names of the modules and packages directly under any of ``roots``."""
    names = set()
    for path in (*layout.files, *layout.dirs):
        parent, _, name = path.rpartition("/")
        if parent in roots:
            names.add(name.removesuffix(".py").lower())
    return frozenset(names)


def build_index(layout: Layout, imports: Counter[str], configured_roots: tuple[str, ...] = ()) -> ModuleIndex:
    """``imports``: the repository's absolute imports counted by ``count_imports``, for the vote."""
    configured = tuple("" if r in (".", "") else r.strip("/") for r in configured_roots)
    if not configured and layout.candidates is None:
        raise ValueError("read_layout(find_roots=False) cannot vote for an import root")
    # A name a dependency provides (jwt: PyJWT) is third-party unless the repository has it at
    # a possible import root: app/utils/jwt.py does not make `import jwt` first-party.
    at_a_root = _names_under(layout, configured or layout.candidates or ())
    provided = frozenset(n for d in layout.dependencies for n in import_names(d)) - at_a_root
    index = ModuleIndex(layout.files, layout.dirs, (), (), layout.dependencies, layout.top_names, provided)
    if configured:
        return dataclasses.replace(index, roots=configured)
    first_party = {name: n for name, n in imports.items() if index.is_first_party(name)}
    votes = []
    for candidate in layout.candidates:
        score = sum(n for name, n in first_party.items() if index.resolves_under(name, candidate))
        votes.append((candidate, score))
    votes.sort(key=lambda v: (-v[1], v[0].count("/") if v[0] else -1, v[0]))
    # Without a single resolving first-party import there is no evidence of the root: no rewrites.
    roots = (votes[0][0],) if votes and votes[0][1] > 0 else ()
    return dataclasses.replace(index, roots=roots, votes=tuple(votes))
