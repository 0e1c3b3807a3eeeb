"""Reading Python source the way the interpreter does, and writing it back the same way.

The text keeps its newline style (``\\r\\n`` stays ``\\r\\n``: bytes are decoded without newline
translation and libcst preserves line endings), the BOM and the PEP 263 encoding.
"""

from __future__ import annotations

import codecs
import io
import tokenize
from dataclasses import dataclass


class SourceError(Exception):
    """The file cannot be decoded; ``line`` is 1-based (0 when unknown)."""

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class DecodedSource:
    text: str
    encoding: str  # codec used to decode, without the "-sig" suffix
    bom: bool


def decode_source(data: bytes) -> DecodedSource:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(str(exc), getattr(exc, "lineno", 0) or 0) from None
    bom = data.startswith(codecs.BOM_UTF8)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    payload = data[len(codecs.BOM_UTF8) :] if bom else data
    try:
        text = payload.decode(codec)
    except UnicodeDecodeError as exc:
        line = payload[: exc.start].count(b"\n") + 1
        raise SourceError(f"cannot decode as {codec}: {exc.reason}", line) from None
    return DecodedSource(text=text, encoding=codec, bom=bom)


def encode_source(text: str, like: DecodedSource) -> bytes:
    try:
        data = text.encode(like.encoding)
    except UnicodeEncodeError as exc:
        line = text[: exc.start].count("\n") + 1
        raise SourceError(
            f"the new code cannot be encoded as {like.encoding}: {exc.reason}", line
        ) from None
    return codecs.BOM_UTF8 + data if like.bom else data
