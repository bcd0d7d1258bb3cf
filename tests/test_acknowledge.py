"""The deletion acknowledgement from approving reviews (review.acknowledge)
and its command, ``python -m review acknowledgement``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from review import acknowledge_cli
from review.acknowledge import AcknowledgementError, acknowledgement, count_in_text, latest_decisions, visible_lines

AUTHOR = "ada"
HEAD = "a" * 40
OLD = "b" * 40

counter = iter(range(1, 10_000))


def review(login: str, state: str = "APPROVED", body: str = "Alloy-Allow-Deletes: 3", *,
           association: str = "MEMBER", commit: str = HEAD, kind: str = "User") -> dict[str, Any]:
    """One review as GET /repos/{owner}/{repo}/pulls/{n}/reviews returns it (ids and times ascending)."""
    number = next(counter)
    return {
        "id": number, "user": {"login": login, "type": kind}, "body": body, "state": state,
        "author_association": association, "commit_id": commit,
        "submitted_at": f"2026-01-01T00:{number // 60 % 60:02d}:{number % 60:02d}Z",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Alloy-Allow-Deletes: 3", 3, id="plain-line"),
        pytest.param("Looks right.\nalloy-allow-deletes:12\n", 12, id="case-and-spacing"),
        pytest.param("   Alloy-Allow-Deletes: 3", 3, id="three-spaces-is-still-a-paragraph"),
        pytest.param("Alloy-Allow-Deletes: 3\r\nAlloy-Allow-Deletes: 3", 3, id="repeated-same-count"),
        pytest.param("LGTM", None, id="no-line"),
        pytest.param("<!-- Alloy-Allow-Deletes: 3 -->", None, id="html-comment"),
        pytest.param("<!--\nAlloy-Allow-Deletes: 3\n-->", None, id="multi-line-html-comment"),
        pytest.param("ok <!-- never closed\nAlloy-Allow-Deletes: 3", None, id="unterminated-html-comment"),
        pytest.param("```\nAlloy-Allow-Deletes: 3\n```", None, id="backtick-fence"),
        pytest.param("~~~text\nAlloy-Allow-Deletes: 3\n~~~", None, id="tilde-fence"),
        pytest.param("````\n```\nAlloy-Allow-Deletes: 3\n````", None, id="shorter-fence-does-not-close"),
        pytest.param("```\nnever closed\nAlloy-Allow-Deletes: 3", None, id="unclosed-fence"),
        pytest.param("```\ncode\n```\nAlloy-Allow-Deletes: 4", 4, id="after-a-closed-fence"),
        pytest.param("    Alloy-Allow-Deletes: 3", None, id="indented-code"),
        pytest.param("\tAlloy-Allow-Deletes: 3", None, id="tab-indented-code"),
        pytest.param("> Alloy-Allow-Deletes: 3", None, id="block-quote"),
        pytest.param("> I said\nAlloy-Allow-Deletes: 3", None, id="lazy-quote-continuation"),
        pytest.param("> quoted\n\nAlloy-Allow-Deletes: 5", 5, id="after-a-quote-and-blank-line"),
        pytest.param("<div hidden>\nAlloy-Allow-Deletes: 3\n</div>", None, id="raw-html-block"),
        pytest.param("- Alloy-Allow-Deletes: 3", None, id="list-item-is-not-the-line"),
        pytest.param("Please use `Alloy-Allow-Deletes: 3`", None, id="inline-mention"),
    ],
)
def test_only_visible_lines_count(text, expected):
    assert count_in_text(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("Alloy-Allow-Deletes: all", "whole number", id="not-a-number"),
        pytest.param("Alloy-Allow-Deletes: -1", "whole number", id="negative"),
        pytest.param("Alloy-Allow-Deletes: 99999999", "at most", id="too-large"),
        pytest.param("Alloy-Allow-Deletes: 3\nAlloy-Allow-Deletes: 4", "different counts", id="disagreeing-lines"),
    ],
)
def test_malformed_acknowledgements_are_refused(text, message):
    with pytest.raises(AcknowledgementError, match=message):
        count_in_text(text)


def test_visible_lines_keep_the_paragraphs():
    assert visible_lines("a\n<!-- x -->\n```\nb\n```\n> c\nd\n\ne") == ["a", "e"]


@pytest.mark.parametrize(
    ("reviews", "expected"),
    [
        pytest.param([review("bob")], 3, id="approval-by-another"),
        pytest.param([review(AUTHOR)], None, id="authors-own-approval"),
        pytest.param([review("Ada")], None, id="author-login-case-insensitive"),
        pytest.param([review("bob", "COMMENTED")], None, id="comment-review-is-not-approval"),
        pytest.param([review("bob", "CHANGES_REQUESTED")], None, id="changes-requested"),
        pytest.param([review("bob"), review("bob", "DISMISSED", "")], None, id="later-dismissal-voids"),
        pytest.param([review("bob"), review("bob", "CHANGES_REQUESTED", "")], None, id="later-change-request-voids"),
        pytest.param([review("bob"), review("bob", "COMMENTED", "nit")], 3, id="later-comment-keeps-approval"),
        pytest.param([review("bob", "CHANGES_REQUESTED", ""), review("bob")], 3, id="approval-after-change-request"),
        pytest.param([review("bob"), review("bob", body="LGTM")], None, id="latest-approval-body-decides"),
        pytest.param([review("bob", commit=OLD)], None, id="approval-of-an-older-commit"),
        pytest.param([review("bob", association="NONE")], None, id="outsider-approval"),
        pytest.param([review("bob", association="CONTRIBUTOR")], None, id="contributor-approval"),
        pytest.param([review("bot", kind="Bot")], None, id="bot-approval"),
        pytest.param([review("bob", body="<!-- Alloy-Allow-Deletes: 3 -->")], None, id="hidden-in-comment"),
        pytest.param([review("bob", body="> Alloy-Allow-Deletes: 3")], None, id="quoted"),
        pytest.param([review("bob", "COMMENTED"), review("carol", body="LGTM")], None, id="ack-only-in-a-comment"),
        pytest.param([review("bob"), review("carol", body="LGTM")], 3, id="one-of-two-approvers-acknowledges"),
        pytest.param([review("bob"), review("carol")], 3, id="two-approvers-agree"),
        pytest.param([{"id": 1, "user": None, "state": "APPROVED", "body": "Alloy-Allow-Deletes: 3"}], None,
                     id="deleted-account"),
    ],
)
def test_the_acknowledgement_comes_from_a_current_approval_by_someone_else(reviews, expected):
    assert acknowledgement(reviews, AUTHOR, head_sha=HEAD) == expected


def test_without_head_sha_an_older_approval_counts():
    assert acknowledgement([review("bob", commit=OLD)], AUTHOR) == 3


def test_approvers_who_disagree_are_refused():
    with pytest.raises(AcknowledgementError, match="@bob: 3, @carol: 4"):
        acknowledgement([review("bob"), review("carol", body="Alloy-Allow-Deletes: 4")], AUTHOR, head_sha=HEAD)


def test_latest_decision_is_by_submission_time_not_list_order():
    approval, dismissal = review("bob"), review("bob", "DISMISSED", "")
    assert latest_decisions([dismissal, approval])["bob"]["state"] == "DISMISSED"


# -- the command ------------------------------------------------------------------


def command(argv: list[str]) -> int:
    """The subcommand as registered into a parser of its own (review.cli does the same)."""
    parser = argparse.ArgumentParser()
    handlers: dict[str, Any] = {}
    acknowledge_cli.register(parser.add_subparsers(dest="command", required=True), handlers)
    args = parser.parse_args(argv)
    return handlers[args.command](args, {})


def run(tmp_path: Path, capsys, pages: list[Any] | str, *extra: str) -> tuple[int, str, str]:
    path = tmp_path / "reviews.json"
    path.write_text(pages if isinstance(pages, str) else "".join(json.dumps(page) for page in pages),
                    encoding="utf-8")
    status = command(["acknowledgement", "--reviews", str(path), "--author", AUTHOR, *extra])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_command_prints_the_count_from_paginated_output(tmp_path, capsys):
    pages = [[review("carol", body="LGTM")], [review("bob", body="Reviewed.\n\nAlloy-Allow-Deletes: 7")]]
    status, out, err = run(tmp_path, capsys, pages, "--head-sha", HEAD)
    assert (status, out) == (0, "7\n") and "@bob" in err


def test_the_command_prints_nothing_without_an_acknowledgement(tmp_path, capsys):
    status, out, err = run(tmp_path, capsys, [[review(AUTHOR)]], "--head-sha", HEAD)
    assert (status, out) == (0, "") and "no approving review" in err


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        pytest.param([[review("bob", body="Alloy-Allow-Deletes: lots")]], "whole number", id="malformed-count"),
        pytest.param("[{", "cannot read --reviews", id="not-json"),
        pytest.param([["a string"]], "expected review objects", id="not-reviews"),
    ],
)
def test_the_command_refuses_bad_input_with_exit_2(tmp_path, capsys, pages, message):
    status, out, err = run(tmp_path, capsys, pages)
    assert (status, out) == (2, "") and message in err


def test_python_m_review_has_the_subcommand_and_keeps_pr_body(tmp_path, capsys):
    from review.cli import main

    path = tmp_path / "reviews.json"
    path.write_text(json.dumps([review("bob")]), encoding="utf-8")
    assert main(["acknowledgement", "--reviews", str(path), "--author", AUTHOR], environ={}) == 0
    assert capsys.readouterr().out == "3\n"
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    assert "--pr-body" in capsys.readouterr().out
