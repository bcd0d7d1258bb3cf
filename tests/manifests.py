"""Manifests shared by the end-to-end tests."""

from __future__ import annotations

TWO_USERS = """\
users:
  - username: ada@example.com
    fullName: Ada Lovelace
  - username: grace@example.com
    fullName: Grace Hopper
"""


def numbered_users(count: int, start: int = 0) -> str:
    """``userNNNN@example.com`` (fullName ``User N``) for N in ``start..count-1``;
    user N is declared on line ``2 + 2 * (N - start)``."""
    return "users:\n" + "".join(
        f"  - username: user{i:04d}@example.com\n    fullName: User {i}\n" for i in range(start, count)
    )


def numbered_usernames(count: int) -> list[str]:
    """The usernames of ``numbered_users(count)``, sorted."""
    return [f"user{i:04d}@example.com" for i in range(count)]
