"""What a run produces for one file, as plain values: the ground floor the pipeline, the cache,
the runner and every consumer (check, diff, fix, branch, pr) share, importing nothing above it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from prodfix.codemods.base import Finding


def content_digest(data: bytes) -> str:
    """The hash a file's result is keyed by (its bytes, never its mtime)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass(frozen=True)
class FileError:
    line: int
    reason: str


@dataclass
class FileResult:
    path: str  # relative to the project root, forward slashes
    findings: list[Finding] = field(default_factory=list)
    old_bytes: bytes | None = None  # set only when the file changes
    old_text: str | None = None
    new_text: str | None = None
    new_bytes: bytes | None = None
    error: FileError | None = None
    kept: bool = False  # some codemod's prefilter wanted the file
    parsed: bool = False
    changed_by: tuple[str, ...] = ()  # codemod names that changed this file, in order
    # (requirement, codemod name, codemod code) the new code needs declared in the manifest
    dependencies: tuple[tuple[str, str, str], ...] = ()
    project_level: bool = False  # a project file (the dependency manifest), not a scanned source
    timings: dict[str, float] | None = None  # seconds per phase, only when profiling
    digest: str | None = None  # hash of the bytes this result was computed from (result cache)

    @property
    def changed(self) -> bool:
        return self.new_bytes is not None

    @property
    def internal_errors(self) -> list[Finding]:
        """Codemods that failed on this file (each one's change was dropped)."""
        return [f for f in self.findings if f.kind == "error"]
