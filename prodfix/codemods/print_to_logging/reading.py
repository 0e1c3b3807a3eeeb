"""What a print's arguments say, read from the syntax tree: their literal text, the values
they show, how they are styled, whether they show a credential. Pure functions over libcst
nodes, shared by the rewrite (``rewrite.py``) and the module-wide rules (``programs.py``)."""

from __future__ import annotations

import re
import string

import libcst as cst

from prodfix.codemods.print_message import string_value

# a def or class whose name or docstring says it writes for a person at a terminal
CONTRACT_NAME = re.compile(r"stdout|console|terminal|printer|(?:^|_)print", re.IGNORECASE)

CONTRACT_DOC = re.compile(
    r"\b(?:stdout|standard output|console|terminal|printer|prints?|printing|display|displays|displaying)\b", re.IGNORECASE
)

# names in an `if` test above a print that make it output the user asked for
ON_REQUEST = re.compile(r"verbos|quiet|silent|(?:^|_)print|show_output|echo", re.IGNORECASE)

DEBUG_GUARD = re.compile(r"^_?debug(?:_mode)?$", re.IGNORECASE)

DEBUG_COMMENT = re.compile(r"\bdebug", re.IGNORECASE)

ANSI = ("\x1b[", "\033[", "\x1b]")

RICH_MARKUP = re.compile(r"\[(?:bold|dim|italic|underline|blink|reverse|strike|red|green|yellow|blue|magenta|cyan|white|black|bright_\w+)\b[^\]]*\].*\[/")

STYLE_MODULES = ("colorama.", "termcolor.", "crayons.", "blessings.", "click.style", "click.secho", "typer.style")

# what a print may show that reads as a credential or a connection string
SECRET_NAME = re.compile(
    r"passw|passwd|pwd|secret|token|api_?key|dsn|credential|private_?key|"
    r"(?:database|db|redis|broker|amqp|mongo|postgres|mysql|sqlalchemy_database)_?ur[il]|connection_?string|conn_?str",
    re.IGNORECASE,
)

SECRET_LABEL = re.compile(r"(?:passw\w*|secret|token|api[ _-]?key|dsn)\s*[:=]?\s*$", re.IGNORECASE)

URL_PASSWORD = re.compile(r"\w+://[^\s/:@]+:[^\s/@]+@")

DEPRECATION = re.compile(
    r"\bdeprecat|\bwill be removed\b|\bin a future (?:minor |major )?(?:release|version)\b|\bno longer supported\b",
    re.IGNORECASE,
)


def docstring_of(body: cst.BaseSuite) -> str:
    if isinstance(body, cst.IndentedBlock) and body.body:
        first = body.body[0]
        if isinstance(first, cst.SimpleStatementLine) and first.body and isinstance(first.body[0], cst.Expr):
            return string_value(first.body[0].value) or ""
    return ""


def names_in(node: cst.CSTNode) -> list[str]:
    """Identifiers read in an expression: names and attribute names."""
    found: list[str] = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.append(n.value)

    node.visit(Names())
    return found


def comments_of(line: cst.CSTNode | None) -> list[str]:
    if line is None:
        return []
    texts = [e.comment.value for e in getattr(line, "leading_lines", ()) if e.comment is not None]
    trailing = getattr(line, "trailing_whitespace", None)
    if trailing is not None and trailing.comment is not None:
        texts.append(trailing.comment.value)
    return texts


def bare_value(value: cst.BaseExpression) -> bool:
    """A value printed as it is, with no text of the programmer's: ``parts``, ``row["id"]``,
    ``len(items)``, ``str(obj.state)``."""
    if isinstance(value, cst.Call):
        return (
            isinstance(value.func, cst.Name)
            and value.func.value in ("len", "str", "repr", "type", "list", "dict", "sorted", "vars")
            and len(value.args) == 1
            and bare_value(value.args[0].value)
        )
    if isinstance(value, cst.Subscript):
        return bare_value(value.value)
    if isinstance(value, cst.Attribute):
        return bare_value(value.value)
    return isinstance(value, cst.Name) and value.value not in ("True", "False", "None")


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(Calls())
    return found


def text_and_values(values: list[cst.BaseExpression]):
    """A print's arguments as ("text", literal) and ("value", expression) pieces, with
    f-strings, implicitly joined literals, ``"...".format(...)`` and ``"..." % (...)`` opened up."""
    for value in values:
        yield from _pieces(value)


def _pieces(value: cst.BaseExpression):
    literal = string_value(value)
    if literal is not None:
        yield "text", literal
    elif isinstance(value, cst.ConcatenatedString):
        yield from _pieces(value.left)
        yield from _pieces(value.right)  # type: ignore[arg-type]
    elif isinstance(value, cst.FormattedString):
        for part in value.parts:
            if isinstance(part, cst.FormattedStringText):
                yield "text", part.value
            else:
                yield "value", part.expression
    elif (
        isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "format"
        and string_value(value.func.value) is not None
    ):
        yield from _format_pieces(value, str(string_value(value.func.value)))
    elif isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Modulo) and string_value(value.left) is not None:
        yield "text", string_value(value.left)
        right = value.right
        for element in right.elements if isinstance(right, cst.Tuple) else [right]:
            yield "value", element.value if isinstance(element, cst.Element) else element
    else:
        yield "value", value


def _format_pieces(call: cst.Call, template: str):
    """``"New: {new} Failed: {0}".format(...)``: the template's text, and for each field the
    argument it shows (the whole call when it cannot be told)."""
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        yield "text", template
        return
    auto = 0
    for literal, field_name, _, _ in parsed:
        if literal:
            yield "text", literal
        if field_name is None:
            continue
        key = field_name.split(".", 1)[0].split("[", 1)[0]
        if key == "":
            key, auto = str(auto), auto + 1
        if key.isdigit():
            index = int(key)
            yield "value", positional[index] if index < len(positional) else call
        else:
            yield "value", keywords.get(key, call)


def shown_names(value: cst.BaseExpression) -> list[str]:
    """The names whose values an argument shows: ``settings.DB_PASSWORD``, ``cfg["dsn"]``,
    ``str(token)`` (not names only passed to a call: ``len(tokens)``)."""
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value in ("str", "repr") and value.args:
        return shown_names(value.args[0].value)
    names: list[str] = []
    node: cst.BaseExpression = value
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        if isinstance(node, cst.Attribute):
            names.append(node.attr.value)
        else:
            key = node.slice[0].slice if node.slice else None
            if isinstance(key, cst.Index) and string_value(key.value) is not None:
                names.append(string_value(key.value) or "")
        node = node.value
    if isinstance(node, cst.Name):
        names.append(node.value)
        return names
    return names if isinstance(value, (cst.Attribute, cst.Subscript)) else []
