"""engine/conventions.py: the project's formatter, line length, quotes and isort settings, one
test per kind of file it reads, and who wins where two tools disagree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prodfix.codemods.common.style import Style
from prodfix.engine.conventions import fingerprint, read_style


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_nothing_configured_is_the_tools_defaults(tmp_path):
    assert read_style(tmp_path) == Style()


def test_black_line_length_quotes_and_magic_comma(tmp_path):
    style = read_style(project(tmp_path, {"pyproject.toml": "[tool.black]\nline-length = 119\nskip-magic-trailing-comma = true\n"}))
    assert (style.formatter, style.line_length, style.quote, style.magic_trailing_comma) == ("black", 119, "double", False)
    assert ("line length 119", "pyproject.toml [tool.black]") in style.sources
    style = read_style(project(tmp_path, {"pyproject.toml": "[tool.black]\nskip-string-normalization = true\ntarget-version = ['py38']\n"}))
    assert (style.line_length, style.quote, style.target_versions) == (88, None, ("py38",))


@pytest.mark.parametrize("name", ["ruff.toml", ".ruff.toml"])
def test_ruff_format_settings(tmp_path, name):
    text = "line-length = 100\nindent-width = 2\n[format]\nquote-style = 'single'\n[lint.isort]\nknown-first-party = ['app']\nforce-single-line = true\nlines-after-imports = 2\n"
    style = read_style(project(tmp_path, {name: text}))
    assert (style.formatter, style.line_length, style.quote, style.indent) == ("ruff", 100, "single", "  ")
    assert style.imports.known_first_party == ("app",)
    assert style.imports.force_single_line and style.imports.lines_after_imports == 2
    assert ("line length 100", f"{name} line-length") in style.sources


def test_ruff_in_pyproject_with_legacy_isort_table(tmp_path):
    text = "[tool.ruff]\nline-length = 120\n[tool.ruff.isort]\ncombine-as-imports = true\norder-by-type = false\n"
    style = read_style(project(tmp_path, {"pyproject.toml": text}))
    assert style.formatter is None  # ruff configured, its formatter never mentioned: a linter's limit
    assert style.line_length == 120
    assert style.imports.combine_as_imports and not style.imports.order_by_type


def test_ruff_lint_flake8_quotes(tmp_path):
    text = "[tool.ruff.lint.flake8-quotes]\ninline-quotes = 'single'\n"
    assert read_style(project(tmp_path, {"pyproject.toml": text})).quote == "single"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".isort.cfg", "[settings]\nprofile = black\nknown_first_party = app,lib\nimport_heading_thirdparty = Django\n"),
        ("pyproject.toml", "[tool.isort]\nprofile = 'black'\nknown_first_party = ['app', 'lib']\nimport_heading_thirdparty = 'Django'\n"),
        ("setup.cfg", "[isort]\nprofile = black\nknown_first_party = app\n    lib\nimport_heading_thirdparty = Django\n"),
        ("tox.ini", "[isort]\nprofile=black\nknown_first_party=app,lib\nimport_heading_thirdparty=Django\n"),
    ],
)
def test_isort_settings_from_each_file(tmp_path, name, text):
    style = read_style(project(tmp_path, {name: text}))
    assert style.imports.profile == "black"
    assert style.imports.known_first_party == ("app", "lib")
    assert style.imports.heading("thirdparty") == "Django"
    assert style.line_length == 88  # profile black implies 88, and nothing else sets one


def test_isort_flags_and_profile_defaults(tmp_path):
    text = "[settings]\nprofile = google\nlines_after_imports = 2\nforce_sort_within_sections = false\ndefault_section = FIRSTPARTY\nline_length = 100\n"
    style = read_style(project(tmp_path, {".isort.cfg": text}))
    assert style.imports.force_single_line  # from the profile
    assert not style.imports.force_sort_within_sections  # the file overrides the profile
    assert style.imports.lines_after_imports == 2
    assert style.imports.default_section == "firstparty"
    assert style.line_length == 100


@pytest.mark.parametrize("name", [".flake8", "setup.cfg", "tox.ini"])
def test_flake8_max_line_length(tmp_path, name):
    style = read_style(project(tmp_path, {name: "[flake8]\nmax-line-length = 79\ninline-quotes = '\n"}))
    assert (style.formatter, style.line_length, style.quote) == (None, 79, "single")
    assert ("line length 79", f"{name} [flake8] max-line-length") in style.sources


def test_flake8_without_a_limit_is_79(tmp_path):
    assert read_style(project(tmp_path, {".flake8": "[flake8]\nignore = E203\n"})).line_length == 79


def test_formatter_limit_wins_over_flake8(tmp_path):
    files = {"pyproject.toml": "[tool.black]\nline-length = 100\n", "setup.cfg": "[flake8]\nmax-line-length = 120\n"}
    assert read_style(project(tmp_path, files)).line_length == 100


@pytest.mark.parametrize(
    ("section", "length"),
    [("[*.py]", 99), ("[*]", 99), ("[*.{py,pyi}]", 99), ("[**.py]", 99), ("[docs/*.py]", 88), ("[*.js]", 88)],
)
def test_editorconfig(tmp_path, section, length):
    style = read_style(project(tmp_path, {".editorconfig": f"root = true\n\n{section}\nmax_line_length = 99\n"}))
    assert style.line_length == length


def test_pre_commit_hooks_decide_the_formatter(tmp_path):
    hooks = "repos:\n- repo: https://github.com/astral-sh/ruff-pre-commit\n  hooks:\n  - id: ruff\n  - id: ruff-format\n"
    files = {".pre-commit-config.yaml": hooks, "pyproject.toml": "[tool.black]\nline-length = 100\n[tool.ruff]\nline-length = 110\n"}
    style = read_style(project(tmp_path, files))
    assert (style.formatter, style.line_length) == ("ruff", 110)
    assert ("pre-commit runs ruff-format", ".pre-commit-config.yaml") in style.sources
    hooks = "repos:\n- repo: https://github.com/psf/black\n  hooks:\n  - id: black\n"
    style = read_style(project(tmp_path, {".pre-commit-config.yaml": hooks, "pyproject.toml": ""}))
    assert (style.formatter, style.line_length, style.quote) == ("black", 88, "double")


def test_isort_hook_prefers_isort_over_ruff_isort(tmp_path):
    files = {
        ".pre-commit-config.yaml": "repos:\n- repo: x\n  hooks:\n  - id: isort\n",
        "pyproject.toml": "[tool.isort]\nknown_first_party = ['a']\n[tool.ruff.lint.isort]\nknown-first-party = ['b']\n",
    }
    assert read_style(project(tmp_path, files)).imports.known_first_party == ("a",)


@pytest.mark.parametrize(
    "files",
    [
        {"pyproject.toml": "[tool.black\nline-length = 1"},
        {"pyproject.toml": "[tool.black]\nline-length = 'long'\n"},
        {"pyproject.toml": "[tool]\nblack = 3\n"},
        {"pyproject.toml": "[tool.black]\nline-length = 99999999999999999999999\n"},
        {"setup.cfg": "[flake8\nmax-line-length = 100\n"},
        {"setup.cfg": "[flake8]\nmax-line-length = 100\nmax-line-length = 120\n"},
        {"tox.ini": "no section header\n"},
        {".isort.cfg": "[settings]\nlines_after_imports = many\n"},
        {".editorconfig": "[*.py\nmax_line_length = x\n"},
        {".pre-commit-config.yaml": ": : : [\n"},
    ],
)
def test_broken_files_are_ignored(tmp_path, files):
    style = read_style(project(tmp_path, files))
    assert 0 < style.line_length <= 1000


def test_files_outside_the_root_or_not_regular_are_not_read(tmp_path):
    outside = tmp_path / "elsewhere.toml"
    outside.write_text("[tool.black]\nline-length = 119\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "pyproject.toml").symlink_to(outside)
    assert read_style(root).line_length == 88
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "setup.cfg")
        assert read_style(root).line_length == 88  # a fifo is not read (it would block)


def test_fingerprint_follows_every_setting():
    assert fingerprint(Style()) == fingerprint(Style())
    assert fingerprint(Style()) != fingerprint(Style(line_length=119))
    assert fingerprint(Style()) != fingerprint(Style(quote="single"))


def test_prodfix_config_prints_what_was_found_and_where(tmp_path):
    project(tmp_path, {"pyproject.toml": "[tool.black]\nline-length = 119\n", "app.py": "x = 1\n"})
    done = subprocess.run(
        [sys.executable, "-m", "prodfix", "config", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "line length 119 (pyproject.toml [tool.black])" in done.stdout
    assert "formatter black (pyproject.toml [tool.black])" in done.stdout


def test_ruff_com812_asks_for_a_comma_after_every_split_bracket(tmp_path):
    text = "[tool.ruff]\n[tool.ruff.lint]\nselect = ['E', 'COM']\n"
    assert read_style(project(tmp_path, {"pyproject.toml": text})).split_commas
    text = "[tool.ruff]\n[tool.ruff.lint]\nselect = ['ALL']\nignore = ['COM812']\n"
    assert not read_style(project(tmp_path, {"pyproject.toml": text})).split_commas
