"""What is third-party for a repository (engine/third_party.py): every place dependencies are
declared, lock files, the environment and the standard library, read once per run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from prodfix.engine.plan import make_plan
from prodfix.engine.third_party import import_names, is_requirements_file, requirement_name


def _index(repo: Path, files: dict[str, str], nested: list[str]):
    """The module index of a repository holding ``files`` and, for each of ``nested``, a
    module of that name deep inside its package (so that the name could be mistaken for one)."""
    files = {"app/__init__.py": "", "app/main.py": "from app import helpers\n", "app/helpers.py": "", **files}
    for name in nested:
        files[f"app/integrations/{name}.py"] = "def helper():\n    return 1\n"
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    (repo / ".prodfix.yml").write_text("select: [fix-imports]\n")
    return make_plan([repo]).project.modules


def test_pyproject_tables(tmp_path: Path) -> None:
    pyproject = """
[project]
name = "shop"
dependencies = ["Alpha>=1", "beta[extra]; python_version > '3.8'"]
[project.optional-dependencies]
cache = ["gamma"]
[dependency-groups]
dev = ["delta", {include-group = "lint"}]
lint = ["epsilon"]
[tool.poetry.dependencies]
python = "^3.11"
zeta = "^1"
[tool.poetry.dev-dependencies]
eta = "*"
[tool.poetry.group.docs.dependencies]
theta = "*"
[tool.pdm.dev-dependencies]
test = ["iota"]
[tool.hatch.envs.default]
dependencies = ["kappa"]
extra-dependencies = ["lambda_"]
[tool.uv]
dev-dependencies = ["mu"]
"""
    names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda_", "mu"]
    index = _index(tmp_path, {"pyproject.toml": pyproject}, [*names, "lint", "nu"])
    assert [n for n in names if not index.is_third_party(n)] == []
    assert not index.is_third_party("lint") and not index.is_third_party("nu")


def test_setup_py_is_read_with_ast_and_never_run(tmp_path: Path) -> None:
    setup = f"""
import pathlib
from setuptools import setup
pathlib.Path({str(tmp_path / "ran")!r}).write_text("ran")
BASE = ["alpha>=1", "beta"]
TESTS = BASE + ["gamma"]
EXTRAS = {{"redis": ["delta"], "all": ["epsilon", *BASE]}}
ARGS = dict(setup_requires=["zeta"])
setup(name="shop", install_requires=BASE, tests_require=TESTS, extras_require=EXTRAS,
      **ARGS)
