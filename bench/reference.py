"""How much faster this machine runs CPU-bound Python in N processes than in one, right now.

    python bench/reference.py PROCESSES UNITS

Runs UNITS equal units of work (parsing and walking a large stdlib module with ``ast``: the
kind of allocation-heavy interpreter work prodfix does) in one process, or spread over
PROCESSES worker processes. The benchmark times both beside prodfix's ``--jobs 1`` and
``--jobs N`` runs: on a virtual machine whose cores share a host (or slow down together) the
speed-up any program gets from N processes drifts with the host's load, and this shows how far.
"""

from __future__ import annotations

import ast
import multiprocessing
import sys
from pathlib import Path

SOURCE = Path(ast.__file__).read_text(encoding="utf-8")
ROUNDS = 30  # about a second per unit on a 2020s core


def unit(_: int = 0) -> int:
    nodes = 0
    for _ in range(ROUNDS):
        nodes += sum(1 for _ in ast.walk(ast.parse(SOURCE)))
    return nodes


def main(argv: list[str]) -> int:
    processes, units = int(argv[0]), int(argv[1])
    if processes <= 1:
        for index in range(units):
            unit(index)
    else:
        with multiprocessing.Pool(processes) as pool:
            pool.map(unit, range(units), chunksize=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
