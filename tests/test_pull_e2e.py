"""End-to-end onboarding of an existing account with the real CLI: ``pull``
writes the manifest of every user, ``check`` and ``fmt --check`` accept it,
``pulumi up`` takes every user over without creating any, and a second
``pull`` changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.manifests import numbered_usernames
from tests.support.cli import manifest_cli

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
USERS = 120
PAGE_SIZE = 50
USER_TYPE = "alloy:User"




def is_user(step: dict) -> bool:
    return step["urn"].split("::")[-2].endswith(USER_TYPE)


def test_pull_then_up_adopts_every_user_and_creates_none(project, emulator):
    names = numbered_usernames(USERS)
    for index, name in enumerate(names):
        emulator.admin.seed_user(name, f"User {index}")
    emulator.admin.seed_user(None, "Listed without a username")  # as in Alloy's list example
    emulator.admin.set_faults(page_size=PAGE_SIZE)
    before = {user["userId"]: user["username"] for user in emulator.users()}

    stack = project("users: []\nallowEmpty: true\n")  # the stack's key is a secret of its config
    stack.manifest_path.unlink()
    emulator.reset_log()
    pulled = manifest_cli("pull", "--stack", stack.stack, "--cwd", str(stack.work), env=stack.env)
    assert pulled.returncode == 0, pulled.stderr
    assert f"{USERS + 1} users in Alloy: {USERS} added, 0 already declared, 1 skipped" in pulled.stdout
    assert "it has no username" in pulled.stderr
    pages = -(-(USERS + 1) // PAGE_SIZE)
    assert [(r["method"], r["route"]) for r in emulator.requests()] == [("GET", "GET /users")] * pages

    path = str(stack.manifest_path)
    assert manifest_cli("check", path).returncode == 0
    assert manifest_cli("fmt", "--check", path).returncode == 0

    emulator.reset_log()
    user_steps = [step for step in stack.preview_json()["steps"] if is_user(step)]
    assert len(user_steps) == USERS and {step["op"] for step in user_steps} == {"create"}
    assert emulator.request_count() == 0
    stack.up()
    log = emulator.requests()
    # One listing of the account finds every user: nothing is posted, nothing changed.
    assert {r["method"] for r in log} == {"GET"}, "adoption posted or changed a user"
    assert sum(1 for r in log if r["route"] == "GET /users") == pages
    assert {user["userId"]: user["username"] for user in emulator.users()} == before
    assert sorted(stack.output("adoptedUsers")) == names
    assert stack.output("userIds") == {name: uid for uid, name in before.items() if name is not None}

    content = stack.manifest_path.read_bytes()
    again = manifest_cli("pull", "--stack", stack.stack, "--cwd", str(stack.work), env=stack.env)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout
    assert stack.manifest_path.read_bytes() == content
    emulator.reset_log()
    user_steps = [step for step in stack.preview_json("--show-sames")["steps"] if is_user(step)]
    assert len(user_steps) == USERS and {step["op"] for step in user_steps} == {"same"}
    assert emulator.request_count() == 0
