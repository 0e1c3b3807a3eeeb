"""Changed lines within the project's line length, laid out the way its formatter would.

Runs once per changed file, on the codemods' final text (engine/pipeline.py). Only lines the
codemods wrote or changed are looked at (a new line that is none of the old lines); a line the
codemods did not touch is never reflowed, however long it is. A file with no over-long line
costs one pass over its lines.

A changed line longer than ``style.line_length`` is split by prodfix's own rules where they
are certain to give what black (and ruff format, which follows black) gives: a statement on one
line that ends in a call (``x = a.b(...)``, ``return f(...)``, ``@retry(...)``, ``f(...)``) is
split at that call's brackets (black's right-hand split): the arguments on one indented line if
they fit there, else one argument per line with a magic trailing comma; an argument that has no
brackets stays as it is even when it is too long (a string is not split). Anything else that
is too long (a statement already on several lines, a comment, nested brackets that would have to
split too) is left to the project's formatter when ``format: auto`` and it is installed where
prodfix runs (black in this process, with ``lines=``; ``ruff format --range``), on exactly those
statements; else it is left as the codemod wrote it.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import io
import itertools
import os
import re
import shutil
import subprocess
import sys
import tokenize

from prodfix.codemods.common.style import Style

_DOTTED = re.compile(r"[A-Za-z_][\w.]*\Z")
_TARGET = re.compile(r"([A-Za-z_][\w.]*) = ")
_FROM = re.compile(r"from (\.*[\w.]*) import ([^()]+)\Z")
_NAME = re.compile(r"[A-Za-z_]\w*(?: as [A-Za-z_]\w*)?\Z")
_WITH = re.compile(r"(?:async )?with (?=[A-Za-z_])")
_CLOSING = {"(": ")", "[": "]"}
_KEYWORD = re.compile(r"(?:[A-Za-z_]\w*=)?")
FORMATTER_TIMEOUT = 20  # seconds for one `ruff format --range` of one file


def fit(old_text: str, new_text: str, style: Style, format_mode: str = "never", rel: str = "", root: str = ".") -> str:
    """``new_text`` with its changed over-long lines laid out (see the module's docstring)."""
    limit = style.line_length
    if not any(len(line) > limit for line in new_text.splitlines()):  # the common case: nothing to do
        return new_text
    # a changed line: one that is not among the old lines (a line moved as it was is not new text)
    old_lines = set(old_text.splitlines())
    new_lines = new_text.splitlines(keepends=True)
    long = [
        i for i, line in enumerate(new_lines)
        if _width(line.rstrip("\r\n")) > limit and line.rstrip("\r\n") not in old_lines
    ]
    if not long:
        return new_text
    try:
        tree = ast.parse(new_text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return new_text
    statements = _statements(tree)
    replacements: dict[int, tuple[int, list[str]]] = {}  # first 0-based line -> (last, its new lines)
    uncertain: list[tuple[int, int]] = []  # 1-based statement ranges for the formatter
    for index in long:
        span = _statement_at(statements, index + 1)
        if span is None:
            continue
        start, end, kind = span
        if any(first <= start - 1 <= last for first, (last, _) in replacements.items()):
            continue  # laid out with an earlier line of the same statement
        split = None
        if start == end == index + 1:
            split = split_line(new_lines[index], kind, style)
        else:
            # black lays a statement out from its joined form: so does prodfix, then falls back
            # to the one item (of an exploded bracket) the line is
            joined = _joined(new_lines[start - 1 : end])
            split = split_line(joined, kind, style) if joined is not None else None
            if split is not None:
                replacements[start - 1] = (end - 1, split)
                continue
            if _lone_item(new_lines, index):
                split = split_line(new_lines[index], "element", style)
        if split is not None:
            replacements[index] = (index, split)
        elif (start, end) not in uncertain:
            uncertain.append((start, end))
    text = new_text
    if replacements:
        out = []
        i = 0
        while i < len(new_lines):
            if i in replacements:
                last, lines = replacements[i]
                out.extend(lines)
                i = last + 1
            else:
                out.append(new_lines[i])
                i += 1
        candidate = "".join(out)
        if _same_code(new_text, candidate):
            text = candidate
            uncertain = _shift(uncertain, replacements)
    if uncertain and format_mode == "auto" and style.formatter is not None:
        formatted = run_formatter(text, uncertain, style, rel, root)
        if formatted is not None and _same_code(text, formatted):
            text = formatted
    return text


def _joined(lines: list[str]) -> str | None:
    """A statement's lines as one line, the way black reads it before laying it out: no break
    after an opening bracket or before a closing one, one space after a comma. None when a
    break sits anywhere else (an operator, a comment, a string across lines)."""
    parts = [line.strip() for line in lines]
    if not parts or any(not part or "#" in part for part in parts) or lines[0].startswith("\t"):
        return None
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip(" "))]
    text = parts[0]
    for part in parts[1:]:
        if text.endswith(("(", "[", "{")) or part.startswith((")", "]", "}")):
            text += part
        elif text.endswith(","):
            text += " " + part
        else:
            return None
    ending = lines[-1][len(lines[-1].rstrip("\r\n")) :] or "\n"
    return indent + text + ending


