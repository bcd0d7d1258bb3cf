"""Render a review: the Markdown plan comment, and the guard's terminal line.

The comment's first line is a marker naming the stack (``<!-- alloy-users-plan
stack=prod -->``), by which the pull-request workflow finds and updates its
own comment instead of adding one per push. Every username and full name is
shown through ``review.markdown.code``.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Optional

from review import adoption
from review.adoption import AdoptionCheck
from review.defaults import COLLAPSE_ABOVE_ROWS, COMMENT_MARKER, MAX_COMMENT_CHARS, MAX_DIAGNOSTIC_CHARS
from review.guard import Verdict, review_ways
from review.markdown import code, fenced, table
from review.plan import Action, Plan, UserChange

COMMIT_CHARS = 12
SIGNS = {
    Action.DELETE: "-", Action.REPLACE: "±", Action.FORGET: "-", Action.RENAME: "~",
    Action.UPDATE: "~", Action.CREATE: "+", Action.OTHER: "?",
}


@dataclass(frozen=True)
class Review:
    """A plan with its guard verdict (None when the preview failed), the
    outcome of the adoption check, and the commit it was made of, if known."""

    plan: Plan
    verdict: Optional[Verdict]
    adoption: AdoptionCheck
    commit: Optional[str] = None


def marker(stack: Optional[str]) -> str:
    """The first line of the comment: the same for every plan of one stack."""
    return COMMENT_MARKER.replace(" -->", f" stack={stack or 'default'} -->")


def render_markdown(review: Review, *, max_chars: int = MAX_COMMENT_CHARS) -> str:
    """The plan as a PR comment of at most about ``max_chars`` characters.

    More than ``COLLAPSE_ABOVE_ROWS`` rows fold into ``<details>``; rows are
    dropped (creates first, deletions last) only when even that exceeds
    ``max_chars``, and the comment then says how many are missing.
    """
    plan = review.plan
    rows = [_row(change, review.adoption) for change in plan.changes]
    head = [
        marker(plan.stack),
        f"### Alloy users plan for stack {code(plan.stack or 'default', in_table=False)}"
        + (f" at {code(review.commit[:COMMIT_CHARS], in_table=False)}" if review.commit else ""),
        "",
        f"**{_totals(plan, review.adoption)}**",
        "",
        *_failure(plan),
        *_guard(review.verdict),
    ]
    notes = _notes(review)
    shown = len(rows)
    while True:
        body = "\n".join([*head, *_table(rows[:shown], len(rows)), *notes, *_missing(len(rows) - shown)]) + "\n"
        if len(body) <= max_chars or shown == 0:
            return body
        shown = max(0, shown - max(1, (len(body) - max_chars) // 60))


def render_verdict(review: Review) -> str:
    """The guard's result as plain text lines for a terminal or a CI log."""
    plan = review.plan
    if plan.failed:
        errors = "\n".join(plan.errors)
        return "deletion guard: the preview failed, so nothing can be applied:\n" + textwrap.indent(errors, "  ")
    verdict = review.verdict
    assert verdict is not None
    state = "passed" if verdict.allowed else "BLOCKED"
    lines = [f"deletion guard: {state}: {verdict.explain(ways=review_ways)}"]
    for change in plan.deletions:
        lines.append(f"  - {change.action.value} {change.username}")
    return "\n".join(lines)


def _row(change: UserChange, check: AdoptionCheck) -> tuple[str, str, str]:
    action = change.action
    label = action.value if action is not Action.OTHER else change.op
    if action is Action.FORGET and change.adopted:
        label = "forget (adopted)"
    details: list[str] = []
    if action is Action.CREATE and change.existing is not None:
        if check.adopt_existing:
            label = "adopt"
            details.append(f"already in Alloy (userId {code(change.existing.user_id)}): taken over, not created")
            if change.full_name is not None and change.full_name != change.existing.full_name:
                details.append(f"fullName: {_quoted(change.existing.full_name)} -> {_quoted(change.full_name)}")
        else:
            details.append(
                f"**already exists in Alloy** (userId {code(change.existing.user_id)}) and "
                f"{code('alloy:adoptExisting')} is false: the apply will fail"
            )
    elif action is Action.CREATE:
        details.append(f"fullName: {_quoted(change.full_name)}" if change.full_name is not None else "no fullName")
    elif action is Action.RENAME:
        details.append(f"{code(change.old_username or '?')} -> {code(change.username)}, same userId")
    elif change.protected and action in (Action.DELETE, Action.REPLACE, Action.FORGET):
        details.append(f"**protected**: refused (the user stays) until {code('protect: true')} is removed")
    elif action is Action.DELETE:
        details.append("destroys the user and its credentials in Alloy")
    elif action is Action.REPLACE:
        details.append("destroys the user in Alloy and creates a new one (new userId, credentials lost)")
    elif action is Action.FORGET and change.adopted:
        details.append(
            "kept in Alloy: this stack adopted it (it existed before), so it is only dropped from the stack; "
            f"{code('deleteAdopted: true')} deletes it"
        )
    elif action is Action.FORGET:
        details.append("kept in Alloy (retainOnDelete): only dropped from the stack")
    if action in (Action.RENAME, Action.UPDATE) and change.full_name_changed:
        details.append(f"fullName: {_quoted(change.old_full_name)} -> {_quoted(change.full_name)}")
    if action is Action.UPDATE and not change.full_name_changed:
        details.append("the state differs from the manifest")
    return (code(f"{SIGNS[action]} {label}"), code(change.username), "; ".join(details))


