"""fix-imports end to end: sample repositories whose own tests fail with ModuleNotFoundError
before the fix and pass after it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, commit_all, prodfix_exe, run_git
from prodfix.engine.plan import make_plan

CASES = FIXTURES / "fix_imports"


def _repo(git_repo: Path, case: str) -> Path:
    shutil.copytree(CASES / case, git_repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.expected.py"))
    return git_repo


def _pytest(cwd: Path) -> subprocess.CompletedProcess:
    # The pytest script, not `python -m pytest`: the working directory must not be on sys.path,
    # only what the sample's own configuration (pythonpath) puts there, as in its CI.
    return subprocess.run(
        [str(Path(sys.executable).with_name("pytest")), "-q", "-p", "no:cacheprovider", "tests"],
        cwd=cwd, capture_output=True, text=True,
    )


@pytest.mark.parametrize(
    ("case", "tests_from", "remove"),
    [
        ("backend_layout", "backend", None),
        ("src_layout", ".", None),
        ("renames", ".", "app/services/database_manager_v4.py"),
    ],
)
def test_sample_tests_fail_before_and_pass_after(git_repo: Path, case: str, tests_from: str, remove: str | None) -> None:
    repo = _repo(git_repo, case)
    if remove:
        (repo / remove).unlink()  # the old module is gone, as after a real upgrade
    commit_all(repo)
    before = _pytest(repo / tests_from)
    assert before.returncode != 0 and "ModuleNotFoundError" in before.stdout, before.stdout
    fixed = subprocess.run([prodfix_exe(), "fix"], cwd=repo, capture_output=True, text=True)
    assert fixed.returncode == 0, fixed.stderr
    after = _pytest(repo / tests_from)
    assert after.returncode == 0, after.stdout + after.stderr
    again = subprocess.run([prodfix_exe(), "diff"], cwd=repo, capture_output=True)
    assert again.stdout == b""


def test_vote_and_reports(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(CASES / "backend_layout", repo, ignore=shutil.ignore_patterns("*.expected.py"))
    plan = make_plan([repo])
    index = plan.project.modules
    assert index.roots == ("backend",)
    assert dict(index.votes)["backend"] > dict(index.votes)[""]
    out = subprocess.run([prodfix_exe(), "check", "--explain"], cwd=repo, capture_output=True, text=True)
    assert "import root: backend" in out.stdout
    assert "sys.path.insert() makes imports depend on where the code is started from" in out.stdout
    assert "core.fast does not resolve but sits in an ImportError fallback; left alone" in out.stdout


def test_ambiguous_import_lists_candidates(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(CASES / "ambiguous", repo)
    out = subprocess.run([prodfix_exe(), "check"], cwd=repo, capture_output=True, text=True)
    assert out.returncode == 1
    assert "utils does not resolve under root '.'; several modules match: a.utils, b.utils" in out.stdout


def test_third_party_and_resolving_imports_are_never_touched(git_repo: Path) -> None:
    (git_repo / "requirements.txt").write_text("redis\n")
    (git_repo / "app").mkdir()
    (git_repo / "app" / "__init__.py").write_text("")
    (git_repo / "app" / "main.py").write_text(
        "import os\nimport redis\nimport yaml\nfrom app import helpers\nfrom . import helpers as h\n"
    )
    (git_repo / "app" / "helpers.py").write_text("")
    (git_repo / "redis").mkdir()  # a local folder named like a declared dependency
    (git_repo / "redis" / "conf.py").write_text("")
    commit_all(git_repo)
    out = subprocess.run([prodfix_exe(), "diff", "--select", "fix-imports"], cwd=git_repo, capture_output=True)
    assert out.returncode == 0 and out.stdout == b""


def test_dockerfile_pythonpath_is_a_root_candidate(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "service" / "handlers").mkdir(parents=True)
    (repo / "Dockerfile").write_text("FROM python:3.12\nWORKDIR /app\nCOPY . /app\nENV PYTHONPATH=/app/service\n")
    (repo / "service" / "handlers" / "orders.py").write_text("def handle():\n    return 1\n")
    (repo / "service" / "main.py").write_text("from handlers.orders import handle\n")
    (repo / ".prodfix.yml").write_text("select: [fix-imports]\n")
    index = make_plan([repo]).project.modules
    assert ("service", 1) in index.votes and index.roots == ("service",)


def test_only_real_sys_path_edits_bring_a_module_to_libcst(tmp_path: Path) -> None:
    """A docstring or comment mentioning sys.path is not parsed; a real sys.path.insert() is
    parsed and reported. Without renames no scope analysis runs either."""
    from prodfix.engine.pipeline import process_source
    from prodfix.engine.source import decode_source

    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "__init__.py").write_text("")
    (repo / "app" / "helpers.py").write_text("")
    mention = '"""Never touch sys.path here."""\n# sys.path.insert(0, ".") was removed\nfrom app import helpers\nappend(helpers)\n'
    edit = 'import sys\nsys.path.insert(0, ".")\nfrom app import helpers\n'
    (repo / "app" / "quiet.py").write_text(mention)
    (repo / "app" / "loud.py").write_text(edit)
    plan = make_plan([repo], None, ["fix-imports"], [], [])
    codemod = plan.codemods[0]
    assert codemod.metadata == ()
    quiet = process_source(decode_source(mention.encode()), "app/quiet.py", [codemod], plan.project)
    assert not quiet.parsed and not quiet.findings
    loud = process_source(decode_source(edit.encode()), "app/loud.py", [codemod], plan.project)
    assert loud.parsed and [f.message.split("(")[0] for f in loud.findings] == ["sys.path.insert"]
    assert type(codemod)(type(codemod).Options(renames={"a": "b"})).metadata == ("scope",)


_STUBS = {
    "pandas/__init__.py": "class DataFrame:\n    pass\n\n\ndef concat(frames):\n    return frames\n",
    "redis/__init__.py": "class Redis:\n    @classmethod\n    def from_url(cls, url):\n        return cls()\n",
    "yaml/__init__.py": "def safe_load(text):\n    return text\n\n\ndef safe_dump(data):\n    return str(data)\n",
}
# (import statement, a module-level use that fails when the import is bound to the wrong module)
_THIRD_PARTY_IMPORTS = [
    ("import pandas as pd", "pd.DataFrame"),
    ("from pandas import DataFrame, concat", "concat"),
    ("import redis", "redis.Redis.from_url"),
    ("from redis import Redis", "Redis"),
    ("import yaml", "yaml.safe_load"),
    ("from yaml import safe_dump", "safe_dump"),
]


def _generated_project(repo: Path) -> list[str]:
    """~30 modules importing pandas / redis / yaml next to first-party helpers of the same
    names (shop/utils/pandas.py, shop/cache/redis.py, shop/formats/yaml/), with the
    dependencies declared in setup.py only (pandas), in requirements/base.in reached through
    -r (redis) and nowhere (yaml: installed). Two modules use the seed's broken layout
    (``from core.settings import ...`` for shop/core/settings.py). Returns the module names."""
    files = {
        "setup.py": 'from setuptools import setup\n\nsetup(name="shop", install_requires=["pandas>=2"])\n',
        "requirements.txt": "-r requirements/base.in\n",
        "requirements/base.in": "redis>=5\n",
        "shop/__init__.py": "",
        "shop/utils/__init__.py": "",
        "shop/utils/pandas.py": "def to_rows(frame):\n    return [frame]\n",
        "shop/cache/__init__.py": "",
        "shop/cache/redis.py": "def key(name):\n    return f'shop:{name}'\n",
        "shop/formats/__init__.py": "",
        "shop/formats/yaml/__init__.py": "from shop.formats.yaml.dump import dump  # noqa: F401\n",
        "shop/formats/yaml/dump.py": "def dump(data):\n    return str(data)\n",
        "shop/core/__init__.py": "",
        "shop/core/settings.py": "DEBUG = False\nNAME = 'shop'\n",
    }
    helpers = ["from shop.utils.pandas import to_rows", "from shop.cache.redis import key", "from shop.formats.yaml import dump"]
    for package in ("reports", "api", "jobs", "admin"):
        files[f"shop/{package}/__init__.py"] = ""
        for n in range(6):
            chosen = [_THIRD_PARTY_IMPORTS[(n + k) % len(_THIRD_PARTY_IMPORTS)] for k in range(3)]
            lines = [statement for statement, _ in chosen] + ["", helpers[n % 3], "", ""]
            lines += [f"USES = [{', '.join(use for _, use in chosen)}]", ""]
            files[f"shop/{package}/m{n}.py"] = "\n".join(lines)
    files["shop/api/views.py"] = "from core.settings import DEBUG\n\nSTATE = DEBUG\n"
    files["shop/jobs/config.py"] = "import yaml\nfrom core.settings import NAME\n\nLOADED = yaml.safe_load(NAME)\n"
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    return sorted(rel[:-3].replace("/", ".").removesuffix(".__init__") for rel in files if rel.startswith("shop/"))


_IMPORT_ALL = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print("\\n".join(failed))
"""


