"""The project's logging set-up, computed once per run (project facts): which records it shows.

print-to-logging must not turn a visible print into a record the logging in effect drops, so
it asks these facts, per file and logger name, whether a level would be shown. They come from
the code and files that configure logging:

- ``logging.basicConfig(level=...)``, ``logging.config.dictConfig(...)`` (a dict literal, a
  module-level name bound to one, or a YAML/JSON/INI/TOML file the call names),
  ``logging.config.fileConfig(...)``, Django's ``LOGGING = {...}``, gunicorn's
  ``logconfig_dict``, ``logging.getLogger().setLevel(...)`` on the root logger;
- an alembic environment: ``env.py`` calling ``fileConfig(config.config_file_name)`` applies the
  logging sections of its ``alembic.ini`` to the revisions under it, and names the logger it
  logs to (``logging.getLogger("alembic.env")``);
- logging files at the repository root (``logging.yaml``, ``logging.ini``...), such as a server
  is pointed at with ``--log-config``.

Levels are read statically: literals, ``logging.INFO``, and the default of an environment
look-up (``os.environ.get("LOG_LEVEL", "INFO")``). A level that cannot be read is *unknown*,
and a record whose fate depends on it counts as not shown. A project with no set-up at all
runs with Python's default: only WARNING and above reach stderr (``logging.lastResort``).

Set-ups in tests and in programs (scripts, management commands) configure only their own run
and are not the service's: the caller says which files those are. Each file is looked at in
the one scan of the repository that reads it for the other project facts (engine/plan.py): a
substring test decides for most files, so nothing is cached; :func:`build` assembles them.
"""

from __future__ import annotations

import ast
import configparser
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from prodfix.engine.containment import file_inside

UNKNOWN = "?"
NULL_HANDLER = 100  # a handler level above every record: logging.NullHandler shows nothing
# the standard library's levels (logging itself is not imported: ~1.3 ms of every run's start-up)
DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50
_NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR", CRITICAL: "CRITICAL", 0: "NOTSET"}
_LEVELS = {"CRITICAL": CRITICAL, "FATAL": CRITICAL, "ERROR": ERROR, "WARN": WARNING, "WARNING": WARNING,
           "INFO": INFO, "DEBUG": DEBUG, "NOTSET": 0}


def _level_name(level: int) -> str:
    """``logging.getLevelName`` of a number."""
    return _NAMES.get(level, f"Level {level}")
MAX_CONFIG_BYTES = 256 * 1024
TRIGGERS = ("basicConfig", "dictConfig", "fileConfig", "LOGGING", "logconfig_dict", "setLevel")
CONFIG_SUFFIXES = (".ini", ".conf", ".cfg", ".yaml", ".yml", ".json", ".toml")
ROOT_LOGGING_FILES = tuple(
    f"{stem}{suffix}" for stem in ("logging", "log_config", "logging_config", "log") for suffix in CONFIG_SUFFIXES
)
_LOGGER_CALLS = frozenset({"getLogger", "get_logger"})


# --- per file ------------------------------------------------------------------------------


def scan_file(text: str) -> dict | None:
    """The logging set-ups one file makes, JSON-ready, or None when it makes none (most files:
    a substring test decides, no parse)."""
    if not any(word in text for word in TRIGGERS):
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names = _module_constants(tree)
    setups: list[dict] = []
    loggers: list[str] = []
    adds_handler = "addHandler(" in text
    for node, top in _walk_with_top(tree):
        if isinstance(node, ast.Call):
            setup = _setup_of_call(node, names, adds_handler)
            if setup is not None:
                setup["line"] = node.lineno
                setup["top"] = top
                setups.append(setup)
            name = _logger_name_of(node)
            if name is not None:
                loggers.append(name)
    for stmt in tree.body:
        target, value = _assignment(stmt)
        if target in ("LOGGING", "logconfig_dict") and value is not None:
            config = _dict_config(value, names) if isinstance(value, ast.Dict) else None
            setups.append({"kind": "django" if target == "LOGGING" else "dictConfig", "config": config, "line": stmt.lineno, "top": True})
    if not setups:
        return None
    # dictConfig(yaml.safe_load(handle)) with the file opened a line above: the file's names
    named = _paths_in(tree)
    for setup in setups:
        if setup.get("config") is None and not setup.get("files") and not setup.get("alembic"):
            setup["files"] = named
    return {"setups": setups, "loggers": sorted(set(loggers))}


