"""User ids: 24 lower-case hex characters, shaped like a MongoDB ObjectId.

Layout (12 bytes): 4-byte big-endian Unix time, 5 random bytes fixed per
process, 3-byte counter starting at a random value. Ids are therefore unique
within a process without touching the database, and roughly sortable by time,
like the ids Alloy returns (e.g. ``675987329f2bda83f0dff233``).
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import time

USER_ID_PATTERN = re.compile(r"\A[0-9a-f]{24}\Z")

_PROCESS_BYTES = os.urandom(5)
_COUNTER = itertools.count(secrets.randbelow(1 << 24))


def new_user_id(now: float | None = None) -> str:
    """Return a fresh user id (24 lower-case hex characters).

    ``now`` overrides the clock (seconds since the epoch), for tests.
    """
    seconds = int(time.time() if now is None else now) & 0xFFFFFFFF
    counter = next(_COUNTER) & 0xFFFFFF
    raw = seconds.to_bytes(4, "big") + _PROCESS_BYTES + counter.to_bytes(3, "big")
    return raw.hex()


def is_user_id(value: str) -> bool:
    """True when ``value`` has the shape of a user id (24 lower-case hex)."""
    return bool(USER_ID_PATTERN.match(value))
