"""print-to-logging: diagnostics written with ``print()`` go to the module's logger.

Why: in production a print has no level, no timestamp and no logger name; log pipelines cannot
filter it and stdout buffering hides it from container logs.

What changes::

    print("Processing", event["id"])          ->  logger.info("Processing %s", event["id"])
    print(f"Error on {key}: {exc}")  # except  ->  logger.exception("Error on %s: %s", key, exc)
    traceback.print_exc()            # except  ->  logger.exception("Unhandled exception")

- The message is a constant format string with lazy arguments and renders exactly what print
  would have written (``sep`` included); f-string fields become ``%s``/``%r``/``%.2f``...
- The level: words in the text ("debug", "warning"/"warn", "error"/"failed"/"fatal"/
  "exception") first; inside an ``except`` block ``logger.exception``; ``file=sys.stderr``
  warning; otherwise info.
- An existing module logger (``logging.getLogger``, ``structlog.get_logger``, loguru's
  ``logger``) is reused; otherwise ``import logging`` and ``logger = logging.getLogger(__name__)``
  are added after the import block.
- ``print()`` with nothing to print is removed (``pass`` keeps a block from becoming empty).

What it leaves alone (reported as notes under ``--explain``): a program's real output (under
``if __name__ == "__main__":``, CLI commands, ``__main__.py``/``manage.py``/``setup.py``, files
with a shebang, modules that build an ``argparse``/``optparse`` parser or read ``sys.argv``
outside the guard, tests,
``scripts/``, ``bin/``, ``examples/``, ``docs/``), prints to other files,
prints with a custom ``end``, ``print(*args)``, modules where ``print`` is not the builtin, and
``print`` used as a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import pathspec

from prodfix.codemods.base import (
    Codemod,
    ProjectContext,
    Rationale,
)

Level = Literal["debug", "info", "warning", "error", "exception"]

DEFAULT_KEEP_PATHS = (
    "tests/", "test/", "scripts/", "bin/", "examples/", "docs/",
    "test_*.py", "*_test.py", "conftest.py", "__main__.py", "manage.py", "setup.py",
    # command-line code whose prints are its output: Django management commands, CLI packages
    "management/", "commands/", "cli/", "cli.py",
)

CLI_DECORATORS = frozenset({"command", "group", "callback"})
# a module that builds one (or reads sys.argv) outside its `__main__` guard is a command-line program
ARGUMENT_PARSERS = frozenset({"argparse.ArgumentParser", "optparse.OptionParser"})


class PrintToLogging(Codemod):
    name = "print-to-logging"
    code = "PF001"
    summary = "print() diagnostics become calls on the module logger with lazy arguments"
    rationale = Rationale(
        problem="Diagnostics are written with print(): no level, timestamp or logger name.",
        impact=(
            "Log pipelines cannot filter or alert on them, and stdout buffering can hide them "
            "from container logs until the process exits."
        ),
        fix=(
            "Log through a module logger with a fitting level and lazy %s arguments; keep "
            "prints that are the program's real output."
        ),
        severity="medium",
    )
    prefilter = re.compile(r"\bprint\s*\(|\bprint_exc\b")  # print_exc may be imported under an alias
    trigger_words = ("print",)
    metadata = ("scope",)
    needs_logging_setup = True

    @dataclass(frozen=True)
    class Options:
        logger_name: str = "logger"
        except_level: Literal["exception", "error"] = "exception"
        debug_words: tuple[str, ...] = ("debug",)
        warning_words: tuple[str, ...] = ("warning", "warn")
        error_words: tuple[str, ...] = ("error", "failed", "fatal", "exception")
        keep_paths: tuple[str, ...] = DEFAULT_KEEP_PATHS

    def __init__(self, options: object | None = None) -> None:
        super().__init__(options)
        self._keep: pathspec.PathSpec | None = None

    def __getstate__(self) -> dict:
        return {"options": self.options, "_keep": None}

    def keeps_path(self, path: str) -> bool:
        if self._keep is None:
            self._keep = pathspec.GitIgnoreSpec.from_lines(self.options.keep_paths)
        return self._keep.match_file(path)

    def skips(self, source: str, path: str) -> bool:
        return source.startswith("#!") or self.keeps_path(path)

    def candidates(self, facts, source: str, path: str, project: ProjectContext | None = None) -> bool:
        names = {"print", "print_exc"} | facts.aliases_of({"traceback.print_exc"})
        return not facts.call_names.isdisjoint(names)

    def transform(self, wrapper, file, reporter):
        # libcst is imported only once a file needs rewriting (a cached or filtered run never does)
        from prodfix.codemods.print_to_logging.rewrite import transform

        return transform(self, wrapper, file, reporter)