def valid_scan(value: object) -> bool:
    """Whether ``value`` has the shape :func:`scan_file` gives it (the facts cache keeps it, and
    a cache is input: a tampered entry of another shape is a miss, never a crash)."""
    if not (isinstance(value, dict) and isinstance(value.get("setups"), list) and value["setups"]):
        return False
    loggers = value.get("loggers")
    if not (isinstance(loggers, list) and all(isinstance(n, str) for n in loggers)):
        return False
    for item in value["setups"]:
        if not (isinstance(item, dict) and isinstance(item.get("kind"), str) and type(item.get("line")) is int):
            return False
        files = item.get("files", [])
        if not (isinstance(item.get("top"), bool) and isinstance(item.get("alembic", False), bool)):
            return False
        if not (isinstance(files, list) and all(isinstance(f, str) for f in files)):
            return False
        if item.get("config") is not None and not valid_config(item["config"]):
            return False
    return True


def _level_ok(level: object, empty: bool = False) -> bool:
    return (type(level) is int) or level == UNKNOWN or (empty and level is None)


def valid_config(config: object) -> bool:
    """Whether ``config`` is a normalised configuration (``_dict_config``'s shape), which
    :meth:`Setup.check` reads without further checks."""
    if not (isinstance(config, dict) and isinstance(config.get("loggers"), dict) and isinstance(config.get("handlers"), dict)):
        return False
    if not all(isinstance(k, str) and _level_ok(v) for k, v in config["handlers"].items()):
        return False
    for name, entry in config["loggers"].items():
        if not (isinstance(name, str) and isinstance(entry, dict) and _level_ok(entry.get("level"), empty=True)):
            return False
        handlers = entry.get("handlers", [])
        if not (isinstance(handlers, list) and all(isinstance(h, str) for h in handlers)):
            return False
        if not isinstance(entry.get("propagate", True), bool):
            return False
    return True


