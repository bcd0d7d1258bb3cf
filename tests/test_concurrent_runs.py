"""Two runs of one stack at once (two pipeline jobs racing): the state
backend's lock refuses the second run before it touches Alloy or the state,
and the first one finishes cleanly."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.support.pulumi_harness import PulumiProject
from tests.support.manifests import THREE_USERS

pytestmark = pytest.mark.e2e

# Each POST of the first run takes this long, which keeps it holding the lock
# while the competing commands run (the three are refused within about a second).
POST_LATENCY_MS = 5000
WAIT_FOR_FIRST_S = 60.0
LOCK_MESSAGE = "the stack is currently locked"


def start_up(stack: PulumiProject) -> subprocess.Popen[str]:
    """``pulumi up`` in the background, as the harness would run it."""
    return subprocess.Popen(
        ["pulumi", "--non-interactive", "--color", "never", "up", "--yes", "--skip-preview"],
        cwd=stack.work, env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_until_posting(emulator, first: subprocess.Popen[str], posts: int) -> None:
    """Until the first run has sent all its ``posts`` POSTs (it holds the lock
    and is mid-update, and sends nothing more while they are slowed down)."""
    deadline = time.monotonic() + WAIT_FOR_FIRST_S
    while emulator.admin.counters().get("POST /users", 0) < posts:
        assert first.poll() is None, f"the first run ended early:\n{first.communicate()}"
        assert time.monotonic() < deadline, "the first run never reached the API"
        time.sleep(0.05)


def test_a_second_run_is_refused_while_the_first_holds_the_stack(project, emulator):
    stack = project(THREE_USERS)
    emulator.admin.set_faults(latency_ms=POST_LATENCY_MS, routes=["POST /users"])
    first = start_up(stack)
    try:
        wait_until_posting(emulator, first, posts=3)
        calls_before = emulator.admin.counters()
        refused = {
            "up": stack.up(check=False),
            "refresh": stack.refresh(check=False),
            "destroy": stack.destroy(check=False),
        }
        still_running = first.poll() is None
        calls_after = emulator.admin.counters()
    finally:
        out, err = first.communicate(timeout=300)
    assert still_running, "the competing commands did not overlap the first run; raise POST_LATENCY_MS"
    for command, result in refused.items():
        assert result.returncode != 0, command
        assert LOCK_MESSAGE in result.stderr and "pulumi cancel" in result.stderr, (command, result.stderr)
    assert calls_after == calls_before  # the refused runs called nothing (the first one was waiting)

    assert first.returncode == 0, f"--- stdout\n{out}\n--- stderr\n{err}"
    assert not [path for path in stack.state_files() if "locks" in path.parts and path.suffix == ".json"]
    users = emulator.users()
    assert sorted(user["username"] for user in users) == ["ada@example.com", "grace@example.com", "user_12345"]
    assert stack.output("userIds") == {user["username"]: user["userId"] for user in users}
    for path in stack.state_files():
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))

    emulator.admin.clear_faults()
    emulator.reset_log()
    assert "5 unchanged" in stack.up().stdout  # 3 users, the stack, the deletion guard
    assert emulator.write_count() == 0
