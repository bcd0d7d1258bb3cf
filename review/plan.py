"""Read the document of ``pulumi preview --json`` into a plan of user changes.

The engine's steps (CLI v3.274.1) that concern an ``AlloyUser``:

- ``create``: ``newState.inputs`` holds the desired ``username``/``fullName``.
- ``update``: ``oldState.outputs`` is the current state (the provider diffs
  against outputs), ``newState.inputs`` the desired one. A rename through
  ``previousUsernames`` is an update whose ``oldState.urn`` differs from the
  step's URN (``newState.aliases`` lists the old one). ``detailedDiff`` is
  null for dynamic providers, so the changed fields are computed here.
- ``delete``: ``oldState`` only; ``oldState.retainOnDelete`` means the user
  is only forgotten, and so does ``oldState.outputs.adopted`` unless the
  outputs' ``deleteAdopted`` or the config's ``alloy:deleteAdopted`` is true
  (the provider's rule); ``oldState.protect`` means the engine will refuse.
- ``replace``/``create-replacement``/``delete-replaced``: one user replaced,
  which destroys it in Alloy (the provider never asks for one).
- ``same``: listed only with ``--show-sames``; ``changeSummary.same`` counts
  them either way (the Stack's own step is always listed).

A failed preview (exit status non-zero, or an ``error`` diagnostic) still
yields a plan, with ``errors`` set: nothing about it may be trusted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional, Sequence

from providers.alloy.settings import DELETE_ADOPTED
from providers.guard.state import USER_TYPE

REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced"})
# Ops whose resource exists in the state before the run.
EXISTING_OPS = frozenset({"same", "update", "delete", "refresh", "read-replacement"}) | REPLACE_OPS


class PreviewFormatError(ValueError):
    """The document is not the output of ``pulumi preview --json``."""


class Action(enum.Enum):
    """What the run does to one user, in the order a reviewer should read them."""

    DELETE = "delete"
    REPLACE = "replace"
    FORGET = "forget"
    RENAME = "rename"
    UPDATE = "update"
    CREATE = "create"
    OTHER = "other"

    @property
    def removes_from_alloy(self) -> bool:
        """True when the user (and its credentials) stops existing in Alloy."""
        return self in (Action.DELETE, Action.REPLACE)


@dataclass(frozen=True)
class ExistingUser:
    """A user found in Alloy at plan time under a username the plan creates."""

    user_id: str
    full_name: Optional[str]


@dataclass(frozen=True)
class UserChange:
    """One user's row of the plan.

    ``username`` is the desired username, or the removed one for a removal.
    ``full_name`` is the desired fullName (None: not managed), ``old_full_name``
    the one in state; ``full_name_changed`` follows the provider's rule (an
    absent fullName changes nothing). ``existing`` is set by the adoption check
    for a create whose username already exists in Alloy.
    """

    action: Action
    username: str
    op: str
    old_username: Optional[str] = None
    full_name: Optional[str] = None
    old_full_name: Optional[str] = None
    full_name_changed: bool = False
    user_id: Optional[str] = None
    protected: bool = False
    existing: Optional[ExistingUser] = None
    adopted: bool = False


@dataclass(frozen=True)
class Plan:
    """The user changes of one preview, ordered by ``Action`` then username.

    ``existing_users`` counts the stack's users before the run and
    ``unchanged`` those the run leaves alone. ``config`` is the stack config
    the preview used (secret values read ``[secret]``). ``errors`` holds the
    preview's error messages; a plan with errors is not a plan to apply.
    """

    changes: tuple[UserChange, ...]
    existing_users: int
    unchanged: int
    stack: Optional[str] = None
    config: Mapping[str, str] = field(default_factory=dict)
    errors: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """True when the preview failed: the plan must not be applied."""
        return bool(self.errors)

    @property
    def deletions(self) -> tuple[UserChange, ...]:
        """The changes that remove a user from Alloy (retained ones excluded)."""
        return tuple(change for change in self.changes if change.action.removes_from_alloy)

    def count(self, action: Action) -> int:
        """How many changes are ``action``."""
        return sum(1 for change in self.changes if change.action is action)

    def with_changes(self, changes: Sequence[UserChange]) -> Plan:
        """This plan with ``changes`` instead (same order expected)."""
        return replace(self, changes=tuple(changes))


def parse_preview(document: Any, *, exit_status: int = 0, stderr: str = "") -> Plan:
    """Build the ``Plan`` of a ``pulumi preview --json`` document.

    ``exit_status`` and ``stderr`` are those of the CLI run, when known: a
    non-zero status without an error diagnostic becomes an error naming it.
    Raises ``PreviewFormatError`` when ``document`` has no list of steps.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("steps", []), list):
        raise PreviewFormatError("not the output of `pulumi preview --json` (no 'steps' list)")
    steps = [step for step in document.get("steps") or [] if isinstance(step, Mapping)]
    user_steps = [step for step in steps if _step_type(step) == USER_TYPE]
    config = {str(k): "" if v is None else str(v) for k, v in (document.get("config") or {}).items()}
    delete_adopted = config.get(DELETE_ADOPTED.key, "").strip().lower() == "true"

    changes: dict[str, UserChange] = {}
    existing: set[str] = set()
    listed_sames = sum(1 for step in steps if step.get("op") == "same")
    user_sames = 0
    for step in user_steps:
        op = str(step.get("op", ""))
        urn = str(step.get("urn", ""))
        if op in EXISTING_OPS:
            existing.add(_old_urn(step))
        if op == "same":
            user_sames += 1
            continue
        change = _change_of(step, op, delete_adopted)
        if change is not None:
            changes.setdefault(urn, change)

    summary = document.get("changeSummary") or {}
    unlisted_sames = max(0, _int(summary.get("same")) - listed_sames)
    errors = _errors(document, exit_status, stderr)
    ordered = sorted(changes.values(), key=lambda c: (list(Action).index(c.action), c.username))
    return Plan(
        changes=tuple(ordered),
        existing_users=len(existing) + unlisted_sames,
        unchanged=user_sames + unlisted_sames,
        stack=_stack_of(steps),
        config=config,
        errors=errors,
    )


