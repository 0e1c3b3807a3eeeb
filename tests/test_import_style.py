"""Imports prodfix adds land where the project's isort would put them: ruff's I001 (configured
like the ImportStyle the test passes) is the oracle, beside the exact expected text."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from prodfix.codemods.common.imports import Sorting, add_from_import, add_plain_import, merge_from_import
from prodfix.codemods.common.logger import add_logger
from prodfix.codemods.common.style import ImportStyle

RUFF = Path(sys.executable).with_name("ruff")


def ruff_toml(style: ImportStyle, sections: dict[str, list[str]] | None = None, extra: tuple = ()) -> str:
    """ruff's [lint.isort] for an ImportStyle (headings have no ruff equivalent: ruff keeps a
    comment with the import below it, which is what a heading must do)."""
    isort = {
        "known-first-party": list(style.known_first_party),
        "known-third-party": list(style.known_third_party),
        "force-sort-within-sections": style.force_sort_within_sections,
        "force-single-line": style.force_single_line,
        "lines-after-imports": style.lines_after_imports,
        "combine-as-imports": style.combine_as_imports,
        "order-by-type": style.order_by_type,
        "case-sensitive": style.case_sensitive,
    }
    lines = ["line-length = 88", "[lint.isort]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in isort.items()]
    lines += list(extra)  # ruff settings ImportStyle has no field for
    if sections:
        order = ["future", "standard-library", *sections, "third-party", "first-party", "local-folder"]
        lines.append(f"section-order = {json.dumps(order)}")
        lines.append("[lint.isort.sections]")
        lines += [f"{name} = {json.dumps(mods)}" for name, mods in sections.items()]
    return "\n".join(lines) + "\n"


def ruff_findings(tmp_path: Path, text: str, config: str, select: str = "I001", name: str = "module.py") -> list[dict]:
    (tmp_path / "ruff.toml").write_text(config)
    target = tmp_path / "app" / name
    target.parent.mkdir(exist_ok=True)
    (target.parent / "__init__.py").touch()  # a package: ruff takes `app` as first party
    target.write_text(text)
    out = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--config", str(tmp_path / "ruff.toml"), "--select", select,
         "--output-format", "json", str(target)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def _run(source: str, adds: list, sorting: Sorting) -> str:
    module = cst.parse_module(textwrap.dedent(source))
    for add in adds:
        if add[0] == "import":
            module = add_plain_import(module, add[1], sorting)
        elif add[0] == "logger":
            module = add_logger(module, "logger", sorting=sorting)
        else:
            _, source_module, names = add
            for name, alias in names:
                merged = merge_from_import(module, source_module, name, alias, sorting)
                if merged is None:
                    module = add_from_import(module, source_module, [(name, alias)], sorting)
                else:
                    module = merged
    return module.code


CASES = {
    # `import logging` into the stdlib section: after `import os`, before the from-imports
    "stdlib_between": (
        """\
        import os
        from typing import Any

        import requests

        from app.models import User
        """,
        [("import", "logging")],
        {},
        None,
        """\
        import logging
        import os
        from typing import Any

        import requests

        from app.models import User
        """,
    ),
    # a third-party import goes in the third-party group, not after the first-party one
    "third_party_before_first_party": (
        """\
        import os

        import requests

        from app.models import User
        """,
        [("from", "tenacity", [("retry", None), ("stop_after_attempt", None)])],
        {},
        None,
        """\
        import os

        import requests
        from tenacity import retry, stop_after_attempt

        from app.models import User
        """,
    ),
    # known_first_party: `mylib` is first party although nothing else says so
    "known_first_party": (
        """\
        import os

        import mylib
        """,
        [("import", "httpx")],
        {"known_first_party": ("mylib",)},
        None,
        """\
        import os

        import httpx

        import mylib
        """,
    ),
    # no stdlib section: a new one above the others, below the docstring
    "new_stdlib_section": (
        '''\
        """Views."""

        import requests

        from app.models import User
        ''',
        [("import", "logging")],
        {},
        None,
        '''\
        """Views."""

        import logging

        import requests

        from app.models import User
        ''',
    ),
    # force_sort_within_sections (profile google): plain and from-imports sorted together
    "force_sort_within_sections": (
        """\
        from json import dumps
        import os
        from typing import Any
        """,
        [("import", "logging")],
        {"force_sort_within_sections": True},
        None,
        """\
        from json import dumps
        import logging
        import os
        from typing import Any
        """,
    ),
    "profile_google": (
        """\
        from json import dumps
        import os

        from app import models
        """,
        [("import", "logging"), ("from", "pathlib", [("Path", None), ("PurePath", None)])],
        {"profile": "google"},
        None,
        """\
        from json import dumps
        import logging
        import os
        from pathlib import Path
        from pathlib import PurePath

        from app import models
        """,
    ),
    # force_single_line: a name is not merged into an existing from-import
    "force_single_line": (
        """\
        from tenacity import retry
        """,
        [("from", "tenacity", [("stop_after_attempt", None)])],
        {"force_single_line": True},
        None,
        """\
        from tenacity import retry
        from tenacity import stop_after_attempt
        """,
    ),
    # order_by_type off: names in plain alphabetical order
    "order_by_type_off": (
        """\
        from tenacity import before_sleep_log, retry
        """,
        [("from", "tenacity", [("RetryError", None)])],
        {"order_by_type": False},
        None,
        """\
        from tenacity import before_sleep_log, retry, RetryError
        """,
    ),
    # an `as` import stays on its own line unless combine_as_imports
    "as_import_own_line": (
        """\
        from redis.exceptions import ConnectionError
        """,
        [("from", "redis.exceptions", [("TimeoutError", "RedisTimeoutError")])],
        {},
        None,
        """\
        from redis.exceptions import ConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
        """,
    ),
    "combine_as_imports": (
        """\
        from redis.exceptions import ConnectionError
        """,
        [("from", "redis.exceptions", [("TimeoutError", "RedisTimeoutError")])],
        {"combine_as_imports": True},
        None,
        """\
        from redis.exceptions import ConnectionError, TimeoutError as RedisTimeoutError
        """,
    ),
    # `# Django` (a section of its own) never receives `import logging`; no heading is known
    # for the standard library, so its new section has none
    "django_heading_unknown": (
        """\
        # This file is part of wger.

        # Django
        from django.db import models


        class A(models.Model):
            pass
        """,
        [("logger",)],
        {},
        {"django": ["django"]},
        """\
        # This file is part of wger.

        import logging

        # Django
        from django.db import models

        logger = logging.getLogger(__name__)


        class A(models.Model):
            pass
        """,
    ),
    # the project's headings are known: the new section gets its own
    "django_heading_known": (
        """\
        # Django
        from django.db import models

        # wger
        from wger.core import utils
        """,
        [("import", "logging"), ("from", "tenacity", [("retry", None)])],
        {"headings": (("stdlib", "Standard Library"), ("django", "Django"), ("thirdparty", "Third Party"), ("firstparty", "wger")),
         "known_first_party": ("wger",)},
        {"django": ["django"]},
        """\
        # Standard Library
        import logging

        # Django
        from django.db import models

        # Third Party
        from tenacity import retry

        # wger
        from wger.core import utils
        """,
    ),
    # a third-party heading that is not the project's own name for it is not joined either
    "third_party_after_custom_section": (
        """\
        import os

        # Django
        from django.db import models

        from app import utils
        """,
        [("import", "httpx")],
        {},
        {"django": ["django"]},
        """\
        import os

        # Django
        from django.db import models

        import httpx

        from app import utils
        """,
    ),
    # a heading that names the section is joined, in sorted position
    "joins_named_heading": (
        """\
        # Standard library
        import os

        # Third party
        import requests
        """,
        [("import", "logging")],
        {},
        None,
        """\
        # Standard library
        import logging
        import os

        # Third party
        import requests
        """,
    ),
    # lines_after_imports = 2: the logger line keeps them
    "lines_after_imports": (
        """\
        import os


        x = 1
        """,
        [("logger",)],
        {"lines_after_imports": 2},
        None,
        """\
        import logging
        import os


        logger = logging.getLogger(__name__)


        x = 1
        """,
    ),
    # ruff's lines-between-types = 1: a from-import joins the from-imports, not the plain ones
    "lines_between_types": (
        """\
        import os
        import sys

        from typing import Any

        import requests
        """,
        [("from", "pathlib", [("Path", None)]), ("import", "logging")],
        {},
        None,
        """\
        import logging
        import os
        import sys

        from pathlib import Path
        from typing import Any

        import requests
        """,
        ["lines-between-types = 1"],
    ),
    # longer than the line length: wrapped the way ruff and isort's black profile wrap
    "long_from_import_wrapped": (
        """\
        import os
        """,
        [("from", "tenacity", [(n, None) for n in ("before_sleep_log", "retry", "retry_if_exception_type", "stop_after_attempt", "wait_exponential")])],
        {},
        None,
        """\
        import os

        from tenacity import (
            before_sleep_log,
            retry,
            retry_if_exception_type,
            stop_after_attempt,
            wait_exponential,
        )
        """,
    ),
    "merge_past_line_length_wraps": (
        """\
        from tenacity import before_sleep_log, retry, retry_if_exception_type, stop_after_attempt
        """,
        [("from", "tenacity", [("wait_exponential", None)])],
        {},
        None,
        """\
        from tenacity import (
            before_sleep_log,
            retry,
            retry_if_exception_type,
            stop_after_attempt,
            wait_exponential,
        )
        """,
    ),
    "comment_above_block_stays": (
        """\
        # fixture-path: gunicorn_conf.py
        import redis
        """,
        [("import", "logging")],
        {},
        None,
        """\
        # fixture-path: gunicorn_conf.py
        import logging

        import redis
        """,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_import_lands_where_isort_puts_it(case: str, tmp_path: Path) -> None:
    source, adds, settings, sections, expected, *extra = CASES[case]
    style = ImportStyle(**settings)
    sorting = Sorting.of(type("P", (), {"style": type("S", (), {"imports": style})(), "modules": None})(), "app/module.py")
    output = _run(source, adds, sorting)
    assert output == textwrap.dedent(expected)
    assert ruff_findings(tmp_path, output, ruff_toml(sorting.style, sections, *extra)) == []
    again = [add for add in adds if add[0] != "logger"]  # a codemod finds the logger it added
    assert _run(output, again, sorting) == output  # added once


def test_first_party_from_the_module_index() -> None:
    class Index:
        third_party = frozenset({"requests"})

        def at_a_root(self, name: str) -> bool:
            return name == "billing"

        def root_of(self, path: str) -> str:
            return ""

    sorting = Sorting.of(type("P", (), {"style": None, "modules": Index()})(), "svc/module.py")
    assert sorting.section("billing.models") == "firstparty"
    assert sorting.section("svc.x") == "firstparty"  # the file's own package
    assert sorting.section("requests") == "thirdparty"
    assert sorting.section("logging") == "stdlib"
    assert sorting.section("unknown") is None
    assert sorting.section("x", relative=True) == "localfolder"
