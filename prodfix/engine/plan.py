"""Everything decided before the first file is transformed: root, config, codemods, files.

A ``Plan`` is computed once per run; building it raises ``PlanError`` (exit code 2) for a
bad path, a broken configuration or an unknown codemod, before anything is read or written.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from prodfix.codemods import registry
from prodfix.codemods.base import Codemod, ProjectContext
from prodfix.config import Config, ConfigError, find_config, load_config
from prodfix.engine.discovery import DiscoveryError, discover, git_toplevel
from prodfix.globs import TEST_PATH, valid_pattern
from prodfix.engine.containment import file_inside, inside
from prodfix.codemods.common.closable_classes import file_class_modes, qualify
from prodfix.engine.cache import JsonStore, code_fingerprint
from prodfix.engine.results import content_digest
from prodfix.engine.module_index import build_index, candidate_files, count_imports, module_exports, read_layout, with_exports
from prodfix.engine import conventions, logging_setup, project_tools
from prodfix.engine.vendored import VENDORED_DIRS, project_licence
from prodfix.engine.profile import OFF, Phases
from prodfix.engine.runner import scan_chunksize, scan_pool
from prodfix.engine.startup_graph import NO_ENTRY, assemble, reader, scan_file, valid_file_facts, valid_reach


class PlanError(Exception):
    pass


@dataclass(frozen=True)
class Selection:
    """Which codemods run, and why each one is on or off."""

    enabled: tuple[type[Codemod], ...]
    reasons: dict[str, str]


@dataclass(frozen=True)
class Plan:
    root: Path
    in_git: bool
    config: Config
    selection: Selection
    codemods: tuple[Codemod, ...]
    files: tuple[tuple[Path, str], ...]  # (absolute path, path relative to root)
    project: ProjectContext
    warnings: tuple[str, ...] = ()
    digests: dict[str, str] = field(default_factory=dict)  # rel -> content hash, when cached
    whole_repo: bool = False  # the run covers every file of the repository (no paths, no excludes)


def _split(values: tuple[str, ...] | list[str] | None) -> list[str] | None:
    if values is None:
        return None
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def select_codemods(config: Config, select: list[str] | None, ignore: list[str]) -> Selection:
    try:
        if select is not None:
            chosen, source = registry.resolve(select), "--select"
        elif config.select is not None:
            chosen, source = registry.resolve(list(config.select)), f"select in {config.path}"
        else:
            chosen, source = [c for c in registry.CODEMODS if c.default_enabled], "default"
        ignored_cli = registry.resolve(ignore)
        ignored_cfg = registry.resolve(list(config.ignore))
    except registry.UnknownCodemod as exc:
        raise PlanError(str(exc)) from None
    reasons: dict[str, str] = {}
    enabled = []
    for codemod in registry.CODEMODS:
        if codemod in ignored_cli:
            reasons[codemod.name] = "off: --ignore"
        elif codemod in ignored_cfg:
            reasons[codemod.name] = f"off: ignore in {config.path}"
        elif codemod in chosen:
            reasons[codemod.name] = f"on: {source}"
            enabled.append(codemod)
        else:
            reasons[codemod.name] = f"off: not in {source}" if source != "default" else "off: off by default"
    return Selection(enabled=tuple(enabled), reasons=reasons)


def _project_facts(
    root: Path,
    in_git: bool,
    codemods: tuple[Codemod, ...],
    listed: list[str] | None,
    store: JsonStore | None,
    digests: dict[str, str],
    jobs: int = 1,
):
    """The module index, the closable classes, the start-up graph and the logging set-up, from
    one read of every file in the repository (and a second read of the few modules an
    unresolved import could be rewritten to, for what they define; cached with the other
    per-file facts).

    ``listed``: the repository's files when the run's own discovery already covered all of
    them (the whole root, no excludes), so that they are not listed twice. ``store``: per-file
    facts cached by content hash, so an unchanged file is hashed, not scanned."""
    indexed = [c for c in codemods if c.needs_module_index]
    want_classes = any(c.needs_closable_classes for c in codemods)
    graphed = [c for c in codemods if getattr(c, "needs_startup_graph", False)]
    want_logging = any(c.needs_logging_setup for c in codemods)
    if not indexed and not want_classes and not graphed and not want_logging:
        return None, None, None, None, (None, None)
    need_layout = bool(indexed) or want_classes
    everything = listed if listed is not None else list(discover([root], root, [], in_git=in_git).rels)
    configured_roots = tuple(r for c in indexed for r in getattr(c.options, "roots", ()))
    # One read per file, in worker processes: its hash, and its scan (~0.25 ms) unless the
    # cache holds facts for the same bytes. Beside it, one worker reads the layout (the
    # file-system walk for marker files and manifests, ~0.1 s on Django), so the only serial
    # part left is the vote (~20 ms).
    cached = {}
    items = []
    base = str(root)
    for rel in everything:
        entry = store.entry(rel) if store is not None else None
        if entry is not None and _valid_facts(entry[1]):
            cached[rel] = entry
        known = cached.get(rel)
        items.append((os.path.join(base, rel), rel, store is not None, known[0] if known else None))
    imports: Counter[str] = Counter()
    per_file = {}
    known_exports: dict[str, list] = {}  # rel -> [names, dynamic], from the cache
    by_file: list[tuple[str, list]] = []  # (rel, its absolute imports as [name, count] pairs)
    scanned_facts: dict[str, list] = {}  # rel -> its facts, for the start-up graph
    logging_per_file = {}
    with scan_pool(len(items), jobs) as pool:
        if pool is None:
            layout, scanned = None, map(_facts_at, items)
        else:
            layout = pool.apply_async(read_layout, (root, everything, not configured_roots, bool(indexed))) if need_layout else None
            scanned = pool.imap(_facts_at, items, chunksize=scan_chunksize(len(items), jobs))
        for rel, (digest, facts) in zip(everything, scanned):
            if digest is not None:
                digests[rel] = digest
                if facts is None:  # the bytes the cache has facts for
                    facts = cached[rel][1]
                else:
                    store.put(rel, digest, facts)
            if facts is None:  # unreadable
                continue
            if facts[3]:
                logging_per_file[rel] = facts[3]
            imports.update(dict(facts[0]))
            by_file.append((rel, facts[0]))
            if len(facts) > 4:
                known_exports[rel] = facts[4]
            if facts[2] is not False:
                scanned_facts[rel] = facts
            if want_classes and facts[1]:
                per_file[rel] = {name: (mode, close) for name, (mode, close) in facts[1].items()}
        if need_layout:
            layout = layout.get() if layout is not None else read_layout(root, everything, not configured_roots, bool(indexed))
    startup, graph_key = None, None
    if graphed:
        # the graph follows from the repository's files and the codemods' options alone: for a
        # tree whose every file has the digest it had, the graph computed then (~12 ms on Django)
        if store is not None and all(rel in digests for rel in everything):
            graph_key = _tree_key(everything, digests, graphed)
            known = store.get(GRAPH_KEY, graph_key)
            startup = known if valid_reach(known) else None
        if startup is None:
            startup = _startup(root, graphed, scanned_facts, store, digests)
            if graph_key is not None:
                store.put(GRAPH_KEY, graph_key, startup)
    if store is not None:
        store.retain(set(everything))
    print_facts = (None, None)
    if want_logging:
        print_facts = (
            logging_setup.build(root, logging_per_file, everything, set(imports)),
            project_tools.entry_points(root, everything),
        )
    if not need_layout:
        return None, None, None, startup, print_facts
    modules = build_index(layout, imports, configured_roots)
    if indexed:
        read = partial(_exports_of, root, store, known_exports)
        modules = with_exports(modules, read, candidate_files(modules, imports, by_file))
    closable = qualify(per_file, modules.roots) if want_classes else None
    extendable = frozenset(
        rel for rel, modes in per_file.items() if any(close is not None for _, close in modes.values())
    ) if want_classes else None
    return (modules if indexed else None), closable, extendable, startup, print_facts


# the facts store's entry for the start-up graph: a key no file path can have
GRAPH_KEY = "\0start-up graph"


def _tree_key(files: list[str], digests: dict[str, str], codemods: list[Codemod]) -> str:
    """A digest of every file's path and content digest and of the codemods' options."""
    h = hashlib.blake2b(digest_size=16)
    h.update("\n".join([f"{rel}\0{digests[rel]}" for rel in sorted(files)]).encode("utf-8", "surrogateescape"))
    h.update(repr([(c.name, c.options) for c in codemods]).encode("utf-8", "surrogateescape"))
    h.update(code_fingerprint().encode())  # what prodfix's own code makes of them
    return h.hexdigest()


def _exports_of(root: Path, store: JsonStore | None, known: dict[str, list], rel: str):
    """What the module at ``rel`` defines (module_index.module_exports): from the facts cache,
    else read (inside the root only) and added to that file's cached facts."""
    cached = known.get(rel)
    if cached is not None:
        return tuple(cached[0]), bool(cached[1])
    path = root / rel
    if not file_inside(root, path):
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    found = module_exports(data)
    entry = store.entry(rel) if store is not None else None
    if found is not None and entry is not None and entry[0] == content_digest(data) and _valid_facts(entry[1]):
        store.put(rel, entry[0], [*entry[1][:4], [list(found[0]), found[1]]])
    return found


