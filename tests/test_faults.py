"""Faults lose nothing and say so: every command reports what went wrong, with the file's path
(and line), finishes the run, prints its summary and exits 3 (or refuses up front with 2)."""

from __future__ import annotations

import errno
import functools
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import commit_all, run_git
from test_cli import invoke

DEEP = "import requests\n\nx = " + "[" * 150 + "]" * 150 + "\nrequests.get('http://x')\n"
CALL = "import requests\n\n\ndef f():\n    return requests.get('http://x')\n"


def _crash_on_calls(monkeypatch) -> None:
    """add-timeouts raises while visiting the first call, as a bug in a codemod would."""
    import libcst as cst

    import prodfix.codemods.add_timeouts.rewrite as rewrite

    class Boom(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            raise KeyError("boom")

    def transform(codemod, wrapper, file, reporter):
        wrapper.module.visit(Boom())
        return wrapper.module

    monkeypatch.setattr(rewrite, "transform", transform)


# --- a codemod's internal error ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "diff", "report", "fix"])
def test_an_internal_error_is_reported_by_every_command(tmp_path: Path, monkeypatch, command: str) -> None:
    _crash_on_calls(monkeypatch)
    (tmp_path / "app.py").write_text(CALL)
    (tmp_path / "other.py").write_text("def g():\n    print('warning: x')\n")  # shown without set-up
    out = invoke(tmp_path, command, "--no-cache", ".")
    assert out.exit_code == 3, out.stderr
    assert "app.py:5: PF002 add-timeouts: internal error" in out.stderr and "KeyError: 'boom'" in out.stderr
    assert "1 could not be processed" in out.stderr
    assert (tmp_path / "app.py").read_text() == CALL
    if command == "fix":  # the other file's change is written all the same
        assert "logger.warning" in (tmp_path / "other.py").read_text()
    if command == "report":
        assert "`app.py`:5: add-timeouts: internal error" in out.stdout
    if command == "check":  # on stderr like any per-file error, not twice in the table
        assert "internal error" not in out.stdout


def test_an_internal_error_is_in_json_and_annotations_as_an_error(tmp_path: Path, monkeypatch) -> None:
    _crash_on_calls(monkeypatch)
    (tmp_path / "app.py").write_text(CALL)
    out = invoke(tmp_path, "check", "--no-cache", "--format", "json", ".")
    assert out.exit_code == 3
    [row] = json.loads(out.stdout)
    assert (row["kind"], row["line"], row["fixable"]) == ("error", 5, False)
    out = invoke(tmp_path, "check", "--no-cache", "--format", "github", ".")
    assert out.stdout.startswith("::error file=app.py,line=5,")


def test_a_nested_literal_libcst_cannot_visit_is_reported_on_its_line(tmp_path: Path) -> None:
    (tmp_path / "deep.py").write_text(DEEP)
    for command in ("diff", "fix"):
        out = invoke(tmp_path, command, "--no-cache", ".")
        assert out.exit_code == 3, out.stderr
        assert "deep.py:3: PF002 add-timeouts: internal error" in out.stderr and "RecursionError" in out.stderr
        assert (tmp_path / "deep.py").read_text() == DEEP


def test_an_internal_error_comes_back_from_the_cache(tmp_path: Path) -> None:
    (tmp_path / "deep.py").write_text(DEEP)
    for _ in range(2):  # cold, then answered by the result cache
        out = invoke(tmp_path, "diff", ".")
        assert out.exit_code == 3 and "deep.py:3: PF002 add-timeouts: internal error" in out.stderr
    assert (tmp_path / ".prodfix_cache").is_dir()


def test_internal_errors_of_tree_runs_are_reported(git_repo: Path, monkeypatch) -> None:
    _crash_on_calls(monkeypatch)
    (git_repo / "app.py").write_text(CALL)
    (git_repo / "other.py").write_text("def g():\n    print('warning: x')\n")  # a change to commit
    commit_all(git_repo)
    out = invoke(git_repo, "fix", "--branch")
    assert out.exit_code == 3, out.stderr
    assert "app.py:5: PF002 add-timeouts: internal error" in out.stderr
    out = invoke(git_repo, "pr", "--dry-run", "--base", "main")
    assert out.exit_code == 3, out.stderr
    assert "app.py:5: PF002 add-timeouts: internal error" in out.stderr
    assert "`app.py`:5: add-timeouts: internal error" in out.stdout  # in the pull request's body


def test_an_unexpected_error_outside_the_codemods_is_a_per_file_error(tmp_path: Path, monkeypatch) -> None:
    import prodfix.engine.pipeline as pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("prodfix bug")

    monkeypatch.setattr(pipeline, "process_source", broken)
    (tmp_path / "app.py").write_text(CALL)
    out = invoke(tmp_path, "fix", "--no-cache", ".")
    assert out.exit_code == 3
    assert "app.py: internal error: RuntimeError: prodfix bug" in out.stderr and "1 file scanned" in out.stderr


# --- a file that cannot be written -----------------------------------------------------------

NOBODY = 65534


@functools.cache
def _unprivileged() -> tuple[str, ...] | None:
    """A command prefix that runs a program as a user chmod applies to (the tests run as root,
    which no permission bit stops), or None when there is none to be had."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
    # The same call the tests make, from a neutral folder: importable from the checkout is not
    # enough when the virtualenv itself is unreadable to that user.
    probe = subprocess.run([*prefix, sys.executable, "-m", "prodfix", "--version"], cwd="/", capture_output=True)
    return prefix if probe.returncode == 0 else None


@pytest.fixture
def shared_dir():
    """A folder outside pytest's (root-only) tmp folder, owned by the unprivileged user."""
    folder = Path(tempfile.mkdtemp(prefix="prodfix-faults-"))
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder)