def _walk_with_top(tree: ast.Module):
    """Every node, with whether it runs when the module is imported (outside any def)."""
    stack: list[tuple[ast.AST, bool]] = [(tree, True)]
    while stack:
        node, top = stack.pop()
        yield node, top
        inner = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def _assignment(stmt: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id, stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id, stmt.value
    return None, None


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    names: dict[str, ast.expr] = {}
    for stmt in tree.body:
        target, value = _assignment(stmt)
        if target is not None and value is not None:
            names[target] = value
    return names


def _dotted(node: ast.expr) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _logger_name_of(call: ast.Call) -> str | None:
    """The literal name of ``logging.getLogger("name")`` (env.py's own logger)."""
    if _dotted(call.func).rsplit(".", 1)[-1] not in _LOGGER_CALLS or len(call.args) != 1:
        return None
    arg = call.args[0]
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _setup_of_call(call: ast.Call, names: dict[str, ast.expr], adds_handler: bool = False) -> dict | None:
    func = _dotted(call.func)
    last = func.rsplit(".", 1)[-1]
    if last == "basicConfig" and (func == "basicConfig" or func.endswith("logging.basicConfig")):
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        level = level_of(keywords["level"], names) if "level" in keywords else WARNING
        if any(k.arg is None for k in call.keywords):
            level = UNKNOWN
        return {"kind": "basicConfig", "config": {"loggers": {"": {"level": level, "handlers": ["basic"]}}, "handlers": {"basic": 0}}}
    if last == "dictConfig":
        arg = call.args[0] if call.args else None
        if isinstance(arg, ast.Name) and arg.id in names:
            arg = names[arg.id]
        config = _dict_config(arg, names) if isinstance(arg, ast.Dict) else None
        return {"kind": "dictConfig", "config": config, "files": [] if config is not None else _paths_in(call)}
    if last == "fileConfig":
        arg = call.args[0] if call.args else None
        if arg is not None and _dotted(arg).endswith("config_file_name"):
            return {"kind": "fileConfig", "config": None, "files": [], "alembic": True}
        return {"kind": "fileConfig", "config": None, "files": _paths_in(call)}
    if last == "setLevel" and isinstance(call.func, ast.Attribute) and call.args:
        owner = call.func.value
        root = _dotted(owner) == "logging.root" or (
            isinstance(owner, ast.Call) and not owner.args and not owner.keywords
            and _dotted(owner.func) in ("logging.getLogger", "getLogger")
        )
        if root:
            level = level_of(call.args[0], names)
            # with a handler added to it in the same file (a StreamHandler, at NOTSET), or none
            handlers = ["added"] if adds_handler else []
            return {"kind": "root", "config": {"loggers": {"": {"level": level, "handlers": handlers}}, "handlers": {"added": 0}}}
    return None


def _paths_in(tree: ast.AST) -> list[str]:
    """String literals in the call (or the module) that name a configuration file."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith(CONFIG_SUFFIXES):
            found.append(node.value)
    return found


def level_of(node: ast.expr | None, names: dict[str, ast.expr], depth: int = 0) -> int | str:
    """A level expression's number, or UNKNOWN."""
    if node is None or depth > 5:
        return UNKNOWN
    if isinstance(node, ast.Constant):
        return _level_value(node.value)
    if isinstance(node, ast.Attribute) and node.attr.upper() in _LEVELS and (
        node.attr.isupper() or "level" in _dotted(node.value).lower()
    ):
        return _LEVELS[node.attr.upper()]  # logging.INFO, LogLevels.error
    if isinstance(node, ast.Name):
        if node.id in names:
            return level_of(names[node.id], names, depth + 1)
        return _LEVELS.get(node.id, UNKNOWN) if node.id.isupper() and node.id in _LEVELS else UNKNOWN
    if isinstance(node, ast.IfExp):
        a, b = level_of(node.body, names, depth + 1), level_of(node.orelse, names, depth + 1)
        return max(a, b) if isinstance(a, int) and isinstance(b, int) else UNKNOWN
    if isinstance(node, ast.Call):
        func = _dotted(node.func)
        last = func.rsplit(".", 1)[-1]
        if last in ("upper", "lower", "strip", "str") and isinstance(node.func, ast.Attribute) and not node.args:
            return level_of(node.func.value, names, depth + 1)
        if func in ("str", "int") and len(node.args) == 1:
            return level_of(node.args[0], names, depth + 1)
        if func == "logging.getLevelName" and len(node.args) == 1:
            return level_of(node.args[0], names, depth + 1)
        # os.environ.get("X", "INFO"), os.getenv("X", "INFO"), env("X", default="INFO"),
        # env.str("X", "INFO"), config("X", default="INFO"): the default
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        if default is None and len(node.args) >= 2:
            default = node.args[1]
        if default is not None and last in ("get", "getenv", "env", "str", "config", "getattr") or func == "env":
            return level_of(default, names, depth + 1)
    return UNKNOWN


def _level_value(value: object) -> int | str:
    if isinstance(value, bool):
        return UNKNOWN
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().upper()
        if text.isdigit():
            return int(text)
        return _LEVELS.get(text, UNKNOWN)
    return UNKNOWN


def _literal(node: ast.expr, names: dict[str, ast.expr], depth: int = 0) -> Any:
    if depth > 8:
        return UNKNOWN
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Dict):
        out = {}
        for key, value in zip(node.keys, node.values):
            if key is None:  # **other: whatever it adds is unknown
                out[UNKNOWN] = UNKNOWN
                continue
            k = _literal(key, names, depth + 1)
            if isinstance(k, str):
                out[k] = value
        return out
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e, names, depth + 1) for e in node.elts]
    if isinstance(node, ast.Name) and node.id in names:
        return _literal(names[node.id], names, depth + 1)
    return UNKNOWN