def _startup(root: Path, graphed: list[Codemod], scanned: dict[str, list], store: JsonStore | None, digests: dict[str, str]):
    """The start-up graph (engine/startup_graph.py) from the per-file facts the scan found, in
    milliseconds: only the files start-up calls lead into without naming an entry point
    themselves are parsed here (and their facts cached), and only the functions reached in
    files the codemods that need the graph would look at are searched for in other files."""
    text_of = reader(root)
    graph = {rel: None if facts[2] == NO_ENTRY else facts[2] for rel, facts in scanned.items()}
    reach = assemble(list(scanned), graph, text_of, lambda rel: any(c.wants(text_of(rel), rel) for c in graphed))
    for rel, facts in scanned.items():
        if facts[2] == NO_ENTRY and graph[rel] is not None:  # parsed on demand: cache it with the file's other facts
            facts[2] = graph[rel]
            if store is not None and rel in digests:
                store.put(rel, digests[rel], facts)
    return reach


def _facts_at(item: tuple[str, str, bool, str | None]) -> tuple[str | None, list | None]:
    """(content digest when asked for, facts) of the file at a path: (None, None) when it
    cannot be read, facts None when its digest is ``cached`` (they are known)."""
    path, rel, with_digest, cached = item
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None, None
    digest = content_digest(data) if with_digest else None
    if digest is not None and digest == cached:
        return digest, None
    return digest, _file_facts(data, rel)


