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
   recorded): ``pulumi refresh --run-program --clear-pending-creates``. The next ``up``
   re-runs what is still needed; a create that had in fact landed meets its
   username in Alloy and is adopted, so no user is created twice.

Usage: ``python -m scripts.recover`` with ``PULUMI_BACKEND_URL=file://...``
and the stack selected, or ``recover(...)`` from a job.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlsplit

PulumiRunner = Callable[[Sequence[str]], subprocess.CompletedProcess]


def recover(backend_dir: Path, project: str, stack: str, run: PulumiRunner) -> list[str]:
    """Repair ``project/stack`` on the file backend at ``backend_dir``; return
    what was done (empty when nothing was needed). ``run(args)`` runs
    ``pulumi args`` for that stack and returns the completed process."""
    meta = backend_dir / ".pulumi"
    done: list[str] = []
    done += _remove_stale_locks(meta / "locks", project, stack, run)
    done += _remove_broken_files(meta)
    done += _restore_checkpoint(meta / "stacks" / project, stack)
    done += _clear_pending_operations(run)
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
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        raise SystemExit(f"recover: {checkpoint} is damaged and has no usable backup; restore it from history")
    checkpoint.write_bytes(backup.read_bytes())
    checkpoint.with_name(checkpoint.name + ".attrs").unlink(missing_ok=True)
    return [f"restored the checkpoint of stack {stack!r} from its backup"]


def _clear_pending_operations(run: PulumiRunner) -> list[str]:
    exported = run(["stack", "export"])
    if exported.returncode != 0:
        raise SystemExit(f"recover: cannot read the stack's state:\n{exported.stderr}")
    pending = json.loads(exported.stdout).get("deployment", {}).get("pending_operations") or []
    if not pending:
        return []
    # --run-program: refresh with the current stack config (base URL, key),
    # not the provider settings recorded in the state by the interrupted run.
    refreshed = run(["refresh", "--yes", "--skip-preview", "--run-program", "--clear-pending-creates"])
    if refreshed.returncode != 0:
        raise SystemExit(f"recover: refresh failed:\n{refreshed.stdout}\n{refreshed.stderr}")
    return [f"cleared {len(pending)} pending operation(s) with a refresh"]


def _is_json(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
        return True
    except (OSError, ValueError):
        return False


def main() -> None:
    backend = os.environ.get("PULUMI_BACKEND_URL", "")
    if not backend.startswith("file://"):
        raise SystemExit("recover: set PULUMI_BACKEND_URL=file://<folder> (only file backends are repaired)")
    stack = subprocess.run(["pulumi", "stack", "--show-name"], capture_output=True, text=True, check=True).stdout.strip()

    def run(args: Sequence[str]) -> subprocess.CompletedProcess:
        return subprocess.run(["pulumi", "--non-interactive", *args], capture_output=True, text=True)

    for line in recover(Path(urlsplit(backend).path), "alloy", stack, run) or ["nothing to recover"]:
        print(f"recover: {line}")


if __name__ == "__main__":
    sys.exit(main())
