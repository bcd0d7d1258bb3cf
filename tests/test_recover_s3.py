"""Recovery of an interrupted run on an ``s3://`` state backend (a real
``moto_server``), as on ``file://``: stale locks, damaged files, pending
operations, backends it does not repair, and one ``kill -9`` of a real
``pulumi up`` followed by ``python -m scripts.recover`` and a second run.

The layout the tests write is the one the CLI writes on S3 (checked by
listing the bucket after a real run): ``.pulumi/stacks/<project>/<stack>.json``
and its ``.json.bak``, locks at
``.pulumi/locks/organization/<project>/<stack>/<uuid>.json``, no ``.attrs``
sidecars (metadata lives in the object).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from providers.guard.backend_storage import FileStorage, S3Storage
from providers.guard.backend_url import parse_backend_url
from tests.support.manifests import numbered_usernames, numbered_users
from tests.support.pulumi_harness import REPO

CHECKPOINT = ".pulumi/stacks/alloy/test.json"
LOCKS = ".pulumi/locks/organization/alloy/test/"
RECOVER_TIMEOUT_S = 300


def recover_command(stack, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m scripts.recover`` in the project, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.recover"], cwd=stack.work, capture_output=True, text=True,
        env=dict(stack.env, PYTHONPATH=str(REPO), **env), timeout=RECOVER_TIMEOUT_S,
    )


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def lock_body(hostname: str, pid: int) -> bytes:
    return json.dumps({"pid": pid, "username": "ci", "hostname": hostname,
                       "timestamp": "2026-01-01T00:00:00Z"}).encode()


# -- the storage seam: one contract, two implementations (fast) -----------------------


@pytest.fixture(params=["file", "s3"])
def storage(request, tmp_path: Path):
    if request.param == "file":
        return FileStorage(tmp_path / "backend")
    backend = request.getfixturevalue("s3_backend")
    return S3Storage(parse_backend_url(backend.url))  # type: ignore[arg-type]


def test_the_storage_lists_reads_writes_and_deletes_keys(storage):
    assert storage.list(".pulumi/") == []
    storage.write(".pulumi/stacks/alloy/a.json", b"{}")
    storage.write(".pulumi/stacks/alloy/a.json.bak", b"[]")
    storage.write(".pulumi/stacksother/x.json", b"1")
    storage.write(".pulumi/locks/organization/alloy/a/1.json", b"2")
    assert storage.list(".pulumi/stacks/") == [".pulumi/stacks/alloy/a.json", ".pulumi/stacks/alloy/a.json.bak"]
    assert storage.list(".pulumi/stacks/alloy/a.json.") == [".pulumi/stacks/alloy/a.json.bak"]
    assert len(storage.list(".pulumi/")) == 4
    assert storage.read(".pulumi/stacks/alloy/a.json.bak") == b"[]"
    assert storage.read(".pulumi/stacks/alloy/missing.json") is None
    assert storage.exists(".pulumi/stacks/alloy/a.json") and not storage.exists(".pulumi/stacks/alloy/missing.json")
    storage.write(".pulumi/stacks/alloy/a.json", b"{\"v\": 2}")
    assert storage.read(".pulumi/stacks/alloy/a.json") == b"{\"v\": 2}"
    storage.delete(".pulumi/stacks/alloy/a.json")
    storage.delete(".pulumi/stacks/alloy/a.json")  # a missing key is not an error
    assert not storage.exists(".pulumi/stacks/alloy/a.json")
    assert storage.list(".pulumi/stacks/") == [".pulumi/stacks/alloy/a.json.bak"]


def test_the_s3_storage_reaches_only_its_prefix(s3_backend):
    client, bucket = s3_backend.server.client(), s3_backend.server.bucket
    # The same bucket, next to the backend's root: a sibling whose name starts alike, and the bucket's root.
    client.put_object(Bucket=bucket, Key=f"{s3_backend.prefix}-sibling/.pulumi/meta.yaml", Body=b"x")
    client.put_object(Bucket=bucket, Key=".pulumi/meta.yaml", Body=b"x")
    storage = S3Storage(parse_backend_url(s3_backend.url))  # type: ignore[arg-type]
    storage.write(".pulumi/meta.yaml", b"version: 1\n")
    assert s3_backend.get(".pulumi/meta.yaml") == b"version: 1\n"
    assert storage.list("") == [".pulumi/meta.yaml"]
    assert storage.describe(".pulumi/meta.yaml") == f"s3://{s3_backend.server.bucket}/{s3_backend.prefix}/.pulumi/meta.yaml"


# -- backends recover does not repair --------------------------------------------------


@pytest.mark.parametrize(
    ("url", "named", "advice"),
    [
        pytest.param("azblob://container/state", "azblob://", "pulumi cancel", id="azure-blob"),
        pytest.param("gs://bucket/state", "gs://", "pulumi cancel", id="google-storage"),
        pytest.param("https://api.pulumi.com", "https://api.pulumi.com", "pulumi stack import", id="pulumi-cloud"),
        pytest.param("", "PULUMI_BACKEND_URL", "s3://", id="unset"),
        pytest.param("s3://", "s3://", "names no bucket", id="s3-without-bucket"),
    ],
)
def test_an_unsupported_backend_gets_one_line_and_exit_2(url: str, named: str, advice: str, tmp_path: Path):
    env = {key: value for key, value in os.environ.items() if key != "PULUMI_BACKEND_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "scripts.recover", "--stack", "prod"], cwd=tmp_path, capture_output=True, text=True,
        env=dict(env, PYTHONPATH=str(REPO), PULUMI_BACKEND_URL=url), timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("recover: "), result.stderr
    assert named in lines[0] and advice in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


# -- each repair on S3, through the real CLI ---------------------------------------------


@pytest.mark.e2e
def test_a_stale_lock_on_s3_is_removed_and_the_stack_runs_again(s3_project, s3_backend, emulator):
    stack = s3_project(numbered_users(1))
    lock = f"{LOCKS}{uuid.uuid4()}.json"
    s3_backend.put(lock, lock_body(socket.gethostname(), dead_pid()))
    locked = stack.up(check=False)
    assert locked.returncode != 0 and "currently locked" in locked.stderr  # the CLI's own lock layout
    result = recover_command(stack)
    assert result.returncode == 0, result.stderr
    assert "recover: removed 1 lock(s) left by a run that no longer exists" in result.stdout
    assert s3_backend.get(lock) is None
    stack.up()
    assert [user["username"] for user in emulator.users()] == numbered_usernames(1)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("hostname", "pid", "said"),
    [
        pytest.param(None, os.getpid(), "a live process on this host", id="live-pid-on-this-host"),
        pytest.param("build-agent-7", 1, "another host", id="other-host"),
    ],
)
def test_a_lock_that_may_still_be_in_use_is_kept_with_one_line(s3_project, s3_backend, hostname, pid, said):
    stack = s3_project(numbered_users(1))
    kept = f"{LOCKS}{uuid.uuid4()}.json"
    stale = f"{LOCKS}{uuid.uuid4()}.json"
    s3_backend.put(kept, lock_body(hostname or socket.gethostname(), pid))
    s3_backend.put(stale, lock_body(socket.gethostname(), dead_pid()))
    result = recover_command(stack)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"pid {pid}, {said}" in lines[0] and "may still be going" in lines[0], lines[0]
    assert "removed 1 stale lock(s)" in lines[0]
    assert s3_backend.get(kept) is not None  # `pulumi cancel` would have removed it too
    assert s3_backend.get(stale) is None


@pytest.mark.e2e
def test_an_empty_sidecar_on_s3_is_removed(s3_project, s3_backend):
    stack = s3_project(numbered_users(1))
    assert not [key for key in s3_backend.keys() if key.endswith(".attrs")]  # the S3 backend writes none
    s3_backend.put(CHECKPOINT + ".attrs", b"")
    s3_backend.put(".pulumi/stacks/alloy/test.json.bak.attrs", b'{"user.metadata": {}}')  # sound: kept
    result = recover_command(stack)
    assert result.returncode == 0, result.stderr
    assert "recover: removed 1 partly written backend file(s)" in result.stdout
    assert s3_backend.get(CHECKPOINT + ".attrs") is None
    assert s3_backend.get(".pulumi/stacks/alloy/test.json.bak.attrs") is not None


@pytest.mark.e2e
@pytest.mark.parametrize(
    "damage", [pytest.param(b'{"version": 3, "checkpoint": {', id="cut-short"), pytest.param(b"", id="empty")]
)
def test_a_damaged_checkpoint_on_s3_is_restored_from_its_backup(s3_project, s3_backend, emulator, damage):
    stack = s3_project(numbered_users(2))
    stack.up()
    s3_backend.put(CHECKPOINT, damage)
    broken = stack.run("stack", "export", check=False)
    assert broken.returncode != 0 and "failed to load checkpoint" in broken.stderr
    result = recover_command(stack)
    assert result.returncode == 0, result.stderr
    assert "recover: restored the checkpoint of stack 'test' from its backup" in result.stdout
    assert json.loads(s3_backend.get(CHECKPOINT) or b"") == json.loads(s3_backend.get(CHECKPOINT + ".bak") or b"")
    stack.write_manifest(numbered_users(3))
    stack.up()  # the backup may be a step behind: a user missing from it is adopted, never duplicated
    assert sorted(user["username"] for user in emulator.users()) == numbered_usernames(3)


@pytest.mark.e2e
def test_a_damaged_checkpoint_without_a_usable_backup_stops_recovery(s3_project, s3_backend):
    stack = s3_project(numbered_users(1))
    s3_backend.put(CHECKPOINT, b"{")
    s3_backend.put(CHECKPOINT + ".bak", b"")
    result = recover_command(stack, PULUMI_STACK="test")
    assert result.returncode == 1
    assert "has no usable backup" in result.stderr and "Traceback" not in result.stderr
    assert s3_backend.get(CHECKPOINT) == b"{"  # left as it was


@pytest.mark.e2e
def test_pending_creates_on_s3_are_recorded_or_cleared(s3_project, s3_backend, emulator):
    stack = s3_project(numbered_users(1))
    stack.up()
    # What a kill during two creates leaves: user 1 landed in Alloy, user 2 did not.
    document = json.loads(s3_backend.get(CHECKPOINT) or b"")
    deployment = document["checkpoint"]["latest"]
    known = next(r for r in deployment["resources"] if r["type"].endswith("alloy:User"))
    pending = []
    for number in (1, 2):
        username = f"user{number:04d}@example.com"
        resource = {key: known[key] for key in ("custom", "type", "parent", "provider")}
        resource["urn"] = known["urn"].rsplit("::", 1)[0] + "::" + username
        resource["inputs"] = {**known["inputs"], "username": username, "fullName": f"User {number}"}
        pending.append({"resource": resource, "type": "creating"})
    deployment["pending_operations"] = pending
    s3_backend.put(CHECKPOINT, json.dumps(document).encode())
    landed_id = emulator.admin.seed_user("user0001@example.com", "User 1")

    result = recover_command(stack)
    assert result.returncode == 0, result.stderr
    assert "recover: cleared 2 pending operation(s) with a refresh" in result.stdout
    assert "recover: recorded 1 user(s) whose create had landed in Alloy as this stack's own" in result.stdout
    state = stack.export_state()["deployment"]
    assert not state.get("pending_operations")
    assert sorted(stack.resource_names()) == numbered_usernames(2)

    stack.write_manifest(numbered_users(3))
    stack.up()
    assert stack.output("adoptedUsers") == []  # user 1 stays this stack's own
    assert stack.output("userIds")["user0001@example.com"] == landed_id
    assert sorted(user["username"] for user in emulator.users()) == numbered_usernames(3)


# -- kill -9 of a real `pulumi up` on S3, recover, converge ---------------------------------

KILL_USERS = 40
KILL_AT_USERS = 12
KILL_LATENCY_MS = 100
POLL_S = 0.01
KILL_DEADLINE_S = 120


@pytest.mark.e2e
@pytest.mark.long
def test_kill_9_of_an_up_on_s3_then_recover_and_a_second_run_converges(s3_project, s3_backend, emulator):
    stack = s3_project(numbered_users(KILL_USERS))
    emulator.admin.set_faults(latency_ms=KILL_LATENCY_MS)
    run = subprocess.Popen(
        ["pulumi", "--non-interactive", "up", "--yes", "--skip-preview"],
        cwd=stack.work, env=stack.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + KILL_DEADLINE_S
    while time.monotonic() < deadline and run.poll() is None and len(emulator.users()) < KILL_AT_USERS:
        time.sleep(POLL_S)
    assert run.poll() is None, "the run ended before it could be killed"
    os.kill(run.pid, signal.SIGKILL)  # the CLI alone: its plugins are orphaned, as with a cancelled CI job
    run.wait()
    killed_with = len(emulator.users())
    assert KILL_AT_USERS <= killed_with < KILL_USERS
    assert any(key.startswith(LOCKS) for key in s3_backend.keys()), "the killed run left no lock on S3"
    emulator.admin.set_faults()

    result = recover_command(stack)
    print(f"killed with {killed_with} users; recovery:", result.stdout)
    assert result.returncode == 0, result.stderr
    assert "recover: removed 1 lock(s) left by a run that no longer exists" in result.stdout, result.stdout
    assert not any(key.startswith(LOCKS) for key in s3_backend.keys())
    usernames = [user["username"] for user in emulator.users()]
    assert len(usernames) == len(set(usernames)), "a user was created twice"
    # Recovered: every user Alloy has is in the state, so the next run adopts none.
    assert not sorted(set(usernames) - set(stack.resource_names())), result.stdout
    assert not stack.export_state()["deployment"].get("pending_operations")

    stack.up()
    users = emulator.users()
    assert sorted(user["username"] for user in users) == numbered_usernames(KILL_USERS)  # one each, none lost
    assert stack.output("adoptedUsers") == []
    assert stack.output("userIds") == {user["username"]: user["userId"] for user in users}
    emulator.reset_log()
    stack.up()
    assert emulator.write_count() == 0  # converged