_LOGGING_TRIGGERS = tuple(word.encode() for word in logging_setup.TRIGGERS)


def _logging_setup_of(data: bytes, rel: str, text: str) -> dict | None:
    """``logging_setup.scan_file`` of a file (``text``: its bytes decoded), after a substring
    test most files fail."""
    # a test configures logging for the test run, not for the application: not its set-up
    if not any(word in data for word in _LOGGING_TRIGGERS) or TEST_PATH.search(rel):
        return None
    return logging_setup.scan_file(text)


def _file_facts(data: bytes, rel: str) -> list:
    """[[(import, count)...], {class: [mode, close method]}, start-up facts, the logging set-up
    it makes] of one file, JSON-ready (the start-up facts: ``startup_graph.scan_file``, NO_ENTRY
    for most files; the set-up: ``logging_setup.scan_file``, False for most files)."""
    text = data.decode("utf-8", errors="replace")
    setup = _logging_setup_of(data, rel, text)
    counts: Counter[str] = Counter()
    count_imports(text, counts)
    classes = {name: list(mode) for name, mode in file_class_modes(text).items()}
    startup = scan_file(data, rel, text)
    return [sorted(counts.items()), classes, NO_ENTRY if startup is None else startup, setup if setup is not None else False]


def _valid_facts(facts: object) -> bool:
    """[imports, classes, start-up facts, logging set-up] as _file_facts makes them, or with
    [names, dynamic] after them: what the file defines, added once it was read as a module an
    import could be rewritten to."""
    if not (isinstance(facts, list) and len(facts) in (4, 5) and isinstance(facts[1], dict)):
        return False
    if facts[3] is not False and not logging_setup.valid_scan(facts[3]):
        return False
    if len(facts) == 5 and not (
        isinstance(facts[4], list) and len(facts[4]) == 2 and isinstance(facts[4][0], list)
        and all(isinstance(n, str) for n in facts[4][0]) and isinstance(facts[4][1], bool)
    ):
        return False
    imports, classes, startup = facts[:3]
    return (
        valid_file_facts(startup)
        and isinstance(imports, list)
        and all(isinstance(i, list) and len(i) == 2 and isinstance(i[0], str) and isinstance(i[1], int) for i in imports)
        and all(
            isinstance(v, list) and len(v) == 2 and v[0] in ("sync", "async", "factory", "async-factory") and (v[1] is None or isinstance(v[1], str))
            for v in classes.values()
        )
    )


_TOOL_FILES = ("ruff.toml", ".ruff.toml", "setup.cfg", "tox.ini", ".flake8", ".isort.cfg")


def _tools_folder(anchor: Path, root: Path) -> Path:
    """The folder the project's formatter and linter settings are read from: the nearest one,
    from the folder prodfix was pointed at up to the root, that configures them (a monorepo's
    ``server/pyproject.toml``), as ruff and black look for theirs; else the root."""
    if anchor != root and root not in anchor.parents:
        return root
    folder = anchor
    while folder != root:
        if any((folder / name).is_file() for name in _TOOL_FILES):
            return folder
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and not pyproject.is_symlink():
            try:
                with open(pyproject, "rb") as handle:  # a committed file is input: 1 MiB at most
                    text = handle.read(1 << 20).decode("utf-8", errors="replace")
            except OSError:
                text = ""
            if any(f"[tool.{tool}" in text for tool in ("ruff", "black", "isort")):
                return folder
        folder = folder.parent
    return root


