"""Runs the pipeline over many files in worker processes and yields results in path order.

Each worker receives the codemods and the project context once (pool initializer) and then
only (path, relative path) pairs; it returns a small picklable FileResult. Results stream
back in input order (``imap``), so memory does not grow with the number of files.

With a result cache, the main process first reads and hashes every file (about 1 ms per
100 KB) and answers the files it has seen before; only the others go to the workers.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.pool import Pool
from pathlib import Path

from prodfix.codemods.base import Codemod, Finding, ProjectContext
from prodfix.engine import manifest
from prodfix.engine.cache import JsonStore, result_from_json, result_to_json
from prodfix.engine.pipeline import process_file
from prodfix.engine.results import FileResult, content_digest
from prodfix.engine.profile import Phases

_WORKER_STATE: tuple[list[Codemod], ProjectContext, bool, float | None] | None = None
# Below this many files a pool costs more than it saves.
MIN_FILES_FOR_POOL = 8
# scan_pool's threshold: its items are cheap (one scan of a file), a pool costs ~50 ms to start
MIN_ITEMS_FOR_MAP = 200


def _init_worker(
    codemods: list[Codemod], project: ProjectContext, profile: bool, budget: float | None, thresholds: tuple[int, ...]
) -> None:
    global _WORKER_STATE
    _WORKER_STATE = (codemods, project, profile, budget)
    gc.set_threshold(*thresholds)  # the parent's (a forked worker has them already, a spawned one not)


def _work(item: tuple[str, str]) -> FileResult:
    assert _WORKER_STATE is not None
    codemods, project, profile, budget = _WORKER_STATE
    path, rel = item
    return _process(Path(path), rel, codemods, project, profile, budget)


def _process(
    path: Path, rel: str, codemods: list[Codemod], project: ProjectContext, profile: bool, budget: float | None
) -> FileResult:
    if not profile:
        return process_file(path, rel, codemods, project, budget=budget)
    phases = Phases()
    result = process_file(path, rel, codemods, project, phases, budget)
    result.timings = phases.totals
    return result


def _context():
    return multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


@contextmanager
def scan_pool(count: int, jobs: int) -> Iterator[Pool | None]:
    """A pool of ``jobs`` plain workers for ``count`` cheap items (one scan of a file each), or
    None when one process does them sooner. Functions sent to it must be module-level; their
    arguments and results must pickle."""
    if jobs <= 1 or count < MIN_ITEMS_FOR_MAP:
        yield None
        return
    with _context().Pool(jobs) as pool:
        yield pool


def scan_chunksize(count: int, jobs: int) -> int:
    return max(1, min(32, count // (jobs * 4)))


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def run_files(
    files: list[tuple[Path, str]],
    codemods: list[Codemod],
    project: ProjectContext,
    jobs: int,
    profile: bool = False,
    budget: float | None = None,
) -> Iterator[FileResult]:
    if jobs <= 1 or len(files) < MIN_FILES_FOR_POOL:
        for path, rel in files:
            yield _process(path, rel, codemods, project, profile, budget)
        return
    items = [(str(path), rel) for path, rel in files]
    chunksize = max(1, min(16, len(items) // (jobs * 8)))
    with _context().Pool(jobs, initializer=_init_worker, initargs=(codemods, project, profile, budget, gc.get_threshold())) as pool:
        yield from pool.imap(_work, items, chunksize=chunksize)


def run_project(
    files: list[tuple[Path, str]],
    codemods: list[Codemod],
    project: ProjectContext,
    jobs: int,
    profile: bool = False,
    cache: JsonStore | None = None,
    budget: float | None = None,
    known_digests: dict[str, str] | None = None,
) -> Iterator[FileResult]:
    """Every file's result in order, then the dependency manifest's when changed code needs one."""
    needed: dict[str, tuple[str, str]] = {}
    stream = run_files(files, codemods, project, jobs, profile, budget) if cache is None else (
        _run_cached(files, codemods, project, jobs, profile, cache, budget, known_digests or {})
    )
    for result in stream:
        for requirement, name, code in result.dependencies:
            needed.setdefault(requirement, (name, code))
        yield result
    if needed:
        yield manifest_result(Path(project.root), needed)


def _run_cached(
    files: list[tuple[Path, str]],
    codemods: list[Codemod],
    project: ProjectContext,
    jobs: int,
    profile: bool,
    cache: JsonStore,
    budget: float | None,
    known: dict[str, str],
) -> Iterator[FileResult]:
    """``known``: content digests the plan already computed (its project-facts pass read
    every file), so an unchanged tree is read once per run, not twice."""
    digests: dict[str, str] = {}
    misses = []
    for path, rel in files:
        digest = known.get(rel)
        if digest is None:
            try:
                digest = content_digest(path.read_bytes())
            except OSError:
                misses.append((path, rel))
                continue
        if cache.get(rel, digest) is None:
            misses.append((path, rel))
        else:
            digests[rel] = digest
    computed = run_files(misses, codemods, project, jobs, profile, budget)
    for path, rel in files:
        if rel in digests:
            payload = cache.get(rel, digests[rel])
            result = None
            if isinstance(payload, dict) and payload.get("new") is None:
                result = result_from_json(payload, rel, digests[rel], None)
            else:  # a change to show: its diff needs the bytes, which must still be those hashed
                try:
                    data = path.read_bytes()
                except OSError:
                    data = b""
                result = result_from_json(payload, rel, digests[rel], data)
            if result is not None:
                yield result
                continue
            result = _process(path, rel, codemods, project, profile, budget)  # changed meanwhile, or malformed
        else:
            result = next(computed)
        if result.digest is not None:
            cache.put(rel, result.digest, result_to_json(result))
        yield result


def manifest_result(root: Path, needed: dict[str, tuple[str, str]]) -> FileResult:
    edit = manifest.declare(root, sorted(needed))
    name, code = next(iter(needed.values()))
    changed = edit.new != edit.old
    kind = "fix" if changed else ("warning" if not edit.path else "note")
    finding = Finding(
        path=edit.path or ".", line=1, column=1, codemod=name, code=code, message=edit.message, kind=kind
    )
    result = FileResult(path=edit.path or ".", findings=[finding], project_level=True)
    if changed:
        result.old_bytes, result.new_bytes = edit.old, edit.new
        result.old_text = edit.old.decode("utf-8", errors="replace")
        result.new_text = edit.new.decode("utf-8", errors="replace")
    return result
