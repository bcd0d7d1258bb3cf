"""Manifests shared by the end-to-end tests."""

from __future__ import annotations

TWO_USERS = """\
users:
  - username: ada@example.com
    fullName: Ada Lovelace
  - username: grace@example.com
    fullName: Grace Hopper
"""


# The docs' kinds of username: emails and internal ids; one without fullName.
FIVE_USERS = """\
version: 1
users:
  - username: ada@example.com
    fullName: Ada Lovelace
  - username: grace@example.com
    fullName: Grace Hopper
  - username: user_12345
  - username: org_456_user_789
    fullName: Edsger Dijkstra
  - username: ken@example.com
    fullName: Ken Thompson
"""

THREE_USERS = TWO_USERS + "  - username: user_12345\n"


def numbered_users(count: int, start: int = 0) -> str:
    """``userNNNN@example.com`` (fullName ``User N``) for N in ``start..count-1``;
    user N is declared on line ``2 + 2 * (N - start)``."""
    return "users:\n" + "".join(
        f"  - username: user{i:04d}@example.com\n    fullName: User {i}\n" for i in range(start, count)
    )


def numbered_usernames(count: int) -> list[str]:
    """The usernames of ``numbered_users(count)``, sorted."""
    return [f"user{i:04d}@example.com" for i in range(count)]
