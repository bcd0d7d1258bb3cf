"""The public routes of the users API, named the way counters and faults name them.

A *route key* is ``"<METHOD> <path template>"``, e.g. ``"PUT /users/{userId}"``.
Fault selectors accept a route key or a bare method (``"POST"``).
"""

from __future__ import annotations

import re

CREATE_USER = "POST /users"
LIST_USERS = "GET /users"
GET_USER = "GET /users/{userId}"
UPDATE_USER = "PUT /users/{userId}"
DELETE_USER = "DELETE /users/{userId}"

# In the order the counters report them.
PUBLIC_ROUTE_KEYS: tuple[str, ...] = (CREATE_USER, LIST_USERS, GET_USER, UPDATE_USER, DELETE_USER)
PUBLIC_METHODS: frozenset[str] = frozenset(key.split(" ", 1)[0] for key in PUBLIC_ROUTE_KEYS)

_COLLECTION = re.compile(r"\A/users\Z")
_ITEM = re.compile(r"\A/users/[^/]+\Z")


def route_key(method: str, path: str) -> str | None:
    """Return the route key of a request, or None when no public route serves it.

    A method the path does not support (``PATCH /users``) is not a route either.
    ``POST /users/`` (the Embedded reference's spelling) is ``POST /users``.
    """
    if path == "/users/" and method == "POST":
        return CREATE_USER
    if _COLLECTION.match(path):
        key = f"{method} /users"
    elif _ITEM.match(path):
        key = f"{method} /users/{{userId}}"
    else:
        return None
    return key if key in PUBLIC_ROUTE_KEYS else None


def is_route_selector(selector: str) -> bool:
    """True when ``selector`` names a public route key or a method used by one."""
    return selector in PUBLIC_ROUTE_KEYS or selector in PUBLIC_METHODS


def selector_matches(selector: str, route: str) -> bool:
    """True when the selector (route key or bare method) covers ``route``."""
    return selector == route or route.split(" ", 1)[0] == selector