def _lone_item(lines: list[str], index: int) -> bool:
    """Whether line ``index`` is one whole item of an exploded bracket: the line before opens the
    bracket or ends the item before, and this one ends with its comma or the bracket closes next."""
    before = lines[index - 1].rstrip() if index else ""
    after = lines[index + 1].lstrip() if index + 1 < len(lines) else ""
    return before.endswith(("(", "[", "{", ",")) and (lines[index].rstrip().endswith(",") or after.startswith((")", "]", "}")))


def _width(line: str) -> int:
    if line.isascii():
        return len(line)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def _statements(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first line, last line, kind) of every simple statement, decorator and compound header."""
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            for decorator in getattr(node, "decorator_list", ()):
                found.append((decorator.lineno, decorator.end_lineno or decorator.lineno, "decorator"))
            first = node.decorator_list[-1].end_lineno + 1 if getattr(node, "decorator_list", None) else node.lineno
            found.append((first, max(first, body[0].lineno - 1), "header"))
        else:
            found.append((node.lineno, node.end_lineno or node.lineno, type(node).__name__))
    return found


def _statement_at(statements: list[tuple[int, int, str]], line: int) -> tuple[int, int, str] | None:
    best = None
    for start, end, kind in statements:
        if start <= line <= end and (best is None or end - start < best[1] - best[0]):
            best = (start, end, kind)
    return best


def _shift(ranges: list[tuple[int, int]], replacements: dict[int, tuple[int, list[str]]]) -> list[tuple[int, int]]:
    """1-based ranges moved by the lines the replacements added or took away before them."""

    def moved(line: int) -> int:
        return line + sum(len(lines) - (last - first + 1) for first, (last, lines) in replacements.items() if last + 1 < line)

    return [(moved(start), moved(end)) for start, end in ranges]


def _same_code(before: str, after: str) -> bool:
    try:
        return ast.dump(ast.parse(before)) == ast.dump(ast.parse(after))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


def split_line(line: str, kind: str, style: Style) -> list[str] | None:
    """The lines black gives for ``line``, one statement ending in a call; None when prodfix's
    own rules are not certain of black's answer (the caller leaves it, or asks the formatter)."""
    ending = line[len(line.rstrip("\r\n")) :] or "\n"
    code = line.rstrip("\r\n")
    indent = code[: len(code) - len(code.lstrip(" "))]
    code = code[len(indent) :]
    if not code.isascii() or "\\" in code or "\t" in indent or kind not in ("Expr", "Assign", "Return", "decorator", "element", "ImportFrom", "header"):
        return None
    tokens = _tokens(code)
    if tokens is None:
        return None
    if kind == "ImportFrom":
        return _split_import(code, tokens, indent, ending, style)
    comma = ""  # what follows the closing bracket, kept after it
    if kind == "element" and tokens[-1].string == ",":  # one item of an exploded bracket
        tokens, comma, code = tokens[:-1], ",", code[: tokens[-1].start[1]].rstrip()
    elif kind == "header":  # `with f(...) as name:`, one context manager
        with_as = _WITH.match(code)
        if with_as is None or len(tokens) < 3:
            return None
        cut = -3 if tokens[-3].string == "as" else -1
        if cut == -3 and not (tokens[-2].type == tokenize.NAME and tokens[-1].string == ":"):
            return None
        comma = code[tokens[cut].start[1] - (1 if cut == -3 else 0) :]
        tokens, code = tokens[:cut], code[: tokens[cut].start[1]].rstrip()
    # the statement must end with the ")" that closes its first bracket: `<head>(<args>)`
    brackets = [t for t in tokens if t.type == tokenize.OP and t.string in "()[]{}"]
    closing = _match(tokens, brackets[0]) if brackets and brackets[0].string in "([" else None
    if closing is not None and brackets[0].string == "[" and not (kind == "element" and tokens[0] is brackets[0]):
        closing = None  # a subscript: not laid out here
    if closing is None:
        return None
    # one trailer after it may stay on the closing line: `).json()`, `).status_code`
    after = tokens[tokens.index(closing) + 1 :]
    if after:
        shape = [(t.type, t.string) for t in after]
        if shape[:1] != [(tokenize.OP, ".")] or len(after) not in (2, 4) or after[1].type != tokenize.NAME:
            return None
        if len(after) == 4 and [t.string for t in after[2:]] != ["(", ")"]:
            return None
        comma = code[closing.end[1] :] + comma
        tokens, code = tokens[: tokens.index(closing) + 1], code[: closing.end[1]]
    if any(t.type == tokenize.COMMENT for t in tokens):
        return None
    open_col = brackets[0].start[1]
    head = code[:open_col]
    prefix = ""
    if kind == "decorator":
        prefix, head = "@", head[1:] if head.startswith("@") else None
    elif kind == "Return":
        prefix, head = "return ", head[7:] if head.startswith("return ") else None
    elif kind == "header":
        prefix = with_as.group(0)
        head = head[len(prefix) :]
    elif kind in ("Assign", "element"):
        match = (_TARGET if kind == "Assign" else _KEYWORD).match(head)
        if match is None:
            return None
        prefix, head = match.group(0), head[match.end() :]
    if head is None:
        return None
    if head.startswith("await "):
        prefix, head = prefix + "await ", head[6:]
    opening = brackets[0].string
    if not _DOTTED.match(head) and not (kind == "element" and head == "" and "await" not in prefix):
        return None  # an item may be a bracket of its own: `(a, b),`
    body = code[open_col + 1 : len(code) - 1]
    args = _split_args(tokens, brackets[0], tokens[-1], code)
    if not args or _magic_comma(tokens[1:-1]):
        return None
    limit = style.line_length
    inner = indent + style.indent
    first = f"{indent}{prefix}{head}{opening}"
    last = f"{indent}{_CLOSING[opening]}{comma}"
    if len(first) > limit:
        return None
    trailing = body.rstrip().endswith(",")
    if trailing and not style.magic_trailing_comma:
        return None
    # a collection (a bracket of its own, not a call's) with commas is always exploded by black
    explode = style.split_commas or (head == "" and len(args) > 1)
    if not trailing and not explode:
        one = inner + ", ".join(text for text, _ in args)
        if len(one) <= limit:
            return [first + ending, one + ending, last + ending]
        if len(args) == 1:
            # one argument: black splits it at its own operators or brackets; certain only for
            # an argument that has neither (it stays on its line, however long), or that is
            # itself a call or a bracket, split the same way one level in
            if args[0][1] == "atom":
                return [first + ending, one + ending, last + ending]
            inside = split_line(one + ending, "element", style)
            return [first + ending, *inside, last + ending] if inside is not None else None
    out = [first + ending]
    for text, shape in args:
        if text.startswith("*"):
            return None  # the trailing comma after *args depends on the target versions black infers
        element = f"{inner}{text},"
        if len(element) > limit and shape != "atom":
            inside = split_line(element + ending, "element", style)
            if inside is None:
                return None
            out.extend(inside)
            continue
        out.append(element + ending)
    out.append(last + ending)
    return out


