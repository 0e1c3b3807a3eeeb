"""The prefilters (text regexes, then AST facts) only ever skip files a codemod would not touch.

Every fixture input is run through each codemod twice: with the prefilters, and with them
bypassed (the codemod runs on the whole file). Both must give the same output and findings.
A second group shows the prefilters actually filter: files that only mention a trigger word
are never parsed by libcst.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import header
from prodfix.codemods import registry
from prodfix.codemods.base import ProjectContext
from prodfix.config import build_options
from prodfix.engine.pipeline import process_source
from prodfix.engine.source import decode_source

FIXTURES = Path(__file__).parent / "fixtures"
# fix-imports needs the project's module index; its prefilter is tested with its project fixtures
STANDALONE = [c for c in registry.CODEMODS if not c.needs_module_index]


def _inputs() -> list[Path]:
    return sorted(
        p for p in FIXTURES.rglob("*.py") if not p.name.endswith(".expected.py") and "fix_imports" not in p.parts
    )


def _run(codemod_cls, path: Path, prefilter: bool):
    source = path.read_text(encoding="utf-8")
    raw = header(source, "options")
    opts = None
    if raw and path.parent.name == codemod_cls.name.replace("-", "_"):
        opts = build_options(codemod_cls, json.loads(raw), str)
    rel = header(source, "fixture-path") or path.relative_to(FIXTURES).as_posix()
    project = ProjectContext(root=".", unsafe_fixes=header(source, "unsafe-fixes") == "true")
    return process_source(
        decode_source(source.encode("utf-8")), rel, [codemod_cls(opts)], project, prefilter=prefilter,
    )


@pytest.mark.parametrize("codemod_cls", STANDALONE, ids=lambda c: c.name)
def test_prefilters_never_drop_a_change_or_a_finding(codemod_cls) -> None:
    dropped = []
    for path in _inputs():
        filtered, full = _run(codemod_cls, path, True), _run(codemod_cls, path, False)
        if (filtered.new_text, filtered.findings) != (full.new_text, full.findings):
            dropped.append(path.relative_to(FIXTURES).as_posix())
    assert not dropped


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("print-to-logging", '"""Call print(x) to see it."""\n# print(y)\nvalue = "print(z)"\n'),
        ("close-resources", "def read(storage, name):\n    return storage.open(name).read()\n"),
        ("close-resources", "def read(path):\n    with open(path) as f:\n        return f.read()\n"),
        ("add-timeouts", "def get(cache, key):\n    return cache.get(key)  # no HTTP client imported\n"),
        ("add-retry", "from django.db.models.signals import post_save\npost_save.connect(handler)\n"),
        ("close-resources", "from django.test import Client\n\ndef t():\n    c = Client()\n    return c.get('/')\n"),
        ("close-resources", "import os\n\ndef f(p):\n    fd = os.open(p, 0)\n    return fd\n"),
        ("add-timeouts", "from urllib.parse import quote\n\ndef f(d, k):\n    return d.get(quote(k))\n"),
    ],
)
def test_mentions_are_not_parsed(name: str, source: str) -> None:
    result = process_source(decode_source(source.encode()), "app/m.py", [registry.lookup(name)()], ProjectContext("."))
    assert not result.parsed and not result.findings


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("close-resources", "from httpx import Client\n\ndef f():\n    c = Client()\n    return c.get('x')\n"),
        ("close-resources", "def f(p):\n    h = open(p)\n    return h.read()\n"),
        ("add-timeouts", "import requests as rq\n\ndef f(u):\n    return rq.get(u)\n"),
        ("print-to-logging", "from traceback import print_exc as pe\n\ndef f():\n    pe()\n"),
    ],
)
def test_real_calls_are_parsed(name: str, source: str) -> None:
    result = process_source(decode_source(source.encode()), "app/m.py", [registry.lookup(name)()], ProjectContext("."))
    assert result.parsed


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("close-resources", "def read(p):\n    with open(p, 'rb') as fh:\n        return fh.read()\n"),
        ("close-resources", "async def read(p):\n    async with open(p) as f, other() as g:\n        return f\n"),
        ("close-resources", "def read(storage, name):\n    return storage.open(name).read()\n"),
        ("close-resources", "import tempfile\n\ndef f():\n    with tempfile.NamedTemporaryFile('w') as t:\n        return t.name\n"),
        ("close-resources", "class DatabaseClient(Base):\n    def open(self):\n        return 1\n"),
        ("close-resources", "HANDLERS = ['x.TemporaryFileUploadHandler']\nc = PasswordResetConfirmClient()\n"),
        ("close-resources", "from django.core.files.temp import NamedTemporaryFile\n"),
        ("close-resources", "def f(db, path):\n    return db.session(), path.open().read()\n"),
        ("add-timeouts", "from urllib.parse import quote\n\ndef f(k):\n    return quote(k)\n"),
        ("add-timeouts", "from http.cookies import SimpleCookie\n"),
        ("add-retry", "def migrate(schema):\n    schema.execute('SELECT 1 FROM void;')\n"),
    ],
)
def test_the_text_stage_drops_what_cannot_match(name: str, source: str) -> None:
    result = process_source(decode_source(source.encode()), "app/m.py", [registry.lookup(name)()], ProjectContext("."))
    assert not result.kept


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("close-resources", "from contextlib import nullcontext\n\ndef f(p, c):\n    with open(p) if c else nullcontext() as f:\n        return f\n"),
        ("close-resources", "def f(p, q):\n    with open(p) as a, open(q) as b:\n        data = open(p).read()\n    return data\n"),
        ("close-resources", "import io as _io\n\ndef f(p):\n    h = _io.open(p)\n    return h.read()\n"),
        ("close-resources", "from tempfile import NamedTemporaryFile as NTF\n\ndef f():\n    t = NTF()\n    return t\n"),
        ("close-resources", "from shelve import open as open_shelf\n\ndef f(p):\n    s = open_shelf(p)\n    s.close()\n"),
        ("close-resources", "from requests import Session as S\n\ndef f():\n    s = S()\n    return s.get('x')\n"),
        ("close-resources", "import requests\n\ndef f():\n    s = requests.session()\n    return s.get('x')\n"),
        ("close-resources", "import gzip as gz\n\ndef f(p):\n    return gz.open(p).read()\n"),
        ("close-resources", "from pathlib import Path\n\ndef f(p):\n    h = Path(p).open()\n    return h.read()\n"),
        ("close-resources", "import fileinput\n\ndef f(p):\n    return fileinput.input(p)\n"),
        ("add-timeouts", "import urllib\n\ndef f(u):\n    return urllib.request.urlopen(u)\n"),
        ("add-retry", "def init_db(conn):\n    conn.execute(\"\"\"\n        SELECT 1\n    \"\"\")\n"),
    ],
)
def test_the_text_stage_keeps_what_may_match(name: str, source: str) -> None:
    result = process_source(decode_source(source.encode()), "app/m.py", [registry.lookup(name)()], ProjectContext("."))
    assert result.kept


# Python's tokenizer takes a form feed for whitespace, in indentation and between tokens: so
# must the text stage (a `\fimport requests` line used to hide every call in the file).
@pytest.mark.parametrize(
    "source",
    [
        "\fimport requests\n\n\ndef f():\n    return requests.get('http://x')\n",
        "import os\nimport\frequests\n\n\ndef f():\n    return requests.get('http://x')\n",
        "import os; \fimport requests\nrequests.get('http://x')\n",
        "import requests\n\n\ndef f():\n\f    return requests.get('http://x')\n",
    ],
)
def test_a_form_feed_does_not_hide_a_call(source: str) -> None:
    result = process_source(decode_source(source.encode()), "app/m.py", [registry.lookup("add-timeouts")()], ProjectContext("."))
    assert result.kept and result.parsed
    assert [f.message.partition(" (")[0] for f in result.findings if f.kind == "fix"] == [
        "requests.get(): added timeout=(10, None)"
    ]


def test_a_form_feed_does_not_hide_a_driver_import_or_a_first_party_one() -> None:
    from collections import Counter

    from prodfix.codemods.fix_imports import _regex_imports
    from prodfix.engine.module_index import count_imports

    source = "\fimport psycopg2\n\n\ndef init_db():\n    return psycopg2.connect('x')\n"
    assert registry.lookup("add-retry")().wants(source, "app/db.py")
    counts: Counter[str] = Counter()
    count_imports("\fimport app.core\n\ffrom app import db\n", counts)
    assert counts == Counter({"app.core": 1, "app": 1})
    assert list(_regex_imports("\ffrom .. import x\n")) == [(2, [])]