def _dict_config(node: ast.Dict, names: dict[str, ast.expr]) -> dict | None:
    """A dictConfig dict literal, normalised: ``{"loggers": {name: {"level", "handlers",
    "propagate"}}, "handlers": {name: level}}``, levels numbers or UNKNOWN."""
    top = _literal(node, names)
    if not isinstance(top, dict):
        return None

    def sub(key: str) -> dict:
        value = top.get(key)
        if value is None:
            return {}
        value = _literal(value, names) if isinstance(value, ast.AST) else value
        return value if isinstance(value, dict) else {UNKNOWN: UNKNOWN}

    handlers: dict[str, int | str] = {}
    for name, spec in sub("handlers").items():
        spec = _literal(spec, names) if isinstance(spec, ast.AST) else spec
        if not isinstance(spec, dict):
            handlers[name] = UNKNOWN
            continue
        klass = spec.get("class")
        klass = _literal(klass, names) if isinstance(klass, ast.AST) else klass
        level = level_of(spec["level"], names) if isinstance(spec.get("level"), ast.AST) else 0
        handlers[name] = NULL_HANDLER if isinstance(klass, str) and klass.endswith("NullHandler") else level
    loggers: dict[str, dict] = {}
    entries = dict(sub("loggers"))
    if "root" in top:
        entries[""] = top["root"]
    for name, spec in entries.items():
        spec = _literal(spec, names) if isinstance(spec, ast.AST) else spec
        if not isinstance(spec, dict):
            loggers[name] = {"level": UNKNOWN, "handlers": [UNKNOWN], "propagate": True}
            continue
        level = level_of(spec["level"], names) if isinstance(spec.get("level"), ast.AST) else None
        listed = spec.get("handlers")
        listed = _literal(listed, names) if isinstance(listed, ast.AST) else (listed or [])
        handler_names = [h if isinstance(h, str) else UNKNOWN for h in listed] if isinstance(listed, list) else [UNKNOWN]
        propagate = spec.get("propagate")
        propagate = _literal(propagate, names) if isinstance(propagate, ast.AST) else propagate
        loggers[name] = {"level": level, "handlers": handler_names, "propagate": propagate is not False}
    if UNKNOWN in loggers:
        loggers[UNKNOWN] = {"level": UNKNOWN, "handlers": [UNKNOWN], "propagate": True}
    return {"loggers": loggers, "handlers": handlers}


# --- configuration files -------------------------------------------------------------------


