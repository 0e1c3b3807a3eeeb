"""Reading and pushing the bot's branch on a remote, with the token only in git's environment.

The token is handed to git as an HTTP header through ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``
in the child's environment: never on a command line (visible to every process), in a URL or in
``.git/config``. An empty value first resets the ``extraheader`` list for that URL, because
actions/checkout leaves its own (possibly expired) header in ``.git/config`` and git would send
both. The push is ``--force-with-lease`` against the exact sha prodfix read before building, so
a branch someone pushed to in between is never overwritten.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from prodfix.vcs.gitcmd import GitError, run_git
from prodfix.vcs.secrets import basic_credentials, register

PRIVATE_PREFIX = "refs/prodfix/remote/"  # where a fetched branch is kept: no local branch is made


class RemoteError(GitError):
    pass


class LeaseRejected(RemoteError):
    """The remote branch moved between our read and our push."""


@dataclass(frozen=True)
class Credentials:
    token: str
    username: str  # the Basic-auth user the forge expects with a token (GitHub: x-access-token)

    def __post_init__(self) -> None:
        register(self.token, self.username)


def remote_url(root: Path, remote: str) -> str:
    try:
        return run_git(root, "remote", "get-url", "--push", remote).strip()
    except GitError:
        raise RemoteError(f"no git remote named {remote!r} (see `git remote -v`)") from None


def url_prefix(url: str) -> str | None:
    """``scheme://host[:port]/`` of an HTTP(S) remote URL, the key git matches ``http.<url>.*``
    against; None for ssh and local remotes (they do not take a header)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}/"


def auth_environment(url: str, credentials: Credentials | None) -> dict[str, str]:
    """Environment for a git child process talking to ``url``: no prompts, and the token as an
    Authorization header appended to whatever GIT_CONFIG_* entries the caller already has."""
    env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
    prefix = url_prefix(url)
    if credentials is None or prefix is None:
        return env
    try:
        count = int(os.environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        count = 0
    key = f"http.{prefix}.extraheader"
    header = f"Authorization: Basic {basic_credentials(credentials.username, credentials.token)}"
    env.update({
        "GIT_CONFIG_COUNT": str(count + 2),
        f"GIT_CONFIG_KEY_{count}": key, f"GIT_CONFIG_VALUE_{count}": "",  # reset headers from .git/config
        f"GIT_CONFIG_KEY_{count + 1}": key, f"GIT_CONFIG_VALUE_{count + 1}": header,
    })
    return env


def fetch_branch(root: Path, remote: str, branch: str, env: dict[str, str]) -> str | None:
    """The remote branch's tip, its commits fetched under a private ref; None when it does not exist."""
    private = PRIVATE_PREFIX + branch
    try:
        listed = run_git(root, "ls-remote", "--heads", "--", remote, f"refs/heads/{branch}", env=env)
        if not re.search(rf"\trefs/heads/{re.escape(branch)}$", listed, re.M):
            return None
        run_git(root, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, f"+refs/heads/{branch}:{private}", env=env)
    except GitError as exc:
        raise RemoteError(f"cannot read {branch} from {remote}: {exc}") from None
    return run_git(root, "rev-parse", "--verify", private).strip()


def push_branch(root: Path, remote: str, sha: str, branch: str, expected: str | None, env: dict[str, str]) -> None:
    """Point ``refs/heads/<branch>`` on the remote at ``sha``, only if it still is ``expected``
    (None: only if it does not exist)."""
    ref = f"refs/heads/{branch}"
    try:
        run_git(
            root, "push", "--quiet", "--no-verify", f"--force-with-lease={ref}:{expected or ''}", remote, f"{sha}:{ref}",
            env=env,
        )
    except GitError as exc:
        if "stale info" in str(exc) or "(fetch first)" in str(exc) or "rejected" in str(exc):
            raise LeaseRejected(
                f"{remote} {branch} changed while prodfix was building it; nothing pushed, run again ({exc})"
            ) from None
        raise RemoteError(str(exc)) from None
    run_git(root, "update-ref", PRIVATE_PREFIX + branch, sha)
