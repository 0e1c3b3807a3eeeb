"""engine/layout.py: changed lines over the project's line length are split exactly as black
splits them; lines the codemods did not change are never reflowed. black is the oracle."""

from __future__ import annotations

import random

import black
import pytest

from prodfix.codemods.common.style import Style
from prodfix.engine import layout
from prodfix.engine.layout import fit, split_line


def _black(src: str, length: int) -> str:
    return black.format_str(src, mode=black.Mode(line_length=length))


class _Gen:
    """Random statements ending in calls, the shapes the codemods write (and worse)."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)

    def ident(self) -> str:
        return "a" + "".join(self.rnd.choice("abcdefghij_") for _ in range(self.rnd.randint(0, 13)))

    def atom(self) -> str:
        c = self.rnd.random()
        if c < 0.3:
            return self.ident()
        if c < 0.5:
            return str(self.rnd.randint(0, 10 ** self.rnd.randint(1, 8)))
        if c < 0.8:
            return '"' + "x" * self.rnd.randint(0, 60) + '"'
        if c < 0.9:
            return f"{self.ident()}.{self.ident()}"
        return f"{self.ident()}[{self.rnd.randint(0, 9)}]"

    def expr(self, depth: int) -> str:
        c = self.rnd.random()
        if depth < 2 and c < 0.2:
            return self.call(depth + 1)
        if c < 0.3:
            return f"{self.atom()} + {self.atom()}"
        if c < 0.35:
            return f"{self.atom()} % ({self.atom()}, {self.atom()})"
        if c < 0.4:
            return "*" + self.ident()
        if c < 0.45:
            return "{" + f'"{self.ident()}": {self.atom()}' + "}"
        if c < 0.55:
            items = ", ".join(self.atom() for _ in range(self.rnd.randint(2, 5)))
            return f"({items})" if self.rnd.random() < 0.6 else f"[{items}]"
        return self.atom()

    def call(self, depth: int = 0) -> str:
        func = ".".join(self.ident() for _ in range(self.rnd.randint(1, 3)))
        args = []
        for _ in range(self.rnd.randint(0 if depth else 1, 5)):
            e = self.expr(depth)
            args.append(f"{self.ident()}={e}" if self.rnd.random() < 0.4 and not e.startswith("*") else e)
        comma = "," if args and self.rnd.random() < 0.05 else ""
        return f"{func}({', '.join(args)}{comma})"


@pytest.mark.parametrize("seed", range(4))
def test_a_one_line_statement_is_split_as_black_splits_it(seed):
    gen = _Gen(seed)
    certain = 0
    for _ in range(700):
        kind, code = gen.rnd.choice(
            [("Expr", "{}"), ("Assign", "a.b = {}"), ("Assign", "value = {}"), ("Return", "return {}"),
             ("decorator", "@{}"), ("Expr", "await {}"), ("Return", "return await {}"),
             ("header", "with {} as handle:"), ("header", "async with {}:")]
        )
        line = "    " + code.format(gen.call() + gen.rnd.choice(["", "", "", ".json()", ".status_code", ".a().b()"]))
        length = gen.rnd.choice([79, 88, 100, 119])
        if len(line) <= length:
            continue
        got = split_line(line + "\n", kind, Style(line_length=length))
        if got is None:
            continue
        certain += 1
        tail = {"decorator": "    def g():\n        pass\n", "header": "        pass\n"}.get(kind, "")
        for versions in (set(), {black.TargetVersion.PY38}, {black.TargetVersion.PY312}):
            mode = black.Mode(line_length=length, target_versions=versions)
            assert "".join(got) in black.format_str(f"async def f():\n{line}\n{tail}", mode=mode), line
    assert certain > 100  # the rules cover the common shapes, not only trivial ones


@pytest.mark.parametrize("seed", range(3))
def test_an_item_of_an_exploded_call_is_split_as_black_splits_it(seed):
    gen = _Gen(100 + seed)
    certain = 0
    for _ in range(600):
        item = gen.call() + gen.rnd.choice(["", "", "", ".json()", ".status_code"])
        if gen.rnd.random() < 0.5:
            item = f"{gen.ident()}={item}"
        length = gen.rnd.choice([79, 88, 100, 119])
        shape = gen.rnd.randrange(3)
        if shape == 0:
            lines = ["x = foo(\n", "    first,\n", f"    {item},\n", "    last=1,\n", ")\n"]
        elif shape == 1:
            lines = ["@retry(\n", "    stop=stop_after_attempt(5),\n", f"    {item},\n", ")\n", "def g():\n", "    pass\n"]
        else:
            lines = ["foo(\n", f"    {item}\n", ")\n"]
        at = 1 if shape == 2 else 2
        if len(lines[at].rstrip()) <= length:
            continue
        got = split_line(lines[at], "element", Style(line_length=length))
        if got is None:
            continue
        certain += 1
        assert _black("".join(lines), length) == "".join(lines[:at] + got + lines[at + 1 :]), lines[at]
    assert certain > 100


def test_a_long_from_import_is_one_name_per_line():
    line = "from tenacity import before_sleep_log, retry, retry_if_exception_type, stop_after_attempt, wait_exponential\n"
    got = "".join(split_line(line, "ImportFrom", Style()))
    assert got == _black(line, 88)
    assert split_line(line, "ImportFrom", Style(imports=Style().imports.__class__(profile="google"))) is None


def test_only_changed_lines_are_laid_out():
    old = 'def f(order):\n    print("Processing order number %s for the customer" % order, "and more", order)\n'
    untouched = "x = some_function(argument_one, argument_two, argument_three, argument_four, argument_5)\n"
    new = untouched + 'def f(order):\n    logger.info("Processing order number %s for the customer and more %s", order, order)\n'
    out = fit(untouched + old, new, Style(line_length=60))
    assert out.startswith(untouched)  # long, but not the codemod's: left as it is
    assert out == untouched + (
        "def f(order):\n"
        "    logger.info(\n"
        '        "Processing order number %s for the customer and more %s",\n'
        "        order,\n"
        "        order,\n"
        "    )\n"
    )


def test_a_short_enough_file_is_returned_as_it_is():
    new = "x = f(a)\n"
    assert fit("", new, Style()) is new


def test_a_string_that_cannot_split_stays_long():
    line = '    logger.info("' + "x" * 100 + '")\n'
    assert split_line(line, "Expr", Style()) == ["    logger.info(\n", '        "' + "x" * 100 + '"\n', "    )\n"]
    assert _black("def f():\n" + line, 88) == "def f():\n" + "".join(split_line(line, "Expr", Style()))


def test_magic_trailing_comma_off_or_a_comment_is_left_to_the_formatter():
    line = "    logger.info(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, ccccccccccccc)  # note\n"
    assert split_line(line, "Expr", Style()) is None
    line = "    logger.info(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, ccccccccccccccc,)\n"
    assert split_line(line, "Expr", Style(magic_trailing_comma=False)) is None


def test_the_formatter_takes_what_the_rules_are_not_certain_of():
    old = "def f():\n    pass\n"
    new = "def f():\n    value = first_function(aaaaaaaaaaaaaa) + second_function(bbbbbbbbbbbbbbbbbbbbbb, cccccccccccccc)\n"
    style = Style(formatter="black")
    assert fit(old, new, style, "never") == new
    out = fit(old, new, style, "auto")
    assert out == _black(new, 88) and out != new
    assert fit(old, new, Style(), "auto") == new  # no formatter configured: none is run


def test_the_formatter_is_part_of_the_cache_key():
    assert layout.formatter_fingerprint(Style(formatter="black"), "auto") != layout.formatter_fingerprint(Style(formatter="black"), "never")
    assert "black" in layout.formatter_fingerprint(Style(formatter="black"), "auto")


def test_a_statement_already_on_several_lines_is_laid_out_from_its_joined_form():
    old = 'def report(order_id, total):\n    print(\n        "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy %s" % order_id, total\n    )\n'
    new = old.replace("print(", "logger.info(").replace('        "yyy', '        "%s %s", "yyy')
    out = fit(old, new, Style(line_length=79))
    assert out == _black(new, 79) and out != new
    assert "        total,\n" in out


def test_a_trailer_after_the_call_stays_on_the_closing_line():
    line = "        result = requests.get('https://api.github.com/repos/wger-project/wger', timeout=(10, None)).json()\n"
    got = split_line(line, "Assign", Style(line_length=100))
    assert got is not None and got[-1] == "        ).json()\n"
    assert "".join(got) in _black("def f():\n    if x:\n" + line, 100).replace('"', "'")


def test_with_com812_a_split_call_is_one_item_per_line_with_a_comma():
    line = "    logger.info(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, ccccccccccccccccccccc)\n"
    got = split_line(line, "Expr", Style(split_commas=True))
    assert got == [
        "    logger.info(\n", "        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,\n", "        bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,\n",
        "        ccccccccccccccccccccc,\n", "    )\n",
    ]
    assert _black("def f():\n" + "".join(got), 88) == "def f():\n" + "".join(got)  # the magic comma keeps it


def test_ruff_format_takes_what_the_rules_are_not_certain_of(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 60\n")
    untouched = "x = [aaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbb, cccccccccccccccccc]\n"
    old = untouched + "def f():\n    pass\n"
    new = untouched + "def f():\n    value = first_function(aaaaaaaaaaaaaa) + second(bbbbbbbbbbbbbbbbbbbbbb)\n"
    out = fit(old, new, Style(formatter="ruff", line_length=60), "auto", "app.py", str(tmp_path))
    assert out.startswith(untouched)  # over the limit, but not the codemods': not formatted
    assert out == untouched + "def f():\n    value = first_function(aaaaaaaaaaaaaa) + second(\n        bbbbbbbbbbbbbbbbbbbbbb\n    )\n"


@pytest.mark.parametrize(
    ("old", "new", "length"),
    [
        # redash (black, 119): add-timeouts extended calls that were just under the limit
        (
            '        r = requests.get(url, headers={"Accept": "application/json"}, auth=HTTPBasicAuth(self.username, self.password))\n',
            '        r = requests.get(url, headers={"Accept": "application/json"}, auth=HTTPBasicAuth(self.username, self.password), timeout=(10, None))\n',
            119,
        ),
        (
            '        response = requests.get(url, headers=header, verify=self.configuration.get("verify_ssl", True))\n',
            '        response = requests.get(url, headers=header, verify=self.configuration.get("verify_ssl", True), timeout=(10, None))\n',
            119,
        ),
        # wger (ruff, 100): a trailer after the extended call
        (
            "        result_github_api = requests.get('https://api.github.com/repos/wger-project/wger').json()\n",
            "        result_github_api = requests.get('https://api.github.com/repos/wger-project/wger', timeout=(10, None)).json()\n",
            100,
        ),
    ],
)
def test_lines_from_real_projects_come_out_as_black_makes_them(old, new, length):
    wrap = "class C:\n    def f(self, url, header):\n"
    style = Style(line_length=length, quote=None)
    out = fit(wrap + old, wrap + new, style)
    mode = black.Mode(line_length=length, string_normalization=False)
    assert out != wrap + new
    assert out == black.format_str(wrap + new, mode=mode)


def test_line_endings_and_tab_indentation_are_kept():
    old = "def f(order):\r\n    print('Processing order number %s for the customer' % order, 'and more', order)\r\n"
    new = "def f(order):\r\n    logger.info('Processing order number %s for the customer and more %s', order, order)\r\n"
    out = fit(old, new, Style(line_length=60))
    assert out != new and all(line.endswith("\r\n") for line in out.splitlines(keepends=True))
    tabbed = new.replace("    ", "\t")
    assert fit(old.replace("    ", "\t"), tabbed, Style(line_length=60)) == tabbed  # not laid out: left as written