def read_config_file(path: Path) -> dict | None:
    """A logging configuration file (INI for fileConfig; YAML, JSON or TOML for dictConfig),
    normalised like a dict literal; None when it cannot be read as one (or is larger than any
    logging configuration: a repository's file is input, and YAML aliases can expand)."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None

    suffix = path.suffix.lower()
    if suffix in (".ini", ".conf", ".cfg"):
        return _ini_config(text)
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except Exception:  # any parser's error: not a configuration we can read
        return None
    if not isinstance(data, dict) or "version" not in data:
        return None
    try:
        plain = _plain(data, [10_000])  # YAML aliases can make a small file a huge tree
    except OverflowError:
        return None
    tree = ast.parse(repr(plain), mode="eval").body
    return _dict_config(tree, {}) if isinstance(tree, ast.Dict) else None


def _plain(value: Any, budget: list[int]) -> Any:
    """``value`` as plain dicts, lists and scalars; OverflowError past ``budget`` nodes."""
    budget[0] -= 1
    if budget[0] < 0:
        raise OverflowError("too large for a logging configuration")
    if isinstance(value, dict):
        return {str(k): _plain(v, budget) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, budget) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _ini_config(text: str) -> dict | None:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    if not parser.has_section("loggers"):
        return None

    def keys(section: str) -> list[str]:
        raw = parser.get(section, "keys", fallback="")
        return [k.strip() for k in raw.split(",") if k.strip()]

    handlers: dict[str, int | str] = {}
    for name in keys("handlers"):
        section = f"handler_{name}"
        klass = parser.get(section, "class", fallback="")
        level = _level_value(parser.get(section, "level", fallback="NOTSET"))
        handlers[name] = NULL_HANDLER if klass.endswith("NullHandler") else level
    loggers: dict[str, dict] = {}
    for name in keys("loggers"):
        section = f"logger_{name}"
        if not parser.has_section(section):
            continue
        qualname = "" if name == "root" else parser.get(section, "qualname", fallback=name)
        level = parser.get(section, "level", fallback=None)
        listed = [h.strip() for h in parser.get(section, "handlers", fallback="").split(",") if h.strip()]
        propagate = parser.get(section, "propagate", fallback="1").strip() != "0"
        loggers[qualname] = {"level": _level_value(level) if level is not None else None, "handlers": listed, "propagate": propagate}
    return {"loggers": loggers, "handlers": handlers}


# --- the project ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    source: str  # where it is made: "settings.py:369 LOGGING", "migrations/alembic.ini"
    rel: str  # the file that makes it
    config: dict | None  # normalised; None: its content is unknown
    top: bool = False  # made when its module is imported (outside any def)
    migrations: str | None = None  # an alembic environment's folder: applies only under it

    def shows(self, name: str, level: int) -> bool | None:
        """Whether a record of ``level`` from logger ``name`` reaches a handler (None: cannot tell)."""
        return self.check(name, level)[0]

    def check(self, name: str, level: int) -> tuple[bool | None, str]:
        """(shown, why not) for a record of ``level`` from logger ``name``; shown is None when
        it cannot be told."""
        if self.config is None:
            return None, "its content cannot be read"
        loggers = self.config["loggers"]
        handlers = self.config["handlers"]
        if UNKNOWN in loggers:
            return None, "it is built at run time"
        chain = _chain(name)
        effective: int | str = WARNING  # the root logger's default
        where = "root at WARNING (not configured)"
        for n in chain:
            entry = loggers.get(n)
            if entry is not None and entry.get("level") is not None:
                effective = entry["level"]
                shown_as = _level_name(effective) if isinstance(effective, int) else "a level read at run time"
                where = f"{repr(n) if n else 'root'} at {shown_as}"
                break
        if effective == UNKNOWN:
            # a level read at run time (an environment variable without a default): ERROR and
            # above pass whatever it is in practice, anything lower cannot be known
            if level < ERROR:
                return None, where
        elif level < effective:  # type: ignore[operator]
            return False, where
        seen_handler, unknown = [], False
        for n in chain:
            entry = loggers.get(n)
            if entry is None:
                continue
            for handler in entry.get("handlers", []):
                seen_handler.append(handler)
                handler_level = handlers.get(handler, UNKNOWN if handler == UNKNOWN else 0)
                if handler_level == UNKNOWN:
                    unknown = True
                elif level >= handler_level:  # type: ignore[operator]
                    return True, ""
            if not entry.get("propagate", True):
                break
        if seen_handler:
            if unknown:
                return None, "its handlers are made at run time"
            return False, f"its handlers ({', '.join(seen_handler)}) drop it"
        if level >= WARNING:
            return True, ""  # no handler at all: logging.lastResort
        return False, f"{where}, and no handler"

def _chain(name: str) -> list[str]:
    parts = name.split(".") if name else []
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)] + [""]


@dataclass(frozen=True)
class Verdict:
    shown: bool
    reason: str = ""  # why not, in a few words, for the note


# module names a service is started by (wsgi:application, uvicorn main:app): not offline scripts
ENTRY_MODULES = frozenset({"app", "main", "wsgi", "asgi", "application", "server", "api", "celery", "tasks", "worker"})


@dataclass(frozen=True)
class LoggingFacts:
    setups: tuple[Setup, ...] = ()
    packages: frozenset[str] = frozenset()  # folders holding an __init__.py
    # modules in no package that nothing imports: offline tool scripts, run by hand
    scripts: frozenset[str] = frozenset()
    # alembic environment folder -> logger names its env.py gets with a literal name
    env_loggers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    _fingerprint: str = field(default="", compare=False)

    def module_name(self, rel: str) -> str:
        """The dotted module name ``__name__`` has for the file: its path from the folder above
        its highest enclosing package (folders without ``__init__.py`` inside one are namespace
        packages); a file in no package is a top-level module."""
        parts = rel.removesuffix(".py").split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        start = len(rel.split("/")) - 1
        for depth in range(1, len(parts) + (rel.endswith("__init__.py"))):
            if "/".join(rel.split("/")[:depth]) in self.packages:
                start = depth - 1
                break
        return ".".join(parts[start:]) or rel

    def migrations_of(self, rel: str) -> str | None:
        """The alembic environment folder whose env.py runs ``rel`` (a revision or env.py itself)."""
        for setup in self.setups:
            if setup.migrations is None:
                continue
            prefix = setup.migrations + "/" if setup.migrations else ""
            inner = rel[len(prefix):] if rel.startswith(prefix) else None
            if inner is not None and (inner.startswith("versions/") or inner == "env.py"):
                return setup.migrations
        return None

    def applying(self, rel: str, ignored: Callable[[str], bool]) -> list[Setup]:
        """The set-ups in effect when the code in ``rel`` runs: its alembic environment's, or
        the service's (every set-up outside tests and programs, which configure only their own run)."""
        folder = self.migrations_of(rel)
        if folder is not None:
            return [s for s in self.setups if s.migrations == folder]
        return [s for s in self.setups if s.migrations is None and not ignored(s.rel)]

    def verdict(self, rel: str, name: str, level: int, ignored: Callable[[str], bool]) -> Verdict:
        setups = self.applying(rel, ignored)
        level_name = _level_name(level)
        if not setups:
            if level >= WARNING:
                return Verdict(True)
            return Verdict(False, f"no logging set-up in this project shows {level_name} (Python's default shows WARNING and above)")
        for setup in setups:
            shown, why = setup.check(name, level)
            if shown is None:
                return Verdict(False, f"cannot tell whether {setup.source} shows {level_name} from '{name}' ({why})")
            if not shown:
                return Verdict(False, f"{setup.source} drops {level_name} from '{name}' ({why})")
        return Verdict(True)

    def migration_logger(self, rel: str, level: int = INFO) -> str | None:
        """The logger an alembic revision under ``rel`` should use: env.py's own (when its
        configuration shows ``level`` from it), else a logger ``alembic.ini`` configures to show it."""
        folder = self.migrations_of(rel)
        if folder is None:
            return None
        setups = [s for s in self.setups if s.migrations == folder]
        candidates = list(dict(self.env_loggers).get(folder, ()))
        for setup in setups:
            if setup.config is not None:
                candidates += sorted(n for n in setup.config["loggers"] if n and n != UNKNOWN)
        for name in candidates:
            if all(s.shows(name, level) for s in setups):
                return name
        return None

    def fingerprint(self) -> str:
        return self._fingerprint


