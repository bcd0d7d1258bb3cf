"""What the state holds per user: small, and pointing at the manifest line."""

from __future__ import annotations

import json

import pytest

from tests.support.manifests import numbered_users

pytestmark = pytest.mark.e2e

USERS = 40
MAX_STATE_BYTES_PER_USER = 1500


def test_state_is_small_and_records_the_manifest_line(project):
    stack = project(numbered_users(USERS))
    stack.up()
    checkpoint = next(stack.state.rglob("stacks/alloy/test.json"))
    assert checkpoint.stat().st_size / USERS < MAX_STATE_BYTES_PER_USER
    resources = {r["urn"].split("::")[-1]: r for r in stack.resources()}
    # user N is declared on line 2 + 2N of the manifest
    assert resources["user0000@example.com"]["sourcePosition"] == "project:///users.yaml#2"
    assert resources["user0007@example.com"]["sourcePosition"] == "project:///users.yaml#16"
    assert len(json.dumps(resources["user0007@example.com"]["stackTrace"])) < 100
