"""The emulator's users API, route by route: success shapes, 404, 409 and ordering."""

from __future__ import annotations

import re

import pytest
import requests

from emulator.testing import EmulatorProcess

TIMEOUT_S = 5
USER_ID = re.compile(r"\A[0-9a-f]{24}\Z")


def create(emulator: EmulatorProcess, username: str, full_name: str | None = None) -> requests.Response:
    body = {"username": username} if full_name is None else {"username": username, "fullName": full_name}
    return requests.post(emulator.users_url(), json=body, headers=emulator.headers(), timeout=TIMEOUT_S)


def test_create_returns_only_a_24_hex_user_id(emulator: EmulatorProcess) -> None:
    response = create(emulator, "jane@example.com", "Jane Doe")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["userId"]
    assert USER_ID.match(body["userId"])
    assert emulator.users()[0]["userId"] == body["userId"]


def test_create_without_full_name_shows_null_full_name(emulator: EmulatorProcess) -> None:
    user_id = create(emulator, "user_12345").json()["userId"]
    response = requests.get(emulator.users_url(user_id), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.json() == {"userId": user_id, "username": "user_12345", "fullName": None}


def test_create_ignores_unknown_fields(emulator: EmulatorProcess) -> None:
    # The seed's schema does not forbid additional properties.
    response = requests.post(
        emulator.users_url(), json={"username": "a", "role": "admin"}, headers=emulator.headers(), timeout=TIMEOUT_S
    )
    assert response.status_code == 200
    assert emulator.users()[0]["username"] == "a"


def test_duplicate_create_is_409_with_a_json_message(emulator: EmulatorProcess) -> None:
    assert create(emulator, "jane@example.com").status_code == 200
    response = create(emulator, "jane@example.com", "Another Jane")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": "username already exists"}
    assert len(emulator.users()) == 1


def test_usernames_compare_case_sensitively(emulator: EmulatorProcess) -> None:
    assert create(emulator, "Jane@Example.com").status_code == 200
    assert create(emulator, "jane@example.com").status_code == 200
    assert [user["username"] for user in emulator.users()] == ["Jane@Example.com", "jane@example.com"]


def test_list_returns_every_user_in_creation_order(emulator: EmulatorProcess) -> None:
    names = ["zed", "amy", "mike@example.com", "org_456_user_789"]
    ids = [create(emulator, name, f"Name {name}").json()["userId"] for name in names]
    response = requests.get(emulator.users_url(), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert response.json() == {
        "data": [{"userId": i, "username": n, "fullName": f"Name {n}"} for i, n in zip(ids, names)]
    }


def test_list_of_no_users_is_an_empty_list(emulator: EmulatorProcess) -> None:
    response = requests.get(emulator.users_url(), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.json() == {"data": []}


def test_list_accepts_the_documented_parent_workflow_id_query(emulator: EmulatorProcess) -> None:
    create(emulator, "a")
    response = requests.get(
        emulator.users_url(), params={"parentWorkflowId": "wf_1"}, headers=emulator.headers(), timeout=TIMEOUT_S
    )
    assert response.status_code == 200
    assert [user["username"] for user in response.json()["data"]] == ["a"]


@pytest.mark.parametrize("by", [pytest.param("userId", id="by-user-id"), pytest.param("username", id="by-username")])
def test_get_one_user(emulator: EmulatorProcess, by: str) -> None:
    user_id = create(emulator, "jane@example.com", "Jane Doe").json()["userId"]
    ref = user_id if by == "userId" else "jane@example.com"
    response = requests.get(emulator.users_url(ref), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert response.json() == {"userId": user_id, "username": "jane@example.com", "fullName": "Jane Doe"}


def test_a_user_id_match_wins_over_a_username_that_looks_like_an_id(emulator: EmulatorProcess) -> None:
    first_id = create(emulator, "first").json()["userId"]
    create(emulator, first_id)  # a second user whose username is the first one's id
    response = requests.get(emulator.users_url(first_id), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.json()["username"] == "first"


@pytest.mark.parametrize(
    "method",
    [pytest.param("GET", id="get"), pytest.param("PUT", id="put"), pytest.param("DELETE", id="delete")],
)
@pytest.mark.parametrize(
    "ref",
    [pytest.param("675987329f2bda83f0dff233", id="unknown-user-id"), pytest.param("nobody@example.com", id="unknown-username")],
)
def test_missing_user_is_404_with_a_json_message(emulator: EmulatorProcess, method: str, ref: str) -> None:
    create(emulator, "somebody")
    response = requests.request(
        method, emulator.users_url(ref), json={"fullName": "x"}, headers=emulator.headers(), timeout=TIMEOUT_S
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": "user not found"}


@pytest.mark.parametrize(
    ("body", "expected_username", "expected_full_name"),
    [
        pytest.param({"fullName": "Jane Q. Doe"}, "jane", "Jane Q. Doe", id="full-name-only"),
        pytest.param({"username": "jane.doe"}, "jane.doe", "Jane", id="username-only"),
        pytest.param({"username": "jd", "fullName": "J D"}, "jd", "J D", id="both"),
        pytest.param({"fullName": ""}, "jane", "", id="empty-full-name"),
        pytest.param({"username": "jane"}, "jane", "Jane", id="rename-to-own-name"),
    ],
)
def test_update_changes_the_given_fields(
    emulator: EmulatorProcess, body: dict[str, str], expected_username: str, expected_full_name: str
) -> None:
    user_id = create(emulator, "jane", "Jane").json()["userId"]
    response = requests.put(emulator.users_url(user_id), json=body, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert response.json() == {"userId": user_id, "fullName": expected_full_name, "username": expected_username}
    assert list(response.json()) == ["userId", "fullName", "username"]
    stored = emulator.users()[0]
    assert (stored["userId"], stored["username"], stored["fullName"]) == (user_id, expected_username, expected_full_name)


def test_update_by_username(emulator: EmulatorProcess) -> None:
    user_id = create(emulator, "jane@example.com").json()["userId"]
    response = requests.put(
        emulator.users_url("jane@example.com"), json={"username": "jane@corp.example"}, headers=emulator.headers(), timeout=TIMEOUT_S
    )
    assert response.json() == {"userId": user_id, "fullName": None, "username": "jane@corp.example"}


def test_rename_onto_a_taken_username_is_409_and_changes_nothing(emulator: EmulatorProcess) -> None:
    create(emulator, "alice")
    bob_id = create(emulator, "bob", "Bob").json()["userId"]
    response = requests.put(
        emulator.users_url(bob_id), json={"username": "alice", "fullName": "Bobby"}, headers=emulator.headers(), timeout=TIMEOUT_S
    )
    assert response.status_code == 409
    assert response.json() == {"message": "username already exists"}
    assert [(u["username"], u["fullName"]) for u in emulator.users()] == [("alice", None), ("bob", "Bob")]


def test_renamed_user_keeps_its_id_and_its_old_name_is_free(emulator: EmulatorProcess) -> None:
    user_id = create(emulator, "old").json()["userId"]
    requests.put(emulator.users_url("old"), json={"username": "new"}, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert requests.get(emulator.users_url("old"), headers=emulator.headers(), timeout=TIMEOUT_S).status_code == 404
    assert requests.get(emulator.users_url("new"), headers=emulator.headers(), timeout=TIMEOUT_S).json()["userId"] == user_id
    assert create(emulator, "old").status_code == 200


@pytest.mark.parametrize("by", [pytest.param("userId", id="by-user-id"), pytest.param("username", id="by-username")])
def test_delete_removes_the_user(emulator: EmulatorProcess, by: str) -> None:
    user_id = create(emulator, "jane").json()["userId"]
    keep_id = create(emulator, "keep").json()["userId"]
    ref = user_id if by == "userId" else "jane"
    response = requests.delete(emulator.users_url(ref), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert [user["userId"] for user in emulator.users()] == [keep_id]
    again = requests.delete(emulator.users_url(ref), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert again.status_code == 404


def test_username_with_url_characters_is_addressable(emulator: EmulatorProcess) -> None:
    username = "jane+test@example.com?x=1#frag"
    user_id = create(emulator, username).json()["userId"]
    response = requests.get(emulator.users_url(username), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert response.json()["userId"] == user_id


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("PATCH", "/users", 405, id="patch-collection"),
        pytest.param("POST", "/users/abc", 405, id="post-item"),
        pytest.param("GET", "/users/", 404, id="trailing-slash"),
        pytest.param("GET", "/accounts", 404, id="unknown-path"),
    ],
)
def test_unknown_routes_answer_json(emulator: EmulatorProcess, method: str, path: str, status: int) -> None:
    response = requests.request(method, emulator.url + path, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["message"], str)


# --- POST /users/ (the Embedded reference's spelling) ---------------------------------------------


@pytest.mark.parametrize("path", [pytest.param("/users", id="no-slash"), pytest.param("/users/", id="trailing-slash")])
def test_create_with_or_without_trailing_slash(emulator: EmulatorProcess, path: str) -> None:
    response = requests.post(emulator.url + path, json={"username": "jane", "fullName": "Jane"}, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()) == ["userId"]
    assert USER_ID.match(response.json()["userId"])
    assert [(u["userId"], u["username"], u["fullName"]) for u in emulator.users()] == [(response.json()["userId"], "jane", "Jane")]
    entry = emulator.requests()[-1]
    assert (entry["path"], entry["route"], entry["status"]) == (path, "POST /users", 200)
    assert emulator.admin.counters()["POST /users"] == 1


def test_trailing_slash_create_refuses_a_duplicate_like_post_users(emulator: EmulatorProcess) -> None:
    assert create(emulator, "jane").status_code == 200
    response = requests.post(emulator.url + "/users/", json={"username": "jane"}, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 409
    assert response.json() == {"message": "username already exists"}


def test_trailing_slash_create_validates_and_meets_post_users_faults(emulator: EmulatorProcess) -> None:
    url = emulator.url + "/users/"
    bad = requests.post(url, json={"fullName": "x"}, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert (bad.status_code, bad.json()) == (400, {"message": "username is required"})
    emulator.admin.set_faults(fail_next=[{"fault": 503, "route": "POST /users"}])
    assert requests.post(url, json={"username": "a"}, headers=emulator.headers(), timeout=TIMEOUT_S).status_code == 503
    assert emulator.users() == []


@pytest.mark.parametrize("method", [pytest.param("GET", id="get"), pytest.param("PUT", id="put"), pytest.param("DELETE", id="delete")])
def test_only_post_is_served_on_the_trailing_slash(emulator: EmulatorProcess, method: str) -> None:
    response = requests.request(method, emulator.url + "/users/", json={"fullName": "x"}, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 404
    assert isinstance(response.json()["message"], str)
