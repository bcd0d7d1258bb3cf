"""Checkpoint-free runs of the apply path (``python -m review apply``, which
``make up`` and the apply workflow run) stay exact after ``kill -9``: the
create journal (``providers/guard/journal.py``) keeps "ours" and "adopted"
apart when the state after a kill is the pre-run state.

The rules of the journal are unit-tested here; the kill tests run the real
CLI: a short one (50 users) in ``make test``, and kills at several moments
of a 1,000-user create in the longer suite (``make test-long``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from providers.guard import journal
from scripts.recover import is_zombie, recover, stack_lookup
from tests.support.manifests import numbered_usernames, numbered_users
from tests.support.pulumi_harness import REPO

SEEDED = "user0003@example.com"  # exists in Alloy before the stack: must stay adopted
POLL_S = 0.02
KILL_DEADLINE_S = 300


# -- the journal's rules (fast) ----------------------------------------------------


def test_a_username_alloy_already_has_is_never_journaled():
    assert journal.plan_journal(set(), {"a", "b", "Seeded"}, {"seeded", "other"}, set()) == {"a", "b"}


def test_a_landed_unrecorded_create_stays_journaled_and_a_recorded_one_is_dropped():
    standing = {"a", "b", "c", "gone"}
    # a landed and is unrecorded (ours); b landed and is recorded; c did not land; gone left the manifest
    # and never landed.
    planned = journal.plan_journal(standing, {"a", "c"}, {"a", "b", "x"}, {"b"})
    assert planned == {"a", "c"}
    assert journal.prune(planned, {"a", "c"}) == set()


def test_file_journal_round_trip_and_locations(tmp_path: Path):
    store = journal.store_for(f"file://{tmp_path}", "alloy", "org/alloy/prod")
    assert isinstance(store, journal.FileJournal)
    assert store.path == tmp_path / ".pulumi/alloy-users/create-journal/alloy/prod.json"
    assert store.read() == set()
    store.write({"b", "a"})
    assert store.read() == {"a", "b"}
    s3 = journal.store_for("s3://bucket/team?endpoint=localhost:5000&disableSSL=true&s3ForcePathStyle=true&region=eu-west-1",
                           "alloy", "prod")
    assert isinstance(s3, journal.S3Journal)
    assert (s3.bucket, s3.key, s3.endpoint, s3.region, s3.path_style) == (
        "bucket", "team/.pulumi/alloy-users/create-journal/alloy/prod.json", "http://localhost:5000", "eu-west-1", True)
    assert journal.store_for("https://api.pulumi.com", "alloy", "prod") is None
    assert journal.store_for("gs://bucket", "alloy", "prod") is None


def test_the_provider_reads_only_the_named_copy(tmp_path: Path):
    copy = journal.write_local_copy({"a"}, tmp_path)
    assert journal.journaled_usernames({journal.JOURNAL_ENV: str(copy)}) == frozenset({"a"})
    assert journal.journaled_usernames({}) == frozenset()
    copy.write_text("{broken")
    assert journal.journaled_usernames({journal.JOURNAL_ENV: str(copy)}) == frozenset()


def test_prepare_run_keeps_checkpoints_when_it_cannot_be_exact(tmp_path: Path):
    backend = f"file://{tmp_path}"
    no_listing = journal.prepare_run(backend, "alloy", "s", {"a"}, lambda: "{}", lambda: None, {})
    assert no_listing[0] is None and "list" in no_listing[1]
    refused = journal.prepare_run(backend, "alloy", "s", {"a"}, lambda: "{}", lambda: [], {"PULUMI_SKIP_CHECKPOINTS": "false"})
    assert refused[0] is None
    cloud = journal.prepare_run("https://api.pulumi.com", "alloy", "s", {"a"}, lambda: "{}", lambda: [], {})
    assert cloud[0] is None
    run, why = journal.prepare_run(backend, "alloy", "s", {"a", "b"}, lambda: "{}", lambda: ["b"], {})
    assert run is not None and run.env["PULUMI_SKIP_CHECKPOINTS"] == "true", why
    assert journal.journaled_usernames(run.env) == {"a"}
    run.finish({"a"})
    assert run.store.read() == set() and not run.local_copy.exists()


# -- kill -9 of the apply path, recover, converge --------------------------------------


def start_apply(stack) -> subprocess.Popen:
    """``python -m review apply`` in its own process group (a cancelled CI job kills the whole group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "review", "apply", "--stack", stack.stack, "--cwd", str(stack.work)],
        cwd=REPO, env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )


def kill_group_when(process: subprocess.Popen, emulator, at_least_users: int) -> str:
    deadline = time.monotonic() + KILL_DEADLINE_S
    while time.monotonic() < deadline and process.poll() is None:
        if len(emulator.users()) >= at_least_users:
            break
        time.sleep(POLL_S)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    output, _ = process.communicate()
    wait_for_group_gone(process.pid)
    return output


def wait_for_group_gone(group: int, timeout_s: float = 30.0) -> None:
    """Until no process of the group runs (the CLI outlives its wrapper by a moment)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        if all(is_zombie(pid) for pid in _members(group)):
            return
        time.sleep(POLL_S)


def _members(group: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == group:
                    members.append(int(entry.name))
            except OSError:
                continue
    return members



def converge_after_kills(project, emulator, users: int, kill_points: tuple[int, ...], latency_ms: float) -> None:
    stack = project(numbered_users(users))
    emulator.admin.seed_user(SEEDED, "Someone Else")
    emulator.admin.set_faults(latency_ms=latency_ms)

    def run(args):
        return stack.run(*args, check=False)

    actions: list[str] = []
    for point in kill_points:
        # The seeded user is in Alloy from the start: kill once `point` users of the stack's own landed.
        kill_group_when(start_apply(stack), emulator, point + 1)
        actions += recover(stack.state, "alloy", stack.stack, run, stack_lookup(run))
        usernames = [user["username"] for user in emulator.users()]
        assert len(usernames) == len(set(usernames)), f"duplicate user after killing at {point}"
    emulator.admin.set_faults()
    actions += recover(stack.state, "alloy", stack.stack, run, stack_lookup(run))
    finished = start_apply(stack)
    output, _ = finished.communicate(timeout=KILL_DEADLINE_S)
    assert finished.returncode == 0, output[-3000:]
    assert "checkpoints skipped" in output

    expected = set(numbered_usernames(users))
    alloy = emulator.users()
    assert sorted(u["username"] for u in alloy) == sorted(expected)  # one each, none lost
    # Only the user that existed before the stack is adopted; every user this stack created is its own.
    assert stack.output("adoptedUsers") == [SEEDED]
    assert stack.output("userIds") == {u["username"]: u["userId"] for u in alloy}
    assert sorted(stack.resource_names()) == sorted(expected)
    assert not stack.export_state()["deployment"].get("pending_operations")
    store = journal.store_for(f"file://{stack.state}", "alloy", stack.stack)
    assert store is not None and store.read() == set()  # pruned: the state records every user
    print("recovery actions:", actions)
    emulator.reset_log()
    stack.up()
    assert emulator.write_count() == 0


@pytest.mark.e2e
def test_kill_of_a_checkpoint_free_apply_converges_exactly(project, emulator):
    converge_after_kills(project, emulator, 50, (10, 30), latency_ms=60)


@pytest.mark.e2e
@pytest.mark.long
def test_kill_at_many_moments_of_a_1000_user_checkpoint_free_apply(project, emulator):
    converge_after_kills(project, emulator, 1000, (1, 150, 500, 900, 995), latency_ms=20)
