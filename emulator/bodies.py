"""Reading and validating request bodies.

Rules (each failure is an ApiError with a JSON message):
- A body with a Content-Type must be ``application/json`` (or ``+json``): 400.
  A body without Content-Type is tried as JSON.
- More than ``limit`` bytes: 413 (checked on Content-Length and while reading).
- Empty, not UTF-8, not JSON (NaN/Infinity included) or not an object: 400.
- ``username``: required on create, a string that is not empty or blank.
- ``fullName``: optional, a string (may be empty); null is not a string.
- Strings must be valid Unicode (a lone surrogate such as ``"\\ud800"`` is refused).
- Other keys are ignored: the seed's schema allows additional properties.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from emulator.errors import ApiError

_USERNAME = "username"
_FULL_NAME = "fullName"


@dataclass(frozen=True)
class UserFields:
    """Validated user fields; None means "not given"."""

    username: str | None
    full_name: str | None


async def read_json_object(request: Request, limit: int, *, strict_content_type: bool = True) -> dict[str, Any]:
    """Read the body (at most ``limit`` bytes) and return it as a JSON object.

    ``strict_content_type=False`` (admin API) accepts any Content-Type, so
    ``curl -d '{...}'`` works.
    """
    content_type = request.headers.get("content-type")
    if strict_content_type and content_type is not None and not _is_json_media_type(content_type):
        raise ApiError(400, "Content-Type must be application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"request body is larger than {limit} bytes")
    if not body.strip():
        raise ApiError(400, "request body is required (a JSON object)")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


def parse_create(body: dict[str, Any]) -> UserFields:
    """Validate a create body: ``username`` required, ``fullName`` optional."""
    if _USERNAME not in body:
        raise ApiError(400, "username is required")
    return UserFields(_username(body[_USERNAME]), _full_name(body))


def parse_seed(body: dict[str, Any]) -> UserFields:
    """Validate an admin seeding body: as a create, except that ``"username": null``
    means a user without a username (the key itself is still required)."""
    if body.get(_USERNAME, "") is None:
        return UserFields(None, _full_name(body))
    return parse_create(body)


def parse_update(body: dict[str, Any]) -> UserFields:
    """Validate an update body: ``username`` and/or ``fullName``, at least one."""
    if _USERNAME not in body and _FULL_NAME not in body:
        raise ApiError(400, "nothing to update: give username and/or fullName")
    username = _username(body[_USERNAME]) if _USERNAME in body else None
    return UserFields(username, _full_name(body))


def _username(value: object) -> str:
    text = _text(_USERNAME, value)
    if not text.strip():
        raise ApiError(400, "username must not be empty")
    return text


def _full_name(body: dict[str, Any]) -> str | None:
    if _FULL_NAME not in body:
        return None
    return _text(_FULL_NAME, body[_FULL_NAME])


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, f"{name} must be valid Unicode text") from None
    return value


def _is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
