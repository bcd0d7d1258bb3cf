"""Offset pagination of ``GET /users``, as Alloy documents it for "many list operations".

Only when the ``page_size`` variant is N > 0 (otherwise ``limit`` and
``offset`` are ignored and the answer is ``{"data": [every user]}``):

- query ``limit``: an integer 1..50; default N. It is not capped at N: N is
  only the size of a page when the client does not ask.
- query ``offset``: an integer >= 0; default 0. Past the end: an empty page.
- anything else (negative, not a plain decimal integer, ``limit`` 0 or above
  50, a parameter given twice) is ``400 {"message"}``.
- answer: ``{"data": [users offset .. offset+limit-1 in creation order],
  "pagination": {"hasMore": bool, "nextOffset": offset + len(data) or null}}``;
  ``nextOffset`` is null exactly when ``hasMore`` is false.

Following ``nextOffset`` until ``hasMore`` is false visits every user once,
provided no user is deleted meanwhile (users created meanwhile come last).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams

from emulator.defaults import MAX_PAGE_LIMIT
from emulator.errors import ApiError

_DIGITS = re.compile(r"\A[0-9]+\Z")


@dataclass(frozen=True)
class PageRequest:
    """A validated page request."""

    offset: int
    limit: int


def parse_page_request(query: QueryParams, page_size: int) -> PageRequest:
    """Read ``limit`` and ``offset``; raises ApiError(400) for bad values."""
    limit = _integer(query, "limit")
    offset = _integer(query, "offset")
    if limit is None:
        limit = page_size
    elif not 1 <= limit <= MAX_PAGE_LIMIT:
        raise ApiError(400, f"limit must be an integer from 1 to {MAX_PAGE_LIMIT}")
    return PageRequest(offset=offset or 0, limit=limit)


def page_body(data: list[dict[str, Any]], request: PageRequest, total: int) -> dict[str, Any]:
    """The paged response for ``data`` (the users of this page) out of ``total``."""
    end = request.offset + len(data)
    has_more = end < total
    return {"data": data, "pagination": {"hasMore": has_more, "nextOffset": end if has_more else None}}


def _integer(query: QueryParams, name: str) -> int | None:
    values = query.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(400, f"{name} must be given at most once")
    value = values[0].strip()
    if not _DIGITS.match(value):
        raise ApiError(400, f"{name} must be a non-negative integer, got {values[0][:40]!r}")
    return int(value)