def _quoted(value: Optional[str]) -> str:
    return code(json.dumps(value, ensure_ascii=False)) if value is not None else "(unset)"


def _totals(plan: Plan, check: AdoptionCheck) -> str:
    adopted = sum(
        1 for c in plan.changes if c.action is Action.CREATE and c.existing is not None and check.adopt_existing
    )
    parts = [
        (plan.count(Action.CREATE) - adopted, "to create"),
        (adopted, "to adopt"),
        (plan.count(Action.UPDATE), "to update"),
        (plan.count(Action.RENAME), "to rename"),
        (plan.count(Action.DELETE), "to delete"),
        (plan.count(Action.REPLACE), "to replace"),
        (plan.count(Action.FORGET), "to forget (kept in Alloy)"),
        (plan.count(Action.OTHER), "other"),
    ]
    changes = ", ".join(f"{count} {what}" for count, what in parts if count)
    if plan.failed:
        return f"No plan: the preview failed{f' (it got as far as: {changes})' if changes else ''}."
    unchanged = f"{plan.unchanged} unchanged"
    return f"Plan: {changes}; {unchanged}." if changes else f"No changes; {unchanged}."


def _failure(plan: Plan) -> list[str]:
    if not plan.failed:
        return []
    lines = ["> [!CAUTION]", "> **The preview failed: this plan cannot be applied.**", ""]
    for error in plan.errors:
        text = error if len(error) <= MAX_DIAGNOSTIC_CHARS else error[:MAX_DIAGNOSTIC_CHARS] + "\n[...]"
        lines += [fenced(text), ""]
    return lines


def _guard(verdict: Optional[Verdict]) -> list[str]:
    if verdict is None:
        return ["**Deletion guard:** not evaluated, the preview failed.", ""]
    text = verdict.explain(lambda literal: code(literal, in_table=False), ways=review_ways)
    text = text[0].upper() + text[1:]
    if verdict.allowed:
        return [f"**Deletion guard: passed.** {text}", ""]
    return ["> [!CAUTION]", f"> **Deletion guard: blocked.** {text}", ""]


def _table(rows: list[tuple[str, str, str]], total: int) -> list[str]:
    if not rows:
        return []
    markdown = table(("change", "user", "details"), rows)
    if total <= COLLAPSE_ABOVE_ROWS:
        return [markdown, ""]
    return [f"<details><summary>Show all {total} changed users</summary>", "", markdown, "", "</details>", ""]


def _missing(count: int) -> list[str]:
    if count <= 0:
        return []
    return [
        f"_{count} more rows (creates first, deletions last) are left out: GitHub limits a comment "
        "to 65,536 characters. The summary of this workflow run has the full plan._",
        "",
    ]


def _notes(review: Review) -> list[str]:
    plan, check = review.plan, review.adoption
    notes = []
    if check.status == adoption.NO_KEY:
        outcome = "adopted" if check.adopt_existing else "refused (alloy:adoptExisting is false)"
        notes.append(
            f"Adoption was not predicted ({code('ALLOY_API_KEY', in_table=False)} is not set here): a created "
            f"username that already exists in Alloy will be {outcome} when applied."
        )
    elif check.status == adoption.FAILED:
        notes.append(f"Adoption was not predicted: {code(check.detail, in_table=False)}.")
    if plan.count(Action.DELETE) and plan.count(Action.CREATE):
        notes.append(
            f"A username changed without {code('previousUsernames', in_table=False)} is a delete of the old "
            "user and a create of a new one: to keep the user, list its old username under "
            f"{code('previousUsernames', in_table=False)}."
        )
    return [f"_Note:_ {note}\n" for note in notes]