def test_generated_project_imports_every_module_after_the_fix(git_repo: Path, tmp_path: Path) -> None:
    stubs = tmp_path / "stubs"
    for rel, text in _STUBS.items():
        (stubs / rel).parent.mkdir(parents=True, exist_ok=True)
        (stubs / rel).write_text(text)
    modules = _generated_project(git_repo)
    assert len(modules) >= 30
    commit_all(git_repo)
    env = {**os.environ, "PYTHONPATH": str(stubs)}  # the project's environment: its dependencies installed

    def import_all() -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_ALL, *modules], cwd=git_repo, env=env, capture_output=True, text=True,
        )
        assert out.returncode == 0, out.stderr
        return [line for line in out.stdout.splitlines() if line]

    before = import_all()
    assert sorted(line.split(":")[0] for line in before) == ["shop.api.views", "shop.jobs.config"], before
    fixed = subprocess.run([prodfix_exe(), "fix", "--select", "fix-imports"], cwd=git_repo, env=env, capture_output=True, text=True)
    assert fixed.returncode == 0, fixed.stderr
    assert import_all() == []
    changed = run_git(git_repo, "diff", "--name-only").split()
    assert changed == ["shop/api/views.py", "shop/jobs/config.py"]
    assert (git_repo / "shop/jobs/config.py").read_text().startswith("import yaml\n\nfrom shop.core.settings import NAME\n")  # first party: a section of its own
    check = subprocess.run([prodfix_exe(), "check", "--select", "fix-imports"], cwd=git_repo, env=env, capture_output=True, text=True)
    assert check.returncode == 0 and "PF005" not in check.stdout, check.stdout


