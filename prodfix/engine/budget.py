"""A per-file time budget, so one pathological file (a generated 600 KB data module, a
50,000-term expression) cannot stall a whole run.

The budget is a SIGALRM timer around one file's work in the process doing it (a pool worker,
or the main process when the run is serial). Its exception derives from BaseException so that
no ``except Exception`` on the way (a codemod's guard, libcst's own) swallows it. Native code
cannot be interrupted mid-call, which is why the pipeline refuses, before libcst, the nesting
that Python's own parser refuses (libcst's parser does not return on it). Where SIGALRM does
not exist, or off the main thread, there is no budget.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_SECONDS = 20.0


class FileTimeout(BaseException):
    pass


def _raise(signum: int, frame: object) -> None:
    raise FileTimeout


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not seconds or not usable:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def paused() -> Iterator[None]:
    """Stop the clock of the running budget, if any: for one-time work (importing libcst and
    the rewrites on a process's first parsed file) that is not the file's own cost."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    remaining = signal.setitimer(signal.ITIMER_REAL, 0)[0] if usable else 0.0
    try:
        yield
    finally:
        if remaining > 0:
            signal.setitimer(signal.ITIMER_REAL, remaining)
