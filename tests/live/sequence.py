"""The live acceptance sequence: a short, safe run against a real Alloy account.

Modelled on Terraform's TF_ACC acceptance tests. ``run_sequence(client)``:

1. creates at most ``MAX_LIVE_USERS`` users, every username under a unique
   run prefix (``alloy-users-acc-<UTC time>-<random>``);
2. lists the account (recording whether ``GET /users`` is paginated) and
   checks that they are all there;
3. renames one and records what Alloy did: the PUT response's ``username``
   and a re-read (``renamed``, ``ignored``: 200 but unchanged, or
   ``rejected``: a 4xx);
4. deletes them all, in a ``finally``, also when a step failed: the users it
   created (by userId) and any user whose username carries the run prefix
   (a create whose answer was lost). Nothing else is ever deleted.

It returns a ``LiveReport`` (``report.lines()`` prints what the API did). The
same function runs in the default suite against the emulator in every rename
mode and list shape (``tests/test_live_sequence.py``).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from providers.alloy.client import AlloyClient, AlloyUserRecord
from providers.alloy.errors import AlloyError, AlloyHTTPError

MAX_LIVE_USERS = 3
PREFIX_PATTERN = re.compile(r"\Aalloy-users-acc-\d{8}t\d{6}-[0-9a-f]{6}\Z")
RENAMED, IGNORED, REJECTED = "renamed", "ignored", "rejected"


def new_prefix() -> str:
    """A run prefix nobody else uses: ``alloy-users-acc-20261130t101500-1a2b3c``."""
    return f"alloy-users-acc-{time.strftime('%Y%m%dt%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


@dataclass
class LiveReport:
    """What the live API did during one run."""

    prefix: str
    created: list[str] = field(default_factory=list)      # userIds, in creation order
    listed: int | None = None                              # users in the account
    list_pages: int | None = None
    list_paged: bool | None = None                         # any answer had a pagination object
    all_listed: bool | None = None                         # every created user was in the list
    rename: str | None = None                              # RENAMED / IGNORED / REJECTED
    rename_status: int | None = None                       # the status of a rejected rename
    put_username: str | None = None                        # the PUT response's username
    reread_username: str | None = None                     # GET /users/{id} after the PUT
    deleted: list[str] = field(default_factory=list)       # userIds deleted in clean-up
    leftovers: list[str] = field(default_factory=list)     # userIds still there after clean-up
    error: str | None = None                               # the failure of a step, if any

    def lines(self) -> list[str]:
        shape = "not run" if self.list_paged is None else ("paginated" if self.list_paged else "one unpaged answer")
        rename = self.rename or "not run"
        if self.rename == REJECTED:
            rename += f" ({self.rename_status})"
        elif self.rename is not None:
            rename += f" (PUT answered username {self.put_username!r}, re-read {self.reread_username!r})"
        return [
            f"live acceptance run {self.prefix}",
            f"  created:  {len(self.created)} user(s)",
            f"  GET /users: {shape}, {self.list_pages} request(s), {self.listed} user(s) listed, "
            f"created ones {'all' if self.all_listed else 'NOT all'} listed" if self.listed is not None
            else "  GET /users: not run",
            f"  rename:   {rename}",
            f"  clean-up: {len(self.deleted)} deleted, {len(self.leftovers)} left over"
            + (f" {self.leftovers}" if self.leftovers else ""),
            f"  error:    {self.error}" if self.error else "  error:    none",
        ]


def run_sequence(client: AlloyClient, *, prefix: str | None = None, users: int = MAX_LIVE_USERS,
                 step: Callable[[str], None] | None = None) -> LiveReport:
    """Run the sequence; raises the first failure after cleaning up (the
    report, with ``error`` set, is attached as ``exc.live_report``).
    ``step(name)`` is called before each step (tests inject failures there)."""
    prefix = prefix or new_prefix()
    if not PREFIX_PATTERN.match(prefix):
        raise ValueError(f"not a run prefix: {prefix!r}")
    if not 1 <= users <= MAX_LIVE_USERS:
        raise ValueError(f"a live run creates 1 to {MAX_LIVE_USERS} users, not {users}")
    report = LiveReport(prefix=prefix)
    announce = step or (lambda _name: None)
    try:
        announce("create")
        names = [f"{prefix}-{n}" for n in range(1, users + 1)]
        for name in names:
            report.created.append(client.create_user(name, f"Acceptance {name[-1]}"))

        announce("list")
        pages = list(client.iter_user_pages())
        listed = {user.user_id: user for page in pages for user in page.users}
        report.list_pages, report.listed = len(pages), len(listed)
        report.list_paged = any(page.paged for page in pages)
        report.all_listed = all(user_id in listed for user_id in report.created)
        if not report.all_listed:
            raise AssertionError("a created user is missing from GET /users")

        announce("rename")
        target, old, new = report.created[0], names[0], f"{names[0]}-renamed"
        try:
            answer = client.update_user(target, username=new)
        except AlloyHTTPError as refused:
            if not 400 <= refused.status < 500:
                raise
            report.rename, report.rename_status = REJECTED, refused.status
            answer = None
        reread = client.get_user(target)
        if reread is None:
            raise AssertionError(f"user {target} vanished after the rename")
        report.reread_username = reread.username
        if answer is not None:
            report.put_username = answer.username
            report.rename = RENAMED if reread.username == new else IGNORED
        if reread.username not in (old, new):
            raise AssertionError(f"after renaming {old!r} to {new!r} the user is called {reread.username!r}")
        return report
    except BaseException as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        exc.live_report = report  # type: ignore[attr-defined]
        raise
    finally:
        _clean_up(client, prefix, report)


def _clean_up(client: AlloyClient, prefix: str, report: LiveReport) -> None:
    """Delete what this run created: its userIds, and users under its prefix."""
    doomed = list(report.created)
    try:
        doomed += [user.user_id for user in client.iter_users() if _ours(user, prefix) and user.user_id not in doomed]
    except AlloyError as exc:
        report.error = report.error or f"clean-up could not list users: {exc}"
    for user_id in doomed:
        try:
            if client.delete_user(user_id):
                report.deleted.append(user_id)
        except AlloyError as exc:
            report.error = report.error or f"clean-up could not delete {user_id}: {exc}"
    for user_id in doomed:
        try:
            if client.get_user(user_id) is not None:
                report.leftovers.append(user_id)
        except AlloyError:
            report.leftovers.append(user_id)


def _ours(user: AlloyUserRecord, prefix: str) -> bool:
    return bool(user.username) and (user.username == prefix or user.username.startswith(prefix + "-"))
