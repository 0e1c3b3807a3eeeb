"""Turning print()'s arguments into a lazy log message: a constant format string plus values.

The message must render exactly what print would have written. Each positional argument
becomes pieces: literal text (string literals, the text of f-strings and of ``"..." % (a, b)``
/ ``"...".format(a)`` templates) and fields (values with a conversion and a format spec).
Pieces are joined with ``sep`` and rendered in the logger's style: ``%s`` for logging and
structlog, ``{}`` for loguru. Whatever cannot be split exactly stays one value.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass

import libcst as cst

from prodfix.codemods.common.logger import Style
from prodfix.codemods.common.quotes import string_literal


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Field:
    expr: cst.BaseExpression
    conversion: str = "s"  # s, r or a
    spec: str = ""  # a str.format spec (from f-strings / .format)
    directive: str | None = None  # an explicit %-directive (from "..." % args)


Piece = Text | Field


@dataclass(frozen=True)
class Message:
    format: cst.BaseExpression  # the string literal node
    args: list[cst.BaseExpression]
    text: str  # the literal text only, for choosing a level


class Unsupported(Exception):
    """The arguments cannot be rendered exactly; the caller keeps the print."""


# --- literals -----------------------------------------------------------------------------


def string_value(node: cst.BaseExpression) -> str | None:
    """The value of a (possibly implicitly concatenated) non-bytes string literal."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        return None if left is None or right is None else left + right
    return None


def make_string(value: str, quote: str = '"') -> cst.SimpleString:
    """A string literal for ``value`` in ``quote`` (unless the other one needs fewer escapes)."""
    return cst.SimpleString(string_literal(value, quote))


