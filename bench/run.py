"""How fast prodfix is, against libcst's own codemod runner and ruff, on the same tree.

    python -m bench [--repeat 3] [--jobs 2] [--no-noop] [--no-scale] [PATH ...]

The corpus is the Django 5.2.8 source distribution (downloaded once with pip into
``$PRODFIX_BENCH_CACHE``, default ``~/.cache/prodfix-bench``) plus any folder given. Each tree
is copied to a temporary folder, and in every round, interleaved, the script runs:

- ``noop``: ``python -m libcst.tool codemod noop.NOOPCommand --no-format --jobs=N`` (libcst's
  runner parsing and re-rendering every file, doing nothing else);
- ``cold``: ``prodfix diff --select all --jobs N`` with ``.prodfix_cache`` removed first;
- ``cold-j1``: the same with ``--jobs 1`` (how well the work spreads over the cores);
- ``reference-1``/``reference-N``: bench/reference.py, a CPU-bound Python workload in one
  process and in N: how well this machine spreads work over its cores at that moment, to read
  cold-j1 / cold against (on a shared virtual machine it is often well below N);
- ``warm``: ``prodfix diff --select all --jobs N`` again, the cache kept, the tree unchanged;
- ``ruff``: ``ruff check --no-cache --select T201,S113,SIM115,TID252`` (the nearest rules).

It prints the medians (wall and CPU seconds, peak RSS of the process tree), the files the
prefilters kept and the files parsed, and the ratios issue 8 sets targets for (speed-ups
paired per round, then the median). prodfix's bytecode is compiled first, as pip does when
it installs a package. ``--scale`` (on by default) repeats cold, warm and ruff on a tree made
of ten copies of the corpus, to show that the cost follows the files the prefilters keep.
Figures only: nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DJANGO = "django==5.2.8"
REFERENCE = Path(__file__).with_name("reference.py")
RUFF_RULES = "T201,S113,SIM115,TID252"
TARGETS = {
    "cold / noop": 0.10,
    "warm / ruff": 3.0,
    "peak RSS MB": 300.0,
}


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    stderr: str


def cache_dir() -> Path:
    return Path(os.environ.get("PRODFIX_BENCH_CACHE", Path.home() / ".cache" / "prodfix-bench"))


def django_tree() -> Path:
    """The unpacked Django sdist, downloaded on first use."""
    cache = cache_dir()
    tree = cache / "django-5.2.8"
    if (tree / "django").is_dir():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         DJANGO, "-d", str(cache)],
        check=True,
    )
    archive = next(cache.glob("[Dd]jango-5.2.8.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(cache, filter="data")
    extracted = next(p for p in cache.iterdir() if p.is_dir() and p.name.lower() == "django-5.2.8")
    if extracted != tree:
        extracted.rename(tree)
    return tree


def measure(command: list[str], cwd: Path) -> Sample:
    """Wall time, CPU time and peak RSS of ``command`` and every process it started."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed with {process.returncode}:\n{stderr[-2000:]}")
    # ru_maxrss is in KiB on Linux; for wait4 it covers the child and its waited-for children.
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stderr)


def _count(stderr: str, label: str) -> int | None:
    match = re.search(rf"{label} (\d+)", stderr)
    return int(match.group(1)) if match else None


