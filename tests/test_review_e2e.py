"""End-to-end: the plan comment and the guarded apply on real ``pulumi``
previews of a private copy of the project, against the emulator."""

from __future__ import annotations

import pytest

from review.cli import main
from review.preview import run_preview, up

pytestmark = pytest.mark.e2e


def manifest(*entries: str) -> str:
    return "users:\n" + "".join(entries)


def user(name: str, full_name: str | None = None, *extra: str) -> str:
    text = f"  - username: {name}\n"
    if full_name is not None:
        text += f"    fullName: {full_name}\n"
    return text + "".join(f"    {line}\n" for line in extra)


def team(count: int) -> str:
    return manifest(*(user(f"user{i:02d}@example.com", f"User {i:02d}") for i in range(count)))


def review(stack, *args: str, **env: str) -> int:
    return main([*args, "--cwd", str(stack.work)], environ=dict(stack.env, **env))


def test_plan_comment_for_create_update_rename_delete_and_adopt(project, emulator, capsys):
    stack = project(manifest(
        user("ada@example.com", "Ada Lovelace"),
        user("grace@example.com", "Grace Hopper"),
        user("bob@example.com", "Bob"),
    ))
    stack.up()
    seeded = emulator.admin.seed_user("linus@example.com", "L. T.")
    stack.write_manifest(manifest(
        user("ada@example.com", "Augusta Ada King"),
        user("grace.hopper@example.com", "Grace Hopper", "previousUsernames: [grace@example.com]"),
        user("ken@example.com", "Ken Thompson"),
        user("linus@example.com", "Linus Torvalds"),
    ))
    emulator.reset_log()
    assert review(stack, "plan", ALLOY_API_KEY=emulator.api_key) == 0
    comment = capsys.readouterr().out
    rows = [line for line in comment.splitlines() if line.startswith("| `")]
    assert rows == [
        "| `- delete` | `bob@example.com` | destroys the user and its credentials in Alloy |",
        "| `~ rename` | `grace.hopper@example.com` | `grace@example.com` -> `grace.hopper@example.com`, same userId |",
        '| `~ update` | `ada@example.com` | fullName: `"Ada Lovelace"` -> `"Augusta Ada King"` |',
        '| `+ create` | `ken@example.com` | fullName: `"Ken Thompson"` |',
        f"| `+ adopt` | `linus@example.com` | already in Alloy (userId `{seeded}`): taken over, not created; "
        'fullName: `"L. T."` -> `"Linus Torvalds"` |',
    ]
    assert "**Plan: 1 to create, 1 to adopt, 1 to update, 1 to rename, 1 to delete; 0 unchanged.**" in comment
    assert "within the limit of 5" in comment
    # The preview calls nothing; the plan made exactly one read-only call.
    assert [r["route"] for r in emulator.requests()] == ["GET /users"]
    assert emulator.api_key not in comment


def test_guard_stops_a_manifest_cut_in_half_until_acknowledged(project, emulator, capsys):
    stack = project(team(20))
    stack.up()
    stack.write_manifest(team(10))
    emulator.reset_log()

    assert review(stack, "apply") == 3
    assert "deletes 10 of the stack's 20 users, more than the limit of 5" in capsys.readouterr().out
    assert emulator.write_count() == 0 and len(emulator.users()) == 20

    assert review(stack, "apply", ALLOY_ALLOW_DELETES="10") == 0
    assert sorted(u["username"] for u in emulator.users()) == [f"user{i:02d}@example.com" for i in range(10)]
    assert len(stack.resource_names()) == 10


def test_up_refuses_deletions_the_acknowledgement_never_saw(project, emulator):
    stack = project(team(6), config={"alloy:maxDeletes": "0"})
    stack.up()
    stack.write_manifest(team(5))
    preview = run_preview(stack.work, env=stack.env)
    assert preview.exit_status == 0
    # One deletion was reviewed and acknowledged; then the manifest changes before the apply.
    stack.write_manifest(team(1))
    assert up(stack.work, env=dict(stack.env, ALLOY_ALLOW_DELETES="1")) != 0
    # The program's guard refused the deletions the acknowledgement never saw.
    assert len(emulator.users()) == 6

