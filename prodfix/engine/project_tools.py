"""Two project facts read from the repository's own tool configuration, once per run.

- **Entry points**: the functions the project's console scripts call (``[project.scripts]``
  and ``[tool.poetry.scripts]`` in ``pyproject.toml``, ``console_scripts`` in ``setup.cfg`` or
  ``setup.py``). Such a function is a command-line program: its prints are its output.
- **Lint rules**: which ruff rules the project enables (``ruff.toml``, ``.ruff.toml``,
  ``[tool.ruff]`` in ``pyproject.toml``), so changed lines follow them (TRY401: a caught
  exception is not passed again to ``logger.exception``).

Only files at the repository root are read, and only when they are regular files inside it.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from prodfix.engine.containment import file_inside

RUFF_DEFAULT_SELECT = ("E4", "E7", "E9", "F")
_TARGET = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_]\w*)")
_SETUP_PY_SCRIPT = re.compile(r"""["']\s*[\w.-]+\s*=\s*([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_]\w*)""")


@dataclass(frozen=True)
class EntryPoints:
    functions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (file, function names), sorted

    def of(self, rel: str) -> frozenset[str]:
        return frozenset(dict(self.functions).get(rel, ()))

    def fingerprint(self) -> str:
        return hashlib.blake2b(json.dumps(self.functions).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class LintRules:
    select: tuple[str, ...] = RUFF_DEFAULT_SELECT
    ignore: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        """Whether ruff checks ``code`` (the longest matching selector decides, as in ruff)."""
        chosen = max((len(s) for s in self.select if s == "ALL" or code.startswith(s)), default=-1)
        if chosen < 0:
            return False
        dropped = max((len(s) for s in self.ignore if s == "ALL" or code.startswith(s)), default=-1)
        return dropped < chosen if dropped >= 0 else True

    def fingerprint(self) -> str:
        return hashlib.blake2b(json.dumps([self.select, self.ignore]).encode(), digest_size=16).hexdigest()


def _read(root: Path, name: str) -> str | None:
    path = root / name
    if not file_inside(root, path) or path.is_symlink():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _toml(root: Path, name: str) -> dict:
    text = _read(root, name)
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError):  # TOMLDecodeError, absurd integers or nesting
        return {}


def _table(data: object, *keys: str) -> dict:
    """``data[k1][k2]...`` when every level is a table, else {}: a hand-written ``tool = 3``
    means no such table, not a crash."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def entry_points(root: Path, files: list[str]) -> EntryPoints:
    targets: list[tuple[str, str]] = []
    project = _toml(root, "pyproject.toml")
    tables = [_table(project, "project", "scripts"), _table(project, "project", "gui-scripts"), _table(project, "tool", "poetry", "scripts")]
    for table in tables:
        if not isinstance(table, dict):
            continue
        for value in table.values():
            value = value.get("callable", "") if isinstance(value, dict) else value
            match = _TARGET.match(value) if isinstance(value, str) else None
            if match:
                targets.append((match.group(1), match.group(2)))
    setup_cfg = _read(root, "setup.cfg")
    if setup_cfg is not None:
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(setup_cfg)
            scripts = parser.get("options.entry_points", "console_scripts", fallback="")
        except configparser.Error:
            scripts = ""
        for line in scripts.splitlines():
            match = _TARGET.match(line.partition("=")[2])
            if match:
                targets.append((match.group(1), match.group(2)))
    setup_py = _read(root, "setup.py")
    if setup_py is not None and "console_scripts" in setup_py:
        targets += [(m.group(1), m.group(2)) for m in _SETUP_PY_SCRIPT.finditer(setup_py)]
    by_file: dict[str, set[str]] = {}
    file_set = set(files)
    for module, function in targets:
        path = module.replace(".", "/")
        for rel in _module_files(path, file_set):
            by_file.setdefault(rel, set()).add(function)
    return EntryPoints(tuple(sorted((rel, tuple(sorted(names))) for rel, names in by_file.items())))


def _module_files(path: str, files: set[str]) -> list[str]:
    wanted = (f"{path}.py", f"{path}/__init__.py")
    return sorted(rel for rel in files if rel in wanted or rel.endswith(tuple("/" + w for w in wanted)))


def ruff_rules(root: Path) -> LintRules:
    for name in ("ruff.toml", ".ruff.toml"):
        if _read(root, name) is not None:
            return _rules(_toml(root, name))
    ruff = _table(_toml(root, "pyproject.toml"), "tool", "ruff")
    return _rules(ruff) if ruff else LintRules()


def _rules(config: dict) -> LintRules:
    lint = config.get("lint", {}) if isinstance(config.get("lint", {}), dict) else {}

    def codes(key: str) -> list[str]:
        value = lint.get(key, config.get(key))
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    select = codes("select") or list(RUFF_DEFAULT_SELECT)
    return LintRules(tuple(select + codes("extend-select")), tuple(codes("ignore") + codes("extend-ignore")))