def quote_of(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        return node.quote[0]
    if isinstance(node, cst.FormattedString):
        return node.end[0]
    if isinstance(node, cst.ConcatenatedString):
        return quote_of(node.left)
    return None


# --- pieces from expressions -------------------------------------------------------------

# Expressions whose value is certainly not a tuple (so "fmt" % value formats one value).
_NOT_TUPLE = (
    cst.SimpleString, cst.FormattedString, cst.ConcatenatedString, cst.Integer, cst.Float,
    cst.Imaginary, cst.List, cst.ListComp, cst.Set, cst.SetComp,
)
_PERCENT = re.compile(
    r"%(?P<key>\([^)]*\))?(?P<flags>[-#0 +]*)(?P<width>\*|\d+)?(?:\.(?P<prec>\*|\d+))?"
    r"(?P<length>[hlL])?(?P<type>[diouxXeEfFgGcrsa%])"
)


def pieces_of(expr: cst.BaseExpression, style: Style, builtins_ok: bool) -> list[Piece]:
    """Split one print argument into pieces. ``builtins_ok``: format()/repr() may be emitted."""
    value = string_value(expr)
    if value is not None:
        return [Text(value)]
    if isinstance(expr, cst.ConcatenatedString):
        return pieces_of(expr.left, style, builtins_ok) + pieces_of(expr.right, style, builtins_ok)
    if isinstance(expr, cst.FormattedString):
        try:
            return _fstring_pieces(expr)
        except Unsupported:
            return [Field(expr)]
    if style == "percent" and isinstance(expr, cst.BinaryOperation) and isinstance(
        expr.operator, cst.Modulo
    ):
        split = _percent_pieces(expr)
        if split is not None:
            return split
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
        if expr.func.attr.value == "format" and string_value(expr.func.value) is not None:
            split = _format_call_pieces(expr)
            if split is not None:
                return split
    return [Field(expr)]


def _fstring_text(node: cst.FormattedString, raw: str) -> str:
    prefix = node.prefix.lower().replace("f", "")
    quote = node.end
    try:
        value = ast.literal_eval(f"{prefix}{quote}{raw}{quote}")
    except (SyntaxError, ValueError) as exc:
        raise Unsupported(str(exc)) from None
    return value.replace("{{", "{").replace("}}", "}")


def _fstring_pieces(node: cst.FormattedString) -> list[Piece]:
    pieces: list[Piece] = []
    for part in node.parts:
        if isinstance(part, cst.FormattedStringText):
            pieces.append(Text(_fstring_text(node, part.value)))
            continue
        assert isinstance(part, cst.FormattedStringExpression)
        if part.equal is not None:
            raise Unsupported("self-documenting field")
        spec = ""
        if part.format_spec is not None:
            if any(not isinstance(p, cst.FormattedStringText) for p in part.format_spec):
                raise Unsupported("nested field in a format spec")
            spec = _fstring_text(node, "".join(p.value for p in part.format_spec))  # type: ignore[union-attr]
        conversion = part.conversion or "s"
        pieces.append(Field(part.expression, conversion=conversion, spec=spec))
    return pieces


def _percent_pieces(expr: cst.BinaryOperation) -> list[Piece] | None:
    template = string_value(expr.left)
    if template is None:
        return None
    right = expr.right
    if isinstance(right, cst.Tuple):
        if any(isinstance(e, cst.StarredElement) for e in right.elements):
            return None
        values = [e.value for e in right.elements]
    elif isinstance(right, _NOT_TUPLE):
        values = [right]
    else:
        return None
    pieces: list[Piece] = []
    position = 0
    consumed = 0
    for match in _PERCENT.finditer(template):
        pieces.append(Text(template[position : match.start()]))
        position = match.end()
        if match.group("type") == "%":
            if match.group(0) != "%%":
                return None
            pieces.append(Text("%"))
            continue
        if match.group("key") or "*" in (match.group("width") or "") + (match.group("prec") or ""):
            return None
        if consumed >= len(values):
            return None
        pieces.append(Field(values[consumed], directive=match.group(0)))
        consumed += 1
    pieces.append(Text(template[position:]))
    if consumed != len(values) or "%" in template[position:]:
        return None
    return pieces


def _format_call_pieces(call: cst.Call) -> list[Piece] | None:
    template = string_value(call.func.value)  # type: ignore[attr-defined]
    assert template is not None
    positional: list[cst.BaseExpression] = []
    keywords: dict[str, cst.BaseExpression] = {}
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            positional.append(arg.value)
        else:
            keywords[arg.keyword.value] = arg.value
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    pieces: list[Piece] = []
    used: list[object] = []
    auto = 0
    for literal, field_name, spec, conversion in parsed:
        if literal:
            pieces.append(Text(literal))
        if field_name is None:
            continue
        if spec and "{" in spec:
            return None
        if field_name == "":
            key: object = auto
            auto += 1
        elif field_name.isdigit():
            key = int(field_name)
        elif field_name.isidentifier():
            key = field_name
        else:
            return None  # attribute or index lookups
        if isinstance(key, int):
            if key >= len(positional):
                return None
            value = positional[key]
        else:
            if key not in keywords:
                return None
            value = keywords[key]
        used.append(key)
        pieces.append(Field(value, conversion=conversion or "s", spec=spec or ""))
    # Every argument used exactly once keeps evaluation count and order honest.
    expected = list(range(len(positional))) + list(keywords)
    if used != expected:
        return None
    return pieces


# --- rendering ----------------------------------------------------------------------------

_SPEC = re.compile(
    r"^(?P<align>[<>])?(?P<sign>[-+ ])?(?P<alt>#)?(?P<zero>0)?(?P<width>\d+)?"
    r"(?:\.(?P<prec>\d+))?(?P<type>[dfFeEgGxXos])$"
)


def percent_directive(conversion: str, spec: str) -> str | None:
    """The %-directive that renders a value exactly like ``format(conv(value), spec)``."""
    if not spec:
        return "%" + conversion
    match = _SPEC.match(spec)
    if not match or conversion != "s":
        return None
    kind = match.group("type")
    flags = ""
    if kind == "s":
        if match.group("sign") or match.group("alt") or match.group("zero"):
            return None
        if match.group("align") != ">" and match.group("width"):
            flags = "-"  # str.format left-aligns strings by default
    else:
        if match.group("align") == "<":
            if match.group("zero"):
                return None
            flags = "-"
        sign = match.group("sign") or ""
        flags += (sign if sign in ("+", " ") else "") + (match.group("alt") or "") + (match.group("zero") or "")
    width = match.group("width") or ""
    precision = "." + match.group("prec") if match.group("prec") is not None else ""
    return f"%{flags}{width}{precision}{kind}"


def _call(name: str, *args: cst.BaseExpression) -> cst.Call:
    return cst.Call(func=cst.Name(name), args=[cst.Arg(a) for a in args])


def render(
    pieces: list[Piece], style: Style, quote: str, builtins_ok: bool, has_args: bool | None = None
) -> tuple[str, list[cst.BaseExpression]]:
    """(format string value, argument expressions) for the given logger style. ``has_args``:
    whether the whole message has arguments (when ``pieces`` are one part of it)."""
    if has_args is None:
        has_args = any(isinstance(p, Field) for p in pieces)
    out: list[str] = []
    args: list[cst.BaseExpression] = []
    for piece in pieces:
        if isinstance(piece, Text):
            text = piece.value
            if has_args and style == "percent":
                text = text.replace("%", "%%")
            elif has_args and style == "brace":
                text = text.replace("{", "{{").replace("}", "}}")
            out.append(text)
            continue
        if style == "brace":
            if piece.directive is not None:
                raise Unsupported("%-format in a {}-style logger")
            conversion = "" if piece.conversion == "s" else "!" + piece.conversion
            out.append("{" + conversion + (":" + piece.spec if piece.spec else "") + "}")
            args.append(piece.expr)
            continue
        if piece.directive is not None:
            out.append(piece.directive)
            args.append(piece.expr)
            continue
        directive = percent_directive(piece.conversion, piece.spec)
        if directive is not None:
            out.append(directive)
            args.append(piece.expr)
            continue
        if not builtins_ok:
            raise Unsupported("format() is shadowed in this module")
        value = piece.expr
        if piece.conversion != "s":
            value = _call({"r": "repr", "a": "ascii"}[piece.conversion], value)
        out.append("%s")
        args.append(_call("format", value, make_string(piece.spec, quote)))
    return "".join(out), args


def _render_lines(
    node: cst.ConcatenatedString, style: Style, builtins_ok: bool, quote: str
) -> tuple[cst.BaseExpression, list[cst.BaseExpression]] | None:
    """A message written as literals on several lines (implicit concatenation) stays on those
    lines, each part rendered on its own in its own quotes: joined into one literal it would
    outgrow the line the author kept short. None when it is on one line or a part cannot be
    rendered exactly."""
    parts: list[cst.BaseExpression] = []
    gaps: list[cst.BaseParenthesizableWhitespace] = []
    current: cst.BaseExpression = node
    while isinstance(current, cst.ConcatenatedString):
        if current.lpar or current.rpar:
            return None
        parts.append(current.left)
        gaps.append(current.whitespace_between)
        current = current.right
    parts.append(current)
    if not any(isinstance(gap, cst.ParenthesizedWhitespace) for gap in gaps):
        return None
    split = [pieces_of(part, style, builtins_ok) for part in parts]
    has_args = any(isinstance(p, Field) for pieces in split for p in pieces)
    literals: list[cst.BaseExpression] = []
    args: list[cst.BaseExpression] = []
    try:
        for part, pieces in zip(parts, split):
            own = quote_of(part)
            own = own if own in ("'", '"') else quote
            fmt, part_args = render(pieces, style, own, builtins_ok, has_args)
            literals.append(make_string(fmt, own))
            args.extend(part_args)
    except Unsupported:
        return None
    joined = literals[-1]
    for literal, gap in zip(reversed(literals[:-1]), reversed(gaps)):
        joined = cst.ConcatenatedString(left=literal, right=joined, whitespace_between=gap)
    return joined, args


def build_message(
    values: list[cst.BaseExpression], sep: str, style: Style, builtins_ok: bool, quote: str | None = None,
    keep_lines: bool = False,
) -> Message:
    """``quote``: what new literals are written with (codemods.common.quotes.file_quote); by
    default the quote of the print's own strings. ``keep_lines``: a message written as
    literals on several lines keeps them (joined it would not fit on its line)."""
    pieces: list[Piece] = []
    for index, value in enumerate(values):
        if index:
            pieces.append(Text(sep))
        pieces.extend(pieces_of(value, style, builtins_ok))
    if quote is None:
        quote = next((q for q in map(quote_of, values) if q in ("'", '"')), '"')
    text = "".join(p.value for p in pieces if isinstance(p, Text))
    if len(values) == 1 and string_value(values[0]) is not None:
        # A plain literal message: keep the literal exactly as written.
        return Message(format=values[0], args=[], text=text)
    if keep_lines and len(values) == 1 and isinstance(values[0], cst.ConcatenatedString):
        split = _render_lines(values[0], style, builtins_ok, quote)
        if split is not None:
            return Message(format=split[0], args=split[1], text=text)
    try:
        fmt, args = render(pieces, style, quote, builtins_ok)
    except Unsupported:
        # Fall back to each value whole: still exact, only less lazy.
        plain: list[Piece] = []
        for index, value in enumerate(values):
            plain.extend([Text(sep), Field(value)] if index else [Field(value)])
        fmt, args = render(plain, style, quote, builtins_ok)
    return Message(format=make_string(fmt, quote), args=args, text=text)

