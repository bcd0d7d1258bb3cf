"""Reading ``pulumi preview --json`` documents (captured from the real CLI,
see tests/fixtures/preview/capture.py) into plans of user changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from review.plan import Action, PreviewFormatError, parse_preview

FIXTURES = Path(__file__).parent / "fixtures" / "preview"
USER = "pulumi-python:dynamic/alloy:User"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def rows(name: str) -> dict[str, tuple[str, ...]]:
    plan = parse_preview(fixture(name))
    return {change.username: (change.action.value, change.old_username, change.old_full_name, change.full_name)
            for change in plan.changes}


def user_step(op: str, name: str, **states: Any) -> dict[str, Any]:
    urn = f"urn:pulumi:prod::alloy::{USER}::{name}"
    return {"op": op, "urn": urn, **states}


def test_every_kind_of_change_is_read_from_a_real_preview():
    assert rows("changes") == {
        "bob@example.com": ("delete", None, "Bob", None),
        "kept@example.com": ("forget", None, "Kept", None),
        "grace.hopper@example.com": ("rename", "grace@example.com", "Grace Hopper", "Grace Hopper"),
        "ken.t@example.com": ("rename", "ken@example.com", "Ken Thompson", "Kenneth Thompson"),
        "ada@example.com": ("update", None, "Ada Lovelace", "Augusta Ada King"),
        "new@example.com": ("create", None, None, "New Person"),
    }


def test_changes_are_ordered_for_review_deletions_first():
    plan = parse_preview(fixture("changes"))
    assert [c.action for c in plan.changes] == [
        Action.DELETE, Action.FORGET, Action.RENAME, Action.RENAME, Action.UPDATE, Action.CREATE,
    ]


def test_full_name_change_follows_the_provider_rule():
    changes = {c.username: c for c in parse_preview(fixture("changes")).changes}
    assert not changes["grace.hopper@example.com"].full_name_changed
    assert changes["ken.t@example.com"].full_name_changed
    assert changes["ada@example.com"].full_name_changed
    # unmanaged@example.com dropped its fullName: the provider leaves it alone, so no row.
    assert "unmanaged@example.com" not in changes


def test_counts_and_stack_come_from_the_document():
    plan = parse_preview(fixture("changes"))
    assert (plan.stack, plan.existing_users, plan.unchanged, len(plan.deletions)) == ("test", 7, 2, 1)
    assert plan.config["alloy:apiKey"] == "[secret]"
    assert plan.config["alloy:maxDeletes"] == "-1"
    assert not plan.failed


@pytest.mark.parametrize(
    ("name", "existing", "unchanged", "deletions"),
    [
        pytest.param("create", 0, 0, 0, id="fresh-stack"),
        pytest.param("nochange", 3, 3, 0, id="sames-not-listed"),
        pytest.param("truncated", 20, 10, 10, id="truncated-to-half"),
    ],
)
def test_stack_size_is_counted_with_or_without_show_sames(name, existing, unchanged, deletions):
    plan = parse_preview(fixture(name))
    assert (plan.existing_users, plan.unchanged, len(plan.deletions)) == (existing, unchanged, deletions)


def test_unusual_usernames_survive_parsing():
    names = [c.username for c in parse_preview(fixture("create")).changes]
    assert names == ["ada@example.com", "pipe|`tick`<b>@example.com", "user_12345"]


def test_protected_deletion_fails_the_preview_and_is_marked():
    plan = parse_preview(fixture("protected"), exit_status=1)
    assert plan.failed
    assert "cannot be deleted" in plan.errors[0] and "protected" in plan.errors[0]
    assert [(c.username, c.action, c.protected) for c in plan.changes] == [
        ("linus@example.com", Action.DELETE, True)
    ]


def test_invalid_manifest_fails_with_the_programs_message():
    plan = parse_preview(fixture("invalid"), exit_status=1)
    assert plan.errors == ("users.yaml is not valid:\nusers.yaml:2:15: users[0].username: must not be empty",)
    assert plan.changes == ()


def test_non_zero_exit_without_diagnostics_is_still_a_failure():
    plan = parse_preview({"steps": []}, exit_status=255, stderr="error: no stack selected\n")
    assert plan.errors == ("pulumi preview exited with status 255: error: no stack selected",)


def test_a_replacement_is_one_row_that_counts_as_a_deletion():
    old = {"urn": "", "type": USER, "outputs": {"username": "ada", "userId": "u1"}}
    new = {"type": USER, "inputs": {"username": "ada"}}
    steps = [user_step(op, "ada", oldState=old, newState=new)
             for op in ("create-replacement", "replace", "delete-replaced")]
    plan = parse_preview({"steps": steps})
    assert [(c.action, c.username, c.user_id) for c in plan.changes] == [(Action.REPLACE, "ada", "u1")]
    assert len(plan.deletions) == 1 and plan.existing_users == 1


def test_other_resource_types_are_ignored():
    stack = {"op": "update", "urn": "urn:pulumi:prod::alloy::pulumi:pulumi:Stack::alloy-prod",
             "newState": {"type": "pulumi:pulumi:Stack"}, "oldState": {"type": "pulumi:pulumi:Stack"}}
    assert parse_preview({"steps": [stack]}).changes == ()


@pytest.mark.parametrize(
    "document",
    [
        pytest.param([], id="a-list"),
        pytest.param({"steps": "none"}, id="steps-not-a-list"),
        pytest.param("text", id="a-string"),
    ],
)
def test_a_document_that_is_no_preview_is_refused(document):
    with pytest.raises(PreviewFormatError):
        parse_preview(document)
