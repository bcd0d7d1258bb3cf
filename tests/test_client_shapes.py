"""Answers the docs leave open: both 401 bodies, both spellings of the create
path, 422. In-process (``tests.support.fake_alloy``), plus the emulator and the
provider where the wiring matters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from providers.alloy.client import AlloyClient, ClientSettings
from providers.alloy.errors import AlloyAuthError, AlloyBadRequestError, AlloyConflictError, AlloyNotFoundError
from providers.alloy_user import AlloyUserProvider
from tests.support.fake_alloy import FakeAlloy, Reply
from tests.support.scripted_api import ScriptedApi, json_answer


# -- 401 bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-object-2025-09"),
        pytest.param({"message": "Unauthorized"}, id="legacy-message"),
        pytest.param({"message": "Unauthorized."}, id="legacy-message-with-dot"),
        pytest.param(b"", id="no-body"),
    ],
)
def test_401_bodies_give_one_clear_message(body):
    fake = FakeAlloy(unauthorized_body=body)
    client = fake.client(api_key="wrong-key-4b1f")
    with pytest.raises(AlloyAuthError) as raised:
        client.create_user("ada@example.com", None)
    message = str(raised.value)
    assert message.startswith("Alloy API 401 Unauthorized for POST /users; check alloy:apiKey")
    assert message.count("Unauthorized") == 1
    assert "wrong-key-4b1f" not in message


def test_401_with_another_message_keeps_it():
    fake = FakeAlloy(unauthorized_body={"message": "API key revoked"})
    with pytest.raises(AlloyAuthError, match="401 Unauthorized for GET /users: API key revoked; check alloy:apiKey"):
        fake.client(api_key="x").list_users()


@pytest.mark.parametrize("variant", ["empty", "legacy"])
def test_emulator_401_variants(emulator, variant):
    emulator.admin.set_faults(unauthorized_body=variant)
    client = AlloyClient(ClientSettings(base_url=emulator.url, api_key="wrong", max_retries=0), environ={})
    try:
        with pytest.raises(AlloyAuthError) as raised:
            client.list_users()
    finally:
        client.close()
    assert str(raised.value).count("Unauthorized") == 1


# -- POST /users or POST /users/ ---------------------------------------------------------


@pytest.mark.parametrize("missing_status", [404, 405])
def test_create_falls_back_to_the_trailing_slash_once_and_remembers(missing_status):
    fake = FakeAlloy(create_paths=("/users/",), create_missing_status=missing_status)
    client = fake.client()
    first = client.create_user("ada@example.com", "Ada")
    second = client.create_user("grace@example.com", None)
    assert fake.lines() == ["POST /users", "POST /users/", "POST /users/"]
    # The refused spelling created nothing: exactly the two users, once each.
    assert [(u["userId"], u["username"]) for u in fake.users] == [(first, "ada@example.com"), (second, "grace@example.com")]


def test_create_on_a_server_with_only_the_documented_path_never_tries_the_other():
    fake = FakeAlloy(create_paths=("/users",))
    client = fake.client()
    client.create_user("ada@example.com", None)
    client.create_user("grace@example.com", None)
    assert fake.lines() == ["POST /users", "POST /users"]


def test_a_conflict_is_not_a_missing_route():
    fake = FakeAlloy(create_paths=("/users",))
    fake.seed("ada@example.com")
    with pytest.raises(AlloyConflictError):
        fake.client().create_user("ada@example.com", None)
    assert fake.lines() == ["POST /users"]


def test_create_path_missing_in_both_spellings_names_both_and_the_base_url():
    fake = FakeAlloy(create_paths=())
    with pytest.raises(AlloyNotFoundError) as raised:
        fake.client().create_user("ada@example.com", None)
    message = str(raised.value)
    assert "404 Not Found for POST /users:" in message and "POST /users/ answered 404 too" in message
    assert "alloy:baseUrl" in message
    assert fake.users == []


def test_after_a_working_create_a_404_is_not_retried_elsewhere():
    fake = FakeAlloy(create_paths=("/users",))
    client = fake.client()
    client.create_user("ada@example.com", None)
    fake.create_paths = ()
    with pytest.raises(AlloyNotFoundError):
        client.create_user("grace@example.com", None)
    assert fake.lines() == ["POST /users", "POST /users"]


def test_emulator_serves_the_fallback_spelling(emulator):
    with ScriptedApi(emulator.url) as api:
        # The double routes both spellings alike: the first POST only is refused.
        api.script("POST /users", json_answer(404, {"message": "Cannot POST /users"}), times=1)
        client = AlloyClient(ClientSettings(base_url=api.url, api_key=emulator.api_key, max_retries=0), environ={})
        try:
            user_id = client.create_user("ada@example.com", None)
        finally:
            client.close()
        assert api.lines() == ["POST /users", "POST /users/"]
    assert [user["userId"] for user in emulator.users()] == [user_id]


# -- 422 -------------------------------------------------------------------------------------


def test_422_is_bad_input_like_400():
    fake = FakeAlloy()
    fake.script("POST /users", lambda request, _fake: Reply(422, {"message": "username is not valid"}))
    with pytest.raises(AlloyBadRequestError) as raised:
        fake.client().create_user("not valid", None)
    assert raised.value.status == 422
    assert "422 Unprocessable" in str(raised.value) and "username is not valid" in str(raised.value)
    assert fake.lines() == ["POST /users"]  # refused as sent: not retried, not at /users/


@pytest.fixture
def scripted(emulator) -> Iterator[ScriptedApi]:
    with ScriptedApi(emulator.url) as api:
        yield api


def test_provider_adopts_after_a_422_for_an_existing_username(scripted, emulator):
    """The provider looks the username up after a refused create (400/409):
    a 422 gets the same treatment because it is an AlloyBadRequestError."""
    existing = emulator.admin.seed_user("ada@example.com", "Ada")
    scripted.script("POST /users", json_answer(422, {"message": "username already taken"}))
    provider = AlloyUserProvider()
    provider.configure(ConfigureRequest(Config({"alloy:baseUrl": scripted.url, "alloy:apiKey": emulator.api_key,
                                                "alloy:maxRetries": "0"}, "alloy")))
    result = provider.create({"username": "ada@example.com", "fullName": "Ada"})
    assert result.id == existing
    assert len(emulator.users()) == 1
