"""Which files a run looks at: the files git would show, minus excludes, sorted.

Inside a git work tree the list comes from ``git ls-files`` (tracked plus untracked files that
are not ignored). Outside one, folders are walked and ``.gitignore`` files are honoured with
pathspec's gitignore semantics. Virtualenvs, ``node_modules``, build folders and caches are
always skipped; ``exclude`` globs (gitignore syntax, relative to the project root) add more.
Symbolic links are not followed: a linked file is either in the repository under its own path
(and checked there) or outside it (not this repository's to change); a link named on the
command line is taken for the file it points to, which must be under the project root.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pathspec

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "virtualenv", "__pycache__",
        "node_modules", "build", "dist", ".eggs", ".tox", ".nox", ".mypy_cache",
        ".pytest_cache", ".ruff_cache", ".hypothesis", "site-packages", "__pypackages__",
    }
)
PYTHON_SUFFIXES = (".py", ".pyw")


class DiscoveryError(Exception):
    pass


@dataclass(frozen=True)
class Discovered:
    root: Path
    files: tuple[Path, ...]  # absolute, sorted by their path relative to root
    rels: tuple[str, ...]  # the same files' paths relative to root, with forward slashes
    warnings: tuple[str, ...] = ()  # folders git could not list (no permission), in its words


def git_toplevel(start: Path) -> Path | None:
    folder = start if start.is_dir() else start.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=folder, capture_output=True, text=True, check=False,
        )
    except (FileNotFoundError, NotADirectoryError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return Path(out.stdout.strip()).resolve()


def unusable_git(start: Path) -> str | None:
    """Why git cannot be used at ``start`` although a ``.git`` exists there or above (git not
    on PATH, a repository owned by another user that ``safe.directory`` does not allow, a
    broken ``.git``), or None: a usable repository, or none at all. ``git_toplevel`` then
    answers None too, and the run would take the folder for one outside git: it must not
    rewrite files it cannot check for uncommitted changes."""
    folder = (start if start.is_dir() else start.parent).resolve()
    marker = next((p / ".git" for p in (folder, *folder.parents) if os.path.lexists(p / ".git")), None)
    if marker is None:
        return None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return f"{marker} exists, but git is not on PATH"
    except OSError as exc:
        return f"{marker} exists, but git cannot be run: {exc.strerror or exc}"
    if out.returncode == 0 and out.stdout.strip():
        return None
    said = " ".join(line.strip() for line in out.stderr.splitlines() if line.strip()) or f"exit status {out.returncode}"
    return f"{marker} exists, but git cannot use it: {said}"


def _skipped_rel(rel: str) -> bool:
    parts = rel.split("/")[:-1]
    return any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts)


def relative(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root).as_posix()


def _git_files(root: Path, folder: Path, warnings: list[str] | None = None) -> list[str]:
    """``warnings`` gets git's word on each folder it could not open (its files are unknown)."""
    spec = relative(folder, root) or "."
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", spec],
        cwd=root, capture_output=True, check=False,
    )
    if out.returncode != 0:
        raise DiscoveryError(f"git ls-files failed in {root}: {out.stderr.decode(errors='replace').strip()}")
    if warnings is not None:
        warnings.extend(_unlisted_folders(out.stderr))
    base = str(root)
    venv_cache: dict[str, bool] = {"": False}

    def inside_venv(folder: str) -> bool:  # repository-relative
        if folder not in venv_cache:
            venv_cache[folder] = (
                os.path.isfile(os.path.join(base, folder, "pyvenv.cfg")) or inside_venv(folder.rpartition("/")[0])
            )
        return venv_cache[folder]

    found = []
    for raw in set(out.stdout.split(b"\0")):
        if not raw:
            continue
        rel = os.fsdecode(raw)
        if not rel.endswith(PYTHON_SUFFIXES) or _skipped_rel(rel):
            continue
        path = os.path.join(base, rel)
        try:
            mode = os.lstat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):  # listed by git, deleted since
            continue
        except OSError:  # e.g. a folder without permission: kept, so that its read error is reported
            mode = stat.S_IFREG
        if stat.S_ISREG(mode) and not inside_venv(rel.rpartition("/")[0]):
            found.append(path)
    return found