def build(root: Path, per_file: dict[str, dict], files: list[str], imported: set[str] | None = None) -> LoggingFacts:
    """The project's set-ups from the per-file facts (``scan_file``), the configuration files
    they name and logging files at the root. Files are read only inside ``root``. ``imported``:
    the module names the repository's absolute imports name."""
    file_set = set(files)
    packages = frozenset(rel.rpartition("/")[0] for rel in files if rel.endswith("__init__.py") and "/" in rel)
    scripts = frozenset(_scripts(files, packages, imported)) if imported is not None else frozenset()
    setups: list[Setup] = []
    env_loggers: list[tuple[str, tuple[str, ...]]] = []
    named: set[str] = set()
    for rel in sorted(per_file):
        facts = per_file[rel]
        folder = rel.rpartition("/")[0]
        environment = rel.endswith("env.py") and rel.rpartition("/")[2] == "env.py" and any(
            f.startswith(f"{folder}/versions/" if folder else "versions/") for f in file_set
        )
        if environment:
            env_loggers.append((folder, tuple(facts.get("loggers", ()))))
        for item in facts["setups"]:
            source = f"{rel}:{item['line']} {_label(item)}"
            config = item.get("config")
            migrations = folder if environment else None
            if item.get("alembic"):
                ini = _alembic_ini(root, folder)
                if ini is not None:
                    source = os.path.relpath(ini, root).replace(os.sep, "/")
                    named.add(source)
                    config = read_config_file(ini)
            elif config is None:
                for name in item.get("files", []):
                    path = _resolve(root, folder, name)
                    if path is not None:
                        source = os.path.relpath(path, root).replace(os.sep, "/")
                        named.add(source)
                        config = read_config_file(path)
                        break
            setups.append(Setup(source, rel, config, bool(item.get("top")), migrations))
    for name in ROOT_LOGGING_FILES:
        if name in named:
            continue
        path = root / name
        if file_inside(root, path) and not path.is_symlink():
            config = read_config_file(path)
            if config is not None:
                setups.append(Setup(name, name, config))
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([[s.source, s.rel, s.config, s.top, s.migrations] for s in setups], sort_keys=True).encode())
    h.update(json.dumps([sorted(packages), env_loggers, sorted(scripts)]).encode())
    return LoggingFacts(tuple(setups), packages, scripts, tuple(env_loggers), h.hexdigest())


