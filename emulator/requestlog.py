"""The request log and per-route counters of the public API.

The log records what happened to each request, never what authenticated it:
no header values and no key are stored, only the outcome of the auth check
(``"ok"``, ``"missing"`` or ``"invalid"``).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from emulator.defaults import REQUEST_LOG_LIMIT
from emulator.routes import PUBLIC_ROUTE_KEYS


@dataclass(frozen=True)
class LogEntry:
    """One public request.

    ``status`` is what the emulator produced; ``delivered`` is False when the
    client never got it (drop_after_commit, or it hung up during a slow fault).
    """

    seq: int
    time: str  # ISO 8601, UTC, when the request arrived
    method: str
    path: str  # without the query string
    route: str | None  # route key, None for paths outside the users API
    status: int | None
    delivered: bool
    fault: str | None  # "429", "503", "drop_after_commit", "slow_after_commit" or None
    latency_ms: float  # injected latency
    auth: str  # "ok" | "missing" | "invalid"
    duration_ms: float


class RequestLog:
    """A bounded, thread-safe list of LogEntry, oldest first."""

    def __init__(self, limit: int = REQUEST_LOG_LIMIT) -> None:
        """Keep at most ``limit`` entries; older ones are dropped."""
        self._lock = threading.Lock()
        self._entries: deque[LogEntry] = deque(maxlen=limit)
        self._seq = 0

    def next_seq(self) -> int:
        """A new sequence number, in arrival order."""
        with self._lock:
            self._seq += 1
            return self._seq

    def append(self, entry: LogEntry) -> None:
        """Record one finished request."""
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        """Every kept entry as JSON objects, in arrival order."""
        with self._lock:
            entries = sorted(self._entries, key=lambda entry: entry.seq)
        return [asdict(entry) for entry in entries]

    def clear(self) -> None:
        """Forget every entry and restart the sequence."""
        with self._lock:
            self._entries.clear()
            self._seq = 0


class Counters:
    """How many requests reached each public route (faulted ones included)."""

    def __init__(self) -> None:
        """Every public route starts at 0."""
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(PUBLIC_ROUTE_KEYS, 0)

    def bump(self, route: str | None) -> None:
        """Count one request to ``route``; requests outside the users API are not counted."""
        if route is None:
            return
        with self._lock:
            self._counts[route] += 1

    def snapshot(self) -> dict[str, int]:
        """The counts, keyed by route key, in a fixed order."""
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        """Set every count back to 0."""
        with self._lock:
            self._counts = dict.fromkeys(PUBLIC_ROUTE_KEYS, 0)
