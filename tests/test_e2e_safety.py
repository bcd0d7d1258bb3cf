"""End-to-end safety through the real CLI: the deletion guard in bare
``pulumi up``, ``preview`` and ``destroy``; adopted users forgotten, not
deleted; case-only changes and verified renames."""

from __future__ import annotations

import pytest

from tests.support.manifests import TWO_USERS, numbered_users

pytestmark = pytest.mark.e2e

SEVEN = numbered_users(7)
TWO_OF_SEVEN = numbered_users(2)


def by_username(emulator) -> dict[str, dict]:
    return {user["username"]: user for user in emulator.users()}


# -- the deletion guard -----------------------------------------------------------


@pytest.mark.parametrize("typed", [("up", "--yes"), ("up", "--yes", "--skip-preview")],
                         ids=["up-yes-as-typed", "up-skip-preview"])
def test_bare_up_over_the_limit_makes_no_call_and_leaves_state_alone(project, emulator, typed):
    stack = project(SEVEN, config={"alloy:maxDeletes": "0"})
    stack.up()
    before = stack.resources("")
    stack.write_manifest(TWO_OF_SEVEN)
    emulator.reset_log()
    result = stack.run(*typed, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "deletion guard: blocked, nothing changed" in output
    assert "the plan deletes 5 of the stack's 7 users" in output
    assert "ALLOY_ALLOW_DELETES=5" in output
    assert "Traceback" not in output
    assert emulator.request_count() == 0
    # Every resource but the default provider, whose encrypted key is re-encrypted.
    after = stack.resources("")
    assert [r for r in after if "providers" not in r["type"]] == [r for r in before if "providers" not in r["type"]]
    assert len(emulator.users()) == 7


@pytest.mark.parametrize(
    ("ack", "allowed"),
    [
        pytest.param("5", True, id="exact-count"),
        pytest.param("4", False, id="fewer"),
        pytest.param("6", False, id="more"),
    ],
)
def test_allow_deletes_lets_exactly_that_count_through(project, emulator, ack, allowed):
    stack = project(SEVEN, config={"alloy:maxDeletes": "0"})
    stack.up()
    stack.write_manifest(TWO_OF_SEVEN)
    emulator.reset_log()
    result = stack.up(check=False, env={"ALLOY_ALLOW_DELETES": ack})
    assert (result.returncode == 0) is allowed
    deletes = [r for r in emulator.requests() if r["method"] == "DELETE"]
    assert len(deletes) == (5 if allowed else 0)
    if not allowed:
        assert f"acknowledges {ack}, not 5" in result.stdout + result.stderr


def test_preview_over_the_limit_warns_and_still_shows_the_plan(project, emulator):
    stack = project(SEVEN, config={"alloy:maxDeletes": "0"})
    stack.up()
    stack.write_manifest(TWO_OF_SEVEN)
    result = stack.preview()
    assert "`pulumi up` would be blocked" in result.stdout + result.stderr
    assert "5 to delete" in result.stdout


def test_automatic_limit_allows_a_few_deletions(project, emulator):
    stack = project(SEVEN)
    stack.up()
    stack.write_manifest(numbered_users(4))
    stack.up()
    assert len(emulator.users()) == 4


def test_destroy_over_the_limit_is_refused_before_any_delete(project, emulator):
    stack = project(SEVEN, config={"alloy:maxDeletes": "3"})
    stack.up()
    emulator.reset_log()
    result = stack.destroy(check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "deletion guard: blocked, nothing deleted" in output
    assert "ALLOY_ALLOW_DELETES=7" in output
    assert emulator.request_count() == 0
    assert len(emulator.users()) == 7
    result = stack.destroy(env={"ALLOY_ALLOW_DELETES": "7"})
    assert emulator.users() == []


def test_removing_retained_users_is_not_a_deletion(project, emulator):
    retained = SEVEN.replace("    fullName: User 2\n", "    fullName: User 2\n    retainOnDelete: true\n")
    for index in range(3, 7):
        retained = retained.replace(f"    fullName: User {index}\n", f"    fullName: User {index}\n    retainOnDelete: true\n")
    stack = project(retained, config={"alloy:maxDeletes": "0"})
    stack.up()
    stack.write_manifest(TWO_OF_SEVEN)
    stack.up()
    assert len(emulator.users()) == 7
    assert len(stack.resources()) == 2


# -- adopted users ----------------------------------------------------------------


def test_a_removed_adopted_user_stays_in_alloy(project, emulator):
    emulator.admin.seed_user("grace@example.com", "Grace Hopper")
    stack = project(TWO_USERS)
    stack.up()
    assert stack.output("adoptedUsers") == ["grace@example.com"]
    stack.write_manifest(TWO_USERS.split("  - username: grace")[0])
    emulator.reset_log()
    result = stack.up()
    assert "forgot adopted user 'grace@example.com'" in result.stdout
    assert emulator.write_count() == 0
    assert "grace@example.com" in by_username(emulator)


def test_delete_adopted_entry_deletes_it(project, emulator):
    emulator.admin.seed_user("grace@example.com", "Grace Hopper")
    stack = project(TWO_USERS.replace("    fullName: Grace Hopper\n", "    fullName: Grace Hopper\n    deleteAdopted: true\n"))
    stack.up()
    stack.write_manifest(TWO_USERS.split("  - username: grace")[0])
    stack.up()
    assert "grace@example.com" not in by_username(emulator)


def test_a_second_stacks_destroy_leaves_the_first_stacks_user_alone(project, emulator):
    prod = project(TWO_USERS)
    prod.up()
    ada_id = prod.output("userIds")["ada@example.com"]
    edge = project(TWO_USERS.split("  - username: grace")[0])
    edge.up()
    assert edge.output("adoptedUsers") == ["ada@example.com"]
    edge.destroy()
    assert by_username(emulator)["ada@example.com"]["userId"] == ada_id
    emulator.reset_log()
    prod.refresh()
    assert prod.output("userIds")["ada@example.com"] == ada_id


# -- renames ----------------------------------------------------------------------


def test_a_case_only_change_is_one_put_with_the_same_user_id(project, emulator):
    stack = project("users:\n  - username: cia@x.test\n    fullName: C I A\n")
    stack.up()
    before = by_username(emulator)["cia@x.test"]["userId"]
    stack.write_manifest("users:\n  - username: CIA@x.test\n    fullName: C I A\n")
    emulator.reset_log()
    stack.up()
    assert [(r["method"], r["route"]) for r in emulator.requests()] == [("PUT", "PUT /users/{userId}")]
    assert by_username(emulator)["CIA@x.test"]["userId"] == before
    assert stack.output("userIds") == {"CIA@x.test": before}


def test_a_case_only_change_against_case_insensitive_usernames(project, emulator):
    emulator.admin.update_faults(case_insensitive_usernames=True)
    stack = project("users:\n  - username: cia@x.test\n")
    stack.up()
    before = by_username(emulator)["cia@x.test"]["userId"]
    stack.write_manifest("users:\n  - username: CIA@x.test\n")
    stack.up()
    users = emulator.users()
    assert [(u["username"], u["userId"]) for u in users] == [("CIA@x.test", before)]


@pytest.mark.parametrize("mode", [pytest.param("ignore", id="answers-200-unchanged"), pytest.param("reject", id="answers-400")])
def test_a_rename_alloy_does_not_make_fails_and_keeps_the_old_username(project, emulator, mode):
    stack = project(TWO_USERS)
    stack.up()
    emulator.admin.update_faults(immutable_usernames=mode)
    renamed = TWO_USERS.replace(
        "  - username: ada@example.com\n", "  - username: ada.king@example.com\n    previousUsernames: [ada@example.com]\n"
    )
    stack.write_manifest(renamed)
    for _attempt in range(2):
        result = stack.up(check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert "Alloy did not rename user 'ada@example.com'" in output
        assert "the state keeps 'ada@example.com'" in output
        assert "Traceback" not in output
        usernames = {r["outputs"]["username"] for r in stack.resources()}
        assert usernames == {"ada@example.com", "grace@example.com"}
    assert sorted(by_username(emulator)) == ["ada@example.com", "grace@example.com"]


def test_state_records_the_removal_flags(project, emulator):
    stack = project(TWO_USERS.replace("    fullName: Grace Hopper\n", "    fullName: Grace Hopper\n    retainOnDelete: true\n"))
    stack.up()
    outputs = {r["outputs"]["username"]: r["outputs"] for r in stack.resources()}
    assert outputs["grace@example.com"].get("retainOnDelete") is True
    assert "retainOnDelete" not in outputs["ada@example.com"]
    guard = stack.resources("alloy:DeletionGuard")
    assert [r["outputs"]["stackUsers"] for r in guard] == [2]
    counts = {key: value for key, value in guard[0]["outputs"].items() if key != "__provider"}
    assert counts == {"approvedDeletes": 0, "destroyableUsers": 1, "stackUsers": 2}


# -- look-alike usernames through the real CLI --------------------------------------

LOOK_ALIKES = [
    pytest.param('  - username: "ada\\u200b@example.com"\n', "users.yaml:3:15: users[0].username: contains U+200B",
                 id="zero-width-space"),
    pytest.param('  - username: "\\u202eada@example.com"\n', "users.yaml:3:15: users[0].username: contains U+202E",
                 id="bidi-override"),
    pytest.param('  - username: ada@example.com\n  - username: "\\uff41da@example.com"\n',
                 "users.yaml:4:15: users[1].username:", id="fullwidth-duplicate"),
    pytest.param('  - username: "caf\\u00e9@example.com"\n  - username: "cafe\\u0301@example.com"\n',
                 "users.yaml:4:15: users[1].username:", id="decomposed-duplicate"),
]


@pytest.mark.parametrize(("entries", "message"), LOOK_ALIKES)
def test_a_look_alike_manifest_is_refused_before_any_call(project, emulator, entries, message):
    stack = project("version: 1\nusers:\n" + entries)
    emulator.reset_log()
    result = stack.run("up", "--yes", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output
    assert "Traceback" not in output
    assert emulator.request_count() == 0
    assert emulator.users() == []