def _split_import(code: str, tokens: list[tokenize.TokenInfo], indent: str, ending: str, style: Style) -> list[str] | None:
    """``from a import b, c`` that is too long: black's and isort's (profile black) and ruff's
    form, one name per line with a trailing comma. isort with another profile wraps its own way:
    not certain then."""
    match = _FROM.match(code)
    if match is None or any(t.type == tokenize.COMMENT for t in tokens):
        return None
    imports = style.imports
    if style.formatter is None and (imports.profile or "black") != "black" and imports != type(imports)():
        return None
    names = [name.strip() for name in match.group(2).split(",")]
    if not all(_NAME.match(name) for name in names):
        return None
    inner = indent + style.indent
    return [f"{indent}from {match.group(1)} import ({ending}", *(f"{inner}{name},{ending}" for name in names), f"{indent}){ending}"]


def _tokens(code: str) -> list[tokenize.TokenInfo] | None:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code + "\n").readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    drop = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
    kept = [t for t in tokens if t.type not in drop]
    if any(t.type == tokenize.OP and t.string == ";" for t in kept) or any(t.start[0] != 1 for t in kept):
        return None
    if any(t.type == tokenize.ERRORTOKEN for t in kept) or any(
        getattr(tokenize, "FSTRING_START", None) == t.type for t in kept
    ):
        return None
    return kept


