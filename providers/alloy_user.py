"""The ``AlloyUser`` resource and its dynamic provider.

Compatibility contract: state written by any release refers to
``providers.alloy_user.AlloyUserProvider`` by module path and class name
(dill pickles the class by reference), so both must keep working.

Properties (inputs and outputs alike): ``username``, ``fullName`` (absent
means "not managed": the user's name in Alloy is left alone), and the
removal flags ``retainOnDelete`` and ``deleteAdopted`` (recorded only when
true, so that the deletion guard can read them from the state). Outputs add
``userId`` (Alloy's id, also the resource id) and ``adopted`` (true when
the user existed in Alloy before this stack managed it).

Removal: a user the stack adopted is forgotten, not deleted, unless its
``deleteAdopted`` or the stack's ``alloy:deleteAdopted`` says otherwise.
Every delete spends one unit of the run's deletion budget
(``providers.guard.budget``).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Optional

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from providers.alloy.client import AlloyClient, AlloyUserRecord
from providers.alloy.errors import (
    AlloyBadRequestError,
    AlloyConflictError,
    AlloyError,
    AlloyNotFoundError,
    AlloyProtocolError,
    AlloyServerError,
    AlloyUnreachableError,
)
from providers.alloy.settings import RunSettings, read_settings
from providers.guard.budget import BUDGET
from providers.guard.journal import journaled_usernames
from providers.guard.rule import MIN_DELETE_LIMIT, GuardInputError, acknowledgement_from_env
from providers.stack import provider_host

MANAGED_FIELDS = ("username", "fullName")
# Flags that change what a removal does; no API call changes them.
REMOVAL_FLAGS = ("retainOnDelete", "deleteAdopted")
# Failures after which a create may or may not have happened in Alloy.
CREATE_OUTCOME_UNKNOWN = (AlloyUnreachableError, AlloyServerError, AlloyProtocolError)


class AlloyUserProvider(ResourceProvider):
    """CRUD for one Alloy user. One instance serves a whole run in the
    provider process; ``configure`` runs before any other method there.

    The instance pickled into each resource carries no state: the key and
    the client exist only in the provider process.
    """

    serialize_as_secret_always = False
    # Stateless in the program: one pickle serves every resource (providers.stack.sdk_speedups).
    pickle_once = True

    def configure(self, req: ConfigureRequest) -> None:
        """Read ``alloy:*`` settings from the stack config (the key may also
        come from ``ALLOY_API_KEY``). The client is created on first use, so
        a missing key fails the first call that needs it, not preview."""
        provider_host.install_plain_errors()
        provider_host.exit_with_engine()
        self._settings: RunSettings = read_settings(req.config.get)
        self._client: Optional[AlloyClient] = None
        self._client_lock = threading.Lock()
        self._directory: Optional[dict[str, AlloyUserRecord]] = None
        self._by_username: Optional[dict[str, AlloyUserRecord]] = None
        # Usernames whose create this stack may have made without the state
        # recording it (a checkpoint-free run that was interrupted).
        self._journaled: frozenset[str] = journaled_usernames()
        self._directory_lock = threading.Lock()

    # -- planning (no API calls) ----------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Report values of the wrong type as failures (the manifest has
        already normalised them); keep the removal flags only when true."""
        failures: list[CheckFailure] = []
        inputs: dict[str, Any] = {}
        username = news.get("username")
        if not isinstance(username, str) or not username.strip():
            failures.append(CheckFailure("username", "username must be a non-empty string"))
        else:
            inputs["username"] = username
        full_name = news.get("fullName")
        if full_name is not None:
            if not isinstance(full_name, str):
                failures.append(CheckFailure("fullName", "fullName must be a string"))
            elif full_name:
                inputs["fullName"] = full_name
        for flag in REMOVAL_FLAGS:
            if news.get(flag) is True:
                inputs[flag] = True
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare the managed fields of state (``olds`` are outputs) with the
        manifest. Every change, renames included, is an in-place update;
        provider code changes alone are no change."""
        changed = _changed_fields(olds, news) + _changed_flags(olds, news)
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    # -- lifecycle --------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        """All-or-nothing ``POST /users``.

        A username that already exists is adopted (its fullName corrected)
        unless ``alloy:adoptExisting`` is false: it is found in the run's one
        listing of the account (``GET /users``, made at the first create), so
        taking over an existing account posts nothing, or, when it appeared
        since, by the POST's conflict. When the outcome of a POST is unknown
        (lost response, 5xx, garbled body) the username is looked up before
        anything is posted again, so a user is never created twice.
        """
        username: str = props["username"]
        full_name: Optional[str] = props.get("fullName")
        client = self._api()
        listed = self._listed_user(username)
        if listed is not None:
            return self._take_over(listed, props, 409)
        # Re-post only after confirming that the previous attempt did not land.
        for _attempt in range(self._settings.client.max_retries + 1):
            try:
                user_id = client.create_user(username, full_name)
                return CreateResult(user_id, _outputs(user_id, username, full_name, False, props))
            except (AlloyConflictError, AlloyBadRequestError) as refused:
                existing = client.find_user_by_username(username)
                if existing is None:
                    raise
                return self._take_over(existing, props, refused.status)
            except CREATE_OUTCOME_UNKNOWN as unknown:
                if isinstance(unknown, AlloyUnreachableError) and not unknown.sent:
                    raise  # nothing reached Alloy: no lookup, and the error names the POST
                existing = client.find_user_by_username(username)
                if existing is not None:
                    # Our POST landed even though its response did not.
                    return self._adopt(existing, props, ours=True)
                last_error: AlloyError = unknown
        raise last_error

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh from ``GET /users`` (listed once per run) or ``GET /users/{id}``.

        A user that no longer exists returns a blank id, so refresh drops it
        and the next ``up`` creates it again. Drift in a managed field shows
        in the refreshed outputs and inputs, so the next ``up`` corrects it.
        """
        record = self._lookup_for_refresh(id_)
        if record is None:
            return ReadResult("", {})
        username = record.username if record.username is not None else props.get("username")
        managed_name = "fullName" in props
        full_name = record.full_name if managed_name else None
        outs = _outputs(id_, username, full_name, bool(props.get("adopted", False)), props)
        if managed_name and record.full_name is None:
            outs["fullName"] = ""
        inputs = {key: outs[key] for key in MANAGED_FIELDS if key in outs}
        return ReadResult(id_, outs, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """``PUT /users/{userId}`` with the changed fields only (a rename keeps
        the userId); a change of the removal flags alone makes no call.

        A rename is verified: when Alloy answers without the new username
        (it ignored or refused the rename), the update fails naming the user,
        and the state keeps the old username, so no run ever records a
        rename that did not happen.
        """
        changed = _changed_fields(olds, news)
        username: str = news["username"]
        full_name: Optional[str] = news.get("fullName")
        old_username = olds.get("username")
        if changed:
            renaming = "username" in changed
            try:
                record = self._api().update_user(
                    id_,
                    username=username if renaming else None,
                    full_name=full_name if "fullName" in changed else None,
                )
            except AlloyNotFoundError:
                raise AlloyNotFoundError(
                    "PUT", f"/users/{id_}", 404,
                    f"user {old_username!r} ({id_}) was deleted outside Pulumi; "
                    "run `pulumi refresh`, then `pulumi up` creates it again",
                ) from None
            except AlloyConflictError as conflict:
                raise AlloyConflictError(
                    "PUT", f"/users/{id_}", conflict.status,
                    f"cannot rename {old_username!r} to {username!r}: "
                    "that username already exists in Alloy",
                ) from None
            except AlloyBadRequestError as refused:
                if not renaming:
                    raise
                raise _rename_refused(id_, old_username, username, refused.status, "refused the rename") from None
            if record.user_id != id_:
                raise AlloyProtocolError(
                    "PUT", f"/users/{id_}", 200, f"the response names another user ({record.user_id})"
                )
            if renaming:
                self._confirm_rename(id_, old_username, username, record.username)
        return UpdateResult(_outputs(id_, username, full_name, bool(olds.get("adopted", False)), news))

    def _confirm_rename(self, id_: str, old_username: Any, username: str, answered: Optional[str]) -> None:
        """Raise unless Alloy now holds ``username`` for ``id_``: the PUT's own
        answer when it states a username, else ``GET /users/{userId}`` (an
        empty 2xx, or one without ``username``, proves nothing)."""
        if answered is None:
            current = self._api().get_user(id_)
            if current is None:
                raise AlloyNotFoundError(
                    "GET", f"/users/{id_}", 404,
                    f"user {old_username!r} ({id_}) was deleted outside Pulumi during its rename",
                )
            answered, how = current.username, "accepted the rename, but GET /users/{userId} shows username"
        else:
            how = "answered with username"
        if answered != username:
            raise _rename_refused(id_, old_username, username, 200, f"{how} {answered!r}")

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """``DELETE /users/{userId}``; a user that is already gone counts as deleted.

        A user this stack adopted is only forgotten (no call) unless
        ``deleteAdopted`` is set on it or in ``alloy:deleteAdopted``. Each
        real delete spends one unit of the run's deletion budget, and is
        refused beyond it.
        """
        username = props.get("username")
        if props.get("adopted") is True and not (props.get("deleteAdopted") is True or self._settings.delete_adopted):
            print(f"forgot adopted user {username!r} (userId {id_}): it stays in Alloy")
            sys.stdout.flush()
            return
        BUDGET.spend(self._unvouched_limit(), f"user {username!r} ({id_})")
        self._api().delete_user(id_)

    # -- helpers ----------------------------------------------------------------

    def _api(self) -> AlloyClient:
        with self._client_lock:
            if self._client is None:
                # A write the killed CLI can no longer record is never sent.
                self._client = AlloyClient(self._settings.client, before_write=_refuse_if_engine_gone)
            return self._client

    def _take_over(self, existing: AlloyUserRecord, props: dict[str, Any], status: int) -> CreateResult:
        """Adopt ``existing``, or refuse when ``alloy:adoptExisting`` is false.
        A username of the create journal is this stack's own user, created
        by an earlier run that was interrupted before it recorded it
        (``providers.guard.journal``): recorded as ours, never adopted."""
        journaled = props["username"] in getattr(self, "_journaled", frozenset())
        if journaled and existing.username in (None, props["username"]):
            return self._adopt(existing, props, ours=True)
        if not self._settings.adopt_existing:
            raise AlloyConflictError(
                "POST", "/users", status,
                f"username {props['username']!r} already exists in Alloy (userId {existing.user_id}) "
                "and alloy:adoptExisting is false; adopt it or remove it from the manifest",
            )
        return self._adopt(existing, props)

    def _listed_user(self, username: str) -> Optional[AlloyUserRecord]:
        """The user of that exact username in the run's listing of the
        account; None when absent or when the listing failed (the POST's
        conflict still catches it)."""
        with self._directory_lock:
            self._list_once()
            assert self._by_username is not None
            return self._by_username.get(username)

    def _list_once(self) -> None:
        """List the account once per run (``GET /users``, every page), for
        both reads and creates; a failed listing counts as empty. Call with
        ``_directory_lock`` held."""
        if self._directory is not None:
            return
        try:
            users = self._api().list_users()
        except AlloyError:
            users = []
        self._directory = {user.user_id: user for user in users}
        self._by_username = {user.username: user for user in users if user.username is not None}

    def _unvouched_limit(self) -> int:
        """Deletions allowed in a process where no guard approved any:
        ``alloy:maxDeletes`` when set, else the floor of the automatic rule,
        raised to an ``ALLOY_ALLOW_DELETES`` count."""
        limit = self._settings.max_deletes if self._settings.max_deletes >= 0 else MIN_DELETE_LIMIT
        try:
            acknowledgement = acknowledgement_from_env(os.environ)
        except GuardInputError:
            acknowledgement = None
        return max(limit, acknowledgement.count) if acknowledgement is not None else limit

    def _adopt(self, existing: AlloyUserRecord, props: dict[str, Any], ours: bool = False) -> CreateResult:
        full_name: Optional[str] = props.get("fullName")
        if full_name is not None and existing.full_name != full_name:
            self._api().update_user(existing.user_id, full_name=full_name)
        if not ours:
            # Shown in the CLI output under the stack; also in the `adopted` output.
            print(f"adopted existing Alloy user {existing.username!r} (userId {existing.user_id})")
            sys.stdout.flush()
        username = existing.username or props["username"]
        outs = _outputs(existing.user_id, username, full_name, not ours, props)
        return CreateResult(existing.user_id, outs)

    def _lookup_for_refresh(self, user_id: str) -> Optional[AlloyUserRecord]:
        """One ``GET /users`` serves every read of a run; a user missing from
        the list is confirmed with ``GET /users/{id}`` (the list is not
        documented to be complete)."""
        with self._directory_lock:
            self._list_once()
            assert self._directory is not None
            record = self._directory.get(user_id)
        if record is not None:
            return record
        return self._api().get_user(user_id)


class AlloyUser(Resource, module="alloy", name="User"):
    """One user of the Alloy account, identified in the manifest by username."""

    userId: pulumi.Output[str]
    username: pulumi.Output[str]
    fullName: pulumi.Output[Optional[str]]
    adopted: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        username: str,
        full_name: Optional[str] = None,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        retain_on_delete: bool = False,
        delete_adopted: bool = False,
    ) -> None:
        props: dict[str, Any] = {"username": username, "userId": None, "adopted": None}
        # fullName is an output even when unmanaged, so `resource.fullName` exists.
        props["fullName"] = full_name
        # Recorded (when true) so that the deletion guard can read them from the state.
        if retain_on_delete:
            props["retainOnDelete"] = True
        if delete_adopted:
            props["deleteAdopted"] = True
        super().__init__(AlloyUserProvider(), resource_name, props, opts)