def _change_of(step: Mapping[str, Any], op: str, delete_adopted: bool) -> Optional[UserChange]:
    old = _mapping(step.get("oldState"))
    new = _mapping(step.get("newState"))
    old_props = {**_mapping(old.get("inputs")), **_mapping(old.get("outputs"))}
    new_props = _mapping(new.get("inputs"))
    name = _urn_name(str(step.get("urn", "")))
    old_username = _text(old_props.get("username")) or _urn_name(str(old.get("urn", ""))) or name
    new_username = _text(new_props.get("username")) or name
    user_id = _text(old_props.get("userId")) or _text(old.get("id"))
    protected = bool(old.get("protect") or new.get("protect"))

    if op == "create":
        return UserChange(Action.CREATE, new_username, op, full_name=_text(new_props.get("fullName")))
    if op == "delete":
        adopted = old_props.get("adopted") is True and not (old_props.get("deleteAdopted") is True or delete_adopted)
        retained = bool(old.get("retainOnDelete"))
        action = Action.FORGET if retained or adopted else Action.DELETE
        return UserChange(
            action, old_username, op, old_full_name=_text(old_props.get("fullName")),
            user_id=user_id, protected=protected, adopted=adopted and not retained,
        )
    if op in REPLACE_OPS:
        return UserChange(Action.REPLACE, new_username if new_props else old_username, op,
                          user_id=user_id, protected=protected)
    if op == "update":
        new_full_name = _text(new_props.get("fullName"))
        old_full_name = _text(old_props.get("fullName"))
        renamed = old_username != new_username
        return UserChange(
            Action.RENAME if renamed else Action.UPDATE,
            new_username,
            op,
            old_username=old_username if renamed else None,
            full_name=new_full_name,
            old_full_name=old_full_name,
            # The provider leaves an unmanaged (absent) fullName alone.
            full_name_changed=new_full_name is not None and new_full_name != old_full_name,
            user_id=user_id,
            protected=protected,
        )
    return UserChange(Action.OTHER, new_username if new_props else old_username, op, user_id=user_id)


def _errors(document: Mapping[str, Any], exit_status: int, stderr: str) -> tuple[str, ...]:
    messages = []
    for diagnostic in document.get("diagnostics") or []:
        if isinstance(diagnostic, Mapping) and diagnostic.get("severity") == "error":
            message = str(diagnostic.get("message", "")).strip()
            if message.startswith("error: "):
                message = message[len("error: "):]
            if message and message != "preview failed":
                messages.append(message)
    if exit_status != 0 and not messages:
        tail = stderr.strip()
        messages.append(f"pulumi preview exited with status {exit_status}" + (f": {tail}" if tail else ""))
    return tuple(messages)


def _step_type(step: Mapping[str, Any]) -> str:
    for key in ("newState", "oldState"):
        state = _mapping(step.get(key))
        if state.get("type"):
            return str(state["type"])
    parts = str(step.get("urn", "")).split("::", 3)
    return parts[2].rsplit("$", 1)[-1] if len(parts) == 4 else ""


def _old_urn(step: Mapping[str, Any]) -> str:
    return str(_mapping(step.get("oldState")).get("urn") or step.get("urn", ""))


def _stack_of(steps: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    for step in steps:
        head = str(step.get("urn", "")).split("::", 1)[0]
        if head.startswith("urn:pulumi:"):
            return head[len("urn:pulumi:"):] or None
    return None


def _urn_name(urn: str) -> str:
    parts = urn.split("::", 3)
    return parts[3] if len(parts) == 4 else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
