"""Declaring a dependency that changed code now needs (``tenacity>=8``) in the project manifest.

The manifest is the one the app installs from, first found of: ``requirements.txt`` (or the
production ``requirements*.txt``; when it is generated -- pip-compile's, ``uv export``'s header --
the file it is generated from: its ``.in``, or pyproject.toml), ``pyproject.toml`` (``[project] dependencies`` or
``[tool.poetry.dependencies]``, edited with tomlkit so formatting and comments survive),
``setup.cfg`` (``install_requires``) and ``Pipfile`` (``[packages]``). A requirement already
present (under any spelling of the name, or through ``-r`` includes) is left as it is.

A manifest committed as a symbolic link is edited only when it leads to a file inside the root
(the edit is then of that file); one that leads outside (``requirements.txt ->
/proc/self/environ``, a linked ``requirements/`` folder) is reported and never read into a commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from prodfix.engine.containment import file_inside, inside

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class ManifestEdit:
    path: str  # relative to the project root; "" when there is no manifest
    old: bytes
    new: bytes
    message: str


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    return canonical(match.group(1)) if match else ""


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _requirements_files(root: Path) -> list[Path]:
    first = root / "requirements.txt"
    if first.is_file():
        return [first]
    candidates = [p for p in sorted(root.glob("requirements*.txt")) + sorted((root / "requirements").glob("*.txt")) if p.is_file()]
    production = [p for p in candidates if not re.search(r"dev|test|doc|lint|ci", p.name, re.IGNORECASE)]
    preferred = sorted(production, key=lambda p: (not re.search(r"base|prod|main|common", p.name), str(p)))
    return preferred[:1]


def _names_in_requirements(root: Path, path: Path, seen: set[Path]) -> set[str]:
    if path in seen or not file_inside(root, path):
        return set()
    seen.add(path)
    names = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.split("#", 1)[0].strip()
        include = re.match(r"^-(?:r|c|-requirement)\s*(\S+)", line)
        if include:
            names |= _names_in_requirements(root, (path.parent / include.group(1)).resolve(), seen)
        elif line and not line.startswith("-"):
            names.add(requirement_name(line))
    return names


def _edit_requirements(text: str, requirement: str) -> str:
    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    names = [requirement_name(line) if line.strip() and not line.lstrip().startswith(("#", "-")) else None for line in lines]
    listed = [n for n in names if n]
    new_line = requirement + newline
    if listed and listed == sorted(listed):
        # A sorted file stays sorted.
        for index, name in enumerate(names):
            if name and name > requirement_name(requirement):
                lines.insert(index, new_line)
                return "".join(lines)
    if text and not text.endswith(("\n", "\r")):
        text += newline
    return text + new_line


def _edit_pyproject(text: str, requirement: str) -> str | None:
    import tomlkit  # only when a manifest is edited (start-up is serial time in every run)
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(text)
    except TOMLKitError:
        return None
    name = requirement_name(requirement)
    project = doc.get("project")
    if isinstance(project, dict) and isinstance(project.get("dependencies"), list):
        deps = project["dependencies"]
        if any(requirement_name(str(d)) == name for d in deps):
            return text
        listed = [requirement_name(str(d)) for d in deps]
        later = [i for i, n in enumerate(listed) if n > name]
        if listed and listed == sorted(listed) and later:  # a sorted list stays sorted
            deps.insert(later[0], requirement)
        else:
            deps.append(requirement)
        return tomlkit.dumps(doc)
    tool = doc.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    poetry = poetry.get("dependencies") if isinstance(poetry, dict) else None
    if isinstance(poetry, dict):
        if any(canonical(k) == name for k in poetry):
            return text
        poetry[name] = _version(requirement)
        return tomlkit.dumps(doc)
    return None


def _edit_setup_cfg(text: str, requirement: str) -> str | None:
    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^install_requires\s*=\s*$", line.rstrip("\r\n"))), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and lines[end].strip() and lines[end][:1] in (" ", "\t"):
        end += 1
    block = lines[start + 1 : end]
    if any(requirement_name(line) == requirement_name(requirement) for line in block):
        return text
    indent = re.match(r"^\s*", block[0]).group(0) if block else "    "  # type: ignore[union-attr]
    if block and not block[-1].endswith(("\n", "\r")):
        lines[end - 1] += newline
    lines.insert(end, f"{indent}{requirement}{newline}")
    return "".join(lines)


def _edit_pipfile(text: str, requirement: str) -> str | None:
    import tomlkit  # only when a manifest is edited (start-up is serial time in every run)
    from tomlkit.exceptions import TOMLKitError

    try:
        doc = tomlkit.parse(text)
    except TOMLKitError:
        return None
    packages = doc.get("packages")
    if packages is None:
        return None
    name = requirement_name(requirement)
    if any(canonical(k) == name for k in packages):
        return text
    packages[name] = _version(requirement)
    return tomlkit.dumps(doc)


def _version(requirement: str) -> str:
    """The version part of ``name>=8`` for Poetry and Pipfile tables (``>=8``), or ``*``."""
    rest = requirement[len(_NAME.match(requirement).group(1)) :].strip()  # type: ignore[union-attr]
    return rest or "*"


def declare(root: Path, requirements: list[str]) -> ManifestEdit:
    """Where and how ``requirements`` get declared; ``old == new`` when they already are."""
    wanted = ", ".join(requirements)
    root = root.resolve()
    for path in _requirements_files(root):
        rel = path.relative_to(root).as_posix()
        if not inside(root, path):
            return _outside(rel, wanted)
        path = path.resolve()  # a link inside the root: its target is the file to edit
        rel = path.relative_to(root).as_posix()
        old = path.read_bytes()
        present = _names_in_requirements(root, path, set())
        text = old.decode("utf-8", errors="surrogateescape")
        missing = [r for r in requirements if requirement_name(r) not in present]
        if missing and _GENERATED.search("\n".join(text.splitlines()[:5])):
            source = _generated_from(root, path, missing)
            if source is not None and source.new != source.old:
                return ManifestEdit(source.path, source.old, source.new, f"{source.message} ({rel} is generated from it: regenerate it)")
            if source is not None:
                return source
        for requirement in requirements:
            if requirement_name(requirement) not in present:
                text = _edit_requirements(text, requirement)
        return _edit(rel, old, text, wanted)
    for name, editor in (("pyproject.toml", _edit_pyproject), ("setup.cfg", _edit_setup_cfg), ("Pipfile", _edit_pipfile)):
        path = root / name
        if not path.is_file():
            continue
        if not inside(root, path):
            return _outside(name, wanted)
        path = path.resolve()
        old = path.read_bytes()
        text: str | None = old.decode("utf-8", errors="surrogateescape")
        for requirement in requirements:
            text = editor(text, requirement) if text is not None else None
        if text is not None:
            return _edit(path.relative_to(root).as_posix(), old, text, wanted)
    return ManifestEdit(
        "", b"", b"",
        f"add {wanted} to the project's dependencies (no requirements.txt, pyproject.toml "
        "dependencies, setup.cfg install_requires or Pipfile found)",
    )


# the header pip-compile, uv (export, pip compile) and poetry export write: the file is
# regenerated from another one, which is where a requirement belongs
_GENERATED = re.compile(r"autogenerated|generated by|pip-compile|uv export|uv pip compile|poetry export", re.IGNORECASE)


def _generated_from(root: Path, generated: Path, requirements: list[str]) -> ManifestEdit | None:
    """The edit of the file a generated requirements file is made from: its ``.in`` beside it
    (pip-compile), else pyproject.toml's dependencies (uv export, poetry export); None when the
    repository holds neither."""
    wanted = ", ".join(requirements)
    source = generated.with_suffix(".in")
    if source.is_file() and inside(root, source):
        source = source.resolve()
        old = source.read_bytes()
        text = old.decode("utf-8", errors="surrogateescape")
        for requirement in requirements:
            text = _edit_requirements(text, requirement)
        return _edit(source.relative_to(root).as_posix(), old, text, wanted)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and inside(root, pyproject):
        pyproject = pyproject.resolve()
        old = pyproject.read_bytes()
        edited: str | None = old.decode("utf-8", errors="surrogateescape")
        for requirement in requirements:
            edited = _edit_pyproject(edited, requirement) if edited is not None else None
        if edited is not None:
            return _edit(pyproject.relative_to(root).as_posix(), old, edited, wanted)
    return None


def _outside(rel: str, wanted: str) -> ManifestEdit:
    return ManifestEdit(
        "", b"", b"",
        f"add {wanted} to the project's dependencies yourself: {rel} is a symbolic link that leads "
        "outside the repository, so prodfix neither reads nor writes it",
    )


def _edit(rel: str, old: bytes, text: str, wanted: str) -> ManifestEdit:
    new = text.encode("utf-8", errors="surrogateescape")
    if new == old:
        return ManifestEdit(rel, old, old, f"{wanted} already declared in {rel}")
    return ManifestEdit(rel, old, new, f"declared {wanted} in {rel}")
