"""What every codemod is made of: its declaration, its findings, and what it returns.

A codemod is pure: ``transform(wrapper, file, reporter) -> module``. It never reads or writes
files, prints, or keeps state between files; everything it may know about the project comes
in through :class:`FileContext`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from prodfix.codemods.common.style import Style
from prodfix.codemods.common.suppression import Suppressions

if TYPE_CHECKING:  # libcst is loaded only when a file is rewritten (see engine/pipeline.py)
    import libcst as cst
    from libcst.metadata import MetadataWrapper

Severity = Literal["low", "medium", "high"]
# fix: the codemod changes the code; unsafe-fix: a change it would make that may alter behaviour
# the code relies on (ruff's "unsafe" fixes), not made unless unsafe fixes are allowed
# (--unsafe-fixes; see Reporter.unsafe_fix); warning: a problem it cannot fix safely (reported
# only); note: code it deliberately leaves alone, shown with --explain; error: the codemod itself
# failed on the file (an internal error: reported by every command, exit code 3; its change is
# dropped).
Kind = Literal["fix", "unsafe-fix", "warning", "note", "error"]
# appended to the message of an unsafe fix that was made because unsafe fixes are allowed
UNSAFE_APPLIED = " (unsafe fix, applied with --unsafe-fixes)"


@dataclass(frozen=True)
class Rationale:
    """Why a codemod exists; reused by --explain and the audit report."""

    problem: str
    impact: str
    fix: str
    severity: Severity


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    column: int
    codemod: str
    code: str
    message: str
    kind: Kind = "fix"

    @property
    def fixable(self) -> bool:
        return self.kind in ("fix", "unsafe-fix")

    def as_dict(self) -> dict[str, object]:
        return {
            "codemod": self.codemod,
            "code": self.code,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "fixable": self.fixable,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class ProjectContext:
    """Facts about the project computed once per run, shared read-only by every file."""

    root: str
    modules: Any = None  # engine.module_index.ModuleIndex, built when a codemod needs it
    closable_classes: Any = None  # qualified class name -> "sync"/"async" (session factories: "factory"/"async-factory"; close-resources)
    # files defining a class that owns a client, has close() and lacks the protocol (close-resources)
    extendable: Any = None
    # not a fact but a run setting every codemod reads the same way: whether fixes marked unsafe
    # are made (--unsafe-fixes, or unsafe-fixes in the configuration); see Reporter.unsafe_fix
    unsafe_fixes: bool = False
    # engine.startup_graph: rel -> {function: [calls from start-up, shared, a call a retry would
    # repeat in what it calls, the caller that retries it]}, for the files add-retry wants
    startup: Any = None
    logging: Any = None  # engine.logging_setup.LoggingFacts: which records the logging set-up shows
    entry_points: Any = None  # engine.project_tools.EntryPoints: the console scripts' functions
    lint: Any = None  # engine.project_tools.LintRules: the ruff rules the project enables
    licence: str | None = None  # the project's own licence ("MIT"): a file under another is a copy
    # the project's formatter, import-sorter and linter conventions (line length, quotes, isort)
    style: Style = field(default_factory=Style)
    # a run setting: "auto" runs the project's formatter (style.formatter) on changed lines where
    # it is installed and prodfix's own layout rules are not certain; "never" (engine/layout.py)
    format: str = "auto"


@dataclass(frozen=True)
class Needs:
    """What a codemod looks at in a module, besides its module-level code (the engine parses
    only these parts with libcst: engine/regions.py)."""

    calls: frozenset[str] = frozenset()  # call names (``f`` of ``f()`` and ``a.b.f()``)
    imports: bool = False  # every import statement
    classes: frozenset[str] = frozenset()  # top-level classes it needs whole
    managed: bool = True  # whether a call that is a ``with`` item's context counts


@dataclass(frozen=True)
class FileContext:
    """What a codemod may know about the file it transforms."""

    path: str  # relative to the project root, with forward slashes
    source: str
    project: ProjectContext
    suppressions: Suppressions
    # ast.Module of the module the codemod receives (of ``source``, or of an earlier codemod's
    # output), when Python's parser read it (the pipeline does)
    tree: Any = None


class Reporter:
    """Collects findings for one codemod run on one file, with positions and suppressions."""

    def __init__(
        self,
        codemod: "Codemod",
        file: FileContext,
        wrapper: MetadataWrapper | None,
        phases: Any = None,
        positions: dict | None = None,
    ):
        self.codemod = codemod
        self.file = file
        self._wrapper = wrapper
        self._phases = phases  # engine.profile.Phases: position metadata is timed on its own
        # id(module) -> codemods.common.positions.Positions, shared by the codemods that report on one tree
        self._shared_positions = positions if positions is not None else {}
        # findings whose node still needs a position: resolved together, with one render that
        # stops after the last of them (codemods/common/positions.py), when ``findings`` is read
        self._pending: list[tuple[cst.CSTNode, str, Kind]] = []
        self._findings: list[Finding] = []
        # (module, name, alias): merged once per file, after every codemod ran
        self.imports: list[tuple[str, str | None, str | None]] = []
        self.dependencies: list[str] = []  # requirement strings the changed code needs

    @property
    def findings(self) -> list[Finding]:
        if self._pending:
            pending, self._pending = self._pending, []
            positions = self._positions_of([node for node, _, _ in pending])
            for node, message, kind in pending:
                self._add(self._span(positions, node)[:2], message, kind)
        return self._findings

    @property
    def pending_nodes(self) -> list[cst.CSTNode]:
        """Nodes reported on whose positions are not computed yet (engine/faults.py's last clue)."""
        return [node for node, _, _ in self._pending]

    def need_import(self, module: str, name: str | None = None, alias: str | None = None) -> None:
        """Ask for ``import module`` / ``from module import name [as alias]``."""
        if (module, name, alias) not in self.imports:
            self.imports.append((module, name, alias))

    def need_dependency(self, requirement: str) -> None:
        """Ask for a requirement (``tenacity>=8``) to be declared in the project's manifest."""
        if requirement not in self.dependencies:
            self.dependencies.append(requirement)

    def position(self, node: cst.CSTNode) -> tuple[int, int, int]:
        """(start line, start column, end line) of ``node``; column is 1-based."""
        return self._span(self._positions_of([node]), node)

    def _positions_of(self, nodes: list[cst.CSTNode]) -> Any:
        """Positions covering ``nodes``, shared by the codemods that report on one tree and
        computed only when asked for: most files report nothing."""
        if self._wrapper is None:
            return None
        from prodfix.codemods.common.positions import Positions

        module = self._wrapper.module
        known = self._shared_positions.get(id(module))
        if known is not None and known.module is not module:
            known = None  # an id reused by a newer module
        if known is not None and known.covers(nodes):
            return known
        wanted = set(nodes)
        if known is not None and known.wanted is not None:
            wanted |= known.wanted
        if self._phases is not None:
            self._phases.mark(self.codemod.name)
        positions = self._shared_positions[id(module)] = Positions(module, wanted)
        if self._phases is not None:
            self._phases.mark("positions")
        return positions

    @staticmethod
    def _span(positions: Any, node: cst.CSTNode) -> tuple[int, int, int]:
        if positions is None or node not in positions:
            return (1, 1, 1)
        line, column, end = positions.span(node)
        return (line, column + 1, end)

    def suppressed(self, node: cst.CSTNode) -> bool:
        if not self.file.suppressions.by_line:
            return False
        start, _, end = self.position(node)
        return self.file.suppressions.covers(start, end, self.codemod.name, self.codemod.code)

    @property
    def unsafe_fixes(self) -> bool:
        """Whether fixes marked unsafe are made in this run."""
        return bool(self.file.project.unsafe_fixes)

    def unsafe_fix(self, node: cst.CSTNode | None, message: str) -> bool:
        """Ask before making a fix that may change behaviour the code relies on (ruff's unsafe
        fixes). True when unsafe fixes are allowed: make it, and report it with
        ``report(node, ..., unsafe=True)``. False otherwise: leave the node as it is (or make
        the safe alternative); ``message``, what the fix would do and why it is unsafe, is then
        reported as an "unsafe-fix" finding (a suggestion in ``check``, its own heading in the
        report). The edit is decided here, before it is made, so that nothing has to be undone
        in a tree other codemods share."""
        if self.unsafe_fixes:
            return True
        self.report(node, message, "unsafe-fix")
        return False

    def report(self, node: cst.CSTNode | None, message: str, kind: Kind = "fix", unsafe: bool = False) -> None:
        """``unsafe``: this fix was made because unsafe fixes are allowed; the message says so."""
        if unsafe:
            message += UNSAFE_APPLIED
        if node is None:
            self._add((1, 1), message, kind)
        else:
            self._pending.append((node, message, kind))

    def _add(self, position: tuple[int, int], message: str, kind: Kind) -> None:
        self._findings.append(
            Finding(
                path=self.file.path,
                line=position[0],
                column=position[1],
                codemod=self.codemod.name,
                code=self.codemod.code,
                message=message,
                kind=kind,
            )
        )


class Codemod:
    """Base class. Subclasses set the class attributes and implement :meth:`transform`."""

    name: ClassVar[str]
    code: ClassVar[str]
    summary: ClassVar[str]
    rationale: ClassVar[Rationale]
    default_enabled: ClassVar[bool] = True
    # A cheap test on the decoded source: a file that cannot match is never parsed.
    prefilter: ClassVar[re.Pattern[str]]
    # Literal words one of which every file the prefilter matches contains (optional, for speed).
    trigger_words: ClassVar[tuple[str, ...]] = ()
    # libcst metadata the codemod reads, by name ("scope"; see engine.pipeline.METADATA), resolved
    # only for files that pass both prefilters.
    metadata: ClassVar[tuple[str, ...]] = ()
    # Whether the run must index the repository's modules first (ProjectContext.modules).
    needs_module_index: ClassVar[bool] = False
    # Whether the run must find the repository's classes that close something first.
    needs_closable_classes: ClassVar[bool] = False
    # Whether the run must read the logging set-up, entry points and lint rules first.
    needs_logging_setup: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Options:
        pass

    def __init__(self, options: object | None = None) -> None:
        self.options = options if options is not None else self.Options()

    def skips(self, source: str, path: str) -> bool:
        """Policy, not speed: files this codemod leaves alone by rule (tests, scripts...)."""
        return False

    def wants(self, source: str, path: str, project: ProjectContext | None = None) -> bool:
        """The first prefilter, over the text: False when the file cannot match. Substring
        tests on ``trigger_words`` first (ten times faster than a regex with alternatives),
        then the regex on the files that still could."""
        if self.skips(source, path):
            return False
        if self.trigger_words and not any(word in source for word in self.trigger_words):
            return False
        return self.prefilter.search(source) is not None

    @staticmethod
    def occurrences(source: str, words: tuple[str, ...]):
        """Every index where one of ``words`` starts (in no particular order): a regex anchored
        there with ``match`` is far cheaper than ``search`` over the whole text when the words
        are rare and the regex has no literal prefix for the engine to skip ahead with."""
        for word in words:
            index = source.find(word)
            while index != -1:
                yield index
                index = source.find(word, index + 1)

    def candidates(self, facts: Any, source: str, path: str, project: ProjectContext | None = None) -> bool:
        """The second prefilter, on ``common.ast_facts.AstFacts``: could this file change or report?

        Must be conservative (True when unsure). The default keeps every file ``wants`` kept."""
        return True

    def needs(self, facts: Any, source: str, path: str, project: ProjectContext | None = None) -> Any:
        """What this codemod looks at besides module-level code, as a ``Needs``
        (the bodies of other top-level defs and classes are then not parsed by libcst), or None
        for the whole module. A codemod that answers must change and report exactly the same
        with the other bodies left out (``tests/test_regions.py``)."""
        return None

    def transform(
        self, wrapper: MetadataWrapper, file: FileContext, reporter: Reporter
    ) -> cst.Module:
        raise NotImplementedError