def _bin(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install the test extra (pip install -e '.[test]')")
    return found


def run_tree(
    tree: Path, repeat: int, jobs: int, noop: bool, label: str, j1: bool = True
) -> dict[str, list[Sample]]:
    prodfix = [sys.executable, "-m", "prodfix", "diff", "--select", "all", "--profile", "-q"]
    commands = {
        "noop": [sys.executable, "-m", "libcst.tool", "codemod", "noop.NOOPCommand", "--no-format",
                 f"--jobs={jobs}", "--hide-progress", "."],
        "cold": [*prodfix, "--jobs", str(jobs), "."],
        "cold-j1": [*prodfix, "--jobs", "1", "."],
        # what this machine gives any CPU-bound work at the same moments, to read cold-j1 / cold against
        "reference-1": [sys.executable, str(REFERENCE), "1", str(jobs)],
        "reference-N": [sys.executable, str(REFERENCE), str(jobs), str(jobs)],
        "warm": [*prodfix, "--jobs", str(jobs), "."],
        "ruff": [_bin("ruff"), "check", "--no-cache", "--select", RUFF_RULES, "--quiet", "--exit-zero", "."],
    }
    if not noop:
        del commands["noop"]
    if not j1:
        for name in ("cold-j1", "reference-1", "reference-N"):
            del commands[name]
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for round_number in range(1, repeat + 1):
        for name, command in commands.items():
            if name.startswith("cold"):
                shutil.rmtree(tree / ".prodfix_cache", ignore_errors=True)
            sample = measure(command, tree)
            samples[name].append(sample)
            print(f"  [{label} round {round_number}] {name:<8} {sample.wall:7.2f} s wall", file=sys.stderr)
    return samples


def summarize(samples: dict[str, list[Sample]]) -> dict[str, dict[str, float]]:
    return {
        name: {
            "wall": statistics.median(s.wall for s in runs),
            "cpu": statistics.median(s.cpu for s in runs),
            "rss": max(s.rss_mb for s in runs),
        }
        for name, runs in samples.items()
    }


def _paired(slow: list[Sample], fast: list[Sample]) -> float:
    return statistics.median(a.wall / b.wall for a, b in zip(slow, fast, strict=True))


def _rounds(slow: list[Sample], fast: list[Sample]) -> str:
    return " / ".join(f"{a.wall / b.wall:.2f}" for a, b in zip(slow, fast, strict=True))


def report(title: str, samples: dict[str, list[Sample]], files: int) -> dict[str, float]:
    table = summarize(samples)
    cold_err = samples["cold"][-1].stderr
    kept, parsed = _count(cold_err, "kept by prefilters"), _count(cold_err, "parsed")
    print(f"\n### {title}: {files} files, {len(next(iter(samples.values())))} rounds (medians)\n")
    print("| run | wall s | CPU s | peak RSS MB |")
    print("|---|---:|---:|---:|")
    for name, row in table.items():
        print(f"| {name} | {row['wall']:.2f} | {row['cpu']:.2f} | {row['rss']:.0f} |")
    print(f"\nfiles kept by the prefilters: {kept}; files parsed: {parsed}")
    ratios = {
        "warm / ruff": table["warm"]["wall"] / table["ruff"]["wall"],
        "peak RSS MB": max(row["rss"] for name, row in table.items() if name in ("cold", "cold-j1", "warm")),
    }
    if "cold-j1" in table:
        # paired per round (the two runs are seconds apart), then the median: the machine's
        # speed drifts by a third within minutes, which a ratio of medians would mix in
        ratios["cold-j1 / cold"] = _paired(samples["cold-j1"], samples["cold"])
        ratios["reference-1 / reference-N"] = _paired(samples["reference-1"], samples["reference-N"])
    if "noop" in table:
        ratios["cold / noop"] = table["cold"]["wall"] / table["noop"]["wall"]
    for name, value in ratios.items():
        target = TARGETS.get(name)
        if name == "cold-j1 / cold":
            verdict = "meets >= 1.6" if value >= 1.6 else "misses >= 1.6"
            verdict += f" (rounds {_rounds(samples['cold-j1'], samples['cold'])})"
        elif name == "reference-1 / reference-N":
            verdict = f"(the same for bench/reference.py; rounds {_rounds(samples['reference-1'], samples['reference-N'])})"
        elif target is not None:
            verdict = f"meets <= {target:g}" if value <= target else f"misses <= {target:g}"
        else:
            verdict = ""
        print(f"- {name}: {value:.3f} {verdict}")
    # the slowest phases of the last cold run, to see where the time went
    profile = [line for line in cold_err.splitlines() if re.match(r"^[a-z][\w -]* +\d+\.\d{3} ", line)]
    print("\nslowest phases of the last cold run (CPU seconds over all processes):")
    for line in profile[:6]:
        print(f"    {line}")
    return {"kept": kept or 0, "cold": table["cold"]["wall"], "warm": table["warm"]["wall"]}


def copy_tree(source: Path, target: Path, copies: int = 1) -> int:
    """Copy the whole tree (its config files decide the import roots, as in a real checkout),
    ``copies`` times side by side; returns the number of .py files."""
    for index in range(copies):
        shutil.copytree(source, target if copies == 1 else target / f"copy{index}", symlinks=True)
    return sum(1 for _ in target.rglob("*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="more trees to measure besides Django")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-noop", dest="noop", action="store_false", help="skip libcst's runner (slow)")
    parser.add_argument("--no-scale", dest="scale", action="store_false", help="skip the ten-copies tree")
    parser.add_argument("--no-django", dest="django", action="store_false", help="only the given paths")
    args = parser.parse_args(argv)
    trees = ([("Django 5.2.8", django_tree())] if args.django else []) + [(str(p), p) for p in args.paths]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, --jobs {args.jobs}")
    # As a pip install does: without it, an editable install under PYTHONDONTWRITEBYTECODE (CI
    # images set it) compiles prodfix's ~50 modules from source in every process of every run.
    import prodfix

    compileall.compile_dir(Path(prodfix.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory(prefix="prodfix-bench-") as tmp:
        figures = {}
        for index, (title, source) in enumerate(trees):
            work = Path(tmp) / f"tree{index}"
            files = copy_tree(source.resolve(), work)
            samples = run_tree(work, args.repeat, args.jobs, args.noop, title)
            figures[title] = (files, report(title, samples, files))
        if args.scale and trees:
            title, source = trees[0]
            big = Path(tmp) / "scaled"
            files = copy_tree(source.resolve(), big, copies=10)
            samples = run_tree(big, 1, args.jobs, False, f"{title} x10", j1=False)
            scaled = report(f"{title}, ten copies", samples, files)
            base_files, base = figures[title]
            print(
                f"\nscaling: {files / base_files:.1f}x the files and {scaled['kept'] / max(base['kept'], 1):.1f}x "
                f"the kept files cost {scaled['cold'] / base['cold']:.1f}x the cold time"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
