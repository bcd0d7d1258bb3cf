"""The provider process's deletion budget: defence in depth behind the
program's guard.

One provider process serves a whole deployment. The program's guard
approves a number of deletions and tells the provider through the
``DeletionGuard`` resource (its ``check`` runs before any delete of the
run), or, in ``pulumi destroy`` where no program runs, the guard resource's
own ``delete`` (which the engine calls before any user's) approves or refuses
the destroy. Every user delete then spends one unit; a delete beyond what was
approved is refused. With no approval at all (a path that bypasses both),
``unvouched_limit`` applies: ``alloy:maxDeletes`` when set, else
``MIN_DELETE_LIMIT``, raised by ``ALLOY_ALLOW_DELETES``.
"""

from __future__ import annotations

import threading
from typing import Optional

from providers.alloy.errors import AlloyError


class DeleteRefused(AlloyError):
    """A delete beyond what the guard approved for this run."""


class DeleteBudget:
    """Thread-safe count of the deletions a run may still make."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._approved: Optional[int] = None
        self._spent = 0

    def approve(self, count: int) -> None:
        """The guard approved ``count`` deletions for this run (the last word wins)."""
        with self._lock:
            self._approved = max(0, count)

    @property
    def approved(self) -> Optional[int]:
        with self._lock:
            return self._approved

    def spend(self, fallback_limit: int, describe: str) -> None:
        """Take one deletion, or raise ``DeleteRefused``. ``fallback_limit``
        applies when the guard approved nothing in this process."""
        with self._lock:
            limit = self._approved if self._approved is not None else fallback_limit
            if self._spent >= limit:
                source = "the deletion guard approved" if self._approved is not None else "allowed without the guard"
                raise DeleteRefused(
                    f"refused to delete {describe}: this run has already deleted {self._spent} user(s), "
                    f"as many as {source} ({limit})"
                )
            self._spent += 1


BUDGET = DeleteBudget()