def _changed_fields(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    changed = []
    if olds.get("username") != news.get("username"):
        changed.append("username")
    if "fullName" in news and olds.get("fullName") != news["fullName"]:
        changed.append("fullName")
    return changed


def _changed_flags(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    return [flag for flag in REMOVAL_FLAGS if (olds.get(flag) is True) != (news.get(flag) is True)]


def _refuse_if_engine_gone(method: str, path: str) -> None:
    provider_host.refuse_if_engine_gone(f"{method} {path}")


def _outputs(
    user_id: str, username: Optional[str], full_name: Optional[str], adopted: bool, inputs: dict[str, Any]
) -> dict[str, Any]:
    outs: dict[str, Any] = {"userId": user_id, "username": username}
    # Recorded only when true: 16 bytes less per user in the checkpoint; readers treat absent as false.
    if adopted:
        outs["adopted"] = True
    if full_name is not None:
        outs["fullName"] = full_name
    for flag in REMOVAL_FLAGS:
        if inputs.get(flag) is True:
            outs[flag] = True
    return outs


class AlloyRenameRefusedError(AlloyError):
    """Alloy answered a rename without making it."""


def _rename_refused(user_id: str, old: Any, new: str, status: int, how: str) -> AlloyRenameRefusedError:
    """The error of a rename that Alloy did not make (some Alloy docs say
    usernames cannot change after creation)."""
    return AlloyRenameRefusedError(
        f"Alloy API {status} for PUT /users/{user_id}: Alloy did not rename user {old!r} (userId {user_id}) to {new!r}: it {how}, so the state keeps {old!r}. "
        f"Either revert the entry to {old!r}, or remove {old!r} from its previousUsernames to replace the user "
        "knowingly (a delete and a create: the user's credentials are lost)",
    )
