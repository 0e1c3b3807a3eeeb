"""Reading and adding keyword arguments of a call the way a person would write them.

``add_keywords`` keeps the call's layout: on one line it appends ``, name=value``; when the
arguments stand one per line it adds a line with the same indentation, and a trailing comma
stays a trailing comma.
"""

from __future__ import annotations

import libcst as cst

NO_SPACE = cst.SimpleWhitespace("")


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def positional(call: cst.Call) -> list[cst.Arg]:
    return [a for a in call.args if a.keyword is None and not a.star]


def has_star_args(call: cst.Call) -> bool:
    return any(a.star == "*" for a in call.args)


def has_star_kwargs(call: cst.Call) -> bool:
    return any(a.star == "**" for a in call.args)


def is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def make_keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(whitespace_before=NO_SPACE, whitespace_after=NO_SPACE),
    )


def separator_after(
    elements: "list | tuple", opening: cst.BaseParenthesizableWhitespace | None
) -> cst.BaseParenthesizableWhitespace:
    """The whitespace that follows each comma in a bracketed list (args, dict items, names)."""
    if len(elements) >= 2 and isinstance(elements[-2].comma, cst.Comma):
        return elements[-2].comma.whitespace_after
    if isinstance(opening, cst.ParenthesizedWhitespace):
        return opening  # one element per line: same indentation as the first
    return cst.SimpleWhitespace(" ")


def append_with_commas(elements: list, new: list, separator: cst.BaseParenthesizableWhitespace) -> list:
    """``elements + new`` with commas in the existing style; a trailing comma stays trailing."""
    between = cst.Comma(whitespace_before=NO_SPACE, whitespace_after=separator)
    if not elements:
        space = cst.Comma(whitespace_before=NO_SPACE, whitespace_after=cst.SimpleWhitespace(" "))
        return [*(n.with_changes(comma=space) for n in new[:-1]), new[-1]]
    last = elements[-1]
    added = [n.with_changes(comma=between) for n in new[:-1]]
    if isinstance(last.comma, cst.Comma):
        added.append(new[-1].with_changes(comma=last.comma))
    else:
        added.append(new[-1])
    return [*elements[:-1], last.with_changes(comma=between), *added]


def add_keywords(call: cst.Call, new: list[cst.Arg]) -> cst.Call:
    if not new:
        return call
    args = list(call.args)
    separator = separator_after(args, call.whitespace_before_args)
    if args and not isinstance(args[-1].comma, cst.Comma):
        # Without a trailing comma the space before ")" belongs to the last argument: move it.
        closing = args[-1].whitespace_after_arg
        args[-1] = args[-1].with_changes(whitespace_after_arg=NO_SPACE)
        new = [*new[:-1], new[-1].with_changes(whitespace_after_arg=closing)]
    return call.with_changes(args=append_with_commas(args, new, separator))


def replace_keyword_value(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    return call.with_changes(
        args=[
            a.with_changes(value=value) if a.keyword is not None and a.keyword.value == name else a
            for a in call.args
        ]
    )
