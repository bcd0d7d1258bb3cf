"""The deletion guard: its limit, the acknowledgement and its messages."""

from __future__ import annotations

import pytest

from review.guard import (
    Acknowledgement,
    GuardInputError,
    acknowledgement_in_text,
    delete_limit,
    evaluate,
    parse_count,
    resolve_acknowledgement,
    review_ways,
)


@pytest.mark.parametrize(
    ("existing", "flag", "config", "expected"),
    [
        pytest.param(0, None, None, (5, "automatic"), id="empty-stack"),
        pytest.param(20, None, None, (5, "automatic"), id="small-stack-floor-of-5"),
        pytest.param(59, None, "-1", (5, "automatic"), id="10-percent-rounds-down"),
        pytest.param(100, None, "", (10, "automatic"), id="10-percent"),
        pytest.param(1234, None, None, (123, "automatic"), id="large-stack"),
        pytest.param(100, None, "0", (0, "alloy:maxDeletes"), id="config-zero-means-always-ask"),
        pytest.param(100, None, " 3 ", (3, "alloy:maxDeletes"), id="config"),
        pytest.param(100, 7, "3", (7, "--max-deletes"), id="flag-beats-config"),
    ],
)
def test_limit(existing, flag, config, expected):
    limit = delete_limit(existing, flag=flag, config_value=config)
    assert (limit.value, limit.source) == expected


@pytest.mark.parametrize(
    "config",
    [pytest.param("-2", id="negative"), pytest.param("ten", id="word"), pytest.param("2.5", id="fraction")],
)
def test_a_malformed_config_limit_is_refused(config):
    with pytest.raises(GuardInputError, match="alloy:maxDeletes"):
        delete_limit(10, config_value=config)


@pytest.mark.parametrize(
    ("text", "count"),
    [pytest.param("10", 10, id="plain"), pytest.param(" 7\n", 7, id="blanks"), pytest.param("0", 0, id="zero")],
)
def test_count(text, count):
    assert parse_count(text, "--allow-deletes") == count


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("all", id="all"),
        pytest.param("-1", id="negative"),
        pytest.param("1e3", id="exponent"),
        pytest.param("10,000", id="separator"),
        pytest.param("", id="empty"),
        pytest.param("\u0661\u0660", id="non-ascii-digits"),
        pytest.param("99999999", id="absurd"),
        pytest.param("9" * 5000, id="huge"),
        pytest.param("10 users", id="trailing-word"),
    ],
)
def test_anything_but_a_plain_count_is_refused(text):
    with pytest.raises(GuardInputError, match="whole number of deletions"):
        parse_count(text, "--allow-deletes")


@pytest.mark.parametrize(
    ("body", "count"),
    [
        pytest.param("Cleanup of leavers.\n\nAlloy-Allow-Deletes: 12\n", 12, id="trailer"),
        pytest.param("Leavers\r\nalloy-allow-deletes : 3\r\n", 3, id="crlf-and-case"),
        pytest.param("Alloy-Allow-Deletes: 4\nAlloy-Allow-Deletes: 4\n", 4, id="repeated"),
        pytest.param("Nothing to acknowledge.\n", None, id="absent"),
        pytest.param("I set Alloy-Allow-Deletes: 9 below\n", None, id="mid-sentence"),
        pytest.param("Leavers.\n<!--\nAlloy-Allow-Deletes: 9\n-->\n", None, id="in-an-html-comment"),
        pytest.param("Leavers.\n\n```\nAlloy-Allow-Deletes: 9\n```\n", None, id="in-a-code-fence"),
        pytest.param("Leavers.\n\n> Alloy-Allow-Deletes: 9\n", None, id="in-a-quote"),
        pytest.param("<!-- Alloy-Allow-Deletes: 9 -->\nAlloy-Allow-Deletes: 2\n", 2, id="visible-beside-hidden"),
    ],
)
def test_acknowledgement_in_a_pull_request_description(body, count):
    assert acknowledgement_in_text(body) == count


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("Alloy-Allow-Deletes: all\n", id="not-a-number"),
        pytest.param("Alloy-Allow-Deletes: <N>\n", id="template-placeholder"),
        pytest.param("Alloy-Allow-Deletes: 3\nAlloy-Allow-Deletes: 30\n", id="conflicting"),
    ],
)
def test_a_malformed_description_acknowledgement_is_refused(body):
    with pytest.raises(GuardInputError):
        acknowledgement_in_text(body)


@pytest.mark.parametrize(
    ("flag", "env", "body", "expected"),
    [
        pytest.param("3", {"ALLOY_ALLOW_DELETES": "4"}, "Alloy-Allow-Deletes: 5", (3, "--allow-deletes"), id="flag-first"),
        pytest.param(None, {"ALLOY_ALLOW_DELETES": "4"}, "Alloy-Allow-Deletes: 5", (4, "ALLOY_ALLOW_DELETES"), id="env-next"),
        pytest.param(None, {"ALLOY_ALLOW_DELETES": " "}, "Alloy-Allow-Deletes: 5", (5, "the pull request description"),
                     id="blank-env-ignored"),
        pytest.param(None, {}, None, None, id="none"),
    ],
)
def test_which_acknowledgement_counts(flag, env, body, expected):
    ack = resolve_acknowledgement(flag, env, body)
    assert (None if ack is None else (ack.count, ack.source)) == expected


LIMIT = delete_limit(20)  # automatic: 5


@pytest.mark.parametrize(
    ("deletions", "ack", "allowed"),
    [
        pytest.param(0, None, True, id="none"),
        pytest.param(5, None, True, id="at-the-limit"),
        pytest.param(6, None, False, id="over-the-limit"),
        pytest.param(10, 10, True, id="exactly-acknowledged"),
        pytest.param(10, 9, False, id="acknowledged-too-few"),
        pytest.param(10, 100, False, id="acknowledged-too-many"),
        pytest.param(3, 7, True, id="within-limit-with-a-stale-acknowledgement"),
    ],
)
def test_verdict(deletions, ack, allowed):
    acknowledgement = None if ack is None else Acknowledgement(ack, "--allow-deletes")
    assert evaluate(deletions, LIMIT, acknowledgement).allowed is allowed


def test_a_blocked_verdict_names_the_count_the_limit_and_how_to_acknowledge():
    text = evaluate(10, LIMIT).explain(ways=review_ways)
    assert "deletes 10 of the stack's 20 users" in text
    assert "more than the limit of 5 (the larger of 5 and 10% of the stack's users)" in text
    assert "'Alloy-Allow-Deletes: 10' in an approving review by someone other than the author" in text
    assert "'--allow-deletes 10'" in text and "'ALLOY_ALLOW_DELETES=10'" in text
    assert "alloy:maxDeletes" in text


def test_a_wrong_acknowledgement_is_called_out():
    text = evaluate(10, LIMIT, resolve_acknowledgement(None, {"ALLOY_ALLOW_DELETES": "12"}, None)).explain()
    assert "'ALLOY_ALLOW_DELETES=12' acknowledges 12, not 10" in text
    assert "must name the exact count" in text


def test_an_acknowledged_verdict_says_by_what():
    verdict = evaluate(10, LIMIT, resolve_acknowledgement(None, {}, "Alloy-Allow-Deletes: 10"))
    assert verdict.acknowledged
    assert "acknowledged by 'Alloy-Allow-Deletes: 10' in the pull request description" in verdict.explain()
