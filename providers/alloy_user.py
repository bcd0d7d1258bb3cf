"""The ``AlloyUser`` resource and its dynamic provider.

Compatibility contract: state written by any release refers to
``providers.alloy_user.AlloyUserProvider`` by module path and class name
(dill pickles the class by reference), so both must keep working.

Properties (inputs and outputs alike): ``username``, ``fullName`` (absent
means "not managed": the user's name in Alloy is left alone). Outputs add
``userId`` (Alloy's id, also the resource id) and ``adopted`` (true when
the user existed in Alloy before this stack managed it).
"""

from __future__ import annotations

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
from providers.stack import provider_host

MANAGED_FIELDS = ("username", "fullName")
# Failures after which a create may or may not have happened in Alloy.
CREATE_OUTCOME_UNKNOWN = (AlloyUnreachableError, AlloyServerError, AlloyProtocolError)


class AlloyUserProvider(ResourceProvider):
    """CRUD for one Alloy user. One instance serves a whole run in the
    provider process; ``configure`` runs before any other method there.

    The instance pickled into each resource carries no state: the key and
    the client exist only in the provider process.
    """

    serialize_as_secret_always = False

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
        self._directory_lock = threading.Lock()

    # -- planning (no API calls) ----------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Trim surrounding whitespace; report invalid values as failures."""
        failures: list[CheckFailure] = []
        inputs: dict[str, Any] = {}
        username = news.get("username")
        if not isinstance(username, str) or not username.strip():
            failures.append(CheckFailure("username", "username must be a non-empty string"))
        else:
            inputs["username"] = username.strip()
        full_name = news.get("fullName")
        if full_name is not None:
            if not isinstance(full_name, str):
                failures.append(CheckFailure("fullName", "fullName must be a string"))
            elif full_name.strip():
                inputs["fullName"] = full_name.strip()
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare the managed fields of state (``olds`` are outputs) with the
        manifest. Every change, renames included, is an in-place update;
        provider code changes alone are no change."""
        changed = _changed_fields(olds, news)
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    # -- lifecycle --------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        """All-or-nothing ``POST /users``.

        A username that already exists is adopted (its fullName corrected)
        unless ``alloy:adoptExisting`` is false. When the outcome of a POST is
        unknown (lost response, 5xx, garbled body) the username is looked up
        before anything is posted again, so a user is never created twice.
        """
        username: str = props["username"]
        full_name: Optional[str] = props.get("fullName")
        client = self._api()
        # Re-post only after confirming that the previous attempt did not land.
        for _attempt in range(self._settings.client.max_retries + 1):
            try:
                user_id = client.create_user(username, full_name)
                return CreateResult(user_id, _outputs(user_id, username, full_name, adopted=False))
            except (AlloyConflictError, AlloyBadRequestError) as refused:
                existing = client.find_user_by_username(username)
                if existing is None:
                    raise
                if not self._settings.adopt_existing:
                    raise AlloyConflictError(
                        "POST", "/users", refused.status,
                        f"username {username!r} already exists in Alloy (userId {existing.user_id}) "
                        "and alloy:adoptExisting is false; adopt it or remove it from the manifest",
                    ) from None
                return self._adopt(existing, full_name)
            except CREATE_OUTCOME_UNKNOWN as unknown:
                existing = client.find_user_by_username(username)
                if existing is not None:
                    # Our POST landed even though its response did not.
                    return self._adopt(existing, full_name, ours=True)
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
        outs = _outputs(id_, username, full_name, adopted=bool(props.get("adopted", False)))
        if managed_name and record.full_name is None:
            outs["fullName"] = ""
        inputs = {key: outs[key] for key in MANAGED_FIELDS if key in outs}
        return ReadResult(id_, outs, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """``PUT /users/{userId}`` with the changed fields only (a rename keeps the userId)."""
        changed = _changed_fields(olds, news)
        username: str = news["username"]
        full_name: Optional[str] = news.get("fullName")
        if changed:
            try:
                record = self._api().update_user(
                    id_,
                    username=username if "username" in changed else None,
                    full_name=full_name if "fullName" in changed else None,
                )
            except AlloyNotFoundError:
                raise AlloyNotFoundError(
                    "PUT", f"/users/{id_}", 404,
                    f"user {olds.get('username')!r} ({id_}) was deleted outside Pulumi; "
                    "run `pulumi refresh`, then `pulumi up` creates it again",
                ) from None
            except AlloyConflictError as conflict:
                raise AlloyConflictError(
                    "PUT", f"/users/{id_}", conflict.status,
                    f"cannot rename {olds.get('username')!r} to {username!r}: "
                    "that username already exists in Alloy",
                ) from None
            if record.user_id != id_:
                raise AlloyProtocolError(
                    "PUT", f"/users/{id_}", 200, f"the response names another user ({record.user_id})"
                )
        return UpdateResult(_outputs(id_, username, full_name, adopted=bool(olds.get("adopted", False))))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        """``DELETE /users/{userId}``; a user that is already gone counts as deleted."""
        self._api().delete_user(id_)

    # -- helpers ----------------------------------------------------------------

    def _api(self) -> AlloyClient:
        with self._client_lock:
            if self._client is None:
                self._client = AlloyClient(self._settings.client)
            return self._client

    def _adopt(self, existing: AlloyUserRecord, full_name: Optional[str], ours: bool = False) -> CreateResult:
        if full_name is not None and existing.full_name != full_name:
            self._api().update_user(existing.user_id, full_name=full_name)
        if not ours:
            # Shown in the CLI output under the stack; also in the `adopted` output.
            print(f"adopted existing Alloy user {existing.username!r} (userId {existing.user_id})")
            sys.stdout.flush()
        username = existing.username or ""
        outs = _outputs(existing.user_id, username, full_name, adopted=not ours)
        return CreateResult(existing.user_id, outs)

    def _lookup_for_refresh(self, user_id: str) -> Optional[AlloyUserRecord]:
        """One ``GET /users`` serves every read of a run; a user missing from
        the list is confirmed with ``GET /users/{id}`` (the list is not
        documented to be complete)."""
        with self._directory_lock:
            if self._directory is None:
                try:
                    users = self._api().list_users()
                    self._directory = {user.user_id: user for user in users}
                except AlloyError:
                    self._directory = {}
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
    ) -> None:
        props: dict[str, Any] = {"username": username, "userId": None, "adopted": None}
        # fullName is an output even when unmanaged, so `resource.fullName` exists.
        props["fullName"] = full_name
        super().__init__(AlloyUserProvider(), resource_name, props, opts)


def _changed_fields(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    changed = []
    if olds.get("username") != news.get("username"):
        changed.append("username")
    if "fullName" in news and olds.get("fullName") != news["fullName"]:
        changed.append("fullName")
    return changed


def _outputs(user_id: str, username: Optional[str], full_name: Optional[str], adopted: bool) -> dict[str, Any]:
    outs: dict[str, Any] = {"userId": user_id, "username": username, "adopted": adopted}
    if full_name is not None:
        outs["fullName"] = full_name
    return outs
