"""print-to-logging: diagnostics written with ``print()`` go to a logger that shows them.

Why: in production a print has no level, no timestamp and no logger name; log pipelines cannot
filter it and stdout buffering hides it from container logs. But a record the logging in effect
drops is worse than the print: a message people saw is gone. So a print becomes a record only
where the project's logging set-up shows it, at the level its message calls for.

What changes::

    print("Processing", event["id"])          ->  logger.info("Processing %s", event["id"])
    print(f"Error on {key}: {exc}")  # except  ->  logger.exception("Error on %s: %s", key, exc)
    traceback.print_exc()            # except  ->  logger.exception("Unhandled exception")

- The message is a constant format string with lazy arguments and renders exactly what print
  would have written (``sep`` included); f-string fields become ``%s``/``%r``/``%.2f``...
- The level comes from what the message says: "debug"; "warning"/"deprecated"/"will be
  removed"/"retrying" (a deprecation notice is a warning whatever else it says); "error"/
  "failed"/"cannot"/"could not"... A print right before the process ends with a failure
  (``sys.exit(1)``, ``raise SystemExit(1)``, ``os._exit()``) is an error. In an ``except`` block
  a print is ``logger.exception`` only when it reports the failure (its text says so, or it
  shows the caught exception; the exception alone is ``logger.error``: a traceback would repeat
  it), a warning when its text says it recovers ("Continuing", "retrying"), and keeps the level
  of its text otherwise ("Created default admin user" is info). A leftover debug print (a
  ``# debug`` comment, an ``if DEBUG:``, values with no message: ``print(parts)``) is debug.
  ``file=sys.stderr`` is a warning; the rest is info. With ruff's TRY401 on, the caught
  exception is not passed again to ``logger.exception``.
- The logger is the one in scope: a local ``log = logging.getLogger(...)``, ``self._logger``
  or a class's logger, the module's (``logging.getLogger``, a ``get_logger(...)`` helper,
  structlog, loguru); otherwise ``logger = logging.getLogger(__name__)`` is added after the
  import block. An alembic revision gets the logger its env.py / alembic.ini show
  (``logging.getLogger("alembic.env")``).
- The record must be shown (project facts, engine/logging_setup.py): under the alembic.ini of
  a revision's environment, the project's dictConfig / fileConfig / basicConfig / Django
  LOGGING by logger name and level, or, with no set-up at all, Python's default (WARNING and
  above). A print that runs at import time (module level, class bodies) is shown only at
  WARNING and above. Where the record would be dropped the print stays, with the reason; a debug
  leftover is the exception, hidden on purpose. A line of a notice printed over several lines
  takes the level of the line above it, so a notice is not split between stdout and the log.
- ``import sys`` kept only for ``file=sys.stderr`` goes; ``print()`` with nothing to print is
  removed.

What it leaves alone (reported as notes under ``--explain``, one per print): a program's real
output (under ``if __name__ == "__main__":``, CLI commands, console-script entry points, invoke
tasks, typer/click/argparse programs, PEP 723 scripts, scripts in no package that nothing
imports, ``__main__.py``/``manage.py``/``setup.py``, files with a shebang, tests, ``scripts/``,
``bin/``, ``examples/``, ``docs/``, management commands); Django migrations (``manage.py migrate``
shows their prints; option ``django_migrations: convert``); lines with ``# noqa: T201`` and files
with ``# ruff: noqa: T201`` or ``# flake8: noqa``; stdout contracts (a def or class whose name or
docstring says stdout / console / terminal / printer, output styled with ANSI codes, colorama,
rich markup or Django's ``style``, progress drawn with ``end=`` or ``\r`` and the ``print()``
that ends it, a header above ``pprint``, functions that ask with ``input()``, prints under ``if
verbose:``); fallbacks for output errors (``except UnicodeEncodeError`` / ``BrokenPipeError``,
or when logging itself fails); prints inside a logging handler; prints that show what looks
like a credential or a connection string (reported as a warning: mask or remove them); prints to
other files, ``print(*args)``, modules where ``print`` is not the builtin, and ``print`` used as
a value. An empty ``print()`` stays where removing it would leave a block of only ``pass``.

Unsafe fix (made only with ``--unsafe-fixes``; ``check`` lists it as a suggestion): a print that
becomes ``logger.debug()`` (a debug leftover). Under the usual INFO threshold (WARNING where logging is not
configured) a message that prints today would no longer show. Every other rewrite is safe.
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
from prodfix.codemods.options import globs, identifier, words

Level = Literal["debug", "info", "warning", "error", "exception"]

DEFAULT_KEEP_PATHS = (
    "tests/", "test/", "scripts/", "bin/", "examples/", "docs/",
    "test_*.py", "*_test.py", "conftest.py", "__main__.py", "manage.py", "setup.py",
    # command-line code whose prints are its output: Django management commands, CLI packages
    "management/", "commands/", "cli/", "cli.py",
)

CLI_DECORATORS = frozenset({"command", "group", "callback"})
# decorators that make a function a command run from a terminal (by qualified name)
TASK_DECORATORS = frozenset({"invoke.task", "invoke.tasks.task", "fabric.task", "fabric.tasks.task"})
# a module that builds one (or reads sys.argv) outside its `__main__` guard is a command-line program
ARGUMENT_PARSERS = frozenset({
    "argparse.ArgumentParser", "optparse.OptionParser", "typer.Typer", "typer.run", "fire.Fire", "click.Group",
})


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
        logger_name: str = identifier("logger")
        except_level: Literal["exception", "error"] = "exception"
        debug_words: tuple[str, ...] = words(("debug",))
        warning_words: tuple[str, ...] = words((
            "warning", "warn", "deprecated", "deprecation", "will be removed", "no longer supported", "retrying",
        ))
        error_words: tuple[str, ...] = words((
            "error", "failed", "failure", "fatal", "exception", "cannot", "can't", "could not", "couldn't", "unable",
        ))
        # words that make a message in an except block a recovery note, not a failure report
        recovery_words: tuple[str, ...] = words((
            "expected", "ignoring", "ignored", "skipping", "skipped", "continuing", "fall back", "falling back",
            "fallback", "retrying", "will retry", "will treat", "using default", "safe to ignore",
        ))
        keep_paths: tuple[str, ...] = globs(DEFAULT_KEEP_PATHS)
        # prints in Django migrations are shown by `manage.py migrate`: kept unless "convert"
        django_migrations: Literal["keep", "convert"] = "keep"

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