def _as_unprivileged(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    prefix = _unprivileged()
    assert prefix is not None
    env = {**os.environ, "HOME": str(cwd), "CI": "", "GITHUB_OUTPUT": "", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run([*prefix, sys.executable, "-m", "prodfix", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _give_away(folder: Path) -> None:
    if os.geteuid() == 0:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


@pytest.mark.parametrize("how", ["chmod", "injected"])
def test_a_read_only_folder_is_a_per_file_error_and_the_run_goes_on(shared_dir: Path, monkeypatch, how: str) -> None:
    for name in ("a.py", "locked/b.py", "z.py"):
        (shared_dir / name).parent.mkdir(exist_ok=True)
        (shared_dir / name).write_text(CALL)
    if how == "chmod":
        if _unprivileged() is None:
            pytest.skip("no unprivileged user to run as")
        _give_away(shared_dir)
        (shared_dir / "locked").chmod(0o555)
        out = _as_unprivileged(shared_dir, "fix", "--no-cache", ".")
        code, stderr = out.returncode, out.stderr
    else:
        import prodfix.engine.writing as writing

        real = tempfile.mkstemp

        def mkstemp(*args, dir=None, **kwargs):
            if Path(dir).name == "locked":
                raise PermissionError(13, "Permission denied", str(dir))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(writing.tempfile, "mkstemp", mkstemp)
        out = invoke(shared_dir, "fix", "--no-cache", ".")
        code, stderr = out.exit_code, out.stderr
    assert code == 3, stderr
    assert "error: locked/b.py: cannot write: Permission denied; left as it is" in stderr
    assert "Traceback" not in stderr
    assert "3 files scanned, 2 changed, 1 could not be processed" in stderr  # the summary
    assert (shared_dir / "locked/b.py").read_text() == CALL
    assert "timeout=(10, None)" in (shared_dir / "a.py").read_text() and "timeout=(10, None)" in (shared_dir / "z.py").read_text()
    assert not list(shared_dir.rglob("*.prodfix-tmp"))


@pytest.mark.parametrize("how", ["chmod", "injected"])
def test_a_tracked_folder_git_cannot_read_is_reported(shared_dir: Path, monkeypatch, how: str) -> None:
    repo = shared_dir / "repo"  # made by this process: git would refuse another user's
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    (repo / "secret").mkdir()
    (repo / "secret/a.py").write_text(CALL)
    (repo / "ok.py").write_text("x = 1\n")
    commit_all(repo)
    if how == "chmod":
        if _unprivileged() is None:
            pytest.skip("no unprivileged user to run as")
        (repo / "secret/new.py").write_text(CALL)  # untracked: only git's warning can tell
        _give_away(repo)
        (repo / "secret").chmod(0o000)
        out = _as_unprivileged(repo, "check", "--no-cache")
        code, stderr = out.returncode, out.stderr
        assert "could not open directory 'secret/': Permission denied" in stderr
    else:
        import prodfix.engine.discovery as discovery

        real_lstat, real_read = os.lstat, Path.read_bytes

        def lstat(path, *args, **kwargs):
            if "/secret/" in str(path):
                raise PermissionError(13, "Permission denied", str(path))
            return real_lstat(path, *args, **kwargs)

        def read_bytes(self):
            if "/secret/" in str(self):
                raise PermissionError(13, "Permission denied", str(self))
            return real_read(self)

        monkeypatch.setattr(discovery.os, "lstat", lstat)
        monkeypatch.setattr(Path, "read_bytes", read_bytes)
        out = invoke(repo, "check", "--no-cache")
        code, stderr = out.exit_code, out.stderr
    assert code == 3, stderr
    assert "error: secret/a.py: cannot read: Permission denied" in stderr
    assert "2 files scanned" in stderr and "Traceback" not in stderr


# --- disk full --------------------------------------------------------------------------------


@pytest.fixture(params=["tmpfs", "injected"])
def full_disk(request):
    """(folder, fill): a folder on a small tmpfs and a function that fills it up; or, for
    "injected", a plain folder and None (the test then injects ENOSPC)."""
    folder = Path(tempfile.mkdtemp(prefix="prodfix-full-"))
    mounted = request.param == "tmpfs" and os.geteuid() == 0 and shutil.which("mount") is not None and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(folder)], capture_output=True
    ).returncode == 0
    if request.param == "tmpfs" and not mounted:
        shutil.rmtree(folder)
        pytest.skip("cannot mount a tmpfs here")

    def fill() -> None:
        fd = os.open(folder / ".filler", os.O_WRONLY | os.O_CREAT)
        try:
            for size in (65536, 4096, 1):
                while True:
                    try:
                        os.write(fd, b"\0" * size)
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC
                        break
        finally:
            os.close(fd)

    yield (folder, fill) if mounted else (folder, None)
    if mounted:
        subprocess.run(["umount", str(folder)], check=True)
    shutil.rmtree(folder)


def _no_space(monkeypatch) -> None:
    import prodfix.engine.safe_write as safe_write
    import prodfix.engine.writing as writing

    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writing.os, "fsync", fsync)
    monkeypatch.setattr(safe_write.os, "fsync", fsync)


def test_a_full_disk_is_a_per_file_error_with_a_summary(full_disk, monkeypatch) -> None:
    folder, fill = full_disk
    (folder / "a.py").write_text(CALL)
    (folder / "b.py").write_text(CALL)
    if fill is not None:
        fill()
    else:
        _no_space(monkeypatch)
    out = invoke(folder, "fix", "--no-cache", ".")
    assert out.exit_code == 3, out.stderr
    for name in ("a.py", "b.py"):
        assert f"error: {name}: cannot write: No space left on device; left as it is" in out.stderr
        assert (folder / name).read_text() == CALL
    assert "2 files scanned, 0 changed, 2 could not be processed" in out.stderr
    assert not list(folder.glob("*.prodfix-tmp"))


@pytest.mark.parametrize("command", ["diff", "report"])
def test_a_patch_or_report_that_does_not_fit_leaves_no_partial_file(full_disk, monkeypatch, command: str) -> None:
    folder, fill = full_disk
    (folder / "a.py").write_text(CALL)
    (folder / "before.out").write_bytes(b"an earlier run's output\n")
    if fill is not None:
        fill()
    else:
        _no_space(monkeypatch)
    option = "--patch" if command == "diff" else "--output"
    for name in ("before.out", "new.out"):
        out = invoke(folder, command, "--no-cache", option, name, "a.py")
        assert out.exit_code == 2, out.stderr
        assert f"{name}: cannot write the {'patch' if command == 'diff' else 'report'}: No space left on device" in out.stderr
    assert (folder / "before.out").read_bytes() == b"an earlier run's output\n"
    assert not (folder / "new.out").exists()
    assert sorted(p.name for p in folder.iterdir()) == [".filler", "a.py", "before.out"][(fill is None):]


def test_a_patch_file_replaces_the_old_one_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(CALL)
    (tmp_path / "out.patch").write_bytes(b"old\n")
    (tmp_path / "out.patch").chmod(0o640)
    out = invoke(tmp_path, "diff", "--no-cache", "--patch", "out.patch", "a.py")
    assert out.exit_code == 0, out.stderr
    assert (tmp_path / "out.patch").read_bytes().startswith(b"diff --git a/a.py b/a.py\n")
    assert stat.S_IMODE((tmp_path / "out.patch").stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "out.patch"]


# --- an edit made while prodfix writes --------------------------------------------------------


def test_an_edit_made_while_the_new_file_is_written_is_kept_and_reported(tmp_path: Path, monkeypatch) -> None:
    """The user saves app.py after the run compared it, while prodfix writes its temporary
    file: the check just before the rename sees it and leaves the user's bytes in place."""
    (tmp_path / "app.py").write_text(CALL)
    (tmp_path / "other.py").write_text(CALL)
    edited = CALL + "# the user's edit\n"
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path / ".app.py.")):
            (tmp_path / "app.py").write_text(edited)

    monkeypatch.setattr(os, "fsync", fsync)
    out = invoke(tmp_path, "fix", "--no-cache", ".")
    assert out.exit_code == 3, out.stderr
    assert "error: app.py: changed on disk during the run; left as it is" in out.stderr
    assert "2 files scanned, 1 changed, 1 could not be processed" in out.stderr
    assert (tmp_path / "app.py").read_text() == edited
    assert "timeout=(10, None)" in (tmp_path / "other.py").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py", "other.py"]


