"""The project's code conventions (codemods/common/style.py ``Style``), read once per run from
its own tool configuration at the repository root.

What is read, and who wins where two tools say different things, follows the tools:

- **Formatter**: the one ``.pre-commit-config.yaml`` runs (hook ``black`` or ``ruff-format``),
  else the one configured (``[tool.black]``; ruff's ``[format]`` table). Its line length wins
  (black's ``line-length``, default 88; ruff's top-level ``line-length``, default 88), and so do
  its quotes (black: double unless ``skip-string-normalization``; ruff: ``quote-style``) and its
  magic trailing comma.
- **No formatter**: the linter's limit: ruff's ``line-length`` (or
  ``lint.pycodestyle.max-line-length``), else flake8's ``max-line-length`` (``.flake8``,
  ``setup.cfg``, ``tox.ini``; 79 when flake8 is configured or hooked without one), else
  ``.editorconfig``'s ``max_line_length`` for ``*.py``, else isort's ``line_length``.
- **Imports**: isort's settings (``.isort.cfg``, ``[tool.isort]``, ``setup.cfg`` / ``tox.ini``
  ``[isort]``, first found, as isort looks) when isort runs (hook, or no ruff ``I`` rules);
  else ruff's ``[lint.isort]`` (or the legacy ``[isort]`` table).

Files are read as project_tools reads them: regular files inside the root only, and a file that
does not parse is as good as absent (a broken ``setup.cfg`` does not stop a run).
"""

from __future__ import annotations

import configparser
import dataclasses
import fnmatch
import hashlib
import json
import re
from pathlib import Path

from prodfix.codemods.common.style import ImportStyle, Style
from prodfix.engine.project_tools import _read, _rules, _table, _toml

DEFAULT_LINE_LENGTH = 88  # black's and ruff's
FLAKE8_DEFAULT = 79  # pycodestyle's
MAX_LINE_LENGTH = 1000  # a larger value is not a limit anyone set for formatting
# isort profiles: the settings each implies (isort/profiles.py), those Style keeps
_PROFILES: dict[str, dict[str, object]] = {
    "black": {"line_length": 88},
    "django": {"line_length": 79, "combine_as_imports": True},
    "pycharm": {"lines_after_imports": 2},
    "google": {"force_single_line": True, "force_sort_within_sections": True, "order_by_type": False, "line_length": 1000},
    "open_stack": {"force_single_line": True, "force_sort_within_sections": True, "line_length": 79},
    "plone": {"force_single_line": True, "lines_after_imports": 2, "line_length": 200},
    "attrs": {"lines_after_imports": 2},
    "hug": {"line_length": 100},
    "wemake": {"lines_after_imports": 2, "line_length": 80},
}
_HOOK = re.compile(r"^\s*-?\s*id\s*:\s*['\"]?([\w.-]+)", re.MULTILINE)
_SECTIONS = {"stdlib", "thirdparty", "firstparty", "localfolder", "future"}


def fingerprint(style: Style) -> str:
    """For the result cache key: a changed convention changes every file's result."""
    data = json.dumps(dataclasses.asdict(style), sort_keys=True, default=list)
    return hashlib.blake2b(data.encode(), digest_size=16).hexdigest()


