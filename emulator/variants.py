"""API variants: the places where Alloy's own docs disagree, as switches.

Each variant is a key of the fault configuration (``PUT``/``PATCH
/_emulator/faults``, ``--faults JSON``) and a flag of ``python -m emulator``.
The defaults are Alloy's 2025-09 docs as the emulator has always served them.

- ``case_insensitive_usernames`` (``--case-insensitive-usernames``), default
  ``false``. ``true``: usernames are unique ignoring case (``str.casefold``):
  a create or rename onto ``ADA@x.test`` while ``ada@x.test`` exists is the
  duplicate ``409 {"message": "username already exists"}``; a username in a
  path (``GET``/``PUT``/``DELETE /users/{ref}``) matches ignoring case (exact
  match first, then the oldest case-insensitive match).
- ``immutable_usernames`` (``--immutable-usernames MODE``), default ``"off"``
  (renames allowed). ``"ignore"``: a PUT whose ``username`` differs from the
  stored one answers 200 with the username unchanged (``fullName`` still
  applied); ``"reject"``: it answers ``400 {}`` and changes nothing. A PUT
  whose ``username`` equals the stored one (exact comparison) is fine in
  both modes. ``null`` is accepted for ``"off"``.
- ``page_size`` (``--page-size N``), default ``0`` (``GET /users`` is not
  paged). ``1..50``: ``GET /users`` is paged, N users a page unless
  ``limit`` says otherwise (see ``emulator.pagination``).
- ``unauthorized_body`` (``--unauthorized-body``), default ``"empty"``: a 401
  is ``{}``; ``"legacy"``: ``{"message": "Unauthorized"}``.

Variants apply to every public route whatever the fault ``routes`` select.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.defaults import MAX_PAGE_LIMIT

IMMUTABLE_OFF = "off"
IMMUTABLE_IGNORE = "ignore"
IMMUTABLE_REJECT = "reject"
IMMUTABLE_MODES: tuple[str, ...] = (IMMUTABLE_OFF, IMMUTABLE_IGNORE, IMMUTABLE_REJECT)

UNAUTHORIZED_EMPTY = "empty"
UNAUTHORIZED_LEGACY = "legacy"
UNAUTHORIZED_BODIES: tuple[str, ...] = (UNAUTHORIZED_EMPTY, UNAUTHORIZED_LEGACY)
LEGACY_UNAUTHORIZED_MESSAGE = "Unauthorized"


class VariantError(ValueError):
    """An API variant has an invalid value; the message names the key."""


@dataclass(frozen=True)
class ApiVariants:
    """The live API variants (see the module docstring)."""

    case_insensitive_usernames: bool = False
    immutable_usernames: str = IMMUTABLE_OFF
    page_size: int = 0
    unauthorized_body: str = UNAUTHORIZED_EMPTY

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The JSON keys, in documentation order."""
        return ("case_insensitive_usernames", "immutable_usernames", "page_size", "unauthorized_body")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApiVariants:
        """Validate the variant keys of ``data`` (other keys are ignored). Raises VariantError."""
        kwargs: dict[str, Any] = {}
        if "case_insensitive_usernames" in data:
            value = data["case_insensitive_usernames"]
            if not isinstance(value, bool):
                raise VariantError(f"case_insensitive_usernames must be true or false, got {value!r}")
            kwargs["case_insensitive_usernames"] = value
        if "immutable_usernames" in data:
            value = data["immutable_usernames"]
            value = IMMUTABLE_OFF if value is None else value
            if value not in IMMUTABLE_MODES:
                raise VariantError(f"immutable_usernames must be one of {', '.join(IMMUTABLE_MODES)}, got {value!r}")
            kwargs["immutable_usernames"] = value
        if "page_size" in data:
            value = data["page_size"]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_PAGE_LIMIT:
                raise VariantError(f"page_size must be an integer from 0 (off) to {MAX_PAGE_LIMIT}, got {value!r}")
            kwargs["page_size"] = value
        if "unauthorized_body" in data:
            value = data["unauthorized_body"]
            if value not in UNAUTHORIZED_BODIES:
                raise VariantError(f"unauthorized_body must be one of {', '.join(UNAUTHORIZED_BODIES)}, got {value!r}")
            kwargs["unauthorized_body"] = value
        return cls(**kwargs)

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form."""
        return {
            "case_insensitive_usernames": self.case_insensitive_usernames,
            "immutable_usernames": self.immutable_usernames,
            "page_size": self.page_size,
            "unauthorized_body": self.unauthorized_body,
        }

    def unauthorized_json(self) -> dict[str, str]:
        """The body of a 401."""
        if self.unauthorized_body == UNAUTHORIZED_LEGACY:
            return {"message": LEGACY_UNAUTHORIZED_MESSAGE}
        return {}
