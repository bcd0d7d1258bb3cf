"""Bring a stack on a DIY state backend (``file://`` or ``s3://``) back to a
runnable state after an interrupted run (``kill -9``, a cancelled job, a
power cut).

What an interrupted ``pulumi up`` can leave behind, and what is done about it
(each step only when needed, and reported):

1. A lock whose process is gone (same host, dead pid): removed (with
   ``pulumi cancel`` when every lock of the stack is stale; otherwise the
   stale ones alone, since ``cancel`` removes them all). A lock held by a
   live process, or taken on another host, is left alone and recovery
   stops with one line naming it: that run may still be going.
2. A metadata sidecar (``*.attrs``) cut short by the kill: removed (the
   backend treats a missing sidecar as "no metadata"); temporary files of an
   unfinished write: removed. (The ``s3://`` backend keeps metadata in the
   object itself and writes neither; one found there is treated the same.)
3. A checkpoint that is not valid JSON: replaced by its ``.bak`` copy, which
   the backend writes before each checkpoint.
4. Pending operations (creates, updates or deletes whose outcome was not
   recorded): each pending create of a user whose username Alloy now has is
   imported with that userId (``--import-pending-creates``): the kill came
   after Alloy created it, so it is this stack's own user, never reported as
   adopted. It is written into the state as the resource it became (``pulumi
   stack export``, edit, ``pulumi stack import``: the engine drops imports of
   pending creates during a refresh). The rest are cleared, and one
   ``pulumi refresh --run-program`` reads them all. The next ``up`` re-runs
   what is still needed.

The files are repaired before any ``pulumi`` command runs, since a damaged
checkpoint or sidecar makes every command fail ("failed to load checkpoint").
They are reached through ``providers.guard.backend_storage`` (the same steps
on a folder and on a bucket); the pending operations through the CLI.

Usage: ``python -m scripts.recover [--stack NAME]`` with
``PULUMI_BACKEND_URL=file://...`` or ``s3://BUCKET/PREFIX?...`` (AWS
credentials as for the CLI; the stack defaults to the selected one; the API
key comes from the stack config or ``ALLOY_API_KEY``), or ``recover(...)``
from a job. Exit status 0 when the stack is runnable, 1 when it could not be
repaired (one line says why), 2 when ``PULUMI_BACKEND_URL`` is unset or names
a backend it does not repair (Pulumi Cloud, ``azblob://``, ``gs://``: one
line says what to do instead).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

from providers.guard.backend_storage import BackendStorage, FileStorage, StorageError, storage_for
from providers.guard.backend_url import BackendUrlError, OtherBackend, parse_backend_url
from providers.guard.state import USER_TYPE

PulumiRunner = Callable[[Sequence[str]], subprocess.CompletedProcess]
# username -> the userId Alloy has for it, or None.
UserLookup = Callable[[str], Optional[str]]
PROJECT = "alloy"
META = ".pulumi"
USAGE_EXIT = 2


class RecoveryError(Exception):
    """The stack could not be repaired; the message says why and what to do."""


def recover(
    backend: Union[Path, BackendStorage], project: str, stack: str, run: PulumiRunner,
    lookup: Optional[UserLookup] = None,
) -> list[str]:
    """Repair ``project/stack`` on a DIY backend: a folder (the root of a
    ``file://`` backend) or a ``BackendStorage`` (``file://`` or ``s3://``);
    return what was done (empty when nothing was needed). ``run(args)`` runs
    ``pulumi args`` for that stack and returns the completed process;
    ``lookup`` finds a pending create's user in Alloy (without it, pending
    creates are cleared and a landed one is adopted by the next ``up``).
    Raise ``RecoveryError`` when the stack cannot be repaired, or while a
    run that may still be going holds its lock."""
    storage = FileStorage(backend) if isinstance(backend, Path) else backend
    done: list[str] = []
    try:
        done += _remove_broken_files(storage)
        done += _restore_checkpoint(storage, project, stack)
        done += _remove_stale_locks(storage, project, stack, run)
    except StorageError as problem:
        raise RecoveryError(str(problem)) from None
    done += _resolve_pending_operations(run, lookup)
    return done


def _remove_stale_locks(storage: BackendStorage, project: str, stack: str, run: PulumiRunner) -> list[str]:
    stale: list[str] = []
    held: list[str] = []
    for key in storage.list(f"{META}/locks/"):
        # .pulumi/locks/<organization>/<project>/<stack>/<uuid>.json
        parts = key.split("/")
        if len(parts) != 6 or parts[3:5] != [project, stack] or not key.endswith(".json"):
            continue
        try:
            owner = json.loads(storage.read(key) or b"")
            host, pid = owner.get("hostname"), int(owner.get("pid", 0))
        except (ValueError, TypeError, AttributeError):
            stale.append(key)
            continue
        if host == socket.gethostname() and not _alive(pid):
            stale.append(key)
        else:
            where = "a live process on this host" if host == socket.gethostname() else "another host"
            held.append(f"{owner.get('username')}@{host} (pid {pid}, {where}, since {owner.get('timestamp')})")
    if held:
        # `pulumi cancel` would remove every lock, the live one too.
        for key in stale:
            for name in (key, key + ".attrs"):
                storage.delete(name)
        removed = f"removed {len(stale)} stale lock(s); " if stale else ""
        raise RecoveryError(
            f"{removed}left the lock of {', '.join(held)}: that run may still be going; "
            "wait for it to end, or once it is gone for sure run `pulumi cancel --yes` and recover again"
        )
    if not stale:
        return []
    run(["cancel", "--yes"])
    for key in stale:  # `cancel` removes valid locks; unreadable ones go here.
        for name in (key, key + ".attrs"):
            storage.delete(name)
    return [f"removed {len(stale)} lock(s) left by a run that no longer exists"]


def _alive(pid: int) -> bool:
    """True while process ``pid`` runs; a zombie (killed, not yet reaped by
    its parent, as in containers whose first process reaps nothing) is dead."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not is_zombie(pid)


