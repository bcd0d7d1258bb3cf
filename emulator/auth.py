"""Bearer-key authentication of the public API."""

from __future__ import annotations

import hmac
from collections.abc import Collection
from enum import Enum


class AuthOutcome(str, Enum):
    """The result of checking one request's Authorization header."""

    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"


def check_bearer(header: str | None, api_keys: Collection[str]) -> AuthOutcome:
    """Check ``Authorization: Bearer <key>`` against the accepted keys.

    The scheme is case-insensitive (RFC 9110), so Alloy's documented
    ``bearer`` works as well as ``Bearer``. Keys are compared in constant time.
    A header that is absent or blank is MISSING; anything else that is not an
    accepted key (other scheme, empty token, wrong key) is INVALID.
    """
    if header is None or not header.strip():
        return AuthOutcome.MISSING
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return AuthOutcome.INVALID
    # ASGI header values are latin-1 decoded bytes: re-encode to get the bytes sent.
    try:
        presented = token.encode("latin-1")
    except UnicodeEncodeError:
        return AuthOutcome.INVALID
    accepted = False
    for key in api_keys:
        # No early exit: the time taken does not reveal which key matched.
        accepted |= hmac.compare_digest(presented, key.encode("utf-8"))
    return AuthOutcome.OK if accepted else AuthOutcome.INVALID
