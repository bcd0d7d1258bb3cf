"""AlloyUserProvider's methods called directly, against the emulator."""

from __future__ import annotations

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from providers.alloy_user import AlloyUserProvider
from providers.alloy.errors import AlloyConflictError, AlloyNotFoundError

PROVIDER_BLOB = "serialized-provider"


@pytest.fixture
def provider_for(emulator):
    """``provider_for(**extra_config) -> configured AlloyUserProvider``."""

    def make(**extra: str) -> AlloyUserProvider:
        raw = {"alloy:baseUrl": emulator.url, "alloy:apiKey": emulator.api_key, **extra}
        provider = AlloyUserProvider()
        provider.configure(ConfigureRequest(Config(raw, "alloy")))
        return provider

    return make


@pytest.fixture
def provider(provider_for):
    return provider_for()


def users(emulator) -> dict[str, dict]:
    return {user["username"]: user for user in emulator.users()}


@pytest.mark.parametrize(
    "news, inputs, failures",
    [
        # The manifest normalises values; check only keeps what the provider manages.
        pytest.param({"username": "ada@example.com", "fullName": "Ada", "protect": True},
                     {"username": "ada@example.com", "fullName": "Ada"}, [], id="keeps-managed-fields"),
        pytest.param({"username": "ada@example.com", "fullName": ""},
                     {"username": "ada@example.com"}, [], id="empty-fullname-unmanaged"),
        pytest.param({"username": "ada@example.com", "retainOnDelete": True, "deleteAdopted": False},
                     {"username": "ada@example.com", "retainOnDelete": True}, [], id="removal-flags-when-true"),
        pytest.param({"username": "   "}, {}, ["username"], id="blank-username"),
        pytest.param({}, {}, ["username"], id="missing-username"),
        pytest.param({"username": 7}, {}, ["username"], id="number-username"),
        pytest.param({"username": "a", "fullName": ["x"]}, {"username": "a"}, ["fullName"], id="list-fullname"),
    ],
)
def test_check(provider, news, inputs, failures):
    result = provider.check({}, news)
    assert result.inputs == inputs
    assert [failure.property for failure in result.failures] == failures


@pytest.mark.parametrize(
    "olds, news, changes",
    [
        pytest.param({"username": "a", "fullName": "A", "__provider": "old"},
                     {"username": "a", "fullName": "A", "__provider": "new"}, False, id="provider-code-only"),
        pytest.param({"username": "a", "fullName": "A"}, {"username": "a", "fullName": "B"}, True, id="fullname"),
        pytest.param({"username": "a", "fullName": "A"}, {"username": "b", "fullName": "A"}, True, id="rename"),
        pytest.param({"username": "a", "fullName": "A"}, {"username": "a"}, False, id="fullname-unmanaged"),
        pytest.param({"username": "a"}, {"username": "a", "fullName": "A"}, True, id="fullname-now-managed"),
    ],
)
def test_diff_is_explicit_and_never_replaces(provider, olds, news, changes):
    result = provider.diff("id", olds, news)
    assert result.changes is changes
    assert result.replaces == []


def test_create_posts_and_returns_every_input(provider, emulator):
    result = provider.create({"username": "ada@example.com", "fullName": "Ada", "__provider": PROVIDER_BLOB})
    assert result.id == users(emulator)["ada@example.com"]["userId"]
    # A user this stack created records no adopted flag (absent means false; 16 bytes a user).
    assert result.outs == {"userId": result.id, "username": "ada@example.com", "fullName": "Ada"}


@pytest.mark.parametrize("refusal", [409, 400], ids=["conflict-409", "conflict-as-400"])
def test_create_adopts_an_existing_username_and_fixes_its_name(provider, emulator, refusal):
    existing = emulator.admin.seed_user("ada@example.com", "A. Lovelace")
    if refusal == 400:
        emulator.admin.set_faults(fail_next=[{"fault": 400, "route": "POST /users"}])
    result = provider.create({"username": "ada@example.com", "fullName": "Ada Lovelace"})
    assert result.id == existing
    assert result.outs["adopted"] is True
    assert users(emulator)["ada@example.com"]["fullName"] == "Ada Lovelace"
    assert len(emulator.users()) == 1


