"""The logged message equals what print() wrote (minus its newline), for every converted print.

Each case runs twice: the original under a captured stdout, the converted code under a
capturing log handler; the two texts must match exactly.
"""

from __future__ import annotations

import contextlib
import io
import logging
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import run_codemod

VALUES = {
    "n": 42,
    "code": 255,
    "x": 3.14159,
    "ratio": -0.5,
    "b": "two",
    "name": "al%ice {x}",
    "items": [1, "a"],
    "mapping": {"k": "v"},
    "pair": (1, 2),
    "nothing": None,
    "exc": ValueError("boom"),
}
INT_SPECS = ["", "d", "5d", "05d", "<6d", "+d", "#x", "x", "X", "o", ",", ">8", "^9"]
FLOAT_SPECS = ["", ".2f", "8.3f", "+.1f", "<10.2f", "e", ".3g", "G", "%", ".1%", "010.4f"]
STR_SPECS = ["", "s", "10s", ">10s", "<7", ".2s", "^9", "*>6"]
ANY_SPECS = [""]
KINDS = {"n": INT_SPECS, "code": INT_SPECS, "x": FLOAT_SPECS, "ratio": FLOAT_SPECS,
         "b": STR_SPECS, "name": STR_SPECS}

CASES = [
    'print("Processing", n)',
    'print(f"{name!r} scored {x:.2f} over {n:d} runs")',
    'print(f"hex {code:#x}, padded {n:05d}, left {b:<8s}| right {b:>8s}|")',
    'print(f"centered {b:^10} signed {x:+8.1f} pct {ratio:.1%}")',
    'print(f"raw {{braces}} and {name!s} with 100% coverage")',
    'print(f"ascii {name!a} repr-spec {b!r:>12}")',
    'print("Saved", n, "rows to", b, sep=" | ")',
    'print("a", "b", sep="")',
    'print("x", n, sep=None, end="\\n", flush=True)',
    'print("pair %s and %d" % (b, n))',
    'print("single %r" % "literal")',
    'print("whole %s %s" % pair)',
    'print("mapping %(k)s" % mapping)',
    'print("rate 50%% of %s" % (b,))',
    'print("literal 100% here")',
    'print("{} then {}".format(n, b))',
    'print("user {who!r} at {pct:.1f}%".format(who=b, pct=x))',
    'print("twice {0} {0}".format(n))',
    'print(items, mapping, pair, nothing)',
    'print(mapping)',
    'print(pair)',
    'print(exc)',
    'print("100%", n)',
    'print("% literal", "%s", n)',
    'print("multi\\nline", n)',
    "print('single quoted \"inner\"', n)",
    'print(f"{n}" "joined" f"{b}")',
    'print(b"bytes", n)',
    'print("é unicode", b)',
    'print(f"{n=}")',
    'print(f"{x:{n}}")',
]


def _stdout_of(snippet: str) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(snippet, dict(VALUES))
    return buffer.getvalue()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _logged_by(converted: str) -> list[str]:
    capture = _Capture()
    logger = logging.getLogger("prodfix_equivalence")
    logger.addHandler(capture)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        exec(converted, {**VALUES, "__name__": "prodfix_equivalence"})
    finally:
        logger.removeHandler(capture)
    return capture.messages


def _check(snippet: str) -> None:
    printed = _stdout_of(snippet)
    # in a function: a print that runs at import time stays a print (logging is not configured yet)
    source = "import sys\n\n\ndef run():\n    " + snippet + "\n\n\nrun()\n"
    result = run_codemod("print-to-logging", source, unsafe=True)  # value-only prints become debug: an unsafe fix
    assert result.error is None
    assert result.changed, f"not converted: {snippet}"
    assert "print(" not in result.new_text
    assert _logged_by(result.new_text) == [printed[:-1]], result.new_text


@pytest.mark.parametrize("snippet", CASES)
def test_logged_message_equals_printed_text(snippet: str) -> None:
    _check(snippet)


def test_except_block_keeps_message_and_adds_traceback(caplog: pytest.LogCaptureFixture) -> None:
    source = textwrap.dedent(
        """
        import sys

        def handler(event):
            try:
                raise KeyError(event)
            except KeyError as exc:
                print(f"Error processing {event}: {exc}")
        """
    )
    converted = run_codemod("print-to-logging", source, unsafe=True).new_text
    namespace: dict = {"__name__": "prodfix_except"}
    exec(converted, namespace)
    with caplog.at_level(logging.DEBUG, logger="prodfix_except"):
        namespace["handler"]("e1")
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Error processing e1: 'e1'"
    assert record.exc_info is not None and record.exc_info[0] is KeyError


# --- generated cases -----------------------------------------------------------------------

TEXT = st.text(alphabet="ab XYZ 09%{}:!.,-#()[]é", max_size=12)


@st.composite
def fstrings(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        text = draw(TEXT).replace("{", "{{").replace("}", "}}")
        name = draw(st.sampled_from(sorted(VALUES)))
        spec = draw(st.sampled_from(KINDS.get(name, ANY_SPECS)))
        conversion = draw(st.sampled_from(["", "!r", "!s"])) if spec in ("", ">8", "^9", "<7") and name in ("b", "name") else ""
        parts.append(text + "{" + name + conversion + (":" + spec if spec else "") + "}")
    return 'f"' + "".join(parts) + draw(TEXT).replace("{", "{{").replace("}", "}}") + '"'


@st.composite
def percent_formats(draw) -> str:
    chosen = draw(st.lists(st.sampled_from(["n", "code", "x", "b", "name"]), min_size=1, max_size=3))
    directives = {"n": ["%d", "%5d", "%-4d", "%x"], "code": ["%o", "%#x"], "x": ["%.2f", "%e", "%g"],
                  "b": ["%s", "%r", "%-6s"], "name": ["%s", "%.3s"]}
    template = "".join(draw(TEXT).replace("%", "%%") + draw(st.sampled_from(directives[v])) for v in chosen)
    return f'"{template}" % ({", ".join(chosen)},)'


ARGUMENT = st.one_of(
    TEXT.map(lambda t: '"' + t + '"'),
    st.sampled_from(sorted(VALUES)),
    fstrings(),
    percent_formats(),
    st.integers(-5, 5).map(str),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    args=st.lists(ARGUMENT, min_size=1, max_size=4),
    sep=st.one_of(st.none(), TEXT),
)
def test_generated_prints_render_the_same(args: list[str], sep: str | None) -> None:
    call = ", ".join(args) + ("" if sep is None else f', sep="{sep}"')
    snippet = f"print({call})"
    if _stdout_of(snippet) == "\n":
        return  # an empty print is removed, not logged
    _check(snippet)
