"""What the emulator refuses: 401 before anything, 400 for the version header and bad bodies, 413."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from emulator.defaults import MAX_BODY_BYTES
from emulator.testing import EmulatorProcess

TIMEOUT_S = 5

# (method, path template, body) of every public route; "{ref}" is an existing user's id.
ROUTES = [
    pytest.param("POST", "/users", {"username": "new"}, id="POST-users"),
    pytest.param("GET", "/users", None, id="GET-users"),
    pytest.param("GET", "/users/{ref}", None, id="GET-user"),
    pytest.param("PUT", "/users/{ref}", {"fullName": "x"}, id="PUT-user"),
    pytest.param("DELETE", "/users/{ref}", None, id="DELETE-user"),
]


def call(
    emulator: EmulatorProcess, method: str, path: str, body: Any, headers: dict[str, str]
) -> requests.Response:
    ref = emulator.admin.seed_user("existing")
    return requests.request(method, emulator.url + path.format(ref=ref), json=body, headers=headers, timeout=TIMEOUT_S)


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="missing-header"),
        pytest.param("", id="empty-header"),
        pytest.param("Bearer wrong-key", id="wrong-key"),
        pytest.param("Bearer", id="bearer-without-key"),
        pytest.param("Basic {key}", id="basic-scheme"),
        pytest.param("{key}", id="key-without-scheme"),
        pytest.param("Bearer {key}x", id="key-with-suffix"),
    ],
)
@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_missing_or_wrong_key_is_401_with_empty_object(
    emulator: EmulatorProcess, method: str, path: str, body: Any, authorization: str | None
) -> None:
    headers = emulator.headers()
    del headers["Authorization"]
    if authorization is not None:
        headers["Authorization"] = authorization.format(key=emulator.api_key)
    response = call(emulator, method, path, body, headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    assert [user["username"] for user in emulator.users()] == ["existing"]


@pytest.mark.parametrize(
    "scheme", [pytest.param("Bearer", id="Bearer"), pytest.param("bearer", id="bearer"), pytest.param("BEARER", id="BEARER")]
)
def test_bearer_scheme_is_case_insensitive(emulator: EmulatorProcess, scheme: str) -> None:
    headers = dict(emulator.headers(), Authorization=f"{scheme} {emulator.api_key}")
    response = requests.post(emulator.users_url(), json={"username": "a"}, headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "problem",
    [
        pytest.param("no-version", id="missing-version"),
        pytest.param("bad-body", id="bad-body"),
        pytest.param("too-large", id="too-large-body"),
    ],
)
def test_auth_is_checked_before_validation(emulator: EmulatorProcess, problem: str) -> None:
    headers = {"Content-Type": "application/json"}
    if problem != "no-version":
        headers["x-api-version"] = "2025-09"
    data = {"bad-body": b"{not json", "too-large": b"x" * (MAX_BODY_BYTES + 1)}.get(problem, b'{"username": "a"}')
    response = requests.post(emulator.users_url(), data=data, headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 401
    assert response.json() == {}


# --- x-api-version -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_missing_api_version_is_400_naming_the_header(emulator: EmulatorProcess, method: str, path: str, body: Any) -> None:
    response = call(emulator, method, path, body, emulator.headers(api_version=None))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert "x-api-version" in response.json()["message"]
    assert [user["username"] for user in emulator.users()] == ["existing"]


@pytest.mark.parametrize(
    "version",
    [pytest.param("2024-01", id="older"), pytest.param("2025-10", id="newer"), pytest.param("", id="empty"), pytest.param("2025-9", id="malformed")],
)
def test_unknown_api_version_is_400(emulator: EmulatorProcess, version: str) -> None:
    response = requests.post(
        emulator.users_url(), json={"username": "a"}, headers=emulator.headers(api_version=version), timeout=TIMEOUT_S
    )
    assert response.status_code == 400
    assert "x-api-version" in response.json()["message"]
    assert emulator.users() == []


# --- bodies -------------------------------------------------------------------------------------

BAD_CREATE_BODIES = [
    pytest.param(b"{not json", "application/json", "not valid JSON", id="not-json"),
    pytest.param(b"", "application/json", "required", id="empty-body"),
    pytest.param(b"[]", "application/json", "JSON object", id="array"),
    pytest.param(b'"jane"', "application/json", "JSON object", id="string"),
    pytest.param(b"null", "application/json", "JSON object", id="null"),
    pytest.param(b"42", "application/json", "JSON object", id="number"),
    pytest.param(b"{}", "application/json", "username is required", id="missing-username"),
    pytest.param(b'{"fullName": "Jane"}', "application/json", "username is required", id="full-name-only"),
    pytest.param(b'{"username": ""}', "application/json", "must not be empty", id="empty-username"),
    pytest.param(b'{"username": "   "}', "application/json", "must not be empty", id="blank-username"),
    pytest.param(b'{"username": 42}', "application/json", "username must be a string", id="number-username"),
    pytest.param(b'{"username": null}', "application/json", "username must be a string", id="null-username"),
    pytest.param(b'{"username": true}', "application/json", "username must be a string", id="bool-username"),
    pytest.param(b'{"username": ["a"]}', "application/json", "username must be a string", id="list-username"),
    pytest.param(b'{"username": "a", "fullName": 1}', "application/json", "fullName must be a string", id="number-full-name"),
    pytest.param(b'{"username": "a", "fullName": null}', "application/json", "fullName must be a string", id="null-full-name"),
    pytest.param(b'{"username": "a", "fullName": {}}', "application/json", "fullName must be a string", id="object-full-name"),
    pytest.param(b'{"username": "\\ud800"}', "application/json", "valid Unicode", id="lone-surrogate"),
    pytest.param(b'{"username": "a", "x": NaN}', "application/json", "not valid JSON", id="nan-constant"),
    pytest.param(b'{"username": "\xff"}', "application/json", "not valid JSON", id="not-utf8"),
    pytest.param(b'{"username": "a"}', "text/plain", "Content-Type", id="text-plain"),
    pytest.param(b"username=a", "application/x-www-form-urlencoded", "Content-Type", id="form-encoded"),
    pytest.param(b"[" * 20000 + b"]" * 20000, "application/json", "not valid JSON", id="deep-nesting"),
]


@pytest.mark.parametrize(("data", "content_type", "message"), BAD_CREATE_BODIES)
def test_bad_create_body_is_400_with_a_message(
    emulator: EmulatorProcess, data: bytes, content_type: str, message: str
) -> None:
    headers = dict(emulator.headers(), **{"Content-Type": content_type})
    response = requests.post(emulator.users_url(), data=data, headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert message in response.json()["message"]
    assert emulator.users() == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"{}", "nothing to update", id="empty-object"),
        pytest.param(b'{"role": "admin"}', "nothing to update", id="only-unknown-fields"),
        pytest.param(b'{"username": ""}', "must not be empty", id="empty-username"),
        pytest.param(b'{"username": null}', "username must be a string", id="null-username"),
        pytest.param(b'{"fullName": null}', "fullName must be a string", id="null-full-name"),
        pytest.param(b'{"fullName": 3}', "fullName must be a string", id="number-full-name"),
        pytest.param(b"not json", "not valid JSON", id="not-json"),
        pytest.param(b"[]", "JSON object", id="array"),
    ],
)
def test_bad_update_body_is_400_and_changes_nothing(emulator: EmulatorProcess, data: bytes, message: str) -> None:
    user_id = emulator.admin.seed_user("jane", "Jane")
    response = requests.put(emulator.users_url(user_id), data=data, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert [(u["username"], u["fullName"]) for u in emulator.users()] == [("jane", "Jane")]


def test_json_content_type_with_charset_is_accepted(emulator: EmulatorProcess) -> None:
    headers = dict(emulator.headers(), **{"Content-Type": "application/json; charset=utf-8"})
    response = requests.post(emulator.users_url(), data=b'{"username": "a"}', headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "chunked", [pytest.param(False, id="with-content-length"), pytest.param(True, id="chunked-without-length")]
)
def test_body_over_the_limit_is_413_json(emulator: EmulatorProcess, chunked: bool) -> None:
    payload = b'{"username": "a", "fullName": "' + b"x" * MAX_BODY_BYTES + b'"}'
    data: Any = iter([payload[:1000], payload[1000:]]) if chunked else payload
    response = requests.post(emulator.users_url(), data=data, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert str(MAX_BODY_BYTES) in response.json()["message"]
    assert emulator.users() == []


def test_body_just_under_the_limit_is_accepted(emulator: EmulatorProcess) -> None:
    overhead = len(b'{"username": "a", "fullName": ""}')
    payload = b'{"username": "a", "fullName": "' + b"x" * (MAX_BODY_BYTES - overhead) + b'"}'
    assert len(payload) == MAX_BODY_BYTES
    response = requests.post(emulator.users_url(), data=payload, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 200
