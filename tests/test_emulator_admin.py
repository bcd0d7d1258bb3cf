"""The admin API under /_emulator/: request log (never the key), counters, reset, seeding, OpenAPI."""

from __future__ import annotations

import json

import pytest
import requests
from ruamel.yaml import YAML

from emulator.defaults import SEED_OPENAPI_PATH
from emulator.testing import AdminError, EmulatorProcess

TIMEOUT_S = 5


def test_request_log_never_contains_a_key(emulator: EmulatorProcess) -> None:
    wrong_key = "wrong-key-5b1e0c9f7a3d"
    assert emulator.api_key.startswith("emu-test-key-")
    emulator.admin.set_faults(fail_next=["503", "drop_after_commit"])
    for key in (emulator.api_key, emulator.api_key, emulator.api_key, wrong_key):
        try:
            requests.post(emulator.users_url(), json={"username": "a"}, headers=emulator.headers(api_key=key), timeout=TIMEOUT_S)
        except requests.ConnectionError:
            pass
    requests.get(emulator.users_url(), headers={"Authorization": f"bearer {emulator.api_key}"}, timeout=TIMEOUT_S)
    everything = json.dumps(emulator.admin.requests()) + json.dumps(emulator.admin.counters())
    assert emulator.api_key not in everything
    assert wrong_key not in everything
    assert "Bearer" not in everything and "bearer" not in everything
    assert [entry["auth"] for entry in emulator.requests()] == ["ok", "ok", "ok", "invalid", "ok"]


def test_request_log_records_what_happened(emulator: EmulatorProcess) -> None:
    requests.post(emulator.users_url(), json={"username": "jane"}, headers=emulator.headers(), timeout=TIMEOUT_S)
    requests.get(emulator.users_url("jane") + "?x=1", headers=emulator.headers(), timeout=TIMEOUT_S)
    requests.get(emulator.url + "/elsewhere", timeout=TIMEOUT_S)
    entries = emulator.requests()
    assert [(e["seq"], e["method"], e["path"], e["route"], e["status"], e["auth"]) for e in entries] == [
        (1, "POST", "/users", "POST /users", 200, "ok"),
        (2, "GET", "/users/jane", "GET /users/{userId}", 200, "ok"),
        (3, "GET", "/elsewhere", None, 401, "missing"),
    ]
    assert all(e["delivered"] and e["fault"] is None and e["time"].endswith("Z") for e in entries)
    assert set(entries[0]) == {
        "seq", "time", "method", "path", "route", "status", "delivered", "fault", "latency_ms", "auth", "duration_ms",
    }  # fmt: skip


def test_counters_count_every_request_per_route(emulator: EmulatorProcess) -> None:
    assert emulator.admin.counters() == {
        "POST /users": 0,
        "GET /users": 0,
        "GET /users/{userId}": 0,
        "PUT /users/{userId}": 0,
        "DELETE /users/{userId}": 0,
    }
    headers = emulator.headers()
    for name in ("a", "b", "a"):
        requests.post(emulator.users_url(), json={"username": name}, headers=headers, timeout=TIMEOUT_S)
    requests.get(emulator.users_url(), timeout=TIMEOUT_S)  # 401 still counts
    requests.put(emulator.users_url("a"), json={"fullName": "A"}, headers=headers, timeout=TIMEOUT_S)
    requests.delete(emulator.users_url("b"), headers=headers, timeout=TIMEOUT_S)
    requests.patch(emulator.users_url(), headers=headers, timeout=TIMEOUT_S)  # not a route
    assert emulator.admin.counters() == {
        "POST /users": 3,
        "GET /users": 1,
        "GET /users/{userId}": 0,
        "PUT /users/{userId}": 1,
        "DELETE /users/{userId}": 1,
    }
    assert emulator.write_count() == 5
    assert emulator.request_count() == 7


def test_reset_wipes_users_log_counters_and_faults(emulator: EmulatorProcess) -> None:
    emulator.admin.seed_user("jane")
    requests.get(emulator.users_url(), headers=emulator.headers(), timeout=TIMEOUT_S)
    emulator.admin.set_faults(latency_ms=5)
    emulator.admin.reset()
    assert emulator.users() == []
    assert emulator.requests() == []
    assert set(emulator.admin.counters().values()) == {0}
    assert emulator.admin.faults()["latency_ms"] == 0


def test_reset_log_keeps_users_and_faults(emulator: EmulatorProcess) -> None:
    emulator.admin.seed_user("jane")
    emulator.admin.set_faults(latency_ms=5)
    requests.get(emulator.users_url(), headers=emulator.headers(), timeout=TIMEOUT_S)
    emulator.reset_log()
    assert emulator.requests() == []
    assert emulator.admin.counters()["GET /users"] == 0
    assert [user["username"] for user in emulator.users()] == ["jane"]
    assert emulator.admin.faults()["latency_ms"] == 5


