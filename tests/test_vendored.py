"""Vendored code is left alone by every codemod, unless the configuration takes it back."""

from __future__ import annotations

from pathlib import Path

from prodfix.engine.plan import make_plan
from prodfix.engine.vendored import copied_from_elsewhere, project_licence

CLIENT = "import requests\n\n\ndef fetch(url):\n    return requests.get(url)\n"


def _files(root: Path) -> list[str]:
    return [rel for _, rel in make_plan([root]).files]


def test_vendored_folders_are_not_transformed_but_still_indexed(tmp_path: Path) -> None:
    for rel in ("app/__init__.py", "app/_vendor/six.py", "vendor/lib.py", "third_party/x/y.py", "app/externals/z.py", "app/svc.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(CLIENT)
    plan = make_plan([tmp_path], select=["all"])
    assert [rel for _, rel in plan.files] == ["app/__init__.py", "app/svc.py"]
    assert "vendor/lib.py" in plan.project.modules.files  # imports of the copy still resolve
    (tmp_path / ".prodfix.yml").write_text('exclude: ["!third_party/"]\n')
    assert "third_party/x/y.py" in _files(tmp_path)
    assert [rel for _, rel in make_plan([tmp_path / "vendor" / "lib.py"]).files] == ["vendor/lib.py"]


def test_a_copy_under_another_licence_or_saying_where_it_came_from() -> None:
    apache = "# Copyright 2016 Example\n#\n# Licensed under the Apache License, Version 2.0\nimport os\n"
    assert copied_from_elsewhere(apache, "MIT") is not None
    assert copied_from_elsewhere(apache, "Apache") is None
    assert copied_from_elsewhere(apache, None) is None  # no licence of its own: cannot tell
    docstring = '"""Backport of functools.cache.\n\nVendored from https://github.com/python/cpython\n"""\n'
    assert copied_from_elsewhere(docstring, None) is not None
    later = "import os\n\n# Licensed under the Apache License\n"  # not in the header
    assert copied_from_elsewhere(later, "MIT") is None


def test_the_project_licence(tmp_path: Path) -> None:
    assert project_licence(tmp_path) is None
    (tmp_path / "LICENSE").write_text("GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3\n")
    assert project_licence(tmp_path) == "AGPL"