def test_what_a_candidate_defines_is_cached_and_its_change_is_seen(git_repo: Path) -> None:
    """The routes module is unchanged between the runs; the result cache must not answer it
    from the first run once the module it would be rewritten to gains the missing name."""
    files = {
        "app/__init__.py": "from app.core.settings import DEBUG  # noqa: F401\n",
        "app/core/__init__.py": "",
        "app/core/settings.py": "DEBUG = True\n",
        "app/api/__init__.py": "",
        "app/api/routes.py": "from core.settings import DEBUG, NAME\n",
    }
    for rel, text in files.items():
        (git_repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (git_repo / rel).write_text(text)
    (git_repo / ".prodfix.yml").write_text("select: [fix-imports]\n")
    commit_all(git_repo)
    first = subprocess.run([prodfix_exe(), "check"], cwd=git_repo, capture_output=True, text=True)
    assert "the only match, app.core.settings, does not define NAME" in first.stdout
    facts = json.loads(next((git_repo / ".prodfix_cache").rglob("facts.json")).read_text())["entries"]
    assert facts["app/core/settings.py"][1][4] == [["DEBUG"], False]
    (git_repo / "app/core/settings.py").write_text("DEBUG = True\nNAME = 'svc'\n")
    second = subprocess.run([prodfix_exe(), "diff"], cwd=git_repo, capture_output=True, text=True)
    assert "+from app.core.settings import DEBUG, NAME" in second.stdout
