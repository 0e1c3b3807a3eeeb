"""Try prodfix on copies of real repositories: fix, check every changed file parses, re-run.

    python -m bench.realworld PATH [PATH ...] [--select all]

For each repository: copy it to a temporary folder, run ``prodfix fix``, byte-compile every
changed file, run ``prodfix diff`` again (it must print nothing) and ``git apply --check`` the
patch of the first run against a second pristine copy. Prints one line of figures per
repository and exits 1 if any of those checks failed.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _prodfix(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prodfix", *args], cwd=cwd, capture_output=True)


def try_repo(source: Path, select: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="prodfix-real-") as tmp:
        work, pristine = Path(tmp) / "work", Path(tmp) / "pristine"
        ignore = shutil.ignore_patterns(".venv", "node_modules")
        shutil.copytree(source, work, symlinks=True, ignore=ignore)
        shutil.copytree(source, pristine, symlinks=True, ignore=ignore)
        start = time.perf_counter()
        patch = _prodfix("diff", "--select", select, "-q", cwd=work)
        elapsed = time.perf_counter() - start
        if patch.returncode not in (0, 3):
            print(f"{source}: diff failed ({patch.returncode}): {patch.stderr.decode()}")
            return False
        changed = [line[6:].decode() for line in patch.stdout.splitlines() if line.startswith(b"+++ b/")]
        (Path(tmp) / "p.patch").write_bytes(patch.stdout)
        applies = not patch.stdout or subprocess.run(
            ["git", "apply", "--check", str(Path(tmp) / "p.patch")], cwd=pristine, capture_output=True
        ).returncode == 0
        # A scratch copy: --allow-dirty, as a copied tree may be untracked or differently owned.
        fixed = _prodfix("fix", "--select", select, "-q", "--allow-dirty", cwd=work)
        if fixed.returncode not in (0, 3):
            print(f"{source}: fix failed ({fixed.returncode}): {fixed.stderr.decode(errors='replace')}")
        broken = []
        for rel in changed:
            try:
                ast.parse((work / rel).read_bytes())
            except SyntaxError as exc:
                broken.append(f"{rel}:{exc.lineno}")
        again = _prodfix("diff", "--select", select, "-q", cwd=work)
        ok = fixed.returncode in (0, 3) and not broken and again.stdout == b"" and applies
        print(
            f"{'ok  ' if ok else 'FAIL'} {source.name}: {len(changed)} files changed, "
            f"patch applies: {applies}, unparsable: {broken or 'none'}, "
            f"second run empty: {again.stdout == b''}, diff took {elapsed:.2f}s"
        )
        if patch.stderr:
            sys.stdout.write(patch.stderr.decode(errors="replace"))
        return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--select", default="all")
    args = parser.parse_args()
    results = [try_repo(path.resolve(), args.select) for path in args.paths]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
