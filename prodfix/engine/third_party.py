"""What is third-party for a repository: everything it declares, locks or finds installed.

fix-imports must never turn a working import of a dependency into an import of a first-party
module that happens to share its name (``import pandas`` next to ``shop/utils/pandas.py``). So
it knows a name is third-party from every place projects declare dependencies in, read once per
run as a project fact (``read_declared``):

- ``pyproject.toml``: PEP 621 ``dependencies`` and ``optional-dependencies``, PEP 735
  ``dependency-groups``, Poetry (``dependencies``, ``dev-dependencies``, ``group.*``), PDM
  (``dev-dependencies``), Hatch environments and uv ``dev-dependencies``;
- ``setup.py``, read with ``ast`` and never executed: ``install_requires``, ``extras_require``,
  ``tests_require`` and ``setup_requires`` given as literals or as names bound to literals;
- ``setup.cfg`` (``[options]`` and ``[options.extras_require]``), ``Pipfile``;
- every ``requirements*.txt`` / ``*.in`` in the tree (and any ``.txt``/``.in`` in a
  ``requirements`` folder), with the files their ``-r`` / ``-c`` lines include;
- lock files (``poetry.lock``, ``uv.lock``, ``pdm.lock``, ``Pipfile.lock``): transitive
  dependencies that no manifest names;
- conda ``environment.yml``.

The project's own names come from the same files (``name``, ``packages``, ``py_modules``).
Besides the declared names, ``environment_names`` lists what the interpreter prodfix runs in
can import (its site directories), and ``import_names`` maps a distribution that is not
installed to the names it is likely imported as. Every file is read only when it lies inside
the root (``containment.file_inside``): a manifest committed as a link to ``/proc/self/environ``
or to a file elsewhere is never read.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import tomllib
from configparser import ConfigParser, Error as ConfigParserError
from dataclasses import dataclass
from pathlib import Path

from prodfix.engine.containment import file_inside, inside
from prodfix.engine.manifest import canonical

LOCK_FILES = frozenset({"poetry.lock", "uv.lock", "pdm.lock", "Pipfile.lock"})
CONDA_FILES = frozenset({"environment.yml", "environment.yaml"})
MANIFEST_FILES = frozenset({"pyproject.toml", "setup.py", "setup.cfg", "Pipfile"}) | LOCK_FILES | CONDA_FILES
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?=$|[\[<>=!~;@ \t(,])")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_INCLUDE = re.compile(r"^(?:-r|-c|--requirement|--constraint)(?:\s*=\s*|\s+|(?=\S))(\S+)")
_LOCKED = re.compile(r'^\[\[package\]\][ \t]*\r?\n[ \t]*name[ \t]*=[ \t]*"([^"]+)"', re.MULTILINE)


def is_requirements_file(rel: str) -> bool:
    """``requirements.txt``, ``requirements-dev.in``, ``dev-requirements.txt``, or any ``.txt``
    / ``.in`` file in a folder named ``requirements*`` (pip-tools' ``requirements/base.in``);
    never ``MANIFEST.in``."""
    folder, _, name = rel.rpartition("/")
    if not name.endswith((".txt", ".in")) or name == "MANIFEST.in":
        return False
    if "requirements" in name.lower():
        return True
    return any(part.lower().startswith("requirements") for part in folder.split("/") if part)


def requirement_name(line: str) -> str | None:
    """The canonical distribution name a requirement line names (``Django>=4``, ``foo[bar]``,
    ``pkg @ https://...``, ``-e git+https://...#egg=pkg``), or None (a path, an option)."""
    line = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
    if not line or line.startswith("#"):
        return None
    egg = _EGG.search(line)
    if egg:
        return canonical(egg.group(1))
    if line.startswith("-"):
        return None
    match = _NAME.match(line)
    return canonical(match.group(1)) if match else None


@dataclass(frozen=True)
class Declared:
    """What a repository's manifests say: canonical distribution names."""

    # declared anywhere (manifests, requirements, conda); a manifest naming its own project
    # (``all = ["shop[redis]"]``) does not make it a dependency, another one does (a sibling
    # project of a monorepo that this one installs)
    dependencies: frozenset[str] = frozenset()
    locked: frozenset[str] = frozenset()  # in lock files (transitive dependencies), minus own names
    own: frozenset[str] = frozenset()  # the projects' own distribution names (name = ...)
    own_packages: frozenset[str] = frozenset()  # top-level packages/modules the manifests ship


def read_declared(root: Path, manifests: list[Path]) -> Declared:
    """Every manifest, requirements and lock file in ``manifests`` (found by one walk of the
    tree), each read only when it lies inside ``root``."""
    deps: set[str] = set()
    locked: set[str] = set()
    own: set[str] = set()
    packages: set[str] = set()
    seen: set[str] = set()
    for path in manifests:
        name = path.name
        try:
            if name in _PROJECT_FILES:
                mine: set[str] = set()
                names: set[str] = set()
                _PROJECT_FILES[name](root, path, mine, names, packages)
                deps |= mine - names
                own |= names
            elif name == "Pipfile":
                data = _toml(root, path)
                for table in ("packages", "dev-packages"):
                    deps |= {canonical(k) for k in _table(data.get(table))}
            elif name in LOCK_FILES:
                locked |= _lock_names(root, path)
            elif name in CONDA_FILES:
                deps |= _conda(root, path)
            else:
                deps |= requirements_names(root, path, seen)
        except (OSError, ValueError, RecursionError, MemoryError):
            continue  # unreadable or absurd: it declares nothing we can use
    deps.discard("")
    return Declared(frozenset(deps), frozenset(locked - own), frozenset(own), frozenset(packages))


def requirements_names(root: Path, path: Path, seen: set[str]) -> set[str]:
    """Names in a requirements file and in the files its ``-r``/``-c`` lines include."""
    real = os.path.realpath(path)
    if real in seen or not file_inside(root, path):
        return set()
    seen.add(real)
    names = set()
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        line = line.strip()
        include = _INCLUDE.match(line)
        if include:
            names |= requirements_names(root, Path(path).parent / include.group(1), seen)
            continue
        name = requirement_name(line)
        if name:
            names.add(name)
    return names


def _toml(root: Path, path: Path) -> dict:
    if not file_inside(root, path):
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}


def _table(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> list[str]:
    """Every string inside a (nested) literal: lists, tuples, sets and dict values."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for v in value for s in _strings(v)]
    return []


def _names(requirements: object) -> set[str]:
    """Canonical names of requirement strings (a string may hold several lines, as setuptools
    accepts for ``install_requires``)."""
    names = set()
    for text in _strings(requirements):
        for line in text.splitlines():
            name = requirement_name(line)
            if name:
                names.add(name)
    return names


def _own_name(value: object, own: set[str]) -> None:
    if isinstance(value, str) and value.strip():
        own.add(canonical(value.strip()))


def _own_packages(values: object, packages: set[str]) -> None:
    for value in _strings(values):
        top = value.strip().replace("/", ".").split(".")[0]
        if top.isidentifier():
            packages.add(top)


def _pyproject(root: Path, path: Path, deps: set[str], own: set[str], packages: set[str]) -> None:
    data = _toml(root, path)
    project = _table(data.get("project"))
    _own_name(project.get("name"), own)
    deps |= _names(project.get("dependencies"))
    deps |= _names(project.get("optional-dependencies"))
    for group in _table(data.get("dependency-groups")).values():  # {include-group = ...} is not a name
        deps |= _names([r for r in group if isinstance(r, str)] if isinstance(group, list) else [])
    tool = _table(data.get("tool"))
    poetry = _table(tool.get("poetry"))
    _own_name(poetry.get("name"), own)
    for table in (poetry.get("dependencies"), poetry.get("dev-dependencies"),
                  *(_table(g).get("dependencies") for g in _table(poetry.get("group")).values())):
        deps |= {canonical(k) for k in _table(table) if k.lower() != "python"}
    for package in poetry.get("packages", []) if isinstance(poetry.get("packages"), list) else []:
        _own_packages(_table(package).get("include"), packages)
    deps |= _names(_table(tool.get("pdm")).get("dev-dependencies"))
    for env in _table(_table(tool.get("hatch")).get("envs")).values():
        deps |= _names(_table(env).get("dependencies"))
        deps |= _names(_table(env).get("extra-dependencies"))
    deps |= _names(_table(tool.get("uv")).get("dev-dependencies"))
    setuptools = _table(tool.get("setuptools"))
    if isinstance(setuptools.get("packages"), list):
        _own_packages(setuptools.get("packages"), packages)
    _own_packages(setuptools.get("py-modules"), packages)


_SETUP_KEYS = ("install_requires", "extras_require", "tests_require", "setup_requires")


def _setup_py(root: Path, path: Path, deps: set[str], own: set[str], packages: set[str]) -> None:
    """``setup(...)``'s arguments that are literals, or names bound to literals at module level
    (``install_requires=REQUIRES``, ``setup(**kwargs)``); the file is parsed, never run."""
    if not file_inside(root, path):
        return
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        return
    bound: dict[str, object] = {}
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node.func) == "setup":
            calls.append(node)
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = _literal(node.value, bound)
            if value is not _UNKNOWN:
                bound[node.targets[0].id] = value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            value = _literal(node.value, bound)
            if value is not _UNKNOWN:
                bound[node.target.id] = value
    for call in calls:
        arguments: dict[str, object] = {}
        for keyword in call.keywords:
            value = _literal(keyword.value, bound)
            if value is _UNKNOWN:
                continue
            if keyword.arg is None:
                arguments.update(value if isinstance(value, dict) else {})
            else:
                arguments[keyword.arg] = value
        for key in _SETUP_KEYS:
            deps |= _names(arguments.get(key))
        _own_name(arguments.get("name"), own)
        _own_packages(arguments.get("packages"), packages)
        _own_packages(arguments.get("py_modules"), packages)


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


_UNKNOWN = object()


def _literal(node: ast.expr, bound: dict[str, object]) -> object:
    """The value of a literal expression, with names bound to literals substituted, list
    concatenation and ``dict(a=...)``; ``_UNKNOWN`` for anything else."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return bound.get(node.id, _UNKNOWN)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = []
        for element in node.elts:
            if isinstance(element, ast.Starred):
                value = _literal(element.value, bound)
                if isinstance(value, (list, tuple)):
                    items.extend(value)
                continue
            value = _literal(element, bound)
            if value is not _UNKNOWN:
                items.append(value)
        return items
    if isinstance(node, ast.Dict):
        result = {}
        for key, value in zip(node.keys, node.values):
            item = _literal(value, bound)
            if key is None:
                if isinstance(item, dict):
                    result.update(item)
            else:
                name = _literal(key, bound)
                if item is not _UNKNOWN and isinstance(name, (str, int)):
                    result[name] = item
        return result
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, bound), _literal(node.right, bound)
        if isinstance(left, list) and isinstance(right, list):
            return left + right
        if isinstance(left, (list, str)):
            return left if right is _UNKNOWN else _UNKNOWN
        return right if isinstance(right, list) else _UNKNOWN
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("dict", "list", "tuple", "set"):
        if node.func.id == "dict":
            return {k.arg: v for k in node.keywords if k.arg and (v := _literal(k.value, bound)) is not _UNKNOWN}
        return _literal(node.args[0], bound) if len(node.args) == 1 else _UNKNOWN
    return _UNKNOWN


def _setup_cfg(root: Path, path: Path, deps: set[str], own: set[str], packages: set[str]) -> None:
    if not file_inside(root, path):
        return
    parser = ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"))
    except ConfigParserError:
        return
    for key in _SETUP_KEYS:
        value = parser.get("options", key, fallback="")
        if not value.lstrip().startswith(("file:", "attr:")):
            deps |= _names(value)
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            deps |= _names(value)
    _own_name(parser.get("metadata", "name", fallback=""), own)
    for key in ("packages", "py_modules"):
        value = parser.get("options", key, fallback="")
        if not value.lstrip().startswith(("find:", "find_namespace:", "attr:")):
            _own_packages(value.replace(",", "\n").split(), packages)


def _lock_names(root: Path, path: Path) -> set[str]:
    if not file_inside(root, path):
        return set()
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.name == "Pipfile.lock":
        try:
            data = json.loads(text)
        except ValueError:
            return set()
        return {canonical(k) for section in ("default", "develop") for k in _table(_table(data).get(section))}
    # poetry.lock, uv.lock and pdm.lock start every [[package]] with its name: a regex is ~20x
    # faster than parsing a lock file of a few MB as TOML.
    names = {canonical(m) for m in _LOCKED.findall(text)}
    if not names and "[[package]]" in text:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return set()
        names = {canonical(str(p.get("name", ""))) for p in data.get("package", []) if isinstance(p, dict)}
    return names - {""}


# conda package names that are imported under another name (the PyPI ones are in import_names)
_CONDA_IMPORT_NAMES = {"pytorch": "torch", "pytables": "tables", "py-opencv": "cv2", "opencv": "cv2"}


_PROJECT_FILES = {"pyproject.toml": _pyproject, "setup.py": _setup_py, "setup.cfg": _setup_cfg}
MAX_ENVIRONMENT_BYTES = 1 << 20


def _conda(root: Path, path: Path) -> set[str]:
    if not file_inside(root, path):
        return set()
    import yaml  # only for a repository that has a conda environment file

    class NoAliases(yaml.SafeLoader):
        """Conda files have no use for aliases; a committed alias bomb must not expand."""

        def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
            if self.check_event(yaml.AliasEvent):
                raise yaml.YAMLError("aliases are not read in environment files")
            return super().compose_node(parent, index)

    if os.path.getsize(path) > MAX_ENVIRONMENT_BYTES:
        return set()
    try:
        data = yaml.load(path.read_text(encoding="utf-8", errors="replace"), Loader=NoAliases)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError:
        return set()
    names = set()
    for entry in _table(data).get("dependencies", []) if isinstance(_table(data).get("dependencies"), list) else []:
        if isinstance(entry, str):
            name = requirement_name(entry.split("::")[-1])  # conda-forge::pandas=2.1
            if name:
                names.add(canonical(_CONDA_IMPORT_NAMES.get(name, name)))
        elif isinstance(entry, dict):
            names |= _names(entry.get("pip"))
    return names


# Distributions imported under a name their own does not give (nor the rules in import_names).
_IMPORT_NAMES = {
    "ansible-base": ("ansible",), "ansible-core": ("ansible",), "apache-airflow": ("airflow",),
    "attrs": ("attr",), "beautifulsoup4": ("bs4",), "discord-py": ("discord",),
    "django-cors-headers": ("corsheaders",), "django-filter": ("django_filters",),
    "djangorestframework": ("rest_framework",), "dnspython": ("dns",), "factory-boy": ("factory",),
    "faiss-cpu": ("faiss",), "faiss-gpu": ("faiss",), "gitpython": ("git",),
    "google-api-python-client": ("googleapiclient",), "graphql-core": ("graphql",), "grpcio": ("grpc",),
    "libsass": ("sass",), "msgpack-python": ("msgpack",), "mysqlclient": ("mysqldb",),
    "opencv-contrib-python": ("cv2",), "opencv-python": ("cv2",), "opencv-python-headless": ("cv2",),
    "pillow": ("pil",), "protobuf": ("google",), "psycopg-binary": ("psycopg",), "psycopg2-binary": ("psycopg2",),
    "pycryptodome": ("crypto",), "pycryptodomex": ("cryptodome",), "pygithub": ("github",),
    "pyopenssl": ("openssl",), "pyserial": ("serial",), "python-dateutil": ("dateutil",),
    "python-dotenv": ("dotenv",), "python-gitlab": ("gitlab",), "python-jose": ("jose",),
    "python-json-logger": ("pythonjsonlogger",), "python-memcached": ("memcache",),
    "python-multipart": ("multipart",), "python-socketio": ("socketio",), "python-telegram-bot": ("telegram",),
    "python3-saml": ("onelogin",), "pywin32": ("win32api", "win32con", "pywintypes"), "pyyaml": ("yaml",),
    "pyzmq": ("zmq",), "ruamel-yaml": ("ruamel",), "scikit-image": ("skimage",), "scikit-learn": ("sklearn",),
    "setuptools": ("setuptools", "pkg_resources"), "snowflake-connector-python": ("snowflake",),
    "social-auth-app-django": ("social_django",), "social-auth-core": ("social_core",),
    "sorl-thumbnail": ("sorl",), "strawberry-graphql": ("strawberry",),
    "strawberry-graphql-django": ("strawberry_django",), "tensorflow": ("tensorflow", "keras"),
    "websocket-client": ("websocket",),
}
# Distribution name prefixes that share one namespace package (google-cloud-storage -> google).
_NAMESPACES = ("google", "azure", "zope", "jaraco", "backports", "opentelemetry", "sphinxcontrib")


def known_import_names(distribution: str) -> set[str]:
    """The (lower-cased) names a distribution is known to be imported as: its own name with
    underscores, and the well-known others (PyYAML -> yaml, beautifulsoup4 -> bs4)."""
    name = canonical(distribution)
    return {name.replace("-", "_"), *_IMPORT_NAMES.get(name, ())}


def import_names(distribution: str) -> set[str]:
    """The known names (``known_import_names``) and the likely ones of a distribution that is
    not installed: without a ``python-``/``py``/``django-`` prefix (python-dateutil, PyJWT,
    django-mptt), a namespace (google-cloud-storage, zope.interface)."""
    name = canonical(distribution)
    names = known_import_names(name)
    for prefix in ("python-", "py", "django-"):
        rest = name[len(prefix) :]
        if name.startswith(prefix) and len(rest) >= 3 and "-" not in rest:
            names.add(rest)
    for namespace in _NAMESPACES:
        if name.startswith(namespace + "-"):
            names.add(namespace)
    return names


@dataclass(frozen=True)
class Environment:
    """What the interpreter prodfix runs in can import, outside the repository."""

    names: frozenset[str]  # lower-cased top-level module and package names in its site directories
    distributions: dict[str, str]  # canonical distribution name -> its .dist-info/.egg-info folder
    root: str = ""  # the repository: a virtualenv committed inside it is read as its files are

    def import_names_of(self, distribution: str) -> set[str] | None:
        """The names an installed distribution provides, from its metadata (``top_level.txt``,
        else the first components of ``RECORD``), lower-cased; None when it is not installed
        (or its metadata, inside the repository, leads outside it)."""
        folder = self.distributions.get(distribution)
        if folder is None:
            return None
        top_level, record = Path(folder, "top_level.txt"), Path(folder, "RECORD")
        if self.root and inside(Path(self.root), folder) and not all(
            file_inside(Path(self.root), f) or not os.path.lexists(f) for f in (top_level, record)
        ):
            return None
        names: set[str] = set()
        try:
            if top_level.is_file():
                names = {line.strip().split("/")[0] for line in top_level.read_text(encoding="utf-8").splitlines()}
            else:
                for line in record.read_text(encoding="utf-8").splitlines():
                    first = line.split(",", 1)[0].split("/", 1)
                    if len(first) == 1:
                        first = [first[0].removesuffix(".py")] if first[0].endswith(".py") else []
                    if first and not first[0].endswith((".dist-info", ".data")):
                        names.add(first[0])
        except (OSError, UnicodeDecodeError):
            return None
        return {n.lower() for n in names if n.isidentifier()}


def _environment_paths(root: Path) -> list[str]:
    """The site directories on prodfix's ``sys.path`` (a virtualenv inside the repository
    included) and the ``PYTHONPATH`` entries outside the repository: not the standard library,
    the working directory, a script's folder or a folder of the repository's own code."""
    base = os.path.realpath(root)
    explicit = {os.path.realpath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    paths = []
    for entry in sys.path:
        if not entry:
            continue
        real = os.path.realpath(entry)
        parts = real.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            paths.append(real)
        elif real in explicit and real != base and not real.startswith(base.rstrip(os.sep) + os.sep):
            paths.append(real)
    return list(dict.fromkeys(paths))


def environment(root: Path) -> Environment:
    """A listing of the site directories prodfix itself imports from (see _environment_paths):
    what ``importlib.metadata.packages_distributions()`` reports, and modules no distribution
    claims, without importing importlib.metadata or parsing any METADATA (a few ms against
    ~120 ms). Distribution metadata is read later, and only for declared distributions
    (``Environment.import_names_of``)."""
    names: set[str] = set()
    distributions: dict[str, str] = {}
    for path in _environment_paths(root):
        try:
            items = list(os.scandir(path))
        except OSError:
            continue  # a zip file, or gone
        for item in items:
            name = item.name
            if name.endswith((".dist-info", ".egg-info")):
                distributions.setdefault(canonical(name.rsplit(".", 1)[0].split("-")[0]), item.path)
                continue
            if name.endswith(".py"):
                stem = name[:-3]
            elif name.endswith((".so", ".pyd")):
                stem = name.split(".", 1)[0]
            else:
                stem = name if "." not in name else ""
                if stem and not item.is_dir():
                    continue
            if stem.isidentifier() and stem != "__pycache__":
                names.add(stem.lower())
    return Environment(frozenset(names), distributions, str(root))