def read_style(root: Path) -> Style:
    sources: list[tuple[str, str]] = []
    pyproject = _toml(root, "pyproject.toml")
    hooks = _hooks(root)

    black = _table(pyproject, "tool", "black")
    has_black = "black" in pyproject.get("tool", {}) if isinstance(pyproject.get("tool"), dict) else False
    ruff, ruff_where = _ruff(root, pyproject)
    ruff_format = _table(ruff, "format")
    formatter, formatter_where = None, ""
    if hooks & {"ruff-format"}:
        formatter, formatter_where = "ruff", ".pre-commit-config.yaml (hook ruff-format)"
    elif hooks & {"black", "black-jupyter"}:
        formatter, formatter_where = "black", f".pre-commit-config.yaml (hook {'black' if 'black' in hooks else 'black-jupyter'})"
    elif has_black:
        formatter, formatter_where = "black", "pyproject.toml [tool.black]"
    elif ruff_format or (ruff and "format" in ruff):
        formatter, formatter_where = "ruff", f"{ruff_where} [format]"
    if formatter:
        sources.append((f"formatter {formatter}", formatter_where))

    line_length: int | None = None
    quote: str | None = None
    magic = True
    indent = "    "
    target_versions: tuple[str, ...] = ()
    if formatter == "black":
        where = "pyproject.toml [tool.black]"
        line_length = _int(black.get("line-length", black.get("line_length")))
        sources.append((f"line length {line_length or DEFAULT_LINE_LENGTH}", where if line_length else "black's default"))
        line_length = line_length or DEFAULT_LINE_LENGTH
        if _true(black.get("skip-string-normalization", black.get("skip_string_normalization"))):
            sources.append(("quotes: left as written", f"{where} skip-string-normalization"))
        else:
            quote = "double"
            sources.append(("quotes double", "black's string normalization"))
        targets = black.get("target-version", black.get("target_version"))
        if isinstance(targets, str):
            targets = [targets]
        if isinstance(targets, list):
            target_versions = tuple(sorted(t.lower() for t in targets if isinstance(t, str) and re.fullmatch(r"py3\d+", t.lower())))
        if _true(black.get("skip-magic-trailing-comma", black.get("skip_magic_trailing_comma"))):
            magic = False
            sources.append(("magic trailing comma off", f"{where} skip-magic-trailing-comma"))
    elif formatter == "ruff":
        line_length = _int(ruff.get("line-length"))
        sources.append(
            (f"line length {line_length or DEFAULT_LINE_LENGTH}", f"{ruff_where} line-length" if line_length else "ruff's default")
        )
        line_length = line_length or DEFAULT_LINE_LENGTH
        style = ruff_format.get("quote-style", "double")
        if style in ("single", "double"):
            quote = style
            sources.append((f"quotes {style}", f"{ruff_where} [format] quote-style" if "quote-style" in ruff_format else "ruff's default"))
        else:
            sources.append(("quotes: left as written", f"{ruff_where} [format] quote-style = {style!r}"))
        if _true(ruff_format.get("skip-magic-trailing-comma")):
            magic = False
            sources.append(("magic trailing comma off", f"{ruff_where} [format] skip-magic-trailing-comma"))
        width = _int(ruff.get("indent-width"))
        if width and width <= 8 and ruff_format.get("indent-style", "space") == "space":
            indent = " " * width
            if width != 4:
                sources.append((f"indent {width} spaces", f"{ruff_where} indent-width"))

    flake8, flake8_where = _flake8(root)
    if quote is None:
        inline = _table(ruff, "lint", "flake8-quotes").get("inline-quotes") or _table(ruff, "flake8-quotes").get("inline-quotes")
        if inline in ("single", "double"):
            quote = inline
            sources.append((f"quotes {inline}", f"{ruff_where} flake8-quotes inline-quotes"))
        elif flake8 is not None and _flake8_quote(flake8):
            quote = _flake8_quote(flake8)
            sources.append((f"quotes {quote}", f"{flake8_where} inline-quotes"))

    if line_length is None:
        ruff_length = _int(_table(ruff, "lint", "pycodestyle").get("max-line-length")) or _int(ruff.get("line-length"))
        if ruff_length:
            line_length = ruff_length
            sources.append((f"line length {ruff_length}", f"{ruff_where} line-length"))
        elif flake8 is not None or "flake8" in hooks:
            length = _int((flake8 or {}).get("max-line-length", (flake8 or {}).get("max_line_length")))
            line_length = length or FLAKE8_DEFAULT
            where = f"{flake8_where} max-line-length" if length else "flake8's default"
            sources.append((f"line length {line_length}", where))

    isort, isort_where = _isort(root, pyproject)
    ruff_isort = _table(ruff, "lint", "isort") or _table(ruff, "isort")
    ruff_isort_where = f"{ruff_where} [{'lint.' if _table(ruff, 'lint', 'isort') else ''}isort]"
    use_isort = isort is not None and ("isort" in hooks or not ruff_isort)
    if use_isort:
        imports = _isort_style(isort or {})
        sources.append((f"imports: isort{f' profile {imports.profile}' if imports.profile else ''}", isort_where))
    elif ruff_isort:
        imports = _ruff_isort_style(ruff_isort)
        sources.append(("imports: ruff isort", ruff_isort_where))
    else:
        imports = ImportStyle()

    if line_length is None:
        editor = _editorconfig(root)
        if editor:
            line_length = editor
            sources.append((f"line length {editor}", ".editorconfig max_line_length"))
        elif use_isort and _isort_length(isort or {}):
            line_length = _isort_length(isort or {})
            sources.append((f"line length {line_length}", isort_where))
    if line_length is None:
        line_length = DEFAULT_LINE_LENGTH
    # ruff's COM812 wants a comma after the last item of every split bracket: then a split
    # is one item per line (what `ruff check --fix` and the formatter make of it)
    split_commas = bool(ruff) and _rules(ruff).enabled("COM812")
    if split_commas:
        sources.append(("split brackets end with a comma (COM812)", f"{ruff_where} select"))
    for hook in sorted(hooks & {"black", "ruff-format", "ruff", "isort", "flake8"}):
        sources.append((f"pre-commit runs {hook}", ".pre-commit-config.yaml"))
    return Style(
        line_length=line_length, quote=quote, formatter=formatter, magic_trailing_comma=magic,  # type: ignore[arg-type]
        indent=indent, imports=imports, sources=tuple(sources), target_versions=target_versions,
        split_commas=split_commas, min_python=_min_python(target_versions, ruff, pyproject),
    )


