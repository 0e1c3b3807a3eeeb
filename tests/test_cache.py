"""The result cache (.prodfix_cache/): same answers as a cold run, never trusted blindly."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import commit_all, prodfix_exe, run_git
from test_cli import prodfix

CACHE = ".prodfix_cache"


def _phases(stderr: bytes) -> set[str]:
    """The phase names of a --profile table."""
    lines = stderr.decode().split("phase ", 1)[1].splitlines()[1:]
    return {line.rsplit(None, 2)[0].strip() for line in lines if line and line[0].isalpha() and "%" in line}


def test_warm_run_answers_from_the_cache_with_the_same_output(sample_backend: Path) -> None:
    cold = prodfix(sample_backend, "diff", "--profile", "-j", "1")
    assert cold.returncode == 0 and cold.stdout
    assert "parse" in _phases(cold.stderr)
    warm = prodfix(sample_backend, "diff", "--profile", "-j", "1")
    assert warm.returncode == 0
    assert warm.stdout == cold.stdout
    assert not {"parse", "prefilter", "metadata"} & _phases(warm.stderr), warm.stderr.decode()
    assert warm.stderr.split(b";")[0] == cold.stderr.split(b";")[0]  # same summary counts
    check_cold = prodfix(sample_backend, "check", "--format", "json", "--no-cache")
    check_warm = prodfix(sample_backend, "check", "--format", "json")
    assert json.loads(check_warm.stdout) == json.loads(check_cold.stdout)
    assert check_warm.returncode == check_cold.returncode == 1


def test_cache_is_ignored_by_git_and_no_cache_writes_nothing(sample_backend: Path) -> None:
    prodfix(sample_backend, "check")
    assert (sample_backend / CACHE / ".gitignore").read_text().splitlines()[-1] == "*"
    assert run_git(sample_backend, "status", "--porcelain") == ""
    subprocess.run(["rm", "-rf", str(sample_backend / CACHE)], check=True)
    prodfix(sample_backend, "check", "--no-cache")
    assert not (sample_backend / CACHE).exists()


def test_an_edited_file_is_recomputed(sample_backend: Path) -> None:
    assert b"total %s" not in prodfix(sample_backend, "diff").stdout
    target = sample_backend / "app" / "store.py"
    target.write_text(target.read_text() + "\n\ndef report(x):\n    print('total', x)\n")
    out = prodfix(sample_backend, "diff", "-q")
    assert b'+    log.info("total %s", x)' in out.stdout  # the file's quotes, not the new print's


def test_options_are_part_of_the_key(sample_backend: Path) -> None:
    first = prodfix(sample_backend, "diff")
    assert b'+    logger.info("Processing order %s"' in first.stdout
    (sample_backend / ".prodfix.yml").write_text("codemods:\n  print-to-logging:\n    logger_name: log\n")
    commit_all(sample_backend)
    second = prodfix(sample_backend, "diff")
    assert b'+    log.info("Processing order %s"' in second.stdout


def test_a_corrupt_or_tampered_cache_is_not_trusted(sample_backend: Path) -> None:
    reference = prodfix(sample_backend, "diff", "--no-cache").stdout
    prodfix(sample_backend, "diff")
    results = sorted((sample_backend / CACHE).rglob("results-*.json"))
    assert len(results) == 1
    data = json.loads(results[0].read_text())
    for rel, (digest, payload) in data["entries"].items():
        if payload["new"] is not None:  # a forged fix: valid JSON, content that does not match
            payload["new"] = "cHJpbnQoIm93bmVkIikK"  # base64 of: print("owned")
            payload["findings"] = [["x", "one", 1, "c", "d", "e", "fix"]]  # line must be an int
    results[0].write_text(json.dumps(data))
    assert prodfix(sample_backend, "diff").stdout == reference
    results[0].write_text("{not json")
    (sample_backend / CACHE / "0.1.0" / "facts.json").write_bytes(b"\xff\xfe garbage")
    again = prodfix(sample_backend, "diff")
    assert again.returncode == 0 and again.stdout == reference
    assert json.loads(results[0].read_text())["entries"]  # rewritten whole and valid


def test_concurrent_runs_leave_a_valid_cache(sample_backend: Path) -> None:
    for index in range(30):
        (sample_backend / "app" / f"extra_{index}.py").write_text(f"def f{index}(x):\n    print('value', x)\n")
    commit_all(sample_backend)
    runs = [
        subprocess.Popen([prodfix_exe(), "diff", "-q", "-j", "2"], cwd=sample_backend, stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    outputs = [run.communicate()[0] for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert len(set(outputs)) == 1 and outputs[0].count(b"diff --git") >= 30
    for path in (sample_backend / CACHE).rglob("*.json"):
        json.loads(path.read_text())
    assert not list((sample_backend / CACHE).rglob(".tmp-*"))
    assert prodfix(sample_backend, "diff", "-q").stdout == outputs[0]


def test_deleted_files_leave_the_cache(sample_backend: Path) -> None:
    prodfix(sample_backend, "check")
    run_git(sample_backend, "rm", "-q", "app/notify.py")
    commit_all(sample_backend)
    prodfix(sample_backend, "check")
    results = sorted((sample_backend / CACHE).rglob("results-*.json"), key=lambda p: p.stat().st_mtime_ns)
    for path in (sample_backend / CACHE / "0.1.0" / "facts.json", results[-1]):
        assert "app/notify.py" not in json.loads(path.read_text())["entries"], path.name
        assert "app/store.py" in json.loads(path.read_text())["entries"], path.name


def test_only_the_latest_option_sets_are_kept(sample_backend: Path) -> None:
    for name in ("a", "b", "c", "d", "e", "f"):
        (sample_backend / ".prodfix.yml").write_text(f"codemods:\n  print-to-logging:\n    logger_name: log_{name}\n")
        prodfix(sample_backend, "check")
    assert len(list((sample_backend / CACHE).rglob("results-*.json"))) == 4


def test_an_entry_forged_with_a_recomputed_digest_is_not_written(sample_backend: Path) -> None:
    """Whoever can edit the cache can recompute its digests: new code must parse and be for
    the exact bytes on disk, checked again when the entry is read."""
    import base64

    from prodfix.engine.cache import content_digest

    reference = prodfix(sample_backend, "diff", "--no-cache").stdout
    prodfix(sample_backend, "diff")
    (results,) = sorted((sample_backend / CACHE).rglob("results-*.json"))
    data = json.loads(results.read_text())
    forged = 0
    for digest, payload in data["entries"].values():
        if payload["new"] is not None:
            broken = b"def (:\n    rm -rf /\n"
            payload["new"], payload["new_digest"] = base64.b64encode(broken).decode(), content_digest(broken)
            forged += 1
    assert forged
    results.write_text(json.dumps(data))
    before = {p: p.read_bytes() for p in sample_backend.rglob("*.py")}
    assert prodfix(sample_backend, "diff").stdout == reference
    fixed = prodfix(sample_backend, "fix")
    assert fixed.returncode == 0, fixed.stderr
    for path in before:
        assert b"rm -rf" not in path.read_bytes()
        compile(path.read_bytes(), str(path), "exec")


def test_absurd_nesting_or_a_linked_entry_file_is_a_miss(sample_backend: Path, tmp_path: Path) -> None:
    reference = prodfix(sample_backend, "diff", "--no-cache").stdout
    prodfix(sample_backend, "diff")
    (results,) = sorted((sample_backend / CACHE).rglob("results-*.json"))
    results.write_text("[" * 100_000)
    nested = prodfix(sample_backend, "diff")
    assert nested.returncode == 0 and nested.stdout == reference
    assert b"Traceback" not in nested.stderr and b"RecursionError" not in nested.stderr
    outside = tmp_path / "elsewhere.json"
    outside.write_text('{"entries": {}}')
    results.unlink()
    results.symlink_to(outside)
    linked = prodfix(sample_backend, "diff")
    assert linked.returncode == 0 and linked.stdout == reference
    assert outside.read_text() == '{"entries": {}}'


def test_a_linked_or_foreign_cache_folder_is_refused(sample_backend: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "results-old.json").write_text("keep me")
    (outside / "notes.txt").write_text("mine")
    (sample_backend / CACHE).symlink_to(outside, target_is_directory=True)
    reference = prodfix(sample_backend, "diff", "--no-cache").stdout
    for command in ("check", "diff", "report"):
        out = prodfix(sample_backend, command)
        assert out.returncode in (0, 1), out.stderr
        assert b"is a symbolic link; the cache is not used" in out.stderr
    assert prodfix(sample_backend, "diff").stdout == reference
    assert sorted(p.name for p in outside.iterdir()) == ["notes.txt", "results-old.json"]
    assert (outside / "results-old.json").read_text() == "keep me"
    (sample_backend / CACHE).unlink()
    (sample_backend / CACHE).mkdir()  # a folder prodfix did not make (no CACHEDIR.TAG)
    (sample_backend / CACHE / "results-1.json").write_text("theirs")
    foreign = prodfix(sample_backend, "check")
    assert b"was not made by prodfix" in foreign.stderr
    assert sorted(p.name for p in (sample_backend / CACHE).iterdir()) == ["results-1.json"]


def test_temporary_files_of_a_killed_run_are_removed(sample_backend: Path) -> None:
    import os

    prodfix(sample_backend, "diff")
    folder = sample_backend / CACHE / "0.1.0"
    stale, fresh, other = folder / ".tmp-abc123.json", folder / ".tmp-def456.json", folder / ".tmp-keep.txt"
    for path in (stale, fresh, other):
        path.write_text("{")
    os.utime(stale, (0, 0))
    os.utime(other, (0, 0))
    (sample_backend / "app" / "orders.py").write_text((sample_backend / "app" / "orders.py").read_text() + "\n")
    prodfix(sample_backend, "diff")  # a change: the cache is written again
    assert not stale.exists() and fresh.exists() and other.exists()


def test_a_fifo_or_a_huge_tag_in_the_cache_does_not_hang_or_load(sample_backend: Path) -> None:
    import os

    reference = prodfix(sample_backend, "diff", "--no-cache").stdout
    prodfix(sample_backend, "diff")
    (results,) = sorted((sample_backend / CACHE).rglob("results-*.json"))
    results.unlink()
    os.mkfifo(results)  # reading it would wait for a writer forever
    out = subprocess.run([prodfix_exe(), "diff"], cwd=sample_backend, capture_output=True, timeout=60)
    assert out.returncode == 0 and out.stdout == reference
    tag = sample_backend / CACHE / "CACHEDIR.TAG"
    tag.unlink()
    os.mkfifo(tag)
    out = subprocess.run([prodfix_exe(), "check"], cwd=sample_backend, capture_output=True, timeout=60)
    assert b"was not made by prodfix" in out.stderr


def test_the_projects_conventions_are_part_of_the_key(sample_backend: Path) -> None:
    first = prodfix(sample_backend, "diff")
    assert b"+    logger.info(\n" not in first.stdout
    (sample_backend / "pyproject.toml").write_text("[tool.black]\nline-length = 40\n")
    commit_all(sample_backend)
    second = prodfix(sample_backend, "diff")
    assert b"+    logger.info(\n" in second.stdout  # the same files, laid out for the new limit
