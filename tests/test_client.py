"""The Alloy client against the subprocess emulator: the wiring of requests,
retries and typed errors. The many shapes and failure modes run in-process
(``tests/support/fake_alloy.py``): test_client_pagination, test_client_shapes,
test_client_transport, test_client_proxies."""

from __future__ import annotations

import time

import pytest

from providers.alloy.client import AlloyClient, ClientSettings, validate_base_url
from providers.alloy.errors import (
    AlloyAuthError,
    AlloyConfigError,
    AlloyConflictError,
    AlloyNotFoundError,
    AlloyRateLimitError,
    AlloyServerError,
    AlloyUnreachableError,
)
from tests.support.ports import free_port

FAST_BACKOFF_S = 0.01


@pytest.fixture
def client_for(emulator):
    """``client_for(**ClientSettings overrides) -> AlloyClient`` on the test emulator."""
    made: list[AlloyClient] = []

    def make(**overrides) -> AlloyClient:
        settings = dict(base_url=emulator.url, api_key=emulator.api_key, backoff_s=FAST_BACKOFF_S, max_retries=3)
        settings.update(overrides)
        client = AlloyClient(ClientSettings(**settings), environ={})
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(client_for):
    return client_for()


def routes(emulator) -> list[str]:
    return [entry["route"] for entry in emulator.requests()]


@pytest.mark.parametrize(
    "url, expected",
    [
        pytest.param("https://production.runalloy.com/", "https://production.runalloy.com", id="https-trailing-slash"),
        pytest.param("http://127.0.0.1:4010", "http://127.0.0.1:4010", id="loopback-v4"),
        pytest.param("http://localhost:4010", "http://localhost:4010", id="localhost"),
        pytest.param("http://[::1]:4010", "http://[::1]:4010", id="loopback-v6"),
        pytest.param("https://alloy.internal/api", "https://alloy.internal/api", id="path-prefix"),
    ],
)
def test_valid_base_urls(url, expected):
    assert validate_base_url(url) == expected


@pytest.mark.parametrize(
    "url, reason",
    [
        pytest.param("http://production.runalloy.com", "must use https", id="plain-http-remote"),
        pytest.param("ftp://example.com", "http(s) URL", id="ftp"),
        pytest.param("production.runalloy.com", "http(s) URL", id="no-scheme"),
        pytest.param("https://example.com/?a=1", "query", id="query"),
    ],
)
def test_invalid_base_urls(url, reason):
    with pytest.raises(AlloyConfigError, match="alloy:baseUrl") as error:
        validate_base_url(url)
    assert reason in str(error.value)


def test_missing_key_is_a_config_error_naming_both_sources(emulator):
    with pytest.raises(AlloyConfigError) as error:
        AlloyClient(ClientSettings(base_url=emulator.url, api_key=""))
    assert "alloy:apiKey" in str(error.value) and "ALLOY_API_KEY" in str(error.value)


def test_settings_repr_hides_the_key():
    assert "s3cr3t" not in repr(ClientSettings(api_key="s3cr3t"))


def test_create_get_list_update_delete(client, emulator):
    user_id = client.create_user("ada@example.com", "Ada Lovelace")
    assert len(user_id) == 24 and int(user_id, 16) >= 0
    assert client.get_user(user_id).full_name == "Ada Lovelace"
    assert [u.username for u in client.list_users()] == ["ada@example.com"]
    updated = client.update_user(user_id, username="ada.king@example.com", full_name="Ada King")
    assert (updated.user_id, updated.username, updated.full_name) == (user_id, "ada.king@example.com", "Ada King")
    assert client.delete_user(user_id) is True
    assert client.delete_user(user_id) is False
    assert client.get_user(user_id) is None


@pytest.mark.parametrize(
    "username",
    [
        pytest.param("jane+alloy@example.com", id="plus"),
        pytest.param("team/jane", id="slash"),
        pytest.param("José Ñúñez", id="unicode-and-space"),
        pytest.param("a?b#c%d", id="url-metacharacters"),
    ],
)
def test_find_user_by_username_encodes_the_path(client, username):
    user_id = client.create_user(username, None)
    found = client.find_user_by_username(username)
    assert found is not None and found.user_id == user_id


def test_find_user_by_username_returns_none_when_absent(client):
    client.create_user("someone@example.com", None)
    assert client.find_user_by_username("nobody@example.com") is None


