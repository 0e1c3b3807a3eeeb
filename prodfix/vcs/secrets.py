"""Tokens never reach an argv, a URL, a file under ``.git`` or any output.

A token is registered once, when it is read from the environment; every message prodfix prints
from then on (git's stderr, a forge's error body, a traceback's text) passes through
:func:`redact`, which hides the token in the forms it travels in: raw, ``user:token``, and the
base64 of ``user:token`` that an HTTP Basic ``Authorization`` header carries.
"""

from __future__ import annotations

import base64

MASK = "***"
_secrets: set[str] = set()


def register(token: str, *usernames: str) -> None:
    if not token:
        return
    _secrets.add(token)
    for user in usernames:
        _secrets.add(f"{user}:{token}")
        _secrets.add(basic_credentials(user, token))


def basic_credentials(user: str, token: str) -> str:
    return base64.b64encode(f"{user}:{token}".encode()).decode("ascii")


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):  # longest first: user:token before token
        text = text.replace(secret, MASK)
    return text


def forget() -> None:
    """For tests: drop every registered secret."""
    _secrets.clear()
