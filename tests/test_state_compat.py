"""State written by a release keeps working with the next one.

``tests/fixtures/state/v1-stack.json`` is ``pulumi stack export`` of a real run
of ``v1-users.yaml`` (3 users, one adopted) against the emulator; regenerate
it with ``.venv/bin/python -m tests.fixtures.state.regenerate`` (see there).
It holds no encrypted value and no secrets provider state, so it imports into
any stack whatever its passphrase.

The state refers to the provider class by module path and class name (dill
pickles ``providers.alloy_user.AlloyUserProvider`` by reference into
``__provider``): moving or renaming it breaks these tests, as it would break
refresh and destroy of every deployed stack.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import dill
import pytest

from providers.alloy_user import AlloyUserProvider
from providers.manifest import load_manifest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "state"
STATE_FILE = FIXTURES / "v1-stack.json"
MANIFEST_FILE = FIXTURES / "v1-users.yaml"
USER_TYPE = "pulumi-python:dynamic/alloy:User"
PROVIDER_TYPE = "pulumi:providers:pulumi-python"
MAX_PROVIDER_BLOB_CHARS = 300
# The value Pulumi puts under this key marks a secret in exported state.
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"


def v1_state() -> dict[str, Any]:
    return json.loads(STATE_FILE.read_text(encoding="utf-8"))


def v1_users(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """username -> the AlloyUser resource of ``state``."""
    resources = state["deployment"]["resources"]
    return {r["outputs"]["username"]: r for r in resources if r["type"] == USER_TYPE}


def pointed_at(state: dict[str, Any], base_url: str) -> dict[str, Any]:
    """``state`` with its provider config's ``alloy:baseUrl`` set to ``base_url``
    (refresh and destroy use the provider config kept in state)."""
    copy = json.loads(json.dumps(state))
    for resource in copy["deployment"]["resources"]:
        if resource["type"] == PROVIDER_TYPE:
            for section in ("inputs", "outputs"):
                resource[section]["alloy:baseUrl"] = base_url
    return copy


# -- the fixture itself (fast) ---------------------------------------------------


def test_fixture_matches_its_manifest():
    manifest = load_manifest(str(MANIFEST_FILE))
    users = v1_users(v1_state())
    assert {user.username: user.full_name for user in manifest.users} == {
        name: resource["outputs"].get("fullName") for name, resource in users.items()
    }
    assert [name for name, r in users.items() if r["outputs"]["adopted"]] == ["grace@example.com"]


def test_fixture_holds_no_secret_and_nothing_of_one_machine():
    text = STATE_FILE.read_text(encoding="utf-8")
    assert SECRET_SIGNATURE not in text and "ciphertext" not in text
    assert "secrets_providers" not in v1_state()["deployment"]
    assert "sourcePosition" not in text and "/work/" not in text and "/home/" not in text


@pytest.mark.parametrize("section", ["inputs", "outputs"])
def test_provider_blob_is_a_small_reference_to_the_provider_class(section):
    for name, resource in v1_users(v1_state()).items():
        blob = resource[section]["__provider"]
        assert isinstance(blob, str), f"{name}: __provider is not a plain (non-secret) string"
        assert len(blob) < MAX_PROVIDER_BLOB_CHARS, name
        pickled = base64.b64decode(blob)
        assert b"providers.alloy_user" in pickled and b"AlloyUserProvider" in pickled
        assert isinstance(dill.loads(pickled), AlloyUserProvider)


def test_provider_of_this_release_pickles_the_same_way():
    fresh = base64.b64encode(dill.dumps(AlloyUserProvider(), protocol=dill.HIGHEST_PROTOCOL)).decode()
    stored = next(iter(v1_users(v1_state()).values()))["inputs"]["__provider"]
    assert dill.loads(base64.b64decode(fresh)).__class__ is dill.loads(base64.b64decode(stored)).__class__
    assert len(fresh) < MAX_PROVIDER_BLOB_CHARS


# -- imported into a fresh stack, with the current code ------------------------


@pytest.mark.e2e
def test_v1_state_refreshes_updates_and_destroys(project, emulator, tmp_path):
    state = v1_state()
    users = v1_users(state)
    ids = {name: resource["id"] for name, resource in users.items()}
    for name, resource in users.items():
        emulator.admin.seed_user(name, resource["outputs"].get("fullName"), user_id=resource["id"])
    exported = tmp_path / "v1-stack.json"
    exported.write_text(json.dumps(pointed_at(state, emulator.url)), encoding="utf-8")
    manifest = MANIFEST_FILE.read_text(encoding="utf-8")
    stack = project(manifest, api_key=None)
    stack.env["ALLOY_API_KEY"] = emulator.api_key

    stack.run("stack", "import", "--file", str(exported))
    assert sorted(stack.resource_names()) == sorted(users)

    emulator.reset_log()
    stack.refresh()
    refreshed = {r["outputs"]["username"]: r for r in stack.resources()}
    for name, resource in users.items():
        # `adopted: false` is no longer written (absent means false); `adopted: true` stays.
        old = {k: v for k, v in resource["outputs"].items() if k != "__provider" and (k, v) != ("adopted", False)}
        assert {k: v for k, v in refreshed[name]["outputs"].items() if k != "__provider"} == old
    # The only change a new release proposes is the stack's deletion guard (no API call).
    preview = stack.preview()
    assert "+ 1 to create" in preview.stdout and "deletion-guard" in preview.stdout
    assert "to update" not in preview.stdout and "to delete" not in preview.stdout
    assert emulator.write_count() == 0

    stack.write_manifest(manifest.replace("Ada Lovelace", "Ada King"))
    stack.up()
    assert [entry["route"] for entry in emulator.requests() if entry["method"] != "GET"] == ["PUT /users/{userId}"]
    stored = {user["username"]: user for user in emulator.users()}
    assert (stored["ada@example.com"]["userId"], stored["ada@example.com"]["fullName"]) == (
        ids["ada@example.com"], "Ada King")
    assert stack.output("userIds") == ids
    assert stack.output("adoptedUsers") == ["grace@example.com"]

    emulator.reset_log()
    stack.destroy()
    # The adopted user is forgotten, not deleted (a stack never destroys what it did not create).
    assert [user["username"] for user in emulator.users()] == ["grace@example.com"]
    assert sorted(entry["path"] for entry in emulator.requests() if entry["method"] == "DELETE") == sorted(
        f"/users/{user_id}" for name, user_id in ids.items() if name != "grace@example.com")
    assert stack.resources() == []