def _match(tokens: list[tokenize.TokenInfo], opening: tokenize.TokenInfo) -> tokenize.TokenInfo | None:
    depth = 0
    for token in tokens[tokens.index(opening) :]:
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
            if depth == 0:
                return token
    return None


def _magic_comma(tokens: list[tokenize.TokenInfo]) -> bool:
    """Whether any bracket inside the call's brackets ends with a comma (black explodes it)."""
    return any(
        before.string == "," and token.type == tokenize.OP and token.string in ")]}"
        for before, token in itertools.pairwise(tokens)
    )


def _split_args(tokens, opening, closing, code: str) -> list[tuple[str, str]] | None:
    """The call's arguments as written, each with its shape: "atom" when it holds no bracket and
    no operator black would split at (a name, a number, one string, ``key=`` one of those)."""
    inside = tokens[tokens.index(opening) + 1 : tokens.index(closing)]
    args: list[list[tokenize.TokenInfo]] = [[]]
    depth = 0
    for token in inside:
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        if depth == 0 and token.type == tokenize.OP and token.string == ",":
            args.append([])
        else:
            args[-1].append(token)
    if not args[-1]:
        args.pop()
    out = []
    for arg in args:
        if not arg:
            return None
        text = code[arg[0].start[1] : arg[-1].end[1]]
        body = arg[2:] if len(arg) > 2 and arg[0].type == tokenize.NAME and arg[1].string == "=" else arg
        atom = len(body) == 1 and body[0].type in (tokenize.NAME, tokenize.NUMBER, tokenize.STRING)
        out.append((text, "atom" if atom else "other"))
    return out


# -- the project's own formatter, on the statements prodfix's rules are not certain of -------


def formatter_fingerprint(style: Style, format_mode: str) -> str:
    """What the result cache must know about the formatter: which one would run, and which
    installation (its file's path, size and time: a stat, not an import or a subprocess, since
    a warm run computes this key)."""
    if format_mode != "auto" or style.formatter is None:
        return "format=off"
    return f"format={style.formatter}:{_black_installed() if style.formatter == 'black' else _ruff_installed()}"


def _stamp(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


@functools.cache
def _black_installed() -> str | None:
    spec = importlib.util.find_spec("black")
    return _stamp(spec.origin) if spec is not None else None


@functools.cache
def _ruff_path() -> str | None:
    """ruff on PATH, else the one installed beside the Python prodfix runs in (a virtualenv
    whose bin folder is not on PATH: ``.venv/bin/prodfix`` run by its full path)."""
    beside = os.path.join(os.path.dirname(sys.executable), "ruff")
    return shutil.which("ruff") or (beside if os.access(beside, os.X_OK) else None)


def _ruff_installed() -> str | None:
    return _stamp(_ruff_path())


def run_formatter(text: str, ranges: list[tuple[int, int]], style: Style, rel: str, root: str) -> str | None:
    """``text`` with the project's formatter run on the 1-based line ``ranges``, or None when it
    is not installed here or fails."""
    if style.formatter == "black" and _black_installed():
        return _black(text, ranges, style)
    if style.formatter == "ruff" and _ruff_installed():
        return _ruff(text, ranges, rel, root)
    return None


def _black(text: str, ranges: list[tuple[int, int]], style: Style) -> str | None:
    import black

    versions = {getattr(black.TargetVersion, v.upper(), None) for v in style.target_versions}
    mode = black.Mode(
        line_length=style.line_length,
        string_normalization=style.quote is not None,
        magic_trailing_comma=style.magic_trailing_comma,
        target_versions={v for v in versions if v is not None},
    )
    try:
        return black.format_str(text, mode=mode, lines=ranges)  # lines=: black 23.11 and later
    except Exception:  # noqa: BLE001 - black's failure (or an older black) leaves the file as prodfix wrote it
        return None


def _ruff(text: str, ranges: list[tuple[int, int]], rel: str, root: str) -> str | None:
    ruff = _ruff_path()
    if ruff is None:
        return None
    # one range per call (ruff takes one); from the last, so earlier line numbers stay right
    for start, end in sorted(ranges, reverse=True):
        lines = text.splitlines(keepends=True)
        end_col = len(lines[end - 1].rstrip("\r\n")) + 1 if end <= len(lines) else 1
        command = [ruff, "format", f"--range={start}:1-{end}:{end_col}", "--stdin-filename", rel or "prodfix.py", "-"]
        try:
            done = subprocess.run(
                command, input=text, capture_output=True, text=True, cwd=root, timeout=FORMATTER_TIMEOUT, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0:
            return None
        text = done.stdout
    return text