def is_zombie(pid: int) -> bool:
    """True when ``pid`` has exited but is not reaped yet (Linux ``/proc``; False elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (macOS): trust kill(0)
    # "pid (command) STATE ...": the command may hold spaces and parentheses.
    return stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] == "Z"


def _remove_broken_files(storage: BackendStorage) -> list[str]:
    removed = 0
    for key in storage.list(f"{META}/"):
        if key.endswith(".tmp") or (key.endswith(".attrs") and not _is_json(storage.read(key))):
            storage.delete(key)
            removed += 1
    return [f"removed {removed} partly written backend file(s)"] if removed else []


def _restore_checkpoint(storage: BackendStorage, project: str, stack: str) -> list[str]:
    checkpoint = f"{META}/stacks/{project}/{stack}.json"
    data = storage.read(checkpoint)
    if data is None or _is_json(data):
        return []
    backup = storage.read(checkpoint + ".bak")
    if backup is None or not _is_json(backup):
        raise RecoveryError(
            f"{storage.describe(checkpoint)} is damaged and has no usable backup; restore it from the backend's history"
        )
    storage.write(checkpoint, backup)
    storage.delete(checkpoint + ".attrs")
    return [f"restored the checkpoint of stack {stack!r} from its backup"]


def _resolve_pending_operations(run: PulumiRunner, lookup: Optional[UserLookup]) -> list[str]:
    exported = run(["stack", "export"])
    if exported.returncode != 0:
        raise RecoveryError(f"cannot read the stack's state: {_last_line(exported.stderr)}")
    document = json.loads(exported.stdout)
    deployment = document.get("deployment") or {}
    pending = deployment.get("pending_operations") or []
    if not pending:
        return []
    done: list[str] = []
    landed = _landed_creates(pending, lookup)
    if landed:
        # Record each landed create as the resource it became, then import the
        # state back: the engine has no way to turn a pending create into a
        # resource with a known id during a refresh.
        kept = [operation for index, operation in enumerate(pending) if index not in landed]
        deployment["resources"] = list(deployment.get("resources") or []) + list(landed.values())
        deployment["pending_operations"] = kept
        with tempfile.TemporaryDirectory(prefix="alloy-recover-") as folder:
            edited = Path(folder) / "state.json"
            edited.write_text(json.dumps(document), encoding="utf-8")
            imported = run(["stack", "import", "--file", str(edited)])
        if imported.returncode != 0:
            raise RecoveryError(f"cannot record the landed creates: {_last_line(imported.stderr)}")
        done.append(f"recorded {len(landed)} user(s) whose create had landed in Alloy as this stack's own")
    # --run-program: refresh with the current stack config (base URL, key),
    # not the provider settings recorded in the state by the interrupted run.
    refreshed = run(["refresh", "--yes", "--skip-preview", "--run-program", "--clear-pending-creates"])
    if refreshed.returncode != 0:
        raise RecoveryError(f"refresh failed: {_last_line(refreshed.stdout + refreshed.stderr)}")
    return [f"cleared {len(pending)} pending operation(s) with a refresh", *done]


def _landed_creates(pending: list[dict], lookup: Optional[UserLookup]) -> dict[int, dict]:
    """Pending creates of users that Alloy has (index -> the resource state
    to record: the pending inputs, the userId, ``adopted`` false)."""
    landed: dict[int, dict] = {}
    if lookup is None:
        return landed
    for index, operation in enumerate(pending):
        resource = operation.get("resource") or {}
        inputs = resource.get("inputs") or {}
        username = inputs.get("username")
        if operation.get("type") != "creating" or resource.get("type") != USER_TYPE or not isinstance(username, str):
            continue
        user_id = lookup(username)
        if user_id:
            outputs = {**inputs, "userId": user_id, "username": username, "adopted": False}
            landed[index] = {**resource, "id": user_id, "outputs": outputs}
    return landed


def _last_line(text: str) -> str:
    """What a failed ``pulumi`` command said: its first ``error:`` line (the
    CLI ends with summaries such as ``Duration: 1s``), else its last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    return errors[0] if errors else lines[-1] if lines else "(no output)"


