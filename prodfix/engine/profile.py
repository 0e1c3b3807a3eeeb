"""``--profile``: where a run's time goes, phase by phase.

A :class:`Phases` is a stopwatch that charges the time since its last mark to the phase named
by the next mark, so instrumenting code costs one ``perf_counter()`` per phase boundary and
nothing at all when profiling is off (:data:`OFF`). Workers measure per file and send their
totals back inside each ``FileResult``; the main process adds its own phases (discovery,
project facts, output). The sum is CPU-side seconds spent in each phase over all processes, so
with ``--jobs 2`` it can exceed the wall time.
"""

from __future__ import annotations

import time


class Phases:
    __slots__ = ("totals", "_last")

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._last = time.perf_counter()

    def start(self) -> None:
        self._last = time.perf_counter()

    def mark(self, phase: str) -> None:
        """Charge the time since the previous mark (or start) to ``phase``."""
        now = time.perf_counter()
        self.totals[phase] = self.totals.get(phase, 0.0) + (now - self._last)
        self._last = now

    def add(self, totals: dict[str, float] | None) -> None:
        for phase, seconds in (totals or {}).items():
            self.totals[phase] = self.totals.get(phase, 0.0) + seconds


class _Off(Phases):
    """The stopwatch used when nobody asked: every call is a no-op."""

    def start(self) -> None:
        pass

    def mark(self, phase: str) -> None:
        pass

    def add(self, totals: dict[str, float] | None) -> None:
        pass


OFF: Phases = _Off()


def render(totals: dict[str, float], counts: dict[str, int], wall: float) -> str:
    """The table ``--profile`` prints on stderr, slowest phase first."""
    total = sum(totals.values()) or 1.0
    width = max([len(p) for p in totals] + [5])
    lines = [f"{'phase':<{width}}  {'seconds':>8}  {'share':>6}"]
    for phase, seconds in sorted(totals.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"{phase:<{width}}  {seconds:8.3f}  {100 * seconds / total:5.1f}%")
    lines.append(f"{'sum':<{width}}  {sum(totals.values()):8.3f}  (wall {wall:.3f} s)")
    lines.append(", ".join(f"{name} {count}" for name, count in counts.items()))
    return "\n".join(lines)