def test_wrong_key_raises_auth_error_without_the_key(client_for, emulator):
    key = "wrong-key-that-must-not-leak-91c2"
    with pytest.raises(AlloyAuthError) as error:
        client_for(api_key=key).create_user("ada@example.com", None)
    message = str(error.value)
    assert "401" in message and "POST /users" in message and "alloy:apiKey" in message
    assert key not in message
    assert routes(emulator) == ["POST /users"]  # a 401 is not retried


def test_duplicate_create_raises_conflict(client):
    client.create_user("ada@example.com", None)
    with pytest.raises(AlloyConflictError):
        client.create_user("ada@example.com", None)


def test_429_is_retried_honouring_retry_after(client, emulator):
    emulator.admin.set_faults(retry_after_s=0, fail_next=[{"fault": 429, "route": "POST /users", "times": 2}])
    client.create_user("ada@example.com", None)
    assert routes(emulator) == ["POST /users"] * 3
    assert [u["username"] for u in emulator.users()] == ["ada@example.com"]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_idempotent_calls_are_retried_on_gateway_errors(client, emulator, status):
    user_id = client.create_user("ada@example.com", None)
    emulator.reset_log()
    emulator.admin.set_faults(fail_next=[{"fault": status, "route": "GET /users/{userId}", "times": 2}])
    assert client.get_user(user_id).username == "ada@example.com"
    assert routes(emulator) == ["GET /users/{userId}"] * 3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_post_is_not_retried_on_5xx(client, emulator, status):
    emulator.admin.set_faults(fail_next=[{"fault": status, "route": "POST /users"}])
    with pytest.raises(AlloyServerError):
        client.create_user("ada@example.com", None)
    assert routes(emulator) == ["POST /users"]


def test_post_whose_response_is_lost_is_not_retried(client, emulator):
    emulator.admin.set_faults(fail_next=[{"fault": "drop_after_commit", "route": "POST /users"}])
    with pytest.raises(AlloyUnreachableError, match="POST /users"):
        client.create_user("ada@example.com", None)
    assert routes(emulator) == ["POST /users"]
    assert [u["username"] for u in emulator.users()] == ["ada@example.com"]


def test_get_whose_response_is_lost_is_retried(client, emulator):
    client.create_user("ada@example.com", None)
    emulator.reset_log()
    emulator.admin.set_faults(fail_next=[{"fault": "drop_after_commit", "route": "GET /users"}])
    assert len(client.list_users()) == 1
    assert routes(emulator) == ["GET /users"] * 2


def test_timeout_names_the_setting(client_for, emulator):
    emulator.admin.set_faults(slow_s=3, fail_next=[{"fault": "slow_after_commit", "route": "POST /users"}])
    with pytest.raises(AlloyUnreachableError, match="alloy:timeoutSeconds"):
        client_for(timeout_s=0.5).create_user("ada@example.com", None)


def test_retry_budget_is_bounded(client_for, emulator):
    emulator.admin.set_faults(error_rates={"503": 1.0}, routes=["GET /users"])
    with pytest.raises(AlloyServerError, match="alloy:maxRetries"):
        client_for(max_retries=2).list_users()
    assert routes(emulator) == ["GET /users"] * 3


def test_sustained_rate_limit_ends_with_rate_limit_error(client_for, emulator):
    emulator.admin.set_faults(rate_limit_rate=1.0, retry_after_s=0, routes=["POST /users"])
    with pytest.raises(AlloyRateLimitError):
        client_for(max_retries=2).create_user("ada@example.com", None)
    assert emulator.users() == []


def test_unreachable_api_names_base_url(client_for):
    port = free_port()
    with pytest.raises(AlloyUnreachableError) as error:
        client_for(base_url=f"http://127.0.0.1:{port}", max_retries=1).list_users()
    assert "alloy:baseUrl" in str(error.value) and f"127.0.0.1:{port}" in str(error.value)
    assert error.value.sent is False and "(nothing was sent)" in str(error.value)


def test_a_read_that_times_out_is_retried_once_and_names_the_setting(client_for, emulator):
    emulator.admin.set_faults(slow_s=3, fail_next=[{"fault": "slow_after_commit", "route": "GET /users", "times": 5}])
    with pytest.raises(AlloyUnreachableError, match="GET /users .*no response within 0.3s \\(alloy:timeoutSeconds\\)"):
        client_for(timeout_s=0.3, max_retries=5).list_users()
    deadline = time.monotonic() + 10  # the emulator logs a request once it has answered (after slow_s)
    while len(routes(emulator)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert routes(emulator) == ["GET /users"] * 2


def test_not_found_on_update(client):
    with pytest.raises(AlloyNotFoundError):
        client.update_user("0" * 24, full_name="x")
