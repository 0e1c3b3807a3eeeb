"""One file through the codemods: read, decode, prefilter, parse once, transform, verify, encode.

Errors are data: a file that cannot be read, decoded or parsed ends up in ``FileResult.error``,
a codemod that fails on it in a finding of kind "error" (``FileResult.internal_errors``; its
change is dropped, the other codemods' stand), never as an exception that stops the run.

Where the time goes (measured with ``--profile`` on Django 5.2.8, 2,818 files, 18 MB): a
libcst parse costs about 3 s per MB here and its scope analysis three times that, against
0.6 s per MB for ``ast.parse``; a substring test over the text costs ~1 ms per MB. So the
stages get dearer as the files get fewer: the text prefilters (substring tests, then regexes
anchored where the words occur) keep 116 files, the ast facts 42, and only those are parsed by
libcst (imported only then), and of those only the defs the codemods need (engine/regions.py:
the other bodies are left out of the parse, 5-8x less text in big test modules). A cold run's
CPU is now spread out: the ast and text prefilters ~17% and ~15%, libcst parse ~15%, scope
metadata ~11% (print-to-logging and fix-imports renames use libcst's ScopeProvider; add-retry
only for a module it decorates; the others resolve names from the ast:
codemods/common/ast_scopes.py), project facts ~8% (in worker processes), positions ~8% (only
for files with findings, rendered up to the last node reported). Metadata is computed once
per tree and shared; a module is rendered only when a codemod changed it, and then re-parsed
with ``ast`` once to prove it is valid Python (that tree is what the next codemod gets). The
cyclic garbage collector runs rarely (cli.main): it took ~10% and freed nothing.
Around this, only ~0.3 s of a cold run is serial, and it bounds what ``--jobs`` gains:
start-up imports (~0.2 s, libcst and the rewrites left to the workers), discovery (~0.1 s),
the import-root vote; the project facts and the layout walk run in worker processes too.
Unchanged files are answered by the result cache (engine/cache.py) before any of this.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

from prodfix.codemods.base import Codemod, FileContext, Finding, ProjectContext, Reporter
from prodfix.codemods.common import ast_facts
from prodfix.codemods.common.suppression import Suppressions
from prodfix.engine.budget import FileTimeout, paused, time_budget
from prodfix.engine import layout
from prodfix.engine.faults import failure_line
from prodfix.engine.profile import OFF, Phases
from prodfix.engine.regions import MIN_SAVED, Reduced, reduce
from prodfix.engine.results import FileError, FileResult, content_digest
from prodfix.engine.source import DecodedSource, SourceError, decode_source, encode_source
from prodfix.engine.vendored import copied_from_elsewhere


def process_file(
    path: Path,
    rel: str,
    codemods: list[Codemod],
    project: ProjectContext,
    phases: Phases = OFF,
    budget: float | None = None,
) -> FileResult:
    """``budget``: seconds this file may take (see engine/budget.py); None or 0: no limit."""
    result = FileResult(path=rel)
    try:
        data = path.read_bytes()
    except OSError as exc:
        result.error = FileError(0, f"cannot read: {exc.strerror or exc}")
        return result
    try:
        decoded = decode_source(data)
    except SourceError as exc:
        result.error = FileError(exc.line, exc.reason)
        result.digest = content_digest(data)
        return result
    phases.mark("read")
    try:
        with time_budget(budget):
            result = process_source(decoded, rel, codemods, project, result, phases)
    except FileTimeout:
        # not cached (no digest): on a less busy machine the file may well fit the budget
        phases.mark("skipped (time budget)")
        return FileResult(path=rel, error=FileError(0, f"skipped: took longer than {budget:g} s (--file-timeout)"))
    except Exception as exc:  # noqa: BLE001 - prodfix's own bug outside a codemod: this file only
        return FileResult(path=rel, error=FileError(0, f"internal error: {type(exc).__name__}: {exc}"))
    result.digest = content_digest(data)
    if result.changed:
        result.old_bytes = data
    return result


def process_source(
    decoded: DecodedSource,
    rel: str,
    codemods: list[Codemod],
    project: ProjectContext,
    result: FileResult | None = None,
    phases: Phases = OFF,
    prefilter: bool = True,
    regions: bool = True,
) -> FileResult:
    """``prefilter=False`` runs every codemod on the file (the tests use it to prove the
    prefilters never drop a file a codemod would change or report on); ``regions=False``
    parses whole files even where the codemods need only some defs (engine/regions.py)."""
    result = result if result is not None else FileResult(path=rel)
    text = decoded.text
    if prefilter:
        wanted = [c for c in codemods if c.wants(text, rel, project)]
    else:
        wanted = [c for c in codemods if not c.skips(text, rel)]
    phases.mark("prefilter")
    if not wanted or copied_from_elsewhere(text, project.licence):  # vendored code is not ours to change
        return result
    result.kept = True
    # Python's own parser first: it is cheap, its errors are the clearest, and code it refuses
    # as too deeply nested can make libcst's parser run for minutes (see engine/budget.py).
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        result.error = FileError(exc.lineno or 0, f"syntax error: {exc.msg}")
        return result
    except (RecursionError, MemoryError):
        result.error = FileError(0, "skipped: nested too deeply for Python's own parser")
        return result
    except ValueError:
        tree = None  # e.g. a null byte: libcst decides below
    facts = None
    if prefilter and tree is not None and any(type(c).candidates is not Codemod.candidates for c in wanted):
        facts = ast_facts.collect(tree)
        wanted = [c for c in wanted if c.candidates(facts, text, rel, project)]
    phases.mark("ast prefilter")
    if not wanted:
        return result
    # a file under twice MIN_SAVED rarely leaves that much out: not worth asking the codemods
    if regions and facts is not None and len(text) > 2 * MIN_SAVED:
        needs = [c.needs(facts, text, rel, project) for c in wanted]
        reduced = reduce(text, tree, needs, facts)  # type: ignore[arg-type]
        phases.mark("regions")
        if reduced is not None:
            done = _rewrite(reduced.text, decoded, rel, wanted, project, FileResult(path=rel), phases, reduced.tree, reduced)
            if done is not None:
                done.kept = True
                return done
            # a placeholder did not come back intact: parse the whole file after all
    return _rewrite(text, decoded, rel, wanted, project, result, phases, tree)  # type: ignore[return-value]


def _rewrite(
    text: str,
    decoded: DecodedSource,
    rel: str,
    wanted: list[Codemod],
    project: ProjectContext,
    result: FileResult,
    phases: Phases,
    tree: ast.Module | None,
    reduced: Reduced | None = None,
) -> FileResult | None:
    """The libcst stage, for a file some codemod still wants after both prefilters. ``text``
    is what libcst parses: ``decoded.text``, or with ``reduced`` that text with bodies left out
    (None is then returned when they cannot be put back)."""
    with paused():  # importing libcst and the rewrites (once per process) is not this file's cost
        import libcst as cst
        from libcst.metadata import MetadataWrapper

        from prodfix.codemods.common.imports import Sorting, add_from_import, add_plain_import, merge_from_import

        import_rewrites(wanted)

    # Trailing blank lines made of spaces are not reproduced exactly by libcst: parse the code
    # without them and put them back after rendering.
    core = text.rstrip(" \t\r\n\f")
    core = text[: len(core) + _line_end_length(text, len(core))]
    tail = text[len(core) :]
    try:
        module = cst.parse_module(core)
    except cst.ParserSyntaxError as exc:
        # Python's parser accepted the file before (its SyntaxError is reported there)
        result.error = FileError(exc.raw_line, f"cannot parse with libcst: {exc.message}")
        return result if reduced is None else None
    except (RecursionError, MemoryError) as exc:
        result.error = FileError(0, f"cannot parse: {type(exc).__name__}")
        return result if reduced is None else None
    result.parsed = True
    phases.mark("parse")
    full_text = decoded.text
    file = FileContext(
        path=rel, source=full_text, project=project, suppressions=Suppressions.from_source(full_text), tree=tree
    )
    original = module
    changed_by = []
    imports: list[tuple[str, str | None, str | None]] = []
    dependencies: list[tuple[str, str, str]] = []
    wrapper = None
    positions: dict = {}  # id(module) -> node positions, computed once per tree when reported on
    for codemod in wanted:
        # Metadata (scopes, positions) is computed once per tree: a wrapper is kept for as long
        # as no codemod has changed the module, so codemods that only report share it.
        if wrapper is None or wrapper.module is not module:
            wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        reporter = Reporter(codemod, file, wrapper, phases, positions)
        try:
            wrapper.resolve_many([METADATA[name]() for name in codemod.metadata])
            phases.mark("metadata")
            new_module = codemod.transform(wrapper, file, reporter)
        except Exception as exc:  # a bug in one codemod must not end the run
            if reduced is not None:
                return None  # reported from the whole file, where it may not happen at all
            line = failure_line(exc, wrapper.module, reporter.pending_nodes)
            result.findings.append(_internal(rel, codemod, f"{type(exc).__name__}: {exc}", line))
            continue
        finally:
            phases.mark(codemod.name)
        if new_module is not module:  # codemods return the same object when they change nothing
            new_code = new_module.code
            try:
                new_tree = ast.parse(new_code)
            except (SyntaxError, ValueError) as exc:
                if reduced is not None:
                    return None
                line = getattr(exc, "lineno", None) or 1  # in the output: near the change
                result.findings.append(
                    _internal(rel, codemod, f"its output does not parse ({exc}); change dropped", line)
                )
                continue
            finally:
                phases.mark("render")
            module = new_module
            file = dataclasses.replace(file, tree=new_tree)  # the next codemod sees this module
            changed_by.append(codemod.name)
            imports.extend(i for i in reporter.imports if i not in imports)
            dependencies.extend((d, codemod.name, codemod.code) for d in reporter.dependencies)
        result.findings.extend(reporter.findings)
    # Imports the codemods asked for, once per file: merged into an existing from-import, else
    # a new line placed where isort would put it.
    new_from: dict[str, list[tuple[str, str | None]]] = {}
    sorting = Sorting.of(project, rel) if imports else None
    for source, name, alias in imports:
        if name is None:
            module = add_plain_import(module, source, sorting)
            continue
        merged = merge_from_import(module, source, name, alias, sorting)
        if merged is None:
            new_from.setdefault(source, []).append((name, alias))
        else:
            module = merged
    for source, names in new_from.items():
        module = add_from_import(module, source, names, sorting)
    if module is original:  # nothing changed: no need to render the module again
        result.findings.sort()
        return result
    if original.code != core:
        result.error = FileError(0, "libcst cannot reproduce this file byte for byte")
        return result if reduced is None else None
    new_text = module.code + tail
    if reduced is not None:
        restored = reduced.restore(new_text)
        if restored is None:
            return None
        new_text = restored
    phases.mark("render")
    if new_text != full_text:
        new_text = layout.fit(full_text, new_text, project.style, project.format, rel, project.root)
        phases.mark("layout")
    if new_text != full_text:
        try:
            result.new_bytes = encode_source(new_text, decoded)
        except SourceError as exc:
            result.error = FileError(exc.line, exc.reason)
            return result
        result.old_text = full_text
        result.new_text = new_text
        result.changed_by = tuple(changed_by)
        result.dependencies = tuple(dependencies)
    result.findings.sort()
    return result


def import_rewrites(codemods: list[Codemod]) -> None:
    """Import the libcst half (``<package>.rewrite``) of prodfix's own codemods."""
    for codemod in codemods:
        if type(codemod).__module__.startswith("prodfix.codemods."):
            importlib.import_module(type(codemod).__module__ + ".rewrite")


def _line_end_length(text: str, index: int) -> int:
    """Length of the newline starting at ``index`` (0 when there is none)."""
    if text.startswith("\r\n", index):
        return 2
    return 1 if text.startswith(("\n", "\r"), index) else 0


def _scope_provider():
    from libcst.metadata import ScopeProvider

    return ScopeProvider


# metadata names a codemod may declare -> a function returning the libcst provider
METADATA = {"scope": _scope_provider}


def _internal(rel: str, codemod: Codemod, message: str, line: int = 1) -> Finding:
    """A codemod's own failure on a file: kind "error", which every command reports (exit 3)."""
    return Finding(
        path=rel, line=line, column=1, codemod=codemod.name, code=codemod.code,
        message=f"internal error, file left unchanged by this codemod: {message}", kind="error",
    )
