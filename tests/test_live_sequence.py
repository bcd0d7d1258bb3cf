"""The live acceptance sequence (``tests/live/sequence.py``) against the
emulator, in every rename mode and both list shapes: no machine here reaches
Alloy, so its logic, its report and above all its clean-up are proven here."""

from __future__ import annotations

import pytest

from providers.alloy.client import AlloyClient, ClientSettings
from tests.live.sequence import IGNORED, MAX_LIVE_USERS, REJECTED, RENAMED, new_prefix, run_sequence

RENAME_MODES = [pytest.param("off", RENAMED, id="renames"), pytest.param("ignore", IGNORED, id="ignores-renames"),
                pytest.param("reject", REJECTED, id="rejects-renames")]
LIST_SHAPES = [pytest.param(0, id="unpaged"), pytest.param(2, id="paged")]
OTHERS = ["someone@example.com", "alloy-users-acc-other-run@example.com", "alloy-users-acc-20260101t000000-aaaaaa"]


def client_of(emulator) -> AlloyClient:
    return AlloyClient(ClientSettings(base_url=emulator.url, api_key=emulator.api_key, backoff_s=0.01), environ={})


@pytest.mark.parametrize("page_size", LIST_SHAPES)
@pytest.mark.parametrize("mode, outcome", RENAME_MODES)
def test_sequence_reports_what_the_api_did_and_leaves_only_others(emulator, mode, outcome, page_size):
    emulator.admin.set_faults(immutable_usernames=mode, page_size=page_size)
    others = {emulator.admin.seed_user(name) for name in OTHERS}
    client = client_of(emulator)
    report = run_sequence(client)
    assert len(report.created) == MAX_LIVE_USERS
    assert report.list_paged is bool(page_size) and report.all_listed and report.listed == MAX_LIVE_USERS + 3
    assert report.rename == outcome
    first = f"{report.prefix}-1"
    expected_reread = f"{first}-renamed" if outcome == RENAMED else first
    assert report.reread_username == expected_reread
    if outcome != REJECTED:
        assert report.put_username == expected_reread
    else:
        assert report.rename_status == 400
    assert sorted(report.deleted) == sorted(report.created) and report.leftovers == [] and report.error is None
    assert {user["userId"] for user in emulator.users()} == others
    text = "\n".join(report.lines())
    assert outcome in text and ("paginated" if page_size else "one unpaged answer") in text


def test_emulator_started_with_the_variant_flags(emulator_factory):
    process = emulator_factory(immutable_usernames="reject", page_size=2)
    client = client_of(process)
    report = run_sequence(client, users=2)
    assert (report.rename, report.list_paged, report.leftovers) == (REJECTED, True, [])
    assert process.users() == []


@pytest.mark.parametrize("failing_step", ["list", "rename"])
def test_a_failing_step_still_deletes_everything_the_run_created(emulator, failing_step):
    others = {emulator.admin.seed_user(name) for name in OTHERS}

    def step(name: str) -> None:
        if name == failing_step:
            raise RuntimeError(f"injected failure at {name}")

    with pytest.raises(RuntimeError, match="injected") as raised:
        run_sequence(client_of(emulator), step=step)
    report = raised.value.live_report
    assert len(report.created) == MAX_LIVE_USERS and report.leftovers == []
    assert "injected failure" in report.error
    assert {user["userId"] for user in emulator.users()} == others


def test_a_create_whose_answer_was_lost_is_found_by_prefix_and_deleted(emulator):
    emulator.admin.set_faults(fail_next=[{"fault": "drop_after_commit", "route": "POST /users"}])
    client = AlloyClient(ClientSettings(base_url=emulator.url, api_key=emulator.api_key, max_retries=0), environ={})
    with pytest.raises(Exception) as raised:
        run_sequence(client)
    report = raised.value.live_report
    assert report.created == [] and len(report.deleted) == 1  # the user the lost answer created
    assert emulator.users() == []


def test_the_api_failing_mid_run_is_reported_and_cleaned_up(emulator):
    emulator.admin.set_faults(fail_next=[{"fault": 500, "route": "PUT /users/{userId}"}])
    with pytest.raises(Exception, match="500") as raised:
        run_sequence(client_of(emulator))
    assert raised.value.live_report.leftovers == []
    assert emulator.users() == []


def test_a_run_never_creates_more_than_three_users_or_uses_a_foreign_prefix(emulator):
    client = client_of(emulator)
    with pytest.raises(ValueError):
        run_sequence(client, users=MAX_LIVE_USERS + 1)
    with pytest.raises(ValueError):
        run_sequence(client, prefix="someone")
    assert emulator.requests() == []
    assert new_prefix() != new_prefix()