def _scripts(files: list[str], packages: frozenset[str], imported: set[str]) -> list[str]:
    """Modules in no package whose name no import of the repository mentions (nor their
    folder's dotted path): run by hand, with no entry point that a logging set-up reaches."""
    prefixes = set()
    for name in imported:
        parts = name.split(".")
        prefixes.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    # alembic environments: env.py and its versions/ are run by alembic, not by hand
    environments = {rel.rpartition("/")[0] for rel in files if rel.rpartition("/")[2] == "env.py"}
    versions = tuple(f"{env}/versions/" if env else "versions/" for env in environments)
    found = []
    for rel in files:
        folder, _, base = rel.rpartition("/")
        stem = base.removesuffix(".py")
        if folder in environments or (versions and rel.startswith(versions)):
            continue
        if stem == "__init__" or stem in ENTRY_MODULES or stem.startswith("test") or stem == "conftest":
            continue
        if folder and _in_package(folder, packages):
            continue
        dotted = f"{folder.replace('/', '.')}.{stem}" if folder else stem
        if stem in prefixes or dotted in prefixes or (folder and folder.replace("/", ".") in prefixes):
            continue
        found.append(rel)
    return found


def _in_package(folder: str, packages: frozenset[str]) -> bool:
    """Whether ``folder`` or a folder above it is a package."""
    end = folder.find("/")
    while end != -1:
        if folder[:end] in packages:
            return True
        end = folder.find("/", end + 1)
    return folder in packages


def _label(item: dict) -> str:
    return {"django": "LOGGING", "root": "root setLevel()"}.get(item["kind"], item["kind"] + "()")


def _resolve(root: Path, folder: str, name: str) -> Path | None:
    for base in (root, root / folder):
        path = base / name
        if file_inside(root, path) and not path.is_symlink():
            return path
    return None


def _alembic_ini(root: Path, folder: str) -> Path | None:
    """The alembic.ini of the environment in ``folder``: in it, or in a folder above it."""
    current = folder
    while True:
        path = (root / current / "alembic.ini") if current else root / "alembic.ini"
        if file_inside(root, path) and not path.is_symlink():
            return path
        if not current:
            return None
        current = current.rpartition("/")[0]

