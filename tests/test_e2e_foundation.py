"""End-to-end: the real CLI creates the manifest's users in the emulator."""

from __future__ import annotations

import pytest
from tests.support.manifests import FIVE_USERS

pytestmark = pytest.mark.e2e


WRITES = ("POST", "PUT", "DELETE")


def test_first_up_creates_exactly_the_manifest_users(project, emulator):
    stack = project(FIVE_USERS)
    stack.up()
    users = {u["username"]: u for u in emulator.users()}
    assert sorted(users) == sorted(
        ["ada@example.com", "grace@example.com", "user_12345", "org_456_user_789", "ken@example.com"]
    )
    assert users["ada@example.com"]["fullName"] == "Ada Lovelace"
    assert users["user_12345"]["fullName"] is None
    assert emulator.write_count() == 5


def test_second_up_changes_nothing_and_calls_nothing(project, emulator):
    stack = project(FIVE_USERS)
    stack.up()
    emulator.reset_log()
    preview = stack.preview()
    result = stack.up()
    assert emulator.request_count() == 0  # no write, and no read either
    # 5 users, the stack and its deletion guard
    assert "7 unchanged" in preview.stdout and "7 unchanged" in result.stdout


def test_user_ids_output_equals_the_emulator_ids(project, emulator):
    stack = project(FIVE_USERS)
    stack.up()
    assert stack.output("userIds") == {u["username"]: u["userId"] for u in emulator.users()}


def test_invalid_manifest_fails_preview_with_file_line_and_no_api_call(project, emulator):
    stack = project(FIVE_USERS.replace("  - username: user_12345\n", "  - fullName: No Username\n"))
    emulator.reset_log()
    result = stack.preview(check=False)
    assert result.returncode != 0
    assert "users.yaml:7:" in result.stdout + result.stderr
    assert "username" in result.stdout + result.stderr
    assert emulator.request_count() == 0


def test_wrong_api_key_names_the_setting_and_hides_the_key(project, emulator):
    wrong_key = "wrong-key-7f3a9c1e5b"
    stack = project(FIVE_USERS, api_key=wrong_key)
    result = stack.up(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "alloy:apiKey" in output
    assert "401" in output
    assert wrong_key not in output
    assert emulator.users() == []
