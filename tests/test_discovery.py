"""Which files a run sees: git's view, .gitignore without git, skipped folders, excludes."""

from __future__ import annotations

from pathlib import Path

from conftest import commit_all
from prodfix.engine.plan import make_plan


def _rels(root: Path, *paths: str, exclude: list[str] | None = None) -> list[str]:
    plan = make_plan([root / p for p in paths] or [root], exclude=exclude)
    return [rel for _, rel in plan.files]


def _touch(root: Path, *rels: str) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def test_git_tracked_untracked_and_ignored(git_repo: Path) -> None:
    _touch(git_repo, "app/a.py", "app/b.py", "build/gen.py", "node_modules/x.py", "notes.txt")
    (git_repo / ".gitignore").write_text("app/b.py\n")
    commit_all(git_repo)
    _touch(git_repo, "app/new.py", ".venv/lib/site.py", "myenv/lib/mod.py")
    (git_repo / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    (git_repo / "app" / "a.py").unlink()  # deleted but still tracked
    assert _rels(git_repo) == ["app/new.py"]


def test_without_git_gitignore_rules_apply(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _touch(
        root, "svc/a.py", "svc/gen_b.py", "svc/sub/c.py", "svc/sub/d.py", "venv/x.py", "pkg.egg-info/y.py",
        "myenv/z.py", "generated/g.py",
    )
    (root / "myenv" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / ".gitignore").write_text("gen_*.py\ngenerated/\n")
    (root / "svc" / "sub" / ".gitignore").write_text("d.py\n")
    (root / ".prodfix.yml").write_text("exclude: []\n")
    assert _rels(root) == ["svc/a.py", "svc/sub/c.py"]
    # a sub-folder given directly still honours the ignore files above it
    assert _rels(root, "svc/sub") == ["svc/sub/c.py"]
    # a line git cannot use is skipped, as git skips it; the rest still apply
    (root / ".gitignore").write_text("gen_*.py\n!\ngenerated/\n")
    assert _rels(root) == ["svc/a.py", "svc/sub/c.py"]


def test_exclude_globs_and_explicit_files(git_repo: Path) -> None:
    _touch(git_repo, "app/models.py", "app/migrations/0001_initial.py", "scripts/run.py")
    commit_all(git_repo)
    assert _rels(git_repo, exclude=["**/migrations/**"]) == ["app/models.py", "scripts/run.py"]
    assert _rels(git_repo, "scripts/run.py", "app") == [
        "app/migrations/0001_initial.py", "app/models.py", "scripts/run.py",
    ]
    assert _rels(git_repo, "app/migrations/0001_initial.py", exclude=["**/migrations/**"]) == []


def test_symlinked_files_are_not_followed(tmp_path: Path, git_repo: Path) -> None:
    outside = tmp_path / "elsewhere"
    _touch(outside, "shared.py")
    for root in (git_repo, tmp_path / "plain"):
        _touch(root, "app/real.py", "app/venvlike/pyvenv.cfg.py")
        (root / "app" / "outside.py").symlink_to(outside / "shared.py")  # not this repository's file
        (root / "app" / "alias.py").symlink_to("real.py")  # the same file under a second name
        (root / "linked").symlink_to(root / "app", target_is_directory=True)
        if root == git_repo:
            commit_all(git_repo)
        else:
            (root / ".prodfix.yml").write_text("exclude: []\n")  # marks the project root
        assert _rels(root) == ["app/real.py", "app/venvlike/pyvenv.cfg.py"], root
        # named on the command line, a link is the file it points to
        assert _rels(root, "app/alias.py") == ["app/real.py"], root
