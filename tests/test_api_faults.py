"""End-to-end runs against a faulty API: the run converges or stops cleanly,
never with a duplicate or a lost user."""

from __future__ import annotations

import pytest

from tests.support.manifests import numbered_usernames, numbered_users

pytestmark = pytest.mark.e2e

FAULTY = dict(
    seed=20261129,
    rate_limit_rate=0.10,       # 429 with Retry-After
    retry_after_s=1,
    error_rates={"503": 0.05},  # answered before the write
    drop_after_commit_rate=0.02,  # the write lands, the response is lost
)


def assert_converged(stack, emulator, count: int) -> None:
    users = emulator.users()
    usernames = [u["username"] for u in users]
    assert sorted(usernames) == numbered_usernames(count)  # one each, none lost
    assert stack.output("userIds") == {u["username"]: u["userId"] for u in users}
    assert not stack.export_state()["deployment"].get("pending_operations")


@pytest.mark.long
def test_200_users_converge_in_one_run_despite_faults(project, emulator):
    emulator.admin.set_faults(**FAULTY)
    stack = project(numbered_users(200))
    stack.up()
    faults = [entry.get("fault") for entry in emulator.requests() if entry.get("fault")]
    assert faults, "the emulator injected no fault"
    emulator.admin.set_faults()
    assert_converged(stack, emulator, 200)
    assert stack.output("adoptedUsers") == []


def test_faulty_api_converges_in_one_run(project, emulator):
    emulator.admin.set_faults(**FAULTY)
    stack = project(numbered_users(40))
    stack.up()
    emulator.admin.set_faults()
    assert_converged(stack, emulator, 40)


def test_sustained_outage_stops_cleanly_and_the_next_run_finishes(project, emulator):
    stack = project(numbered_users(5), config={"alloy:maxRetries": "2"})
    stack.up()
    stack.write_manifest(numbered_users(12))
    emulator.admin.set_faults(error_rates={"503": 1.0})
    result = stack.up(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "503" in output and "alloy:maxRetries" in output
    assert "Traceback" not in output
    state = stack.export_state()["deployment"]
    assert not state.get("pending_operations")
    assert len(stack.resource_names()) == 5  # what was done before the outage is intact
    emulator.admin.set_faults()
    stack.up()
    assert_converged(stack, emulator, 12)