def _min_python(black_targets: tuple[str, ...], ruff: dict, pyproject: dict) -> tuple[int, int] | None:
    """The oldest Python the project says it supports: black's target versions, ruff's
    target-version, else the lower bound of [project] requires-python (``>=3.11``)."""
    targets = list(black_targets)
    if not targets and isinstance(ruff.get("target-version"), str):
        targets = [ruff["target-version"].lower()]
    found = [int(m.group(1)) for t in targets if (m := re.fullmatch(r"py3(\d+)", t))]
    if found:
        return 3, min(found)
    requires = _table(pyproject, "project").get("requires-python")
    match = re.match(r"\s*>=?\s*3\.(\d+)", requires) if isinstance(requires, str) else None
    return (3, int(match.group(1))) if match else None


def _flake8_quote(flake8: dict[str, str]) -> str | None:
    """flake8-quotes' ``inline-quotes``: ``single`` / ``'`` or ``double`` / ``"``."""
    raw = flake8.get("inline-quotes", flake8.get("inline_quotes", "")).strip()
    return {"single": "single", "'": "single", "double": "double", '"': "double"}.get(raw)


def _int(value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_LINE_LENGTH:
        return value
    return None


def _true(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return value is True


def _ruff(root: Path, pyproject: dict) -> tuple[dict, str]:
    """ruff's settings and where: ``.ruff.toml``, ``ruff.toml``, ``[tool.ruff]``, in ruff's order."""
    for name in (".ruff.toml", "ruff.toml"):
        if _read(root, name) is not None:
            return _toml(root, name), name
    return _table(pyproject, "tool", "ruff"), "pyproject.toml [tool.ruff]"


def _ini(root: Path, name: str) -> configparser.RawConfigParser | None:
    text = _read(root, name)
    if text is None:
        return None
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text, source=name)
    except (configparser.Error, ValueError):
        return None
    return parser


def _section(parser: configparser.RawConfigParser | None, *names: str) -> dict[str, str] | None:
    if parser is None:
        return None
    for name in names:
        if parser.has_section(name):
            return dict(parser.items(name))
    return None


def _flake8(root: Path) -> tuple[dict[str, str] | None, str]:
    """flake8's options, from the first of setup.cfg, tox.ini, .flake8 with a [flake8] section."""
    for name in ("setup.cfg", "tox.ini", ".flake8"):
        found = _section(_ini(root, name), "flake8")
        if found is not None:
            return found, f"{name} [flake8]"
    return None, ""


def _isort(root: Path, pyproject: dict) -> tuple[dict | None, str]:
    """isort's settings from the first place isort itself looks."""
    found = _section(_ini(root, ".isort.cfg"), "settings", "isort", "tool:isort")
    if found is not None:
        return found, ".isort.cfg"
    tool = pyproject.get("tool") if isinstance(pyproject.get("tool"), dict) else {}
    if isinstance(tool.get("isort"), dict):
        return tool["isort"], "pyproject.toml [tool.isort]"
    for name in ("setup.cfg", "tox.ini"):
        found = _section(_ini(root, name), "isort", "tool:isort")
        if found is not None:
            return found, f"{name} [isort]"
    return None, ""


def _get(config: dict, key: str) -> object:
    """isort accepts both spellings (``known_first_party``, ``known-first-party``)."""
    return config.get(key, config.get(key.replace("_", "-")))


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = re.split(r"[,\s]+", value)
    if not isinstance(value, list):
        return ()
    return tuple(v.strip() for v in value if isinstance(v, str) and v.strip())


def _flag(value: object, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value) if isinstance(value, bool) else default


def _lines_after(value: object, default: int) -> int:
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and -1 <= value <= 10 else default


def _isort_length(config: dict) -> int | None:
    length = _int(_get(config, "line_length"))
    if length:
        return length
    profile = _get(config, "profile")
    implied = _PROFILES.get(profile, {}).get("line_length") if isinstance(profile, str) else None
    return implied if isinstance(implied, int) and implied < MAX_LINE_LENGTH else None


def _isort_style(config: dict) -> ImportStyle:
    profile = _get(config, "profile")
    profile = profile.strip() if isinstance(profile, str) and profile.strip() else None
    implied = _PROFILES.get(profile or "", {})

    def flag(key: str, default: bool) -> bool:
        return _flag(_get(config, key), bool(implied.get(key, default)))

    headings = []
    for section in ("future", "stdlib", "thirdparty", "firstparty", "localfolder"):
        heading = _get(config, f"import_heading_{section}")
        if isinstance(heading, str) and heading.strip():
            headings.append((section, heading.strip()))
    default_section = _get(config, "default_section")
    default_section = default_section.strip().lower().replace("_", "") if isinstance(default_section, str) else "thirdparty"
    return ImportStyle(
        profile=profile,
        known_first_party=_names(_get(config, "known_first_party")),
        known_third_party=_names(_get(config, "known_third_party")),
        known_local_folder=_names(_get(config, "known_local_folder")),
        force_sort_within_sections=flag("force_sort_within_sections", False),
        force_single_line=flag("force_single_line", False),
        lines_after_imports=_lines_after(_get(config, "lines_after_imports"), int(implied.get("lines_after_imports", -1))),  # type: ignore[arg-type]
        combine_as_imports=flag("combine_as_imports", False),
        order_by_type=flag("order_by_type", True),
        case_sensitive=flag("case_sensitive", False),
        headings=tuple(headings),
        default_section=default_section if default_section in _SECTIONS else "thirdparty",
    )


def _ruff_isort_style(config: dict) -> ImportStyle:
    default_section = config.get("default-section", "third-party")
    default_section = default_section.replace("-", "") if isinstance(default_section, str) else "thirdparty"
    return ImportStyle(
        known_first_party=_names(config.get("known-first-party")),
        known_third_party=_names(config.get("known-third-party")),
        known_local_folder=_names(config.get("known-local-folder")),
        force_sort_within_sections=_flag(config.get("force-sort-within-sections"), False),
        force_single_line=_flag(config.get("force-single-line"), False),
        lines_after_imports=_lines_after(config.get("lines-after-imports"), -1),
        combine_as_imports=_flag(config.get("combine-as-imports"), False),
        order_by_type=_flag(config.get("order-by-type"), True),
        case_sensitive=_flag(config.get("case-sensitive"), False),
        default_section=default_section if default_section in _SECTIONS else "thirdparty",
    )


def _editorconfig(root: Path) -> int | None:
    """``max_line_length`` of the last section of the root's .editorconfig matching ``*.py``."""
    text = _read(root, ".editorconfig")
    if text is None:
        return None
    found: int | None = None
    applies = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            applies = _matches_py(line[1:-1].strip())
            continue
        key, sep, value = line.partition("=")
        if sep and applies and key.strip().lower() == "max_line_length":
            found = _int(value.strip()) if value.strip().lower() != "off" else None
    return found


def _matches_py(glob: str) -> bool:
    """Whether a section applies to Python files anywhere (``*``, ``*.py``, ``**.py``,
    ``*.{py,pyi}``, ``**/*.py``); a section for one folder does not set the project's limit."""
    for alternative in _expand(glob):
        folder, _, name = alternative.rpartition("/")
        if folder.strip("/") in ("", "**") and fnmatch.fnmatch("x.py", name.replace("**", "*")):
            return True
    return False


def _expand(glob: str) -> list[str]:
    """``*.{py,pyi}`` -> ``*.py``, ``*.pyi`` (one level of braces, as editorconfig files use)."""
    match = re.search(r"\{([^{}]*)\}", glob)
    if not match:
        return [glob]
    return [glob[: match.start()] + part + glob[match.end() :] for part in match.group(1).split(",")]


def _hooks(root: Path) -> set[str]:
    """The hook ids in the root's .pre-commit-config.yaml (only ids: its YAML is not loaded)."""
    text = _read(root, ".pre-commit-config.yaml")
    if text is None or len(text) > 1 << 20:
        return set()
    return {m.group(1) for m in _HOOK.finditer(text)}
