"""`prodfix pr` against GitHub: real PyGithub talking to a loopback fake whose every request and
response is validated against GitHub's OpenAPI description, and real git pushing over
authenticated smart HTTP."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from conftest import commit_all, run_git, serve_over_http
from github_fake import FakeGitHub
from helpers import publish_print_fixes
from prodfix.forges.github import GitHubForge
from prodfix.vcs import secrets
from prodfix.vcs.remote import Credentials, auth_environment
from test_branch import _snapshot
from test_cli import prodfix

TOKEN = "ghs_" + "pr0dfixT3st" * 4
BRANCH = "prodfix/hardening"


@pytest.fixture
def github(tmp_path: Path, sample_backend: Path):
    """The sample backend with `origin` on an authenticated smart-HTTP remote, and a fake GitHub."""
    git_server, bare = serve_over_http(sample_backend, tmp_path / "remotes", "service.git", "x-access-token", TOKEN)
    api = FakeGitHub(owner="octo", repo="service", token=TOKEN).start()
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": api.base_url, "GITHUB_REPOSITORY": "octo/service",
        "GITHUB_OUTPUT": str(output), "GITHUB_ACTIONS": "true",
    }
    yield sample_backend, bare, api, git_server, env, output
    api.stop()
    git_server.stop()
    secrets.forget()


def _secret_free(*texts: bytes) -> bool:
    encoded = base64.b64encode(f"x-access-token:{TOKEN}".encode())
    return all(TOKEN.encode() not in t and encoded not in t for t in texts)


def test_pr_creates_then_leaves_an_up_to_date_pull_request_alone(github) -> None:
    repo, bare, api, git_server, env, output = github
    base = run_git(repo, "rev-parse", "HEAD").strip()
    before = _snapshot(repo)
    out = prodfix(repo, "pr", "--label", "prodfix", "--reviewer", "alice", "--format", "json", env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["status"], data["number"], data["pushed"], data["base_sha"]) == ("created", 1, True, base)
    assert data["url"] == "https://github.invalid/octo/service/pull/1"
    assert run_git(bare, "rev-parse", f"refs/heads/{BRANCH}").strip() == data["head_sha"]
    assert len(data["commits"]) == 3
    assert b"prodfix pr: created: created #1" in out.stderr
    assert api.violations == []
    pull = api.pulls[1]
    assert (pull["head"], pull["base"], pull["title"]) == (BRANCH, "main", "prodfix: production-readiness fixes")
    assert pull["labels"] == ["prodfix"] and pull["reviewers"] == ["alice"]
    assert "# prodfix production-readiness report" in pull["body"] and "changes=" in pull["body"]
    assert "`PF003` add-retry" in pull["body"]
    written = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert written == {
        "status": "created", "number": "1", "url": data["url"], "head-sha": data["head_sha"], "branch": BRANCH,
        "base-sha": base,
    }
    assert _snapshot(repo) == before  # the checkout, index and current branch are untouched
    assert _secret_free(out.stdout, out.stderr)
    data_on_disk = b"".join(p.read_bytes() for p in (repo / ".git").rglob("*") if p.is_file())
    assert _secret_free(data_on_disk)

    # the same run again: nothing pushed, nothing written on GitHub
    writes = [r for r in api.requests if r[0] != "GET"]
    pushes = [s for s in git_server.requests if s.method == "POST" and s.path.endswith("git-receive-pack")]
    again = prodfix(repo, "pr", "--format", "json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "unchanged"
    assert [r for r in api.requests if r[0] != "GET"] == writes
    assert [s for s in git_server.requests if s.method == "POST" and s.path.endswith("git-receive-pack")] == pushes
    assert api.violations == []


def test_dry_run_sends_nothing_and_shows_the_body(github) -> None:
    repo, bare, api, git_server, env, _ = github
    smoke = f"{sys.executable} -c 'import app.orders, app.store'"  # the changed modules import
    out = prodfix(repo, "pr", "--dry-run", "--verify", smoke, env={**env, "GITHUB_TOKEN": ""})
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert text.startswith("would push ") and "title: prodfix: production-readiness fixes" in text
    assert "# prodfix production-readiness report" in text
    assert f"## Verification\n\n`{smoke.replace('`', chr(39))}`: passed." in text
    assert api.requests == [] and git_server.requests == []
    assert run_git(bare, "branch", "--list", BRANCH) == "" and run_git(repo, "branch", "--list", BRANCH) == ""


def test_fork_pull_request_events_are_skipped(github, tmp_path: Path) -> None:
    repo, _, api, git_server, env, output = github
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {
        "head": {"repo": {"full_name": "someone/service"}}, "base": {"repo": {"full_name": "octo/service"}},
    }}))
    out = prodfix(repo, "pr", env={**env, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)})
    assert out.returncode == 0, out.stderr
    assert b"skipped: this run is for a pull request from the fork someone/service" in out.stderr
    assert api.requests == [] and git_server.requests == []
    assert "status=skipped" in output.read_text()


def test_missing_or_wrong_token_fails_clearly_and_quietly(github) -> None:
    repo, bare, api, _, env, _ = github
    missing = prodfix(repo, "pr", env={**env, "GITHUB_TOKEN": "", "GH_TOKEN": ""})
    assert missing.returncode == 2
    assert b"no GitHub token: set GITHUB_TOKEN or GH_TOKEN" in missing.stderr
    wrong = "ghs_" + "wrongWrong" * 4
    bad = prodfix(repo, "pr", env={**env, "GITHUB_TOKEN": wrong})
    assert bad.returncode == 2
    assert b"cannot read prodfix/hardening from origin" in bad.stderr
    assert wrong.encode() not in bad.stderr + bad.stdout
    assert run_git(bare, "branch", "--list", BRANCH) == ""


# --- the forge's decisions with real PyGithub, without the CLI -----------------------------


def _publish(repo: Path, api: FakeGitHub, url: str, **kwargs):
    forge = GitHubForge(TOKEN, "octo/service", api.base_url, seconds_between_writes=0)
    return publish_print_fixes(repo, forge, auth_environment(url, Credentials(TOKEN, "x-access-token")), **kwargs)


def test_lost_race_closed_pull_request_base_has_changes_and_failing_labels(github) -> None:
    repo, _, api, git_server, _, _ = github
    url = git_server.url("service.git")
    api.race_on_create = True
    raced = _publish(repo, api, url)
    assert (raced.status, raced.pull.number) == ("updated", 1)  # the other run's pull request, updated
    assert len(api.pulls) == 1 and api.pulls[1]["title"] == "prodfix: production-readiness fixes"

    api.pulls[1]["state"] = "closed"  # a reviewer closes it unmerged
    skipped = _publish(repo, api, url)
    assert (skipped.status, skipped.pull.number, skipped.pushed) == ("skipped", 1, False)

    (repo / "app" / "extra.py").write_text("def hello():\n    print('hello')\n")
    commit_all(repo)
    api.fail_labels = True
    fresh = _publish(repo, api, url, labels=("does-not-exist",))
    assert (fresh.status, fresh.pull.number) == ("created", 2)
    assert fresh.warnings and fresh.warnings[0].startswith("could not add labels does-not-exist to #2: GitHub labelling #2")

    run_git(repo, "merge", "-q", "--ff-only", fresh.head_sha)
    closed = _publish(repo, api, url)
    assert (closed.status, closed.pull.number) == ("closed", 2) and api.pulls[2]["state"] == "closed"
    assert api.comments and api.comments[-1][0] == 2
    assert api.violations == []


def test_the_fake_rejects_what_github_would_not_accept(github, monkeypatch) -> None:
    """The validation is real: a request missing a required field, or a response missing one,
    is caught."""
    import requests

    _, _, api, _, _, _ = github
    headers = {"Authorization": f"token {TOKEN}"}
    bad = requests.post(f"{api.base_url}/repos/octo/service/pulls", json={"title": "no head or base"}, headers=headers, timeout=10)
    assert bad.status_code == 500 and len(api.violations) == 1 and api.violations[0].startswith("request POST /repos/octo/service/pulls")
    api.add_pull(BRANCH, "main", "t", "b")
    assert requests.get(f"{api.base_url}/repos/octo/service/pulls", headers=headers, timeout=10).status_code == 200
    shape = api._pull_json
    monkeypatch.setattr(api, "_pull_json", lambda p, simple=False: {k: v for k, v in shape(p, simple).items() if k != "number"})
    broken = requests.get(f"{api.base_url}/repos/octo/service/pulls", headers=headers, timeout=10)
    assert broken.status_code == 500 and api.violations[1].startswith("response GET /repos/octo/service/pulls 200")


def test_the_base_branch_of_a_detached_ci_checkout(github, tmp_path: Path) -> None:
    repo, _, api, _, env, _ = github
    run_git(repo, "checkout", "-q", "--detach")
    nameless = prodfix(repo, "pr", "--dry-run", env={**env, "GITHUB_REF_NAME": ""})
    assert nameless.returncode == 2 and b"HEAD is detached and no CI variable names the branch" in nameless.stderr
    named = prodfix(repo, "pr", "--dry-run", env={**env, "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main"})
    assert named.returncode == 0, named.stderr
    assert b"would open or update the pull request into main" in named.stdout
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"repo": {"full_name": "octo/service"}},
                                                  "base": {"repo": {"full_name": "octo/service"}}}}))
    merge = prodfix(repo, "pr", "--dry-run", env={**env, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
                                                  "GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "3/merge"})
    assert merge.returncode == 2 and b"HEAD is the merge commit of a pull request" in merge.stderr
    assert api.requests == []