setup(install_requires=open("requirements.txt").read().splitlines())
"""
    names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    index = _index(tmp_path, {"setup.py": setup}, [*names, "eta"])
    assert [n for n in names if not index.is_third_party(n)] == []
    assert not index.is_third_party("eta")
    assert not (tmp_path / "ran").exists()


def test_setup_cfg_and_pipfile(tmp_path: Path) -> None:
    cfg = "[metadata]\nname = shop\n[options]\ninstall_requires =\n    alpha>=1\n    beta\n[options.extras_require]\ncache = gamma\n"
    pipfile = '[packages]\ndelta = "*"\n[dev-packages]\nepsilon = "*"\n'
    index = _index(tmp_path, {"setup.cfg": cfg, "Pipfile": pipfile}, ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"])
    assert all(index.is_third_party(n) for n in ("alpha", "beta", "gamma", "delta", "epsilon"))
    assert not index.is_third_party("zeta")


def test_every_requirements_file_with_its_includes(tmp_path: Path) -> None:
    files = {
        "requirements/prod.txt": "-r base.in\n--constraint=../constraints.txt\nalpha==1  # pinned\n",
        "requirements/base.in": "beta>=2\n-e git+https://example.invalid/x.git#egg=gamma\ndelta @ https://example.invalid/d.whl\n./local/pkg\n",
        "constraints.txt": "epsilon<3\n",
        "deploy/worker/requirements-worker.txt": "zeta\n",
        "MANIFEST.in": "include eta\n",
    }
    index = _index(tmp_path, files, ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "local"])
    assert all(index.is_third_party(n) for n in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta"))
    assert not index.is_third_party("eta") and not index.is_third_party("local")


def test_lock_files_and_conda(tmp_path: Path) -> None:
    files = {
        "poetry.lock": '[[package]]\nname = "alpha"\nversion = "1"\n\n[[package]]\nname = "Beta-Lib"\nversion = "2"\n',
        "svc/uv.lock": 'version = 1\n\n[[package]]\nname = "gamma"\nversion = "1"\n\n[[package]]\nname = "shop"\nsource = { editable = "." }\n',
        "tools/pdm.lock": '[[package]]\nname = "delta"\nversion = "1"\n',
        "Pipfile.lock": '{"_meta": {}, "default": {"epsilon": {}}, "develop": {"zeta": {}}}',
        "environment.yml": "name: shop\ndependencies:\n  - python=3.11\n  - conda-forge::eta=1.2\n  - pytorch\n  - pip:\n    - theta>=1\n",
        "pyproject.toml": '[project]\nname = "shop"\n',
    }
    names = ["alpha", "beta_lib", "gamma", "delta", "epsilon", "zeta", "eta", "torch", "theta"]
    index = _index(tmp_path, files, [*names, "shop"])
    assert [n for n in names if not index.is_third_party(n)] == []
    assert not index.is_third_party("shop")  # the project itself, listed in its own uv.lock


def test_installed_names_come_from_metadata_and_the_environment(tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "env" / "site-packages"
    (site / "stubbed").mkdir(parents=True)
    (site / "stubbed" / "__init__.py").write_text("")
    (site / "onefile.py").write_text("")
    (site / "Odd_Dist-1.0.dist-info").mkdir()
    (site / "Odd_Dist-1.0.dist-info" / "top_level.txt").write_text("oddly\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    repo = tmp_path / "repo"
    repo.mkdir()
    index = _index(repo, {"requirements.txt": "odd-dist\n"}, ["stubbed", "onefile", "oddly", "odd_dist", "yaml"])
    assert all(index.is_third_party(n) for n in ("stubbed", "onefile", "oddly", "odd_dist", "yaml"))  # yaml: prodfix's own
    assert index.is_third_party("json.decoder") and index.is_third_party("secrets")  # the standard library


def test_an_installed_name_at_an_import_root_stays_first_party(tmp_path: Path, monkeypatch) -> None:
    site = tmp_path / "env" / "site-packages"
    (site / "tests").mkdir(parents=True)  # some distributions install a top-level tests package
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    repo = tmp_path / "repo"
    repo.mkdir()
    index = _index(repo, {"tests/__init__.py": "", "tests/test_main.py": "from tests import helpers\n", "tests/helpers.py": ""}, [])
    assert not index.is_third_party("tests") and index.may_be_first_party("tests.helpers")


@pytest.mark.parametrize("target", ["outside", "/proc/self/environ"])
def test_manifests_linked_outside_the_root_are_not_read(tmp_path: Path, target: str) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("alpha\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("requirements.txt", "setup.py", "poetry.lock", "Pipfile.lock", "environment.yml"):
        os.symlink(outside if target == "outside" else target, repo / name)
    (repo / "requirements").mkdir()
    os.symlink(outside, repo / "requirements" / "base.in")
    index = _index(repo, {"requirements-dev.txt": f"-r {outside}\n"}, ["alpha"])
    assert not index.is_third_party("alpha")


def test_names_and_files() -> None:
    assert requirement_name("Django>=4.2 # web") == "django"
    assert requirement_name("zope.interface") == "zope-interface"
    assert requirement_name("-e git+https://x/y.git#egg=Foo_Bar") == "foo-bar"
    assert requirement_name("https://example.invalid/x.whl") is None and requirement_name("--hash=sha256:0") is None
    assert is_requirements_file("requirements/base.in") and is_requirements_file("dev-requirements.txt")
    assert not is_requirements_file("MANIFEST.in") and not is_requirements_file("docs/notes.txt")
    assert {"yaml", "pyyaml"} <= import_names("PyYAML")
    assert "jwt" in import_names("PyJWT") and "dateutil" in import_names("python-dateutil")
    assert "mptt" in import_names("django-mptt") and "flask_sqlalchemy" in import_names("Flask-SQLAlchemy")
    assert "pil" in import_names("Pillow") and "google" in import_names("google-cloud-storage")
    assert import_names("requests") == {"requests"}
    assert import_names("py") == {"py"} and import_names("python-ab") == {"python_ab"}  # no stub names


def test_a_folder_inside_a_package_is_not_an_import_root(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "", "shop/tests/unit/__init__.py": "", "shop/tests/unit/test_a.py": "from unit import b\n",
        "shop/tests/unit/b.py": "", "shop/tests/conftest.py": "from unit import b\n",
    }
    index = _index(tmp_path, files, [])
    assert "shop/tests" not in dict(index.votes) and index.roots == ("",)
    assert {"app", "shop"} <= index.own_packages


def test_metadata_of_a_virtualenv_inside_the_repository_is_read_only_inside_it(tmp_path: Path, monkeypatch) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("leaked\n")
    repo = tmp_path / "repo"
    site = repo / ".venv" / "lib" / "site-packages"
    (site / "honest-1.0.dist-info").mkdir(parents=True)
    (site / "honest-1.0.dist-info" / "top_level.txt").write_text("honestly\n")
    (site / "linked-1.0.dist-info").mkdir()
    os.symlink(outside, site / "linked-1.0.dist-info" / "top_level.txt")
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    index = _index(repo, {"requirements.txt": "honest\nlinked\n"}, ["honestly", "leaked"])
    assert index.is_third_party("honestly") and not index.is_third_party("leaked")


def test_a_conda_file_with_an_alias_bomb_is_not_expanded(tmp_path: Path) -> None:
    """A committed environment.yml is input from anyone: aliases are refused, not expanded
    (seven lines of nested aliases take minutes and gigabytes with a plain safe_load)."""
    import time

    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    files = {"environment.yml": "\n".join(lines) + "\ndependencies:\n  - kappa\n", "pyproject.toml": '[project]\nname = "shop"\n'}
    start = time.monotonic()
    index = _index(tmp_path, files, ["kappa", "shop"])
    assert time.monotonic() - start < 10
    assert not index.is_third_party("kappa")  # the file was not read