def _anchor(path: Path) -> Path:
    """The folder the root and the configuration are looked for from: the path itself when it
    is a folder, else the folder holding it; never where a link leads (``prodfix fix
    app/evil.py``, a link to a file elsewhere, must not move the root to that file's folder)."""
    given = Path(os.path.abspath(path))
    if given.is_dir() and not given.is_symlink():
        return given.resolve()
    return given.parent.resolve()


def make_plan(
    paths: list[Path],
    config_file: Path | None = None,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    exclude: list[str] | None = None,
    phases: Phases = OFF,
    cache: bool = False,
    jobs: int = 1,
    unsafe_fixes: bool | None = None,
) -> Plan:
    """``cache``: read and write per-file project facts in the project's ``.prodfix_cache``.
    ``jobs``: worker processes for the project-facts scan. ``unsafe_fixes``: make the fixes
    codemods mark unsafe (--unsafe-fixes / --no-unsafe-fixes); None: as configured."""
    phases.start()
    paths = paths or [Path(".")]
    for path in paths:
        if not path.exists():
            raise PlanError(f"{path}: no such file or directory")
    for pattern in exclude or []:
        if not valid_pattern(pattern):
            raise PlanError(f"--exclude {pattern!r}: not a gitignore-style pattern")
    first = _anchor(paths[0])
    top = git_toplevel(first)
    try:
        config_path = config_file if config_file is not None else find_config(first, top)
        if config_file is None and config_path is not None and not inside(top or config_path.parent, config_path):
            raise ConfigError(
                f"{config_path}: a symbolic link that leads outside the repository; not read (pass --config to use it)"
            )
        config = load_config(config_path)
    except ConfigError as exc:
        raise PlanError(str(exc)) from None
    if top is not None:
        root = top
    elif config.path is not None and config_file is None:
        root = config.path.parent.resolve()
    else:
        cwd = Path.cwd().resolve()
        root = cwd if all(cwd == _anchor(p) or cwd in _anchor(p).parents for p in paths) else first
    selection = select_codemods(config, _split(select), _split(ignore) or [])
    codemods = tuple(c(config.options_for(c)) for c in selection.enabled)
    excludes = [*config.exclude, *(exclude or [])]
    phases.mark("config")
    try:
        found = discover(paths, root, excludes, in_git=top is not None)
    except DiscoveryError as exc:
        raise PlanError(str(exc)) from None
    # vendored folders are left out by default ("!vendor/" in exclude takes one back); a file
    # named on the command line is taken as asked
    vendored = pathspec.GitIgnoreSpec.from_lines([*VENDORED_DIRS, *excludes])
    named = {p.resolve() for p in paths if p.is_file()}
    # without excludes only a path naming a vendored folder can match: the rest skip pathspec
    maybe = (lambda rel: True) if excludes else (lambda rel: any(d in rel for d in VENDORED_DIRS))
    files = tuple(
        (path, rel) for path, rel in zip(found.files, found.rels)
        if not (maybe(rel) and vendored.match_file(rel)) or (named and path.resolve() in named)
    )
    whole_repo = not excludes and all(p.resolve() == root for p in paths)
    listed = list(found.rels) if whole_repo else None
    phases.mark("discovery")
    store = JsonStore(root, "facts.json") if cache else None
    digests: dict[str, str] = {}
    tools = _tools_folder(first, root)
    modules, closable, extendable, startup, (logging_facts, entry_points) = _project_facts(
        root, top is not None, codemods, listed, store, digests, jobs
    )
    lint = project_tools.ruff_rules(tools)  # how every codemod writes (PLR0402, RUF100...)
    warning = (store.refused or store.save()) if store is not None else None
    phases.mark("project facts")
    return Plan(
        root=root,
        in_git=top is not None,
        config=config,
        selection=selection,
        codemods=codemods,
        files=files,
        project=ProjectContext(
            root=str(root), modules=modules, closable_classes=closable, extendable=extendable, startup=startup,
            unsafe_fixes=config.unsafe_fixes if unsafe_fixes is None else unsafe_fixes,
            logging=logging_facts, entry_points=entry_points, lint=lint, licence=project_licence(root),
            style=conventions.read_style(tools), format=config.format,
        ),
        warnings=(*found.warnings, *((warning,) if warning else ())),
        digests=digests,
        whole_repo=whole_repo,
    )
