"""What the guard knows of a stack: its users as the last run left them,
and which of them a run would destroy in Alloy.

The program reads the stack's resources through the engine's builtin
``pulumi:pulumi:readStackResourceOutputs`` (a map of URN to ``{"type",
"outputs"}``) and hands it to ``stack_users``; the review tools read the same
fields from ``pulumi preview --json``. No Pulumi import here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

# The type token of ``providers.alloy_user.AlloyUser`` (a test holds them equal).
USER_TYPE = "pulumi-python:dynamic/alloy:User"
# The type token of ``providers.stack.deletion_guard.DeletionGuard``.
GUARD_TYPE = "pulumi-python:dynamic/alloy:DeletionGuard"


@dataclass(frozen=True)
class StackUser:
    """One ``AlloyUser`` of the stack's state. ``name`` is its resource name
    (the last part of its URN); the flags are the ones its outputs record."""

    name: str
    username: str
    user_id: str
    adopted: bool = False
    retain_on_delete: bool = False
    delete_adopted: bool = False

    def removal_destroys(self, delete_adopted_setting: bool) -> bool:
        """True when removing this user from the stack deletes it in Alloy
        (not retained, and not an adopted user that is only forgotten)."""
        if self.retain_on_delete:
            return False
        if self.adopted and not (self.delete_adopted or delete_adopted_setting):
            return False
        return True


def urn_name(urn: str) -> str:
    """The resource name of ``urn`` (``urn:pulumi:STACK::PROJECT::TYPE::NAME``;
    the name may itself contain ``::``)."""
    parts = urn.split("::", 3)
    return parts[3] if len(parts) == 4 else urn


def stack_user(name: str, outputs: Mapping[str, Any]) -> StackUser:
    """A ``StackUser`` from an ``AlloyUser``'s outputs (missing flags are false)."""
    return StackUser(
        name=name,
        username=str(outputs.get("username") or name),
        user_id=str(outputs.get("userId") or ""),
        adopted=outputs.get("adopted") is True,
        retain_on_delete=outputs.get("retainOnDelete") is True,
        delete_adopted=outputs.get("deleteAdopted") is True,
    )


def stack_users(resource_outputs: Mapping[str, Any]) -> list[StackUser]:
    """The users in the result of ``readStackResourceOutputs`` (its ``outputs``
    map: URN -> ``{"type", "outputs"}``), in URN order."""
    users = []
    for urn in sorted(resource_outputs):
        entry = resource_outputs[urn]
        if isinstance(entry, Mapping) and entry.get("type") == USER_TYPE:
            outputs = entry.get("outputs")
            users.append(stack_user(urn_name(urn), outputs if isinstance(outputs, Mapping) else {}))
    return users


def destroyed_by_removal(
    prior: Iterable[StackUser], kept_names: Iterable[str], delete_adopted_setting: bool
) -> list[StackUser]:
    """The users of ``prior`` that a run keeping only resources named in
    ``kept_names`` (names and aliases) would delete in Alloy."""
    kept = set(kept_names)
    return [user for user in prior if user.name not in kept and user.removal_destroys(delete_adopted_setting)]