def _unlisted_folders(stderr: bytes) -> list[str]:
    """git ls-files's warnings about folders it could not open ("could not open directory
    'secret/': Permission denied"): the untracked files in them are not checked."""
    return [
        f"{line.removeprefix('warning: ')}; files in it that git does not track are not checked"
        for line in stderr.decode(errors="replace").splitlines()
        if "could not open directory" in line
    ]


def _ignore_specs_above(root: Path, folder: Path) -> list[tuple[Path, pathspec.PathSpec]]:
    specs = []
    chain = [folder, *folder.parents]
    for parent in reversed(chain):
        if parent != root and root not in parent.parents:
            continue
        spec = _load_gitignore(parent)
        if spec is not None:
            specs.append((parent, spec))
    return specs


def _load_gitignore(folder: Path) -> pathspec.PathSpec | None:
    ignore = folder / ".gitignore"
    if not ignore.is_file():
        return None
    lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:  # git skips a line it cannot use (`!` alone); so does the walk
        return pathspec.GitIgnoreSpec.from_lines([line for line in lines if valid_pattern(line)])


def _walk_files(root: Path, folder: Path) -> list[str]:
    """The walk works on strings and the entries os.scandir lists (no stat per file), not
    Path objects: a tenth of the cost on a repository of thousands of files."""
    found = []
    inherited = [(str(base), spec) for base, spec in _ignore_specs_above(root, folder.parent)] if folder != root else []
    start = str(folder)
    stack = [(start, inherited)]
    while stack:
        current, specs = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError as exc:
            raise DiscoveryError(f"cannot list {current}: {exc.strerror}") from None
        names = {entry.name: entry for entry in entries}
        if current != start and "pyvenv.cfg" in names and names["pyvenv.cfg"].is_file():
            continue  # a virtualenv
        if ".gitignore" in names:
            own = _load_gitignore(Path(current))
            if own is not None:
                specs = [*specs, (current, own)]
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                name = entry.name
                if name in SKIP_DIRS or name.endswith(".egg-info"):
                    continue
                if not _ignored_str(entry.path, True, specs):
                    stack.append((entry.path, specs))
            elif entry.name.endswith(PYTHON_SUFFIXES) and entry.is_file(follow_symlinks=False):
                if not _ignored_str(entry.path, False, specs):
                    found.append(entry.path)
    return found


def _ignored_str(path: str, is_dir: bool, specs: list[tuple[str, pathspec.PathSpec]]) -> bool:
    for base, spec in specs:
        rel = path[len(base) + 1 :].replace(os.sep, "/") + ("/" if is_dir else "")
        if spec.match_file(rel):
            return True
    return False


def valid_pattern(pattern: str) -> bool:
    """Whether pathspec compiles ``pattern`` as a gitignore-style glob (it refuses ``!`` alone
    and a trailing backslash); excludes are checked with this before any file is listed."""
    try:
        pathspec.GitIgnoreSpec.from_lines([pattern])
    except ValueError:
        return False
    return True


def discover(paths: list[Path], root: Path, exclude: list[str], in_git: bool) -> Discovered:
    """List the Python files under ``paths``; raise DiscoveryError for a path that does not exist."""
    excluded = pathspec.GitIgnoreSpec.from_lines(exclude) if exclude else None
    files: dict[str, str] = {}
    warnings: list[str] = []
    prefix = str(root) + os.sep
    for given in paths:
        path = given.resolve()
        if not path.exists():
            raise DiscoveryError(f"{given}: no such file or directory")
        try:
            path.relative_to(root)
        except ValueError:
            raise DiscoveryError(f"{given}: outside the project root {root}") from None
        if path.is_file():  # named on the command line: taken as it is, links resolved
            rel = path.relative_to(root).as_posix()
            if excluded is None or not excluded.match_file(rel):
                files[rel] = str(path)
            continue
        for text in _git_files(root, path, warnings) if in_git else _walk_files(root, path):
            # both list paths under the resolved root: the relative path is a slice
            rel = (text[len(prefix) :] if text.startswith(prefix) else os.path.relpath(text, root)).replace(os.sep, "/")
            if excluded is None or not excluded.match_file(rel):
                files[rel] = text
    rels = sorted(files)
    return Discovered(
        root=root, files=tuple(Path(files[rel]) for rel in rels), rels=tuple(rels), warnings=tuple(dict.fromkeys(warnings))
    )