def test_seeded_users_are_served_by_the_public_api(emulator: EmulatorProcess) -> None:
    fixed = "675987329f2bda83f0dff233"
    assert emulator.admin.seed_user("jane@example.com", "Jane", user_id=fixed) == fixed
    other = emulator.admin.seed_user("bob")
    response = requests.get(emulator.users_url(), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.json()["data"] == [
        {"userId": fixed, "username": "jane@example.com", "fullName": "Jane"},
        {"userId": other, "username": "bob", "fullName": None},
    ]
    assert emulator.requests()[0]["route"] == "GET /users"  # seeding itself is not logged
    raw = emulator.users()[0]
    assert set(raw) == {"seq", "userId", "username", "fullName", "createdAt", "updatedAt"}


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        pytest.param({"username": "jane"}, 409, id="duplicate-username"),
        pytest.param({"username": "other", "user_id": "675987329f2bda83f0dff233"}, 409, id="duplicate-user-id"),
        pytest.param({"username": "other", "user_id": "XYZ"}, 400, id="malformed-user-id"),
        pytest.param({"username": ""}, 400, id="empty-username"),
    ],
)
def test_seeding_refuses_conflicts_and_bad_input(emulator: EmulatorProcess, kwargs: dict[str, str], status: int) -> None:
    emulator.admin.seed_user("jane", user_id="675987329f2bda83f0dff233")
    with pytest.raises(AdminError) as error:
        emulator.admin.seed_user(**kwargs)
    assert error.value.status_code == status


def test_admin_api_needs_no_key_and_answers_json(emulator: EmulatorProcess) -> None:
    for path in ("health", "faults", "requests", "counters", "users", "openapi.json"):
        response = requests.get(f"{emulator.url}/_emulator/{path}", timeout=TIMEOUT_S)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/json"
    missing = requests.get(f"{emulator.url}/_emulator/nothing-here", timeout=TIMEOUT_S)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"


def test_openapi_document_is_the_seed_and_lists_no_admin_path(emulator: EmulatorProcess) -> None:
    document = emulator.admin.openapi()
    assert document == YAML(typ="safe").load(SEED_OPENAPI_PATH.read_text(encoding="utf-8"))
    assert list(document["paths"]) == ["/users"]
    assert list(document["paths"]["/users"]) == ["post"]
    assert "_emulator" not in json.dumps(document)
    text = requests.get(f"{emulator.url}/_emulator/openapi.yaml", timeout=TIMEOUT_S).text
    assert text == SEED_OPENAPI_PATH.read_text(encoding="utf-8")



# --- users without a username (Alloy's list example has one) -------------------------------------


def test_a_seeded_user_without_username_is_listed_without_the_key(emulator: EmulatorProcess) -> None:
    named = emulator.admin.seed_user("jane", "Jane")
    nameless = emulator.admin.seed_user(None, "Legacy Integration")
    bare = emulator.admin.seed_user(None)
    response = requests.get(emulator.users_url(), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.json() == {
        "data": [
            {"userId": named, "username": "jane", "fullName": "Jane"},
            {"userId": nameless, "fullName": "Legacy Integration"},
            {"userId": bare, "fullName": None},
        ]
    }
    one = requests.get(emulator.users_url(nameless), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert one.json() == {"userId": nameless, "fullName": "Legacy Integration"}
    assert [user["username"] for user in emulator.users()] == ["jane", None, None]


def test_a_user_without_username_can_be_updated_and_deleted(emulator: EmulatorProcess) -> None:
    user_id = emulator.admin.seed_user(None, "Old")
    response = requests.put(emulator.users_url(user_id), json={"fullName": "New"}, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.json() == {"userId": user_id, "fullName": "New"}
    named = requests.put(emulator.users_url(user_id), json={"username": "now-named"}, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert named.json() == {"userId": user_id, "fullName": "New", "username": "now-named"}
    assert requests.delete(emulator.users_url(user_id), headers=emulator.headers(), timeout=TIMEOUT_S).json() == {"success": True}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"username": None, "fullName": "x"}, 200, id="null-username"),
        pytest.param({"fullName": "x"}, 400, id="username-left-out"),
        pytest.param({"username": None, "fullName": 5}, 400, id="null-username-bad-full-name"),
    ],
)
def test_seeding_without_username_needs_an_explicit_null(emulator: EmulatorProcess, body: dict[str, object], status: int) -> None:
    response = requests.post(f"{emulator.url}/_emulator/users", json=body, timeout=TIMEOUT_S)
    assert response.status_code == status


def test_the_public_api_still_requires_a_username(emulator: EmulatorProcess) -> None:
    response = requests.post(emulator.users_url(), json={"username": None}, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert (response.status_code, response.json()) == (400, {"message": "username must be a string"})