def _is_json(data: Optional[bytes]) -> bool:
    if data is None:
        return False
    try:
        json.loads(data)
        return True
    except ValueError:
        return False


def stack_lookup(run: PulumiRunner, environ: Optional[dict[str, str]] = None) -> UserLookup:
    """A ``UserLookup`` through the stack's settings (``pulumi config``).

    The settings are read at the first lookup, not here: a caller builds the
    lookup before ``recover`` repairs the damaged files that make every
    ``pulumi`` command fail, and a lookup that had silently given up then
    would let the landed creates be adopted by the next run. When the
    settings cannot be read or hold no key, the first lookup raises
    ``RecoveryError``: without Alloy's answer a landed create cannot be told
    from one that never reached Alloy."""
    from providers.alloy.client import AlloyClient
    from providers.alloy.errors import AlloyError
    from providers.alloy.settings import read_settings

    clients: list[AlloyClient] = []

    def client() -> AlloyClient:
        if clients:
            return clients[0]
        shown = run(["config", "--json", "--show-secrets"])
        if shown.returncode != 0:
            raise RecoveryError(
                "cannot read the stack's settings to look up its pending creates in Alloy: "
                f"{_last_line(shown.stderr)}"
            )
        values = {key: (entry or {}).get("value") for key, entry in json.loads(shown.stdout or "{}").items()}
        try:
            settings = read_settings(values.get, os.environ if environ is None else environ)
            clients.append(AlloyClient(settings.client))
        except AlloyError as problem:
            raise RecoveryError(
                f"cannot look up the stack's pending creates in Alloy ({problem}); "
                "fix that and run recovery again, so that the users the run created stay this stack's own"
            ) from None
        return clients[0]

    def lookup(username: str) -> Optional[str]:
        try:
            record = client().find_user_by_username(username)
        except AlloyError as problem:
            raise RecoveryError(f"cannot look up {username!r} in Alloy: {problem}") from None
        return record.user_id if record is not None and record.username == username else None

    return lookup


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m scripts.recover", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", help="the stack (default: $PULUMI_STACK, else the selected one)")
    args = parser.parse_args(argv)
    url = os.environ.get("PULUMI_BACKEND_URL", "").strip()
    try:
        backend = parse_backend_url(url)
    except BackendUrlError as problem:
        print(f"recover: {problem}", file=sys.stderr)
        return USAGE_EXIT
    storage = storage_for(backend)
    if storage is None:
        assert isinstance(backend, OtherBackend)
        print(f"recover: {unsupported_backend(backend)}", file=sys.stderr)
        return USAGE_EXIT
    try:
        # Damaged files first: until they are repaired, no pulumi command works.
        try:
            done = _remove_broken_files(storage)
        except StorageError as problem:
            raise RecoveryError(str(problem)) from None
        stack = args.stack or os.environ.get("PULUMI_STACK") or _selected_stack(storage)

        def run(cli_args: Sequence[str]) -> subprocess.CompletedProcess:
            return subprocess.run(
                ["pulumi", "--non-interactive", *cli_args, "--stack", stack], capture_output=True, text=True
            )

        done += recover(storage, PROJECT, stack, run, stack_lookup(run))
    except RecoveryError as problem:
        print(f"recover: {problem}", file=sys.stderr)
        return 1
    for line in done or ["nothing to recover"]:
        print(f"recover: {line}")
    return 0


def unsupported_backend(backend: OtherBackend) -> str:
    """One line: why ``backend`` is not repaired here and what to do instead."""
    by_hand = "`pulumi stack export`, remove pending_operations, `pulumi stack import`"
    if not backend.scheme:
        return "set PULUMI_BACKEND_URL to the stack's backend: file://<folder> or s3://<bucket>/<prefix>?..."
    if backend.is_cloud:
        return (
            f"{backend.url} is Pulumi Cloud, whose state recover cannot reach: run `pulumi cancel` if no run is "
            f"still going, then {by_hand} (README: When a run is interrupted)"
        )
    return (
        f"{backend.scheme}:// backends are not repaired (only file:// and s3://): run `pulumi cancel` if no run "
        f"is still going, then {by_hand} (README: When a run is interrupted)"
    )


def _selected_stack(storage: BackendStorage) -> str:
    """The selected stack, asked of the CLI once the files are sound; a
    checkpoint that is still damaged is restored first when there is one stack."""
    shown = subprocess.run(["pulumi", "stack", "--show-name"], capture_output=True, text=True)
    if shown.returncode == 0 and shown.stdout.strip():
        return shown.stdout.strip()
    folder = f"{META}/stacks/{PROJECT}/"
    try:
        keys = storage.list(folder)
    except StorageError as problem:
        raise RecoveryError(str(problem)) from None
    stacks = sorted(
        key[len(folder) : -len(".json")] for key in keys if key.endswith(".json") and "/" not in key[len(folder) :]
    )
    if len(stacks) == 1:
        return stacks[0]
    raise RecoveryError(
        f"no stack is selected ({_last_line(shown.stderr)}); name it with --stack or PULUMI_STACK"
    )


if __name__ == "__main__":
    sys.exit(main())
