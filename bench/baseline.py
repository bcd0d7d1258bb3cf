"""Baseline (a): the project's own client doing the API work directly.

``providers.alloy.client.AlloyClient`` creates, reads, updates (the same share as
the update scenario) and deletes the users with ``PROVIDER_CONCURRENCY``
workers, as many as the dynamic provider serves at once. ``list`` is the one
``GET /users`` with which the provider serves a whole refresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.workload import BenchUser
from providers.alloy.client import AlloyClient, ClientSettings

T = TypeVar("T")

CREATE = "create"
READ = "read"
LIST = "list"
UPDATE = "update"
DELETE = "delete"
OPERATIONS = (CREATE, READ, LIST, UPDATE, DELETE)


@dataclass(frozen=True)
class BaselineResult:
    """One operation over the workload: wall time and the number of API calls made."""

    operation: str
    wall_s: float
    calls: int


def call_ms(results: list[BaselineResult], workers: int) -> float:
    """How long one create took the client, per worker, in milliseconds (0 without creates)."""
    created = next((result for result in results if result.operation == CREATE and result.calls), None)
    return 0.0 if created is None else created.wall_s * 1000 * workers / created.calls


def run_client_baseline(
    base_url: str,
    api_key: str,
    users: list[BenchUser],
    changed: list[BenchUser],
    workers: int,
    on_done: Callable[[BaselineResult], Any] = lambda _result: None,
) -> list[BaselineResult]:
    """Create ``users``, read them one by one, list them, update ``changed``
    (same usernames, new full names) and delete them all; leaves no user behind."""
    client = AlloyClient(ClientSettings(base_url=base_url, api_key=api_key))
    results: list[BaselineResult] = []

    def timed(operation: str, calls: int, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        value = work()
        result = BaselineResult(operation, time.perf_counter() - started, calls)
        results.append(result)
        on_done(result)
        return value

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-client") as pool:

            def each(function: Callable[..., T], *columns: Iterable[Any]) -> list[T]:
                return list(pool.map(function, *columns))

            names = [user.username for user in users]
            ids = timed(CREATE, len(users), lambda: each(client.create_user, names, [u.full_name for u in users]))
            id_of = dict(zip((user.username for user in users), ids))
            timed(READ, len(ids), lambda: each(client.get_user, ids))
            timed(LIST, 1, client.list_users)
            timed(
                UPDATE,
                len(changed),
                lambda: each(
                    lambda user: client.update_user(id_of[user.username], full_name=user.full_name), changed
                ),
            )
            timed(DELETE, len(ids), lambda: each(client.delete_user, ids))
    finally:
        client.close()
    return results
