"""The Markdown plan comment: rows, totals, guard, notes, escaping, size.

Escaping is checked by rendering with markdown-it-py (CommonMark with GFM
tables, as GitHub renders comments): every cell must come out as the literal
text, with no HTML, link or extra cell.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from review.adoption import CHECKED, FAILED, NO_KEY, NOT_NEEDED, AdoptionCheck
from review.guard import delete_limit, evaluate
from review.markdown import code, visible
from review.plan import Action, ExistingUser, Plan, UserChange, parse_preview
from review.render import Review, marker, render_markdown, render_verdict

FIXTURES = Path(__file__).parent / "fixtures" / "preview"
GITHUB_LIKE = MarkdownIt("commonmark", {"html": True}).enable("table")


def review_of(name: str, check: AdoptionCheck = AdoptionCheck(NOT_NEEDED)) -> Review:
    plan = parse_preview(json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8")))
    verdict = None if plan.failed else evaluate(len(plan.deletions), delete_limit(plan.existing_users))
    return Review(plan, verdict, check)


def cells(markdown: str) -> list[list[str]]:
    """The body cells of every table, as the text a reader sees."""
    rendered = GITHUB_LIKE.render(markdown)
    rows = re.findall(r"<tr>\n(.*?)</tr>", rendered.split("<tbody>", 1)[-1], re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td>(.*?)</td>", row)]
            for row in rows]


def table_of(plan: Plan, check: AdoptionCheck = AdoptionCheck(NOT_NEEDED)) -> list[list[str]]:
    return cells(render_markdown(Review(plan, evaluate(0, delete_limit(0)), check)))


def test_rows_of_a_real_preview():
    assert cells(render_markdown(review_of("changes"))) == [
        ["- delete", "bob@example.com", "destroys the user and its credentials in Alloy"],
        ["- forget", "kept@example.com", "kept in Alloy (retainOnDelete): only dropped from the stack"],
        ["~ rename", "grace.hopper@example.com", "grace@example.com -> grace.hopper@example.com, same userId"],
        ["~ rename", "ken.t@example.com",
         'ken@example.com -> ken.t@example.com, same userId; fullName: "Ken Thompson" -> "Kenneth Thompson"'],
        ["~ update", "ada@example.com", 'fullName: "Ada Lovelace" -> "Augusta Ada King"'],
        ["+ create", "new@example.com", 'fullName: "New Person"'],
    ]


def test_header_totals_and_guard():
    text = render_markdown(review_of("changes"))
    lines = text.splitlines()
    assert lines[0] == marker("test") == "<!-- alloy-users-plan stack=test -->"
    assert lines[1] == "### Alloy users plan for stack `test`"
    assert ("**Plan: 1 to create, 1 to update, 2 to rename, 1 to delete, 1 to forget (kept in Alloy); "
            "2 unchanged.**") in lines
    assert "**Deletion guard: passed.** The plan deletes 1 of the stack's 7 users, within the limit of 5" in text
    assert "list its old username under `previousUsernames`" in text


def test_a_blocked_guard_is_a_caution_with_the_acknowledgement_line():
    text = render_markdown(review_of("truncated"))
    assert "> [!CAUTION]\n> **Deletion guard: blocked.** The plan deletes 10 of the stack's 20 users" in text
    assert "`Alloy-Allow-Deletes: 10`" in text


def test_a_failed_preview_shows_its_error_and_no_verdict():
    text = render_markdown(review_of("protected"))
    assert "**No plan: the preview failed (it got as far as: 1 to delete).**" in text
    assert "```text\nPreview failed: resource" in text
    assert "not evaluated, the preview failed" in text
    assert cells(text) == [["- delete", "linus@example.com",
                            "protected: refused (the user stays) until protect: true is removed"]]


def test_no_changes():
    text = render_markdown(review_of("nochange"))
    assert "**No changes; 3 unchanged.**" in text and "<table" not in GITHUB_LIKE.render(text)


@pytest.mark.parametrize(
    ("check", "existing", "expected"),
    [
        pytest.param(AdoptionCheck(CHECKED, True), ExistingUser("u-9", "G. H."),
                     ["+ adopt", "grace@example.com",
                      'already in Alloy (userId u-9): taken over, not created; fullName: "G. H." -> "Grace"'],
                     id="adopted"),
        pytest.param(AdoptionCheck(CHECKED, False), ExistingUser("u-9", "G. H."),
                     ["+ create", "grace@example.com",
                      "already exists in Alloy (userId u-9) and alloy:adoptExisting is false: the apply will fail"],
                     id="adoption-turned-off"),
        pytest.param(AdoptionCheck(CHECKED, True), None,
                     ["+ create", "grace@example.com", 'fullName: "Grace"'], id="new-user"),
    ],
)
def test_adoption_rows(check, existing, expected):
    plan = Plan((UserChange(Action.CREATE, "grace@example.com", "create", full_name="Grace", existing=existing),), 0, 0)
    assert table_of(plan, check) == [expected]


@pytest.mark.parametrize(
    ("check", "note"),
    [
        pytest.param(AdoptionCheck(NO_KEY, True), "will be adopted when applied", id="no-key"),
        pytest.param(AdoptionCheck(NO_KEY, False), "will be refused (alloy:adoptExisting is false)", id="no-key-no-adopt"),
        pytest.param(AdoptionCheck(FAILED, True, "Alloy API 401 Unauthorized for GET /users"),
                     "Adoption was not predicted: `Alloy API 401 Unauthorized for GET /users`", id="failed"),
    ],
)
def test_adoption_notes(check, note):
    plan = Plan((UserChange(Action.CREATE, "grace@example.com", "create"),), 0, 0)
    assert note in render_markdown(Review(plan, evaluate(0, delete_limit(0)), check))


HOSTILE = [
    pytest.param("a|b", id="pipe"),
    pytest.param("a`b``c", id="backticks"),
    pytest.param("`leading and trailing`", id="edge-backticks"),
    pytest.param("<img src=x onerror=alert(1)>", id="html"),
    pytest.param("</td></tr><tr><td>x", id="table-html"),
    pytest.param("**bold** _it_ [link](https://example.com) ![i](x)", id="markdown"),
    pytest.param("@octocat #1 https://example.com", id="mentions-and-autolinks"),
    pytest.param("a\\|b \\` \\\\", id="backslashes"),
    pytest.param("  spaced  ", id="surrounding-spaces"),
    pytest.param("line\nbreak\ttab", id="control-characters"),
    pytest.param("admin\u202egnp.exe", id="bidi-override"),
    pytest.param("&amp; &lt;b&gt;", id="entities"),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_usernames_and_full_names_render_literally(text):
    plan = Plan((UserChange(Action.UPDATE, text, "update", old_full_name=text, full_name=text + "!",
                            full_name_changed=True),), 1, 0)
    rendered = render_markdown(Review(plan, evaluate(0, delete_limit(1)), AdoptionCheck(NOT_NEEDED)))
    [[action, user, details]] = cells(rendered)
    assert (action, user) == ("~ update", visible(text))
    old, new = (visible(json.dumps(value, ensure_ascii=False)) for value in (text, text + "!"))
    assert details == f"fullName: {old} -> {new}"
    rows = GITHUB_LIKE.render(rendered).split("<tbody>", 1)[1]
    assert re.findall(r"<(\w+)", rows) == ["tr", "td", "code", "td", "code", "td", "code", "code"]


def test_code_spans_keep_control_and_bidi_characters_visible():
    assert code("a\nb\u202e") == "`a\\u000ab\\u202e`"


def test_long_plans_collapse_into_details():
    many = Plan(tuple(UserChange(Action.CREATE, f"user{i:02d}", "create") for i in range(11)), 0, 0)
    few = Plan(many.changes[:10], 0, 0)
    assert "<details><summary>Show all 11 changed users</summary>" in render_markdown(
        Review(many, evaluate(0, delete_limit(0)), AdoptionCheck(NOT_NEEDED)))
    assert "<details>" not in render_markdown(Review(few, evaluate(0, delete_limit(0)), AdoptionCheck(NOT_NEEDED)))
    assert len(table_of(many)) == 11


def test_a_plan_too_long_for_one_comment_keeps_deletions_and_says_what_is_left_out():
    creates = [UserChange(Action.CREATE, f"new-user-{i:05d}@example.com", "create", full_name=f"User {i}")
               for i in range(3000)]
    deletes = [UserChange(Action.DELETE, f"old-user-{i:02d}@example.com", "delete") for i in range(20)]
    plan = Plan(tuple(deletes + creates), 20, 0)
    review = Review(plan, evaluate(20, delete_limit(20)), AdoptionCheck(NOT_NEEDED))
    comment = render_markdown(review, max_chars=60_000)
    assert len(comment) <= 60_000
    shown = cells(comment)
    assert [row[1] for row in shown[:20]] == [d.username for d in deletes]
    left_out = 3020 - len(shown)
    assert left_out > 0 and f"_{left_out} more rows (creates first, deletions last) are left out" in comment
    assert "**Plan: 3000 to create, 20 to delete; 0 unchanged.**" in comment
    assert len(cells(render_markdown(review, max_chars=1_000_000))) == 3020


def test_terminal_verdict_lists_the_deletions():
    text = render_verdict(review_of("truncated"))
    assert text.splitlines()[0].startswith("deletion guard: BLOCKED: the plan deletes 10 of the stack's 20 users")
    assert "  - delete user10@example.com" in text.splitlines()


def test_terminal_verdict_of_a_failed_preview():
    text = render_verdict(review_of("invalid"))
    assert text == ("deletion guard: the preview failed, so nothing can be applied:\n"
                    "  users.yaml is not valid:\n  users.yaml:2:15: users[0].username: must not be empty")


def test_marker_is_per_stack():
    assert marker("prod") != marker("staging")
    assert render_markdown(replace(review_of("nochange"))).startswith(marker("test") + "\n")


USER_TYPE = "pulumi-python:dynamic/alloy:User"


def removal(name: str, **outputs: object) -> dict[str, object]:
    """The preview step of a user removed from the manifest."""
    urn = f"urn:pulumi:prod::alloy::{USER_TYPE}::{name}"
    old = {"urn": urn, "type": USER_TYPE, "id": f"id-{name}",
           "outputs": {"username": name, "userId": f"id-{name}", **outputs}}
    return {"op": "delete", "urn": urn, "oldState": old}


@pytest.mark.parametrize(("outputs", "delete_adopted", "label", "deletions"), [
    ({"adopted": True}, False, "forget (adopted)", 0),
    ({"adopted": True, "deleteAdopted": True}, False, "delete", 1),
    ({"adopted": True}, True, "delete", 1),
    ({}, False, "delete", 1),
], ids=["adopted-is-forgotten", "entry-says-delete-adopted", "stack-says-delete-adopted", "ours-is-deleted"])
def test_a_removed_adopted_user_is_shown_as_forgotten_and_not_counted(outputs, delete_adopted, label, deletions):
    config = {"alloy:deleteAdopted": "true"} if delete_adopted else {}
    plan = parse_preview({"steps": [removal("ada@example.com", **outputs)], "config": config})
    assert len(plan.deletions) == deletions
    (row,) = table_of(plan)
    assert row[0] == f"- {label}"
    assert row[1] == "ada@example.com"