def test_create_with_adoption_off_refuses_an_existing_username(provider_for, emulator):
    existing = emulator.admin.seed_user("ada@example.com")
    with pytest.raises(AlloyConflictError) as error:
        provider_for(**{"alloy:adoptExisting": "false"}).create({"username": "ada@example.com"})
    assert existing in str(error.value) and "alloy:adoptExisting" in str(error.value)


def test_bad_request_for_an_absent_username_is_raised(provider, emulator):
    emulator.admin.set_faults(fail_next=[{"fault": 400, "route": "POST /users"}])
    with pytest.raises(Exception, match="400"):
        provider.create({"username": "ada@example.com"})
    assert emulator.users() == []


@pytest.mark.parametrize(
    "fault",
    ["drop_after_commit", "slow_after_commit", 500, 502, 503],
    ids=["dropped", "too-slow", "500", "502", "503"],
)
def test_create_with_unknown_outcome_never_duplicates(provider_for, emulator, fault):
    emulator.admin.set_faults(slow_s=2, fail_next=[{"fault": fault, "route": "POST /users"}])
    result = provider_for(**{"alloy:timeoutSeconds": "1"}).create({"username": "ada@example.com", "fullName": "Ada"})
    stored = emulator.users()
    assert [u["username"] for u in stored] == ["ada@example.com"]
    assert result.id == stored[0]["userId"]
    assert "adopted" not in result.outs


def test_read_returns_state_and_drift(provider, emulator):
    user_id = emulator.admin.seed_user("ada@example.com", "Changed Outside")
    result = provider.read(user_id, {"userId": user_id, "username": "ada@example.com", "fullName": "Ada", "adopted": False})
    assert result.id == user_id
    assert result.outs["fullName"] == "Changed Outside"
    assert result.inputs == {"username": "ada@example.com", "fullName": "Changed Outside"}


def test_read_of_a_missing_user_returns_a_blank_id(provider):
    assert provider.read("0" * 24, {"username": "gone@example.com"}).id == ""


def test_reads_share_one_listing(provider, emulator):
    ids = [emulator.admin.seed_user(f"user{i}@example.com") for i in range(5)]
    for user_id in ids:
        assert provider.read(user_id, {"username": "x"}).id == user_id
    assert [entry["route"] for entry in emulator.requests()] == ["GET /users"]


def test_update_sends_changed_fields_only(provider, emulator):
    user_id = emulator.admin.seed_user("ada@example.com", "Ada")
    olds = {"userId": user_id, "username": "ada@example.com", "fullName": "Ada", "adopted": False}
    result = provider.update(user_id, olds, {"username": "ada.king@example.com", "fullName": "Ada"})
    assert result.outs["username"] == "ada.king@example.com"
    assert users(emulator)["ada.king@example.com"]["userId"] == user_id


def test_update_of_a_user_deleted_outside_says_to_refresh(provider):
    with pytest.raises(AlloyNotFoundError, match="pulumi refresh"):
        provider.update("0" * 24, {"username": "a", "fullName": "A"}, {"username": "a", "fullName": "B"})


def test_rename_onto_a_taken_username_is_a_clear_conflict(provider, emulator):
    user_id = emulator.admin.seed_user("ada@example.com")
    emulator.admin.seed_user("grace@example.com")
    with pytest.raises(AlloyConflictError, match="cannot rename 'ada@example.com' to 'grace@example.com'"):
        provider.update(user_id, {"username": "ada@example.com"}, {"username": "grace@example.com"})


def test_delete_and_delete_of_a_missing_user(provider, emulator):
    user_id = emulator.admin.seed_user("ada@example.com")
    provider.delete(user_id, {})
    assert emulator.users() == []
    provider.delete(user_id, {})  # already gone: still a success


def test_provider_pickles_by_reference_and_small():
    import dill

    blob = dill.dumps(AlloyUserProvider(), protocol=dill.HIGHEST_PROTOCOL)
    assert b"providers.alloy_user" in blob
    assert len(blob) < 200