# --- what a killed run leaves -------------------------------------------------------------------


def _leftover(folder: Path, name: str, age: float = 3600) -> Path:
    """A temporary file as write_atomic names it (tempfile's own naming), ``age`` seconds old."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".prodfix-tmp")
    os.write(fd, b"half a file")
    os.close(fd)
    os.utime(tmp, (time.time() - age, time.time() - age))
    return Path(tmp)


def test_fix_removes_the_temporary_files_a_killed_run_left_and_nothing_else(git_repo: Path) -> None:
    (git_repo / "app").mkdir()
    (git_repo / "app/views.py").write_text("x = 1\n")
    (git_repo / "notes.txt").write_text("mine\n")
    lookalikes = [
        ".views.py.abc.prodfix-tmp",  # not 8 random characters
        "views.py.abcdefgh.prodfix-tmp",  # no leading dot
        ".views.py.abcdefgh.prodfix-tmp.bak",
        ".views.py.ABCDEFGH.prodfix-tmp",  # not tempfile's alphabet
    ]
    for name in lookalikes:
        (git_repo / "app" / name).write_text("not prodfix's\n")
        os.utime(git_repo / "app" / name, (0, 0))
    (git_repo / "app/.views.py.dirdirdi.prodfix-tmp").mkdir()
    os.symlink("../notes.txt", git_repo / "app/.views.py.linklink.prodfix-tmp")
    tracked = _leftover(git_repo / "app", "views.py")
    commit_all(git_repo)  # even one of prodfix's names is the user's once they commit it
    os.utime(tracked, (0, 0))
    stale = [_leftover(git_repo / "app", "views.py"), _leftover(git_repo, "requirements.txt")]
    fresh = _leftover(git_repo / "app", "views.py", age=0)  # maybe a run writing right now
    before = set(run_git(git_repo, "status", "--porcelain", "--untracked-files=all").splitlines())
    assert {f"?? {p.relative_to(git_repo)}" for p in stale} <= before

    out = invoke(git_repo, "fix", "--no-cache")
    assert out.exit_code == 0, out.stderr
    assert "removed 2 temporary files an interrupted run left" in out.stderr
    assert not any(p.exists() for p in stale)
    assert fresh.exists() and tracked.exists() and (git_repo / "app/.views.py.dirdirdi.prodfix-tmp").is_dir()
    assert os.path.islink(git_repo / "app/.views.py.linklink.prodfix-tmp") and (git_repo / "notes.txt").exists()
    assert all((git_repo / "app" / name).exists() for name in lookalikes)
    after = set(run_git(git_repo, "status", "--porcelain", "--untracked-files=all").splitlines())
    assert after == before - {f"?? {p.relative_to(git_repo)}" for p in stale}


def test_only_fix_removes_leftovers(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    stale = _leftover(tmp_path, "app.py")
    for command in ("check", "diff", "report"):
        assert invoke(tmp_path, command, "--no-cache", ".").exit_code == 0
        assert stale.exists()
    assert invoke(tmp_path, "fix", "--no-cache", ".").exit_code == 0
    assert not stale.exists()


# --- a .git that git cannot use -----------------------------------------------------------------


@pytest.fixture
def repo_with_an_edit(git_repo: Path, monkeypatch) -> Path:
    (git_repo / "app.py").write_text(CALL)
    commit_all(git_repo)
    (git_repo / "app.py").write_text(CALL + "# not committed yet\n")
    # the machine's own git configuration (a safe.directory = *) must not decide the test
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return git_repo


@pytest.mark.parametrize("how", ["another owner", "no git on PATH"])
def test_fix_refuses_a_repository_git_cannot_use(repo_with_an_edit: Path, monkeypatch, how: str) -> None:
    repo = repo_with_an_edit
    if how == "another owner":
        if os.geteuid() != 0:
            pytest.skip("only root can give the repository away")
        _give_away(repo)
        said = "detected dubious ownership"
    else:
        (repo.parent / "empty-bin").mkdir()
        monkeypatch.setenv("PATH", str(repo.parent / "empty-bin"))
        said = "git is not on PATH"
    out = invoke(repo, "fix", "--no-cache")
    assert out.exit_code == 2, out.stderr
    assert f"{repo}/.git exists, but" in out.stderr and said in out.stderr
    assert "cannot tell which files have uncommitted changes" in out.stderr and "Nothing was written." in out.stderr
    assert (repo / "app.py").read_text() == CALL + "# not committed yet\n"

    out = invoke(repo, "check", "--no-cache")  # nothing to protect: a warning, and the run
    assert out.exit_code == 1 and said in out.stderr and "files are listed without git" in out.stderr
    out = invoke(repo, "fix", "--no-cache", "--allow-dirty")
    assert out.exit_code == 0, out.stderr
    assert "timeout=(10, None)" in (repo / "app.py").read_text()


def test_a_folder_outside_any_repository_is_no_problem(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    (tmp_path / "app.py").write_text(CALL)
    out = invoke(tmp_path, "fix", "--no-cache", ".")
    assert out.exit_code == 0, out.stderr
    assert "warning" not in out.stderr and "timeout=(10, None)" in (tmp_path / "app.py").read_text()


# --- a merge in progress ------------------------------------------------------------------------


@pytest.fixture
def conflicted_merge(git_repo: Path) -> Path:
    (git_repo / "a.py").write_text(CALL + "X = 1\n")
    (git_repo / "b.py").write_text(CALL)
    commit_all(git_repo)
    run_git(git_repo, "checkout", "-q", "-b", "other")
    (git_repo / "a.py").write_text(CALL + "X = 2\n")
    commit_all(git_repo)
    run_git(git_repo, "checkout", "-q", "main")
    (git_repo / "a.py").write_text(CALL + "X = 3\n")
    commit_all(git_repo)
    merge = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "merge", "other"], cwd=git_repo, capture_output=True
    )
    assert merge.returncode == 1 and b"<<<<<<<" in (git_repo / "a.py").read_bytes()
    return git_repo


def test_fix_refuses_to_write_during_a_merge(conflicted_merge: Path) -> None:
    repo = conflicted_merge
    before = {name: (repo / name).read_bytes() for name in ("a.py", "b.py")}
    out = invoke(repo, "fix", "--no-cache")
    assert out.exit_code == 2, out.stderr
    assert "refusing to rewrite files: a merge (MERGE_HEAD) is in progress, with 1 conflicted file: a.py." in out.stderr
    assert "--allow-dirty. Nothing was written." in out.stderr
    assert {name: (repo / name).read_bytes() for name in before} == before

    out = invoke(repo, "fix", "--no-cache", "--allow-dirty")
    assert out.exit_code == 3, out.stderr
    assert "warning: a merge (MERGE_HEAD) is in progress" in out.stderr and "error: a.py:" in out.stderr
    assert (repo / "a.py").read_bytes() == before["a.py"]
    assert "timeout=(10, None)" in (repo / "b.py").read_text()


def test_conflicts_left_after_the_merge_is_forgotten_still_stop_fix(conflicted_merge: Path) -> None:
    run_git(conflicted_merge, "merge", "--quit")  # no MERGE_HEAD; the conflicted index stays
    out = invoke(conflicted_merge, "fix", "--no-cache")
    assert out.exit_code == 2, out.stderr
    assert "refusing to rewrite files: 1 file with unresolved conflicts: a.py." in out.stderr
    assert "timeout" not in (conflicted_merge / "b.py").read_text()
