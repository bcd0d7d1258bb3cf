"""The users of a benchmark run and the files that declare them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

CHANGED_SUFFIX = " (changed)"


@dataclass(frozen=True)
class BenchUser:
    """One user of the workload; ``full_name`` is always managed."""

    username: str
    full_name: str


def make_users(count: int) -> list[BenchUser]:
    """``count`` users with distinct, valid usernames, in a stable order."""
    return [BenchUser(f"bench-user-{index:05d}@example.com", f"Bench User {index:05d}") for index in range(count)]


def changed_indices(count: int, share: float) -> list[int]:
    """The positions of the users that the update scenario changes: ``ceil(count * share)``
    of them (at least one), spread evenly over the list."""
    changed = max(1, math.ceil(count * share)) if count else 0
    step = count / changed if changed else 1
    return [int(position * step) for position in range(changed)]


def with_changed_names(users: list[BenchUser], share: float) -> list[BenchUser]:
    """A copy of ``users`` in which ``changed_indices`` have a new ``full_name``."""
    result = list(users)
    for index in changed_indices(len(users), share):
        result[index] = replace(result[index], full_name=result[index].full_name + CHANGED_SUFFIX)
    return result


def manifest_yaml(users: list[BenchUser]) -> str:
    """``users.yaml`` of the real project for ``users`` (none: an empty list
    with ``allowEmpty: true``, which deletes every user of the stack)."""
    if not users:
        return "version: 1\nallowEmpty: true\nusers: []\n"
    lines = ["version: 1", "users:"]
    for user in users:
        lines.append(f"  - username: {user.username}")
        lines.append(f"    fullName: {user.full_name}")
    return "\n".join(lines) + "\n"


def floor_json(users: list[BenchUser]) -> str:
    """``users.json`` of the engine-floor project (read with the standard library,
    so that the floor does not pay for YAML parsing and schema validation)."""
    return json.dumps([{"username": user.username, "fullName": user.full_name} for user in users])
