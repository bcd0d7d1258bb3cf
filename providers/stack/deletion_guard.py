"""The ``DeletionGuard`` resource: carries the program's guard verdict to the
provider process, and guards ``pulumi destroy``, where no program runs.

Compatibility contract: state refers to
``providers.stack.deletion_guard.DeletionGuardProvider`` by module path and
class name (dill pickles it by reference).

Inputs and outputs: ``stackUsers`` (users in the stack after this run),
``destroyableUsers`` (how many of them a destroy would delete in Alloy: not
retained, not only-forgotten adopted users) and ``approvedDeletes`` (what the
program's guard approved for this run). The resource depends on every user,
so the engine deletes it first in ``pulumi destroy``: its ``delete`` applies
the guard to the whole destroy before any user is touched.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import pulumi
from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from providers.alloy.errors import AlloyConfigError
from providers.alloy.settings import RunSettings, read_settings
from providers.guard.budget import BUDGET
from providers.guard.rule import GuardInputError, judge
from providers.stack import provider_host

GUARD_ID = "deletion-guard"
GUARD_NAME = "deletion-guard"
FIELDS = ("stackUsers", "destroyableUsers", "approvedDeletes")
TRACKED = ("stackUsers", "destroyableUsers")


class DeletionGuardBlocked(AlloyConfigError):
    """``pulumi destroy`` would delete more users than the limit allows."""


class DeletionGuardProvider(ResourceProvider):
    """No API calls: it only records counts and applies the guard."""

    serialize_as_secret_always = False
    # Stateless in the program: one pickle serves every resource (providers.stack.sdk_speedups).
    pickle_once = True

    def configure(self, req: ConfigureRequest) -> None:
        """Read the ``alloy:*`` settings (``alloy:maxDeletes``)."""
        provider_host.install_plain_errors()
        provider_host.exit_with_engine()
        self._settings: RunSettings = read_settings(req.config.get)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Tell this process's budget what the program's guard approved.
        The engine checks every registered resource before it deletes any."""
        inputs = {key: int(news.get(key) or 0) for key in FIELDS}
        BUDGET.approve(inputs["approvedDeletes"])
        return CheckResult(inputs, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A change only when the counts of users change (the approval is per run)."""
        changed = any(olds.get(key) != news.get(key) for key in TRACKED)
        return DiffResult(changes=changed, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Record the counts; no API call."""
        return CreateResult(GUARD_ID, {key: props.get(key, 0) for key in FIELDS})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Record the new counts; no API call."""
        return UpdateResult({key: news.get(key, 0) for key in FIELDS})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Nothing to read in Alloy: the state is the truth."""
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """``pulumi destroy`` (or a program that stopped declaring the guard):
        refuse, before any user is deleted, when the users it would delete
        exceed the limit without ``ALLOY_ALLOW_DELETES`` of exactly that count."""
        deletions = int(props.get("destroyableUsers") or 0)
        try:
            verdict = judge(deletions, int(props.get("stackUsers") or 0), self._settings.max_deletes, os.environ)
        except GuardInputError as problem:
            raise DeletionGuardBlocked(f"deletion guard: {problem}") from None
        if not verdict.allowed:
            raise DeletionGuardBlocked(f"deletion guard: blocked, nothing deleted: {verdict.explain()}")
        BUDGET.approve(deletions)


class DeletionGuard(Resource, module="alloy", name="DeletionGuard"):
    """The stack's one guard resource (see the module docstring)."""

    stackUsers: pulumi.Output[int]
    destroyableUsers: pulumi.Output[int]
    approvedDeletes: pulumi.Output[int]

    def __init__(
        self,
        stack_users: int,
        destroyable_users: int,
        approved_deletes: int,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        props = {"stackUsers": stack_users, "destroyableUsers": destroyable_users, "approvedDeletes": approved_deletes}
        super().__init__(DeletionGuardProvider(), GUARD_NAME, props, opts)
