import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The sample projects under fixtures/ have tests of their own; they run only on purpose.
collect_ignore_glob = ["fixtures/*"]

FIXTURES = Path(__file__).parent / "fixtures"


def run_git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }
    out = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def git_repo(tmp_path: Path):
    """An empty git work tree."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    return repo


# A logging set-up that shows INFO: print-to-logging turns an INFO print into a record only
# where the project's logging would show it (a project with none shows WARNING and above).
LOGGING_INI = (
    "[loggers]\nkeys = root\n\n[handlers]\nkeys = console\n\n[formatters]\nkeys =\n\n"
    "[logger_root]\nlevel = INFO\nhandlers = console\n\n"
    "[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\n"
)


def configure_logging(repo: Path) -> None:
    """Give a test repository a logging file at its root, as a server is pointed at with --log-config."""
    (repo / "logging.ini").write_text(LOGGING_INI)


def commit_all(repo: Path, message: str = "snapshot") -> None:
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def sample_backend(git_repo: Path) -> Path:
    shutil.copytree(FIXTURES / "sample_backend", git_repo, dirs_exist_ok=True)
    commit_all(git_repo, "sample backend")
    return git_repo


def prodfix_exe() -> str:
    exe = Path(sys.executable).with_name("prodfix")
    assert exe.exists(), "the prodfix console script is not installed next to this Python"
    return str(exe)


def serve_over_http(repo: Path, remotes: Path, name: str, user: str, token: str):
    """Push ``repo``'s main to a bare ``remotes/<name>`` served by an authenticated smart-HTTP
    server (started; the caller stops it) and make it ``repo``'s origin. Returns (server, bare)."""
    from git_http_server import GitHttpServer

    bare = remotes / name
    bare.parent.mkdir(parents=True, exist_ok=True)
    run_git(bare.parent, "init", "-q", "--bare", str(bare))
    run_git(bare, "config", "http.receivepack", "true")
    run_git(repo, "push", "-q", str(bare), "main")
    server = GitHttpServer(remotes, user, token).start()
    run_git(repo, "remote", "add", "origin", server.url(name))
    return server, bare
