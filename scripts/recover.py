"""Bring a stack on a file state backend back to a runnable state after an
interrupted run (``kill -9``, a cancelled job, a power cut).

What an interrupted ``pulumi up`` can leave behind, and what is done about it
(each step only when needed, and reported):

1. A lock whose process is gone (same host, dead pid): removed with
   ``pulumi cancel``. A lock held by a live process, or taken on another
   host, is left alone: that run may still be going.
2. A metadata sidecar (``*.attrs``) cut short by the kill: removed (the
   backend treats a missing sidecar as "no metadata"); temporary files of an
   unfinished write: removed.
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

Usage: ``python -m scripts.recover [--stack NAME]`` with
``PULUMI_BACKEND_URL=file://...`` (the stack defaults to the selected one;
the API key comes from the stack config or ``ALLOY_API_KEY``), or
``recover(...)`` from a job. Exit status 0 when the stack is runnable, 1 when
it could not be repaired (one line says why).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence
from urllib.parse import urlsplit

from providers.guard.state import USER_TYPE

PulumiRunner = Callable[[Sequence[str]], subprocess.CompletedProcess]
# username -> the userId Alloy has for it, or None.
UserLookup = Callable[[str], Optional[str]]
PROJECT = "alloy"


class RecoveryError(Exception):
    """The stack could not be repaired; the message says why and what to do."""


def recover(
    backend_dir: Path, project: str, stack: str, run: PulumiRunner, lookup: Optional[UserLookup] = None
) -> list[str]:
    """Repair ``project/stack`` on the file backend at ``backend_dir``; return
    what was done (empty when nothing was needed). ``run(args)`` runs
    ``pulumi args`` for that stack and returns the completed process;
    ``lookup`` finds a pending create's user in Alloy (without it, pending
    creates are cleared and a landed one is adopted by the next ``up``).
    Raise ``RecoveryError`` when the stack cannot be repaired."""
    meta = backend_dir / ".pulumi"
    done: list[str] = []
    done += _remove_broken_files(meta)
    done += _restore_checkpoint(meta / "stacks" / project, stack)
    done += _remove_stale_locks(meta / "locks", project, stack, run)
    done += _resolve_pending_operations(run, lookup)
    return done


def _remove_stale_locks(locks: Path, project: str, stack: str, run: PulumiRunner) -> list[str]:
    stale = []
    for lock in locks.glob(f"*/{project}/{stack}/*.json"):
        try:
            owner = json.loads(lock.read_text())
        except (OSError, ValueError):
            stale.append(lock)
            continue
        if owner.get("hostname") == socket.gethostname() and not _alive(int(owner.get("pid", 0))):
            stale.append(lock)
    if not stale:
        return []
    run(["cancel", "--yes"])
    for lock in stale:  # `cancel` removes valid locks; unreadable ones go here.
        for path in (lock, lock.with_name(lock.name + ".attrs")):
            path.unlink(missing_ok=True)
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


def _remove_broken_files(meta: Path) -> list[str]:
    removed = 0
    for path in list(meta.rglob("*.tmp")):
        path.unlink(missing_ok=True)
        removed += 1
    for sidecar in meta.rglob("*.attrs"):
        if not _is_json(sidecar):
            sidecar.unlink(missing_ok=True)
            removed += 1
    return [f"removed {removed} partly written backend file(s)"] if removed else []


def _restore_checkpoint(stacks: Path, stack: str) -> list[str]:
    checkpoint = stacks / f"{stack}.json"
    backup = stacks / f"{stack}.json.bak"
    if not checkpoint.exists() or _is_json(checkpoint):
        return []
    if not _is_json(backup):
        raise RecoveryError(f"{checkpoint} is damaged and has no usable backup; restore it from the backend's history")
    checkpoint.write_bytes(backup.read_bytes())
    checkpoint.with_name(checkpoint.name + ".attrs").unlink(missing_ok=True)
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


def _is_json(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
        return True
    except (OSError, ValueError):
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
    backend = os.environ.get("PULUMI_BACKEND_URL", "")
    if not backend.startswith("file://"):
        print("recover: set PULUMI_BACKEND_URL=file://<folder> (only file backends are repaired)", file=sys.stderr)
        return 1
    backend_dir = Path(urlsplit(backend).path)
    try:
        # Damaged files first: until they are repaired, no pulumi command works.
        done = _remove_broken_files(backend_dir / ".pulumi")
        stack = args.stack or os.environ.get("PULUMI_STACK") or _selected_stack(backend_dir)

        def run(cli_args: Sequence[str]) -> subprocess.CompletedProcess:
            return subprocess.run(
                ["pulumi", "--non-interactive", *cli_args, "--stack", stack], capture_output=True, text=True
            )

        done += recover(backend_dir, PROJECT, stack, run, stack_lookup(run))
    except RecoveryError as problem:
        print(f"recover: {problem}", file=sys.stderr)
        return 1
    for line in done or ["nothing to recover"]:
        print(f"recover: {line}")
    return 0


def _selected_stack(backend_dir: Path) -> str:
    """The selected stack, asked of the CLI once the files are sound; a
    checkpoint that is still damaged is restored first when there is one stack."""
    shown = subprocess.run(["pulumi", "stack", "--show-name"], capture_output=True, text=True)
    if shown.returncode == 0 and shown.stdout.strip():
        return shown.stdout.strip()
    stacks = sorted(path.name[: -len(".json")] for path in (backend_dir / ".pulumi" / "stacks" / PROJECT).glob("*.json"))
    if len(stacks) == 1:
        return stacks[0]
    raise RecoveryError(
        f"no stack is selected ({_last_line(shown.stderr)}); name it with --stack or PULUMI_STACK"
    )


if __name__ == "__main__":
    sys.exit(main())
