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
    assert b"+    log.info('total %s', x)" in out.stdout


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
