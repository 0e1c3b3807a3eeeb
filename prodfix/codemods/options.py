"""What each codemod option accepts, declared beside the option.

A field of an ``Options`` dataclass states its bounds with one of the helpers below::

    seconds: float = duration(30)                 # finite, 0 < seconds <= 3600
    logger_name: str = identifier("logger")       # a Python name, not a keyword

``config.build_options`` converts each configured value to the field's type, then runs the
field's check, and reports the file, the key path and the value when either fails. A check
raises ``ValueError("expected ..., got ...")``; a field without one takes any value of its type.
Every default passes its own check (checked when the class is defined).
"""

from __future__ import annotations

import dataclasses
import keyword
import math
from collections.abc import Callable
from typing import Any

from prodfix.globs import valid_pattern

Check = Callable[[Any], None]

# A timeout is there to end a hung call in a process that serves requests: longer than an
# hour it ends nothing a user or an orchestrator would wait for. 0 or less is refused by the
# clients themselves (requests/urllib3 raise ValueError; a socket timeout of 0 is non-blocking).
MAX_SECONDS = 3600


def check_of(f: dataclasses.Field) -> Check | None:
    return f.metadata.get("check")


def _option(default: Any, check: Check) -> Any:
    check(default)
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata={"check": check})
    return dataclasses.field(default=default, metadata={"check": check})


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, int) and value.bit_length() > 64:
        return "an integer of more than 19 digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def duration(default: float, *, whole: bool = False) -> Any:
    """Seconds, finite, 0 < s <= MAX_SECONDS; ``whole``: an integer number of them."""
    kind = "a whole number of seconds" if whole else "seconds"

    def check(value: float) -> None:
        if not (math.isfinite(value) and 0 < value <= MAX_SECONDS) or (whole and not float(value).is_integer()):
            raise ValueError(f"expected {kind} > 0 and <= {MAX_SECONDS}, got {_show(value)}")

    return _option(default, check)


def optional_duration() -> Any:
    """Seconds as ``duration`` takes them, or None: not set (the codemod derives the value)."""
    seconds = check_of(duration(MAX_SECONDS))

    def check(value: float | None) -> None:
        if value is not None:
            seconds(value)  # type: ignore[misc]

    return _option(None, check)


def count(default: int, *, least: int, most: int) -> Any:
    def check(value: int) -> None:
        if not least <= value <= most:
            raise ValueError(f"expected an integer from {least} to {most}, got {_show(value)}")

    return _option(default, check)


def choice(default: str, values: tuple[str, ...]) -> Any:
    """One of a few words."""

    def check(value: str) -> None:
        if value not in values:
            raise ValueError(f"expected one of {', '.join(values)}, got {_show(value)}")

    return _option(default, check)


def _is_name(value: str) -> bool:
    return value.isidentifier() and not keyword.iskeyword(value)


def _is_dotted(value: str) -> bool:
    return all(_is_name(part) for part in value.split("."))


def identifier(default: str) -> Any:
    """A name the codemod binds in the code it writes."""

    def check(value: str) -> None:
        if not _is_name(value):
            raise ValueError(f"expected a Python name (an identifier, not a keyword), got {_show(value)}")

    return _option(default, check)


def each(default: tuple[str, ...], test: Callable[[str], bool], expected: str) -> Any:
    """A list whose every item passes ``test``."""

    def check(values: tuple[str, ...]) -> None:
        for value in values:
            if not test(value):
                raise ValueError(f"expected {expected}, got {_show(value)}")

    return _option(default, check)


def words(default: tuple[str, ...]) -> Any:
    return each(default, lambda v: bool(v.strip()), "non-empty strings")


def globs(default: tuple[str, ...]) -> Any:
    return each(default, lambda v: bool(v.strip()) and valid_pattern(v), "gitignore-style patterns")


def function_targets(default: tuple[str, ...]) -> Any:
    """``path/to/module.py:qualname`` or ``:qualname`` (a function or ``Class.method``)."""
    return each(
        default, lambda v: ":" in v and _is_dotted(v.rpartition(":")[2]), "'path.py:function' or ':Class.method'"
    )


def folders(default: tuple[str, ...]) -> Any:
    """Folders relative to the project root; '' or '.' is the root itself."""

    def relative(value: str) -> bool:
        path = value.strip("/")
        return path in ("", ".") or all(part not in ("", ".", "..") for part in path.split("/"))

    return each(default, relative, "folders relative to the project root ('' for the root itself)")


def dotted_renames(default: dict[str, str]) -> Any:
    """old dotted name -> new dotted name (modules, or ``module.Name``)."""

    def check(renames: dict[str, str]) -> None:
        for old, new in renames.items():
            for value in (old, new):
                if not _is_dotted(value):
                    raise ValueError(f"expected dotted Python names (a.b.Name), got {_show(value)}")

    return _option(default, check)
