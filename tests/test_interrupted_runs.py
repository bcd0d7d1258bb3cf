"""Interrupted runs: ``kill -9`` of ``pulumi up`` at several moments of a
200-user create, recovery, and convergence with no duplicate and no lost user.

The kill tests are in the longer suite (``make test-long``): a few minutes
of real CLI runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from scripts.recover import RecoveryError, recover, stack_lookup

from tests.support.manifests import numbered_usernames, numbered_users
from tests.support.pulumi_harness import REPO

pytestmark = pytest.mark.e2e

USERS = 200
LATENCY_MS = 25
# Moments to kill at, as "the emulator holds at least this many users":
# 0 = as soon as the first create reaches the API (creates in flight),
# then early, middle, late, the last few, and after the last create landed.
KILL_POINTS = (0, 30, 90, 150, 197, USERS)
POLL_S = 0.01
KILL_DEADLINE_S = 120


def start_up(stack) -> subprocess.Popen:
    return subprocess.Popen(
        ["pulumi", "--non-interactive", "up", "--yes", "--skip-preview"],
        cwd=stack.work, env=stack.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def kill_when(process: subprocess.Popen, emulator, at_least_users: int) -> None:
    """SIGKILL the CLI alone (its plugins are orphaned, as with a cancelled CI job)."""
    deadline = time.monotonic() + KILL_DEADLINE_S
    while time.monotonic() < deadline and process.poll() is None:
        posts = sum(1 for entry in emulator.requests() if entry["method"] == "POST")
        if posts >= 1 and len(emulator.users()) >= at_least_users:
            break
        time.sleep(POLL_S)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.long
def test_kill_at_many_moments_then_recover_and_converge(project, emulator):
    stack = project(numbered_users(USERS))
    emulator.admin.set_faults(latency_ms=LATENCY_MS)

    def run(args):
        return stack.run(*args, check=False)

    actions: list[str] = []
    for point in KILL_POINTS:
        kill_when(start_up(stack), emulator, point)
        actions += [f"killed at {point}: {len(emulator.users())} users"]
        actions += recover(stack.state, "alloy", stack.stack, run, stack_lookup(run))
        usernames = [user["username"] for user in emulator.users()]
        assert len(usernames) == len(set(usernames)), f"duplicate user after killing at {point}"
        # Recovered: every user Alloy has is in the state, so the next run adopts none.
        unrecorded = sorted(set(usernames) - set(stack.resource_names()))
        assert not unrecorded, f"after killing at {point}, not in the state: {unrecorded}; {actions}"

    emulator.admin.set_faults()
    actions += recover(stack.state, "alloy", stack.stack, run, stack_lookup(run))
    stack.up()
    print("recovery actions:", actions)
    # Every user was created by this stack: none is reported as adopted.
    assert stack.output("adoptedUsers") == []

    users = emulator.users()
    expected = set(numbered_usernames(USERS))
    assert sorted(u["username"] for u in users) == sorted(expected)  # one each, none lost
    assert stack.output("userIds") == {u["username"]: u["userId"] for u in users}
    state = stack.export_state()["deployment"]
    assert not state.get("pending_operations")
    assert sorted(stack.resource_names()) == sorted(expected)
    assert any("lock" in action for action in actions), actions
    # Converged: the next run is a no-op.
    emulator.reset_log()
    stack.up()
    assert emulator.write_count() == 0


@pytest.mark.long
def test_recover_restores_a_damaged_checkpoint_and_sidecar(project, emulator):
    stack = project(numbered_users(3))
    stack.up()
    stack.write_manifest(numbered_users(4))
    stack.up()
    checkpoint = next(stack.state.rglob("stacks/alloy/test.json"))
    checkpoint.write_text('{"version": 3, "checkpoint": {')  # cut short
    sidecar = checkpoint.with_name("test.json.bak.attrs")
    sidecar.write_text("")

    def run(args):
        return stack.run(*args, check=False)

    actions = recover(stack.state, "alloy", stack.stack, run)
    assert any("restored the checkpoint" in a for a in actions)
    assert any("partly written" in a for a in actions)
    json.loads(checkpoint.read_text())
    stack.up()  # the backup was one step behind: user 4 is adopted, not duplicated
    assert sorted(u["username"] for u in emulator.users()) == numbered_usernames(4)


def test_recover_command_repairs_an_empty_sidecar_without_a_traceback(project, emulator):
    stack = project(numbered_users(2))
    stack.up()
    checkpoint = next(stack.state.rglob("stacks/alloy/test.json"))
    checkpoint.with_name("test.json.attrs").write_text("")
    assert stack.run("stack", "export", check=False).returncode != 0  # every command fails until repaired
    result = subprocess.run(
        [sys.executable, "-m", "scripts.recover"], cwd=stack.work, capture_output=True, text=True,
        env=dict(stack.env, PYTHONPATH=str(REPO)), timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "recover: removed 1 partly written backend file(s)" in result.stdout
    stack.up()
    assert len(emulator.users()) == 2


def write_checkpoint(stack, deployment: dict) -> None:
    """Write the file backend's checkpoint as a killed run leaves it
    (``pulumi stack import`` would drop the pending operations)."""
    checkpoint = next(stack.state.rglob("stacks/alloy/test.json"))
    document = json.loads(checkpoint.read_text())
    document["checkpoint"]["latest"] = deployment
    checkpoint.write_text(json.dumps(document))
    checkpoint.with_name("test.json.attrs").unlink(missing_ok=True)


def test_a_landed_create_is_recorded_when_the_kill_also_cut_a_sidecar(project, emulator):
    """The lookup is made before recovery repairs the files (as ``make up`` and
    jobs do); it must still ask Alloy once the files are sound, not give up."""
    stack = project(numbered_users(2))
    stack.up()
    # What a kill right after Alloy created user 2 leaves: a pending create
    # of a user that Alloy has, and a metadata sidecar cut short.
    document = stack.export_state()
    deployment = document["deployment"]
    known = next(r for r in deployment["resources"] if r["type"].endswith("alloy:User"))
    username = "user0002@example.com"
    pending = {key: known[key] for key in ("custom", "type", "parent", "provider")}
    pending["urn"] = known["urn"].rsplit("::", 1)[0] + "::" + username
    pending["inputs"] = {**known["inputs"], "username": username, "fullName": "User 2"}
    deployment["pending_operations"] = [{"resource": pending, "type": "creating"}]
    write_checkpoint(stack, deployment)
    user_id = emulator.admin.seed_user(username, "User 2")
    stack.write_manifest(numbered_users(3))
    checkpoint = next(stack.state.rglob("stacks/alloy/test.json"))
    checkpoint.with_name("test.json.attrs").write_text("")

    def run(args):
        return stack.run(*args, check=False)

    lookup = stack_lookup(run)  # before the repair, while every command fails
    actions = recover(stack.state, "alloy", stack.stack, run, lookup)
    assert "recorded 1 user(s) whose create had landed in Alloy as this stack's own" in actions, actions
    stack.up()
    assert stack.output("adoptedUsers") == []
    assert stack.output("userIds")[username] == user_id
    assert sorted(u["username"] for u in emulator.users()) == numbered_usernames(3)


def test_recovery_refuses_to_guess_when_alloy_cannot_be_asked(project, emulator):
    stack = project(numbered_users(1))
    stack.up()
    document = stack.export_state()
    known = next(r for r in document["deployment"]["resources"] if r["type"].endswith("alloy:User"))
    pending = {key: known[key] for key in ("custom", "type", "parent", "provider")}
    pending["urn"] = known["urn"].rsplit("::", 1)[0] + "::user0001@example.com"
    pending["inputs"] = {**known["inputs"], "username": "user0001@example.com"}
    document["deployment"]["pending_operations"] = [{"resource": pending, "type": "creating"}]
    write_checkpoint(stack, document["deployment"])

    def run(args):
        return stack.run(*args, check=False)

    no_key = {key: value for key, value in stack.env.items() if key != "ALLOY_API_KEY"}
    stack.run("config", "rm", "alloy:apiKey")
    with pytest.raises(RecoveryError) as refused:
        recover(stack.state, "alloy", stack.stack, run, stack_lookup(run, no_key))
    assert "cannot look up the stack's pending creates in Alloy" in str(refused.value)
    assert "alloy:apiKey" in str(refused.value)


def test_ctrl_c_ends_the_run_with_one_line_and_the_next_up_converges(project, emulator):
    stack = project(numbered_users(40))
    emulator.admin.set_faults(latency_ms=200)
    run = subprocess.Popen(
        ["pulumi", "--non-interactive", "up", "--yes", "--skip-preview"], cwd=stack.work, env=stack.env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    deadline = time.monotonic() + KILL_DEADLINE_S
    while time.monotonic() < deadline and not any(e["method"] == "POST" for e in emulator.requests()):
        time.sleep(POLL_S)
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground process group
    output, _ = run.communicate(timeout=KILL_DEADLINE_S)
    assert run.returncode != 0
    assert "update canceled" in output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    emulator.admin.set_faults()
    stack.up()
    assert sorted(u["username"] for u in emulator.users()) == numbered_usernames(40)


def test_a_killed_but_unreaped_process_holds_no_lock():
    from scripts.recover import _alive, is_zombie

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not is_zombie(child.pid):
        time.sleep(POLL_S)  # exited, not yet reaped: a zombie, as under a container's first process
    try:
        assert not _alive(child.pid)
        assert _alive(os.getpid())
    finally:
        child.wait()


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        pytest.param("Updating (test)\n\n    error: 401 Unauthorized\n\nResources:\nDuration: 1s\n",
                     "error: 401 Unauthorized", id="the-error-line-not-the-summary"),
        pytest.param("warning: x\nerror: first\nerror: second\n", "error: first", id="the-first-error"),
        pytest.param("no stack named 'x' found\n", "no stack named 'x' found", id="no-error-prefix"),
        pytest.param("", "(no output)", id="silent"),
    ],
)
def test_a_failed_command_is_reported_by_its_error_line(output, shown):
    from scripts.recover import _last_line

    assert _last_line(output) == shown
