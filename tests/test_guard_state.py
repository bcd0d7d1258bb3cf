"""The guard's view of a stack: which removals destroy users in Alloy, and
which state each manifest entry continues (fast, no CLI)."""

from __future__ import annotations

import pytest

from providers.guard.state import USER_TYPE, StackUser, destroyed_by_removal, stack_users, urn_name
from providers.manifest import parse_manifest
from providers.stack.program import match_prior_users

URN = "urn:pulumi:prod::alloy::pulumi-python:dynamic/alloy:User::"


@pytest.mark.parametrize(
    ("user", "setting", "destroys"),
    [
        pytest.param(StackUser("a", "a", "1"), False, True, id="created-here"),
        pytest.param(StackUser("a", "a", "1", retain_on_delete=True), False, False, id="retained"),
        pytest.param(StackUser("a", "a", "1", adopted=True), False, False, id="adopted-forgotten"),
        pytest.param(StackUser("a", "a", "1", adopted=True, delete_adopted=True), False, True, id="adopted-entry-says-delete"),
        pytest.param(StackUser("a", "a", "1", adopted=True), True, True, id="adopted-stack-says-delete"),
        pytest.param(StackUser("a", "a", "1", adopted=True, retain_on_delete=True), True, False, id="retained-wins"),
    ],
)
def test_which_removals_destroy(user, setting, destroys):
    assert user.removal_destroys(setting) is destroys
    assert destroyed_by_removal([user], [], setting) == ([user] if destroys else [])


def test_stack_users_reads_only_alloy_users_from_the_engines_map():
    outputs = {
        URN + "b::x": {"type": USER_TYPE, "outputs": {"username": "b::x", "userId": "2", "adopted": True}},
        URN + "a": {"type": USER_TYPE, "outputs": {"username": "a", "userId": "1", "retainOnDelete": True}},
        "urn:pulumi:prod::alloy::pulumi:pulumi:Stack::alloy-prod": {"type": "pulumi:pulumi:Stack", "outputs": {}},
    }
    users = stack_users(outputs)
    assert [(u.name, u.user_id, u.adopted, u.retain_on_delete) for u in users] == [
        ("a", "1", False, True), ("b::x", "2", True, False)]
    assert urn_name(URN + "b::x") == "b::x"


@pytest.mark.parametrize(
    ("manifest", "prior", "aliases"),
    [
        pytest.param("users:\n  - username: CIA@x.test\n", ["cia@x.test"], ("cia@x.test",), id="case-change"),
        pytest.param("users:\n  - username: cafe\u0301@x.test\n", ["caf\u00e9@x.test"], ("caf\u00e9@x.test",),
                     id="unicode-form-change"),
        pytest.param("users:\n  - username: ada.king@x.test\n    previousUsernames: [ADA@x.test]\n",
                     ["ada@x.test"], ("ADA@x.test", "ada@x.test"), id="rename-from-a-case-variant"),
        pytest.param("users:\n  - username: ada@x.test\n", ["ada@x.test"], (), id="unchanged"),
        pytest.param("users:\n  - username: ada@x.test\n", ["grace@x.test"], (), id="unrelated"),
    ],
)
def test_each_entry_takes_over_the_state_of_its_case_variants(manifest, prior, aliases):
    users = [StackUser(name, name, str(index)) for index, name in enumerate(prior)]
    declared = match_prior_users(parse_manifest(manifest), users)
    assert declared[0].aliases == aliases
