"""End-to-end: every lifecycle case of AlloyUser through the real CLI."""

from __future__ import annotations

import requests
import pytest

from tests.support.manifests import TWO_USERS

pytestmark = pytest.mark.e2e


def by_username(emulator) -> dict[str, dict]:
    return {user["username"]: user for user in emulator.users()}


def test_fullname_change_is_an_in_place_update(project, emulator):
    stack = project(TWO_USERS)
    stack.up()
    before = by_username(emulator)["ada@example.com"]["userId"]
    stack.write_manifest(TWO_USERS.replace("Ada Lovelace", "Augusta Ada King"))
    emulator.reset_log()
    result = stack.up()
    after = by_username(emulator)["ada@example.com"]
    assert after["userId"] == before
    assert after["fullName"] == "Augusta Ada King"
    assert [(r["method"], r["route"]) for r in emulator.requests()] == [("PUT", "PUT /users/{userId}")]
    assert "1 updated" in result.stdout


def test_rename_via_previous_usernames_keeps_the_user_id(project, emulator):
    stack = project(TWO_USERS)
    stack.up()
    ada_id = by_username(emulator)["ada@example.com"]["userId"]
    stack.write_manifest(
        TWO_USERS.replace(
            "  - username: ada@example.com\n",
            "  - username: ada.king@example.com\n    previousUsernames: [ada@example.com]\n",
        )
    )
    plan = stack.preview()
    assert "replace" not in plan.stdout
    stack.up()
    users = by_username(emulator)
    assert "ada@example.com" not in users
    assert users["ada.king@example.com"]["userId"] == ada_id
    assert len(users) == 2
    assert stack.output("userIds")["ada.king@example.com"] == ada_id
    # The alias stays harmless once the rename is done.
    emulator.reset_log()
    stack.up()
    assert emulator.write_count() == 0


def test_removed_user_is_deleted_in_alloy(project, emulator):
    stack = project(TWO_USERS)
    stack.up()
    stack.write_manifest(TWO_USERS.split("  - username: grace")[0])
    stack.up()
    assert list(by_username(emulator)) == ["ada@example.com"]


def test_retain_on_delete_leaves_the_user_in_alloy(project, emulator):
    stack = project(TWO_USERS.replace("Grace Hopper\n", "Grace Hopper\n    retainOnDelete: true\n"))
    stack.up()
    stack.write_manifest(TWO_USERS.split("  - username: grace")[0])
    stack.up()
    assert sorted(by_username(emulator)) == ["ada@example.com", "grace@example.com"]
    assert "grace@example.com" not in stack.output("userIds")
    assert stack.resource_names() == ["ada@example.com"]


def test_protect_blocks_deletion_with_a_clear_message(project, emulator):
    stack = project(TWO_USERS.replace("Grace Hopper\n", "Grace Hopper\n    protect: true\n"))
    stack.up()
    stack.write_manifest(TWO_USERS.split("  - username: grace")[0])
    result = stack.up(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "protect" in output
    assert "grace@example.com" in output
    assert "grace@example.com" in by_username(emulator)


def test_refresh_after_out_of_band_delete_recreates_on_next_up(project, emulator):
    stack = project(TWO_USERS)
    stack.up()
    grace = by_username(emulator)["grace@example.com"]
    requests.delete(emulator.users_url(grace["userId"]), headers=emulator.headers(), timeout=10).raise_for_status()
    stack.refresh()
    assert stack.resource_names() == ["ada@example.com"]
    stack.up()
    users = by_username(emulator)
    assert sorted(users) == ["ada@example.com", "grace@example.com"]
    assert users["grace@example.com"]["userId"] != grace["userId"]
    assert stack.output("userIds")["grace@example.com"] == users["grace@example.com"]["userId"]


def test_refresh_after_out_of_band_edit_is_corrected_by_next_up(project, emulator):
    stack = project(TWO_USERS)
    stack.up()
    ada = by_username(emulator)["ada@example.com"]
    requests.put(
        emulator.users_url(ada["userId"]), json={"fullName": "Someone Else"},
        headers=emulator.headers(), timeout=10,
    ).raise_for_status()
    stack.refresh()
    plan = stack.preview()
    assert "ada@example.com" in plan.stdout and "update" in plan.stdout
    stack.up()
    assert by_username(emulator)["ada@example.com"]["fullName"] == "Ada Lovelace"
    assert by_username(emulator)["ada@example.com"]["userId"] == ada["userId"]


def test_refresh_lists_users_once_instead_of_one_get_per_user(project, emulator):
    stack = project(TWO_USERS)
    stack.up()
    emulator.reset_log()
    stack.refresh()
    assert [r["route"] for r in emulator.requests()] == ["GET /users"]


def test_existing_user_is_adopted_and_reported(project, emulator):
    existing_id = emulator.admin.seed_user("grace@example.com", "G. Hopper")
    stack = project(TWO_USERS)
    result = stack.up()
    users = by_username(emulator)
    assert len(users) == 2
    assert users["grace@example.com"]["userId"] == existing_id
    assert users["grace@example.com"]["fullName"] == "Grace Hopper"
    assert "adopted existing Alloy user 'grace@example.com'" in result.stdout
    assert stack.output("adoptedUsers") == ["grace@example.com"]


def test_adoption_can_be_turned_off(project, emulator):
    emulator.admin.seed_user("grace@example.com", "G. Hopper")
    stack = project(TWO_USERS, config={"alloy:adoptExisting": "false"})
    result = stack.up(check=False)
    assert result.returncode != 0
    assert "already exists in Alloy" in result.stdout
    assert "alloy:adoptExisting" in result.stdout
    assert by_username(emulator)["grace@example.com"]["fullName"] == "G. Hopper"


def test_create_whose_response_is_dropped_ends_with_exactly_one_user(project, emulator):
    emulator.admin.set_faults(fail_next=[{"fault": "drop_after_commit", "route": "POST /users", "times": 1}])
    stack = project(TWO_USERS)
    result = stack.up()
    users = emulator.users()
    assert sorted(u["username"] for u in users) == ["ada@example.com", "grace@example.com"]
    assert stack.output("userIds") == {u["username"]: u["userId"] for u in users}
    assert "adopted" not in result.stdout  # our own lost create is not an adoption
    assert stack.output("adoptedUsers") == []
