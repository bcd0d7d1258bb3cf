"""A dynamic provider that does nothing, with the property shape of ``AlloyUser``.

It lives in an importable module (not ``__main__``) so that dill pickles the
class by reference, as the real provider is, and each resource's state holds
a short ``__provider`` string.
"""

from __future__ import annotations

import secrets
from typing import Any, Optional

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

MANAGED_FIELDS = ("username", "fullName")
# The length of an Alloy userId (24 hex characters), so state sizes compare.
USER_ID_BYTES = 12


class NullUserProvider(ResourceProvider):
    """Answers every call at once, from its arguments only."""

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """An in-place change when a managed field differs."""
        changed = any(olds.get(key) != news.get(key) for key in MANAGED_FIELDS)
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """A fresh id; the outputs are the real provider's."""
        user_id = secrets.token_hex(USER_ID_BYTES)
        return CreateResult(user_id, _outputs(user_id, props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The state as it is."""
        outs = _outputs(id_, props)
        return ReadResult(id_, outs, {key: outs[key] for key in MANAGED_FIELDS if key in outs})

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """The new inputs become the outputs."""
        return UpdateResult(_outputs(id_, news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to delete."""


class NullUser(Resource, module="alloy", name="User"):
    """The stand-in of ``AlloyUser`` (same type token, inputs and outputs)."""

    userId: pulumi.Output[str]
    username: pulumi.Output[str]
    fullName: pulumi.Output[Optional[str]]
    adopted: pulumi.Output[bool]

    def __init__(self, resource_name: str, username: str, full_name: Optional[str] = None) -> None:
        props: dict[str, Any] = {"username": username, "userId": None, "adopted": None, "fullName": full_name}
        super().__init__(NullUserProvider(), resource_name, props)


def _outputs(user_id: str, props: dict[str, Any]) -> dict[str, Any]:
    outs: dict[str, Any] = {"userId": user_id, "username": props.get("username"), "adopted": False}
    if props.get("fullName") is not None:
        outs["fullName"] = props["fullName"]
    return outs
