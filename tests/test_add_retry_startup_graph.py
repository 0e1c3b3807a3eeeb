"""add-retry follows start-up into other modules: a lifespan in main.py that calls a helper
in db.py that connects gets that helper decorated, unless another module may call it."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from conftest import commit_all, prodfix_exe

MAIN = """\
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import db


async def startup():
    await db.prepare()


@asynccontextmanager
async def lifespan(app: FastAPI):
    await startup()
    yield


app = FastAPI(lifespan=lifespan)
"""

DB = """\
from sqlalchemy.ext.asyncio import create_async_engine

from app.models import Base

engine = create_async_engine("postgresql+asyncpg://app@db/app")


async def create_models():
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def prepare():
    await create_models()
"""


def _repo(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    commit_all(root)


def _check(root: Path) -> str:
    out = subprocess.run(
        [prodfix_exe(), "check", "--select", "add-retry", "--explain", "--no-cache"], cwd=root, capture_output=True, text=True,
    )
    return " ".join(out.stdout.split())


def test_start_up_in_another_module_is_followed(git_repo: Path) -> None:
    _repo(git_repo, {"app/__init__.py": "", "app/main.py": MAIN, "app/db.py": DB, "app/models.py": "Base = None\n"})
    out = subprocess.run([prodfix_exe(), "diff", "--select", "add-retry", "--no-cache"], cwd=git_repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "+@retry(\n" in out.stdout and " async def create_models():" in out.stdout
    assert out.stdout.count("+@retry(") == 1
    assert "lifespan: lifespan() (app/main.py) -> startup() -> prepare() (app/db.py) -> create_models() -> engine.begin()" in _check(git_repo)


def test_a_helper_another_module_names_is_left_alone(git_repo: Path) -> None:
    views = "from app.db import prepare\n\n\nasync def reset(request):\n    await prepare()\n"
    _repo(git_repo, {"app/__init__.py": "", "app/main.py": MAIN, "app/db.py": DB, "app/views.py": views})
    out = subprocess.run([prodfix_exe(), "diff", "--select", "add-retry", "--no-cache"], cwd=git_repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert "create_models() connects but is not start-up code" in _check(git_repo)
