"""``make up``: run ``pulumi up`` of users.yaml against the local emulator.

Starts the emulator (its SQLite file in ``.state/``, so users persist between
runs), selects the ``local`` stack on a file backend in ``.state/backend``
with a passphrase that protects this demo stack only, points ``alloy:baseUrl``
at the emulator, repairs what an interrupted run left (``scripts/recover.py``),
then goes through the deletion guard like the apply
workflow (``python -m review apply``: preview, guard, ``pulumi up`` of
exactly that plan) and prints the userIds. A run stopped by the guard
changes nothing; ``ALLOY_ALLOW_DELETES=N make up`` acknowledges N deletions.
With ``--plan`` (``make plan``) it prints the pull-request plan comment
instead of applying. The emulator is stopped when the job ends, whatever
happens.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

from emulator.process import EmulatorProcess
from review import cli as review
from scripts.recover import RecoveryError, recover, stack_lookup

REPO = Path(__file__).resolve().parent.parent
STATE = REPO / ".state"
STACK = "local"
# Protects the secrets of the throwaway local stack only; real stacks use their own.
LOCAL_PASSPHRASE = "alloy-users-local-demo"
LOCAL_API_KEY = "dev-key"


def pulumi_env() -> dict[str, str]:
    """The CLI's environment: the local backend and a private PULUMI_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(
        PULUMI_BACKEND_URL=f"file://{STATE / 'backend'}",
        PULUMI_HOME=str(STATE / "pulumi-home"),
        PULUMI_CONFIG_PASSPHRASE=LOCAL_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
    )
    env.pop("ALLOY_API_KEY", None)
    return env


def pulumi(*args: str, capture: bool = False) -> str:
    """Run ``pulumi ARGS`` in the project; exit with its status if it fails."""
    result = subprocess.run(
        ["pulumi", "--non-interactive", *args], cwd=REPO, env=pulumi_env(),
        text=True, stdout=subprocess.PIPE if capture else None,
    )
    if result.returncode != 0:
        sys.exit(result.returncode)
    return result.stdout or ""


def run_pulumi(args: list[str]) -> subprocess.CompletedProcess:
    """Run ``pulumi ARGS`` on the local stack and capture its output."""
    return subprocess.run(
        ["pulumi", "--non-interactive", *args], cwd=REPO, env=pulumi_env(), capture_output=True, text=True
    )


def main(argv: list[str] | None = None) -> None:
    options = argparse.ArgumentParser(prog="make up", description=__doc__.split("\n\n")[0])
    options.add_argument("--plan", action="store_true", help="print the plan comment instead of applying")
    plan_only = options.parse_args(argv).plan
    label = "make plan" if plan_only else "make up"
    (STATE / "backend").mkdir(parents=True, exist_ok=True)
    # One `make up` at a time: a second one would repoint alloy:baseUrl at
    # its own emulator under the first one's feet.
    lock = open(STATE / "make-up.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"{label}: another `make up` or `make plan` is running on this folder; wait for it to finish")
    emulator = EmulatorProcess(db=STATE / "emulator.db", api_key=LOCAL_API_KEY).start()
    try:
        print(f"{label}: Alloy emulator at {emulator.url} (data in .state/emulator.db)", flush=True)
        pulumi("stack", "select", "--create", STACK)
        pulumi("config", "set", "alloy:baseUrl", emulator.url)
        pulumi("config", "set", "--secret", "alloy:apiKey", LOCAL_API_KEY)
        try:
            actions = recover(STATE / "backend", "alloy", STACK, run_pulumi, stack_lookup(run_pulumi))
        except RecoveryError as problem:
            sys.exit(f"{label}: cannot recover from an interrupted run: {problem}")
        for action in actions:
            print(f"{label}: recovered from an interrupted run: {action}", flush=True)
        common = ["--stack", STACK, "--cwd", str(REPO)]
        if plan_only:
            # The demo key lets the plan predict adoptions, as ALLOY_API_KEY does in CI.
            status = review.main(["plan", *common], environ=dict(pulumi_env(), ALLOY_API_KEY=LOCAL_API_KEY))
            sys.exit(status)
        status = review.main(["apply", *common], environ=pulumi_env())
        if status != 0:
            sys.exit(status)
        user_ids = json.loads(pulumi("stack", "output", "userIds", "--json", capture=True))
    finally:
        emulator.stop()
    print("userIds:")
    print(json.dumps(user_ids, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
