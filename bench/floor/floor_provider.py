"""A dynamic provider that does nothing, with the property shape of ``AlloyUser``.

It lives in an importable module (not ``__main__``) so that dill pickles the
class by reference, as the real provider is, and each resource's state holds
a short ``__provider`` string.

With ``BENCH_FLOOR_LATENCY_MS`` set, it sleeps that long wherever the real
provider makes an API call (each create, update and delete; the first read,
as the real provider lists users once per run): the same pace, no HTTP.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from typing import Any, Optional

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

MANAGED_FIELDS = ("username", "fullName")
# The length of an Alloy userId (24 hex characters), so state sizes compare.
USER_ID_BYTES = 12
LATENCY_ENV = "BENCH_FLOOR_LATENCY_MS"
_first_read = threading.Event()


def _pause() -> None:
    seconds = float(os.environ.get(LATENCY_ENV) or 0) / 1000
    if seconds > 0:
        time.sleep(seconds)


class NullUserProvider(ResourceProvider):
    """Answers every call from its arguments only, after the optional pause."""

    # As the real provider: the pickled provider holds no secret, so it is not stored encrypted.
    serialize_as_secret_always = False

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """An in-place change when a managed field differs."""
        changed = any(olds.get(key) != news.get(key) for key in MANAGED_FIELDS)
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """A fresh id; the outputs are the real provider's."""
        _pause()
        user_id = secrets.token_hex(USER_ID_BYTES)
        return CreateResult(user_id, _outputs(user_id, props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The state as it is."""
        if not _first_read.is_set():
            _first_read.set()
            _pause()
        outs = _outputs(id_, props)
        return ReadResult(id_, outs, {key: outs[key] for key in MANAGED_FIELDS if key in outs})

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """The new inputs become the outputs."""
        _pause()
        return UpdateResult(_outputs(id_, news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to delete."""
        _pause()


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


class NullGuardProvider(ResourceProvider):
    """The stand-in of the real stack's ``DeletionGuard``: records its counts."""

    serialize_as_secret_always = False

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A change when the counts change."""
        changed = any(olds.get(key) != news.get(key) for key in ("stackUsers", "destroyableUsers"))
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """The counts are the outputs."""
        return CreateResult("deletion-guard", dict(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The state as it is."""
        return ReadResult(id_, props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """The new counts."""
        return UpdateResult(dict(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to delete."""


class NullGuard(Resource, module="alloy", name="DeletionGuard"):
    """The stand-in of ``DeletionGuard``: the same type token, inputs and dependencies."""

    def __init__(self, users: list[NullUser]) -> None:
        props = {"stackUsers": len(users), "destroyableUsers": len(users), "approvedDeletes": 0}
        super().__init__(NullGuardProvider(), "deletion-guard", props, pulumi.ResourceOptions(depends_on=users))
