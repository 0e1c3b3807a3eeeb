"""Configuration: ``.prodfix.yml`` or ``[tool.prodfix]`` in ``pyproject.toml`` → typed options.

Both files take the same keys::

    select: [print-to-logging]        # default: every codemod that is on by default
    ignore: []
    exclude: ["migrations/**"]        # gitignore-style globs, relative to the project root
    codemods:
      print-to-logging: {logger_name: log}
    format: auto                      # or never: the project's formatter on the changed lines

The file is found by walking up from the first path given (stopping at the git work tree's
top), ``--config FILE`` overrides. Every error names the file, the key path and, for YAML, the
line; nothing is touched when the configuration is wrong.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prodfix.codemods import registry
from prodfix.codemods.base import Codemod
from prodfix.codemods.options import check_of, choice
from prodfix.globs import valid_pattern

if TYPE_CHECKING:
    import yaml

CONFIG_NAMES = (".prodfix.yml", ".prodfix.yaml")
TOP_KEYS = ("select", "ignore", "exclude", "codemods", "unsafe-fixes", "unsafe_fixes", "format")
FORMAT_MODES = ("auto", "never")  # format: auto runs the project's formatter on changed lines
MAX_BYTES = 1 << 20  # a configuration file larger than 1 MiB is refused unread
# Values a YAML document may hold once its aliases are expanded: a real configuration has tens.
# An alias bomb (each line nine aliases of the line before) reaches 9**7 from seven lines.
MAX_NODES = 10_000


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)  # codemod name -> Options instance
    unsafe_fixes: bool = False  # make the fixes codemods mark unsafe (--unsafe-fixes overrides)
    # run the project's own formatter on the changed lines when it is installed (engine/layout.py)
    format: str = choice("auto", FORMAT_MODES)

    def options_for(self, codemod: type[Codemod]) -> Any:
        return self.options.get(codemod.name) or codemod.Options()


def find_config(start: Path, stop: Path | None) -> Path | None:
    folder = start if start.is_dir() else start.parent
    for candidate_dir in [folder, *folder.parents]:
        for name in CONFIG_NAMES:
            if (candidate_dir / name).is_file():
                return candidate_dir / name
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file() and _has_tool_section(pyproject):
            return pyproject
        if stop is not None and candidate_dir == stop:
            break
    return None


def _has_tool_section(pyproject: Path) -> bool:
    _check_size(pyproject)
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):  # ValueError: TOMLDecodeError, huge ints
        return "[tool.prodfix" in pyproject.read_text(encoding="utf-8", errors="replace")
    tool = data.get("tool")
    return isinstance(tool, dict) and "prodfix" in tool  # `tool = 3` has no [tool.prodfix]


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if size > MAX_BYTES:
        raise ConfigError(f"{path}: {size} bytes; a configuration file may be at most {MAX_BYTES} bytes (1 MiB)")


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    _check_size(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if path.name == "pyproject.toml":
        try:
            tool = tomllib.loads(text).get("tool", {})
        except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
        data = tool.get("prodfix", {}) if isinstance(tool, dict) else {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: tool.prodfix: expected a table ([tool.prodfix]), got {data!r}")
        return _build(path, data, lines={}, prefix="tool.prodfix.")
    data, lines = _load_yaml(path, text)
    return _build(path, data, lines=lines, prefix="")


def _load_yaml(path: Path, text: str) -> tuple[Any, dict[tuple, int]]:
    import yaml  # only a .prodfix.yml needs it

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    if node is not None:
        _check_expansion(path, node)
    lines: dict[tuple, int] = {}

    def convert(n: yaml.Node | None, key: tuple) -> Any:
        if n is None:
            return {}
        lines[key] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            out = {}
            for k_node, v_node in n.value:
                if not isinstance(k_node, yaml.ScalarNode):
                    raise ConfigError(f"{path}:{k_node.start_mark.line + 1}: a key must be a plain name")
                k = scalar(k_node)
                lines[(*key, str(k))] = k_node.start_mark.line + 1
                out[str(k)] = convert(v_node, (*key, str(k)))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [convert(v, (*key, i)) for i, v in enumerate(n.value)]
        return scalar(n)

    def scalar(n: yaml.Node) -> Any:
        try:
            return _scalar(n)
        except (yaml.YAMLError, ValueError) as exc:  # an unknown tag, a date or integer out of range
            problem = getattr(exc, "problem", None) or exc
            raise ConfigError(f"{path}:{n.start_mark.line + 1}: invalid value: {problem}") from None

    return convert(node, ()), lines


def _check_expansion(path: Path, root: yaml.Node) -> None:
    """Refuse a document whose aliases would expand it past MAX_NODES values, or that contains
    itself (``&a [*a]``), before anything walks it. Each node is sized once, so this is linear
    in the document however many times its aliases repeat each other."""
    import yaml

    sizes: dict[int, int] = {}  # id(node) -> expanded size; -1 while its children are sized

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known == -1:
            raise ConfigError(f"{path}:{node.start_mark.line + 1}: an alias refers to the value that contains it")
        if known is not None:
            return known
        sizes[id(node)] = -1
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                raise ConfigError(
                    f"{path}:{node.start_mark.line + 1}: more than {MAX_NODES} values once aliases are "
                    "expanded; refusing the configuration (aliases that repeat aliases?)"
                )
        sizes[id(node)] = total
        return total

    size(root)


def _scalar(node: yaml.Node) -> Any:
    import yaml

    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _build(path: Path, data: Any, lines: dict[tuple, int], prefix: str) -> Config:
    def where(key: tuple) -> str:
        line = lines.get(key)
        dotted = prefix + ".".join(str(k) for k in key)
        return f"{path}:{line}: {dotted}" if line else f"{path}: {dotted}"

    if data is None or data == {}:
        return Config(path=path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys ({', '.join(TOP_KEYS)})")
    for key in data:
        if key not in TOP_KEYS:
            raise ConfigError(f"{where((key,))}: unknown key (known: {', '.join(TOP_KEYS)})")

    def names(key: str) -> tuple[str, ...] | None:
        if key not in data:
            return None
        value = data[key]
        if isinstance(value, str):
            value = [v for v in value.split(",")]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where((key,))}: expected a list of strings")
        return tuple(v.strip() for v in value if v.strip())

    unsafe_fixes = False
    for key in ("unsafe-fixes", "unsafe_fixes"):
        if key in data:
            if not isinstance(data[key], bool):
                raise ConfigError(f"{where((key,))}: expected true or false, got {data[key]!r}")
            unsafe_fixes = data[key]
    format_mode = "auto"
    if "format" in data:
        try:
            check_of(next(f for f in dataclasses.fields(Config) if f.name == "format"))(data["format"])  # type: ignore[misc]
        except ValueError as exc:
            raise ConfigError(f"{where(('format',))}: {exc}") from None
        format_mode = data["format"]
    select = names("select")
    ignore = names("ignore") or ()
    exclude = names("exclude") or ()
    for pattern in exclude:
        if not valid_pattern(pattern):
            listed = data["exclude"] if isinstance(data["exclude"], list) else []
            key = ("exclude", listed.index(pattern)) if pattern in listed else ("exclude",)
            raise ConfigError(f"{where(key)}: not a gitignore-style pattern: {pattern!r}")
    for key, values in (("select", select or ()), ("ignore", ignore)):
        try:
            registry.resolve(list(values))
        except registry.UnknownCodemod as exc:
            raise ConfigError(f"{where((key,))}: {exc}") from None

    options: dict[str, Any] = {}
    raw_codemods = data.get("codemods", {}) or {}
    if not isinstance(raw_codemods, dict):
        raise ConfigError(f"{where(('codemods',))}: expected a mapping of codemod name to options")
    for name, raw in raw_codemods.items():
        try:
            codemod = registry.lookup(name)
        except registry.UnknownCodemod as exc:
            raise ConfigError(f"{where(('codemods', name))}: {exc}") from None
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{where(('codemods', name))}: expected a mapping of options")
        options[codemod.name] = build_options(codemod, raw, lambda k, name=name: where(("codemods", name, *k)))
    return Config(
        path=path, select=select, ignore=ignore, exclude=exclude, options=options, unsafe_fixes=unsafe_fixes,
        format=format_mode,
    )


def build_options(codemod: type[Codemod], raw: dict[str, Any], where: Any) -> Any:
    """Options from configured values: each converted to its field's type, then checked
    against the field's declared bounds (codemods/options.py)."""
    hints = typing.get_type_hints(codemod.Options)
    fields = {f.name: f for f in dataclasses.fields(codemod.Options)}
    known = {name.replace("_", "-"): name for name in fields}
    known.update({name: name for name in fields})
    values = {}
    for key, value in raw.items():
        if key not in known:
            names = ", ".join(f.name for f in dataclasses.fields(codemod.Options)) or "none"
            raise ConfigError(f"{where((key,))}: unknown option for {codemod.name} (known: {names})")
        attr = known[key]
        check = check_of(fields[attr])
        try:
            values[attr] = _coerce(value, hints[attr])
            if check is not None:
                check(values[attr])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where((key,))}: {exc}") from None
    return codemod.Options(**values)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise TypeError(f"expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError(f"expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an integer of hundreds of digits
                raise TypeError("expected a number, got an integer too large for one") from None
        raise TypeError(f"expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise TypeError(f"expected a string, got {value!r}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise TypeError(f"expected one of {', '.join(map(repr, args))}, got {value!r}")
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {value!r}")
        return tuple(_coerce(v, args[0]) for v in value)
    if origin in (dict, types.MappingProxyType) or origin is typing.Mapping:
        if not isinstance(value, dict):
            raise TypeError(f"expected a mapping, got {value!r}")
        return {_coerce(k, args[0]): _coerce(v, args[1]) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in args:
            if option is type(None) and value is None:
                return None
            try:
                return _coerce(value, option)
            except TypeError as exc:
                errors.append(str(exc))
        raise TypeError(errors[-1] if errors else f"unexpected value {value!r}")
    raise TypeError(f"unsupported option type {_type_name(tp)}")
