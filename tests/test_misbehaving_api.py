"""An API that breaks its contract: garbled bodies, missing or changing ids,
bodies cut off mid-JSON. The client names the call and the problem with a
typed error; the provider never records a bogus id and never creates twice;
a later healthy run converges.

The double (``tests.support.scripted_api``) sits in front of the emulator: unscripted
requests reach it, so the emulator holds the truth the tests compare with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from providers.alloy_user import AlloyRenameRefusedError, AlloyUserProvider
from providers.alloy.client import AlloyClient, ClientSettings
from providers.alloy.errors import AlloyProtocolError, AlloyServerError
from tests.support.scripted_api import ScriptedApi, answer, cut_off, json_answer, rewritten
from tests.support.manifests import TWO_USERS

FAST_BACKOFF_S = 0.01
# alloy:maxRetries of the provider runs: a create is attempted this many times plus one.
MAX_RETRIES = 2
OTHER_ID = "0123456789abcdef01234567"
MAINTENANCE_PAGE = b"<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>\n"
GATEWAY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"
)
EXTRA_FIELDS = {"createdAt": "2025-09-01T00:00:00Z", "roles": ["admin"], "meta": {"source": None}, "score": 1.5}


@pytest.fixture
def api(emulator) -> Iterator[ScriptedApi]:
    """The scripted double in front of the (reset) test emulator."""
    with ScriptedApi(emulator.url) as double:
        yield double


@pytest.fixture
def client(api, emulator) -> Iterator[AlloyClient]:
    """A client of the double that does not retry (each call is one request)."""
    made = AlloyClient(ClientSettings(base_url=api.url, api_key=emulator.api_key, max_retries=0, backoff_s=FAST_BACKOFF_S))
    yield made
    made.close()


@pytest.fixture
def provider(api, emulator) -> AlloyUserProvider:
    """A configured provider whose API is the double."""
    made = AlloyUserProvider()
    raw = {"alloy:baseUrl": api.url, "alloy:apiKey": emulator.api_key, "alloy:maxRetries": str(MAX_RETRIES)}
    made.configure(ConfigureRequest(Config(raw, "alloy")))
    return made


# -- the client: one typed error naming method, path, status and problem ---------

Operation = Callable[[AlloyClient, str], Any]


def create(client: AlloyClient, _user_id: str) -> Any:
    return client.create_user("grace@example.com", "Grace Hopper")


def get(client: AlloyClient, user_id: str) -> Any:
    return client.get_user(user_id)


def list_all(client: AlloyClient, _user_id: str) -> Any:
    return client.list_users()


def update(client: AlloyClient, user_id: str) -> Any:
    return client.update_user(user_id, full_name="Ada King")


def delete(client: AlloyClient, user_id: str) -> Any:
    return client.delete_user(user_id)


def without(key: str) -> Callable[[Any], Any]:
    return lambda document: {k: v for k, v in document.items() if k != key}


def replacing(key: str, value: Any) -> Callable[[Any], Any]:
    return lambda document: {**document, key: value}


@pytest.mark.parametrize(
    "route, reply, operation, error_type, status, problem",
    [
        pytest.param("POST /users", answer(200, MAINTENANCE_PAGE, "text/html"), create, AlloyProtocolError, 200,
                     "not JSON", id="html-200-on-create"),
        pytest.param("GET /users/{ref}", answer(200, MAINTENANCE_PAGE, "text/html"), get, AlloyProtocolError, 200,
                     "not JSON", id="html-200-on-get"),
        pytest.param("GET /users", answer(200, MAINTENANCE_PAGE, "text/html"), list_all, AlloyProtocolError, 200,
                     "not JSON", id="html-200-on-list"),
        pytest.param("PUT /users/{ref}", answer(200, MAINTENANCE_PAGE, "text/html"), update, AlloyProtocolError, 200,
                     "not JSON", id="html-200-on-update"),
        pytest.param("DELETE /users/{ref}", answer(200, MAINTENANCE_PAGE, "text/html"), delete, AlloyProtocolError,
                     200, "not JSON", id="html-200-on-delete"),
        pytest.param("POST /users", answer(502, GATEWAY_PAGE, "text/html"), create, AlloyServerError, 502,
                     "Bad Gateway", id="html-502-on-create"),
        pytest.param("GET /users", answer(502, GATEWAY_PAGE, "text/html"), list_all, AlloyServerError, 502,
                     "Bad Gateway", id="html-502-on-list"),
        pytest.param("POST /users", json_answer(200, {"id": OTHER_ID}), create, AlloyProtocolError, 200,
                     "no userId", id="create-without-userId"),
        pytest.param("POST /users", json_answer(200, {"userId": None}), create, AlloyProtocolError, 200,
                     "no userId", id="create-userId-null"),
        pytest.param("POST /users", json_answer(200, {"userId": 675987329}), create, AlloyProtocolError, 200,
                     "userId is a number", id="create-userId-number"),
        pytest.param("POST /users", json_answer(200, {"userId": ""}), create, AlloyProtocolError, 200,
                     "userId is an empty string", id="create-userId-empty"),
        pytest.param("POST /users", json_answer(200, [{"userId": OTHER_ID}]), create, AlloyProtocolError, 200,
                     "not a JSON object", id="create-answers-a-list"),
        pytest.param("GET /users/{ref}", rewritten(without("userId")), get, AlloyProtocolError, 200,
                     "no userId", id="get-without-userId"),
        pytest.param("GET /users/{ref}", rewritten(replacing("userId", OTHER_ID)), get, AlloyProtocolError, 200,
                     f"another user ({OTHER_ID})", id="get-answers-another-user"),
        pytest.param("GET /users/{ref}", rewritten(replacing("fullName", 5)), get, AlloyProtocolError, 200,
                     "fullName is not a string", id="get-fullName-number"),
        pytest.param("GET /users", json_answer(200, {"users": []}), list_all, AlloyProtocolError, 200,
                     "no 'data' list", id="list-without-data"),
        pytest.param("GET /users", json_answer(200, {"data": {}}), list_all, AlloyProtocolError, 200,
                     "no 'data' list", id="list-data-is-an-object"),
        pytest.param("GET /users", json_answer(200, {"data": [{"username": "x"}]}), list_all, AlloyProtocolError,
                     200, "no userId", id="listed-user-without-userId"),
        pytest.param("PUT /users/{ref}", json_answer(200, {"userId": 7}), update, AlloyProtocolError, 200,
                     "userId is a number", id="update-userId-number"),
        pytest.param("POST /users", answer(200, b'{"userId": "6b0c1e'), create, AlloyProtocolError, 200,
                     "not JSON", id="create-json-ends-early"),
        pytest.param("POST /users", cut_off(12, json.dumps({"userId": OTHER_ID}).encode()), create,
                     AlloyProtocolError, 200, "cut off", id="create-body-cut-off"),
        pytest.param("GET /users", cut_off(15), list_all, AlloyProtocolError, 200, "cut off", id="list-body-cut-off"),
    ],
)
def test_broken_answers_raise_a_typed_error_naming_the_call(
    api, client, emulator, route, reply, operation: Operation, error_type, status, problem
):
    user_id = emulator.admin.seed_user("ada@example.com", "Ada Lovelace")
    api.script(route, reply)
    with pytest.raises(error_type) as raised:
        operation(client, user_id)
    error = raised.value
    method = route.split()[0]
    path = route.split()[1].replace("{ref}", user_id)
    message = str(error)
    assert (error.method, error.path, error.status) == (method, path, status)
    assert f"{method} {path}" in message and str(status) in message and problem in message
    assert emulator.api_key not in message
    assert "\n" not in message


def test_unexpected_fields_are_tolerated_everywhere(api, client, emulator):
    def with_extras(document: Any) -> Any:
        if isinstance(document, dict) and isinstance(document.get("data"), list):
            return {**EXTRA_FIELDS, "data": [{**item, **EXTRA_FIELDS} for item in document["data"]]}
        return {**document, **EXTRA_FIELDS}

    for route in ("POST /users", "GET /users", "GET /users/{ref}", "PUT /users/{ref}", "DELETE /users/{ref}"):
        api.script(route, rewritten(with_extras))
    user_id = client.create_user("ada@example.com", "Ada Lovelace")
    assert user_id == emulator.users()[0]["userId"]
    assert client.get_user(user_id).full_name == "Ada Lovelace"
    assert client.find_user_by_username("ada@example.com").user_id == user_id
    assert [user.user_id for user in client.list_users()] == [user_id]
    assert client.update_user(user_id, full_name="Ada King").full_name == "Ada King"
    assert client.delete_user(user_id) is True
    assert emulator.users() == []
    assert all(call.scripted for call in api.calls)


def test_gateway_page_on_a_read_is_retried(api, emulator):
    api.script("GET /users", answer(502, GATEWAY_PAGE, "text/html"), times=2)
    client = AlloyClient(ClientSettings(base_url=api.url, api_key=emulator.api_key, max_retries=2, backoff_s=FAST_BACKOFF_S))
    try:
        assert client.list_users() == []
    finally:
        client.close()
    assert api.lines() == ["GET /users?limit=50"] * 3


# -- the provider: an unknown outcome is looked up, never posted blindly ---------


@pytest.mark.parametrize(
    "garbled",
    [
        pytest.param(answer(200, MAINTENANCE_PAGE, "text/html", forward=True), id="html-200"),
        pytest.param(answer(502, GATEWAY_PAGE, "text/html", forward=True), id="html-502"),
        pytest.param(json_answer(200, {"userId": ""}, forward=True), id="empty-userId"),
        pytest.param(json_answer(200, {"created": True}, forward=True), id="no-userId"),
        pytest.param(cut_off(12), id="cut-off-mid-json"),
    ],
)
def test_create_garbled_after_commit_adopts_its_own_user(api, provider, emulator, garbled):
    api.script("POST /users", garbled)
    result = provider.create({"username": "grace@example.com", "fullName": "Grace Hopper"})
    stored = emulator.users()
    assert [user["username"] for user in stored] == ["grace@example.com"]
    assert result.id == stored[0]["userId"]
    assert result.outs == {"userId": result.id, "username": "grace@example.com", "fullName": "Grace Hopper"}
    # The run's one listing of the account, then the POST and its lookup.
    assert api.lines() == ["GET /users?limit=50", "POST /users", "GET /users/grace@example.com"]


def test_create_never_answered_properly_looks_up_before_every_new_post(api, provider, emulator):
    api.script("POST /users", json_answer(200, {"status": "queued"}))
    with pytest.raises(AlloyProtocolError, match="POST /users broke the documented API: the response has no userId"):
        provider.create({"username": "grace@example.com"})
    lookup = ["POST /users", "GET /users/grace@example.com", "GET /users?limit=50"]
    assert api.lines() == ["GET /users?limit=50"] + lookup * (MAX_RETRIES + 1)
    assert emulator.users() == []


def test_create_garbled_once_posts_again_after_the_lookup_finds_nothing(api, provider, emulator):
    api.script("POST /users", answer(200, MAINTENANCE_PAGE, "text/html"), times=1)
    result = provider.create({"username": "grace@example.com"})
    assert api.lines() == [
        "GET /users?limit=50", "POST /users", "GET /users/grace@example.com", "GET /users?limit=50", "POST /users"]
    assert [(u["username"], u["userId"]) for u in emulator.users()] == [("grace@example.com", result.id)]


def test_refresh_refuses_a_record_of_another_user(api, provider, emulator):
    ada = emulator.admin.seed_user("ada@example.com", "Ada Lovelace")
    grace = emulator.admin.seed_user("grace@example.com", "Grace Hopper")
    api.script("GET /users", json_answer(200, {"users": []}))  # read falls back to GET /users/{id}
    api.script("GET /users/{ref}", rewritten(replacing("userId", grace)))
    with pytest.raises(AlloyProtocolError, match=f"GET /users/{ada} .*another user \\({grace}\\)"):
        provider.read(ada, {"userId": ada, "username": "ada@example.com", "fullName": "Ada Lovelace"})


def test_refresh_survives_a_list_without_data(api, provider, emulator):
    ada = emulator.admin.seed_user("ada@example.com", "Changed Outside")
    api.script("GET /users", json_answer(200, {"users": []}))
    result = provider.read(ada, {"userId": ada, "username": "ada@example.com", "fullName": "Ada Lovelace"})
    assert (result.id, result.outs["fullName"]) == (ada, "Changed Outside")
    assert api.lines() == ["GET /users?limit=50", f"GET /users/{ada}"]


def test_update_answered_with_another_users_id_fails(api, provider, emulator):
    ada = emulator.admin.seed_user("ada@example.com", "Ada Lovelace")
    api.script("PUT /users/{ref}", rewritten(replacing("userId", OTHER_ID)))
    olds = {"userId": ada, "username": "ada@example.com", "fullName": "Ada Lovelace", "adopted": False}
    with pytest.raises(AlloyProtocolError, match=f"PUT /users/{ada} .*another user \\({OTHER_ID}\\)"):
        provider.update(ada, olds, {"username": "ada@example.com", "fullName": "Ada King"})


# -- end to end: state is never corrupted, and a healthy run converges ----------


def assert_state_matches_alloy(stack, emulator) -> dict[str, str]:
    """Every state file parses, and every AlloyUser in state carries the id
    that Alloy holds for its username. Returns username -> userId of state."""
    for path in stack.state_files():
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    alloy = {user["username"]: user["userId"] for user in emulator.users()}
    recorded = {}
    for resource in stack.resources():
        outputs = resource["outputs"]
        assert resource["id"] == outputs["userId"] == alloy[outputs["username"]], resource
        recorded[outputs["username"]] = resource["id"]
    return recorded


def assert_converged(stack, emulator) -> None:
    users = emulator.users()
    assert sorted(user["username"] for user in users) == ["ada@example.com", "grace@example.com"]
    assert {user["username"]: user["fullName"] for user in users} == {
        "ada@example.com": "Ada Lovelace", "grace@example.com": "Grace Hopper"}
    assert assert_state_matches_alloy(stack, emulator) == stack.output("userIds")
    assert sorted(stack.output("userIds")) == ["ada@example.com", "grace@example.com"]


@pytest.mark.e2e
def test_create_answered_without_an_id_records_nothing_bogus_and_a_healthy_run_converges(api, project, emulator):
    def is_grace(body: Any) -> bool:
        return isinstance(body, dict) and body.get("username") == "grace@example.com"

    api.script("POST /users", json_answer(200, {"status": "queued"}), when=is_grace)
    stack = project(TWO_USERS, base_url=api.url, config={"alloy:maxRetries": str(MAX_RETRIES)})
    result = stack.up(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "POST /users broke the documented API: the response has no userId" in output
    assert "Traceback" not in output
    assert emulator.api_key not in output
    assert stack.resource_names() == ["ada@example.com"]
    assert_state_matches_alloy(stack, emulator)
    # Each attempt was looked up before the next POST; none was recorded.
    assert sum(1 for call in api.calls if call.method == "POST" and is_grace(call.body)) == MAX_RETRIES + 1
    assert api.lines().count("GET /users/grace@example.com") == MAX_RETRIES + 1

    stack.config_set("alloy:baseUrl", emulator.url)
    stack.up()
    assert_converged(stack, emulator)


@pytest.mark.e2e
def test_create_committed_but_cut_off_mid_json_is_recorded_once_with_the_real_id(api, project, emulator):
    api.script("POST /users", cut_off(12))
    stack = project(TWO_USERS, base_url=api.url)
    result = stack.up()
    assert api.lines().count("POST /users") == 2  # one per user: found by the lookup, not posted again
    assert "adopted existing" not in result.stdout
    assert stack.output("adoptedUsers") == []
    assert_converged(stack, emulator)

    stack.config_set("alloy:baseUrl", emulator.url)
    emulator.reset_log()
    stack.up()
    assert emulator.write_count() == 0
    assert_converged(stack, emulator)


@pytest.mark.e2e
def test_update_answered_with_another_users_id_keeps_the_old_state_and_is_applied_later(api, project, emulator):
    stack = project(TWO_USERS, base_url=api.url)
    stack.up()
    ids = assert_state_matches_alloy(stack, emulator)
    api.script("PUT /users/{ref}", rewritten(replacing("userId", OTHER_ID)))
    stack.write_manifest(TWO_USERS.replace("Ada Lovelace", "Ada King"))
    result = stack.up(check=False)
    assert result.returncode != 0
    assert f"another user ({OTHER_ID})" in result.stdout + result.stderr
    ada = next(r for r in stack.resources() if r["outputs"]["username"] == "ada@example.com")
    assert ada["id"] == ids["ada@example.com"]
    assert OTHER_ID not in json.dumps(stack.export_state())

    stack.config_set("alloy:baseUrl", emulator.url)
    emulator.reset_log()
    stack.up()
    assert [entry["route"] for entry in emulator.requests()] == ["PUT /users/{userId}"]
    assert {u["username"]: u["fullName"] for u in emulator.users()}["ada@example.com"] == "Ada King"
    assert assert_state_matches_alloy(stack, emulator) == ids


# -- variations the docs leave open, which the client accepts ----------------------


def test_delete_answered_204_without_a_body_is_a_success(api, client, emulator):
    user_id = emulator.admin.seed_user("ada@example.com")
    api.script("DELETE /users/{ref}", answer(204, b"", forward=True))
    assert client.delete_user(user_id) is True
    assert emulator.users() == []


def test_update_answered_without_a_body_returns_the_change_as_sent(api, client, emulator):
    user_id = emulator.admin.seed_user("ada@example.com", "Ada")
    api.script("PUT /users/{ref}", answer(200, b"", forward=True))
    record = client.update_user(user_id, username="ada.king@example.com", full_name="Ada King")
    assert (record.user_id, record.full_name) == (user_id, "Ada King")
    # An empty answer does not say that the rename took.
    assert record.username is None


RENAME_OLDS = {"username": "ada@example.com", "fullName": "Ada"}
RENAME_NEWS = {"username": "ada.king@example.com", "fullName": "Ada"}


@pytest.mark.parametrize("reply", [
    answer(200, b""),
    answer(204, b""),
    json_answer(200, {"userId": "{id}"}),
], ids=["200-empty", "204-empty", "200-without-username"])
def test_a_rename_answered_without_its_username_is_checked_and_an_ignored_one_fails(api, provider, emulator, reply):
    ada = emulator.admin.seed_user("ada@example.com", "Ada")
    if reply.body and b"{id}" in reply.body:
        reply = json_answer(200, {"userId": ada})
    # The API answers success but changes nothing (not forwarded).
    api.script("PUT /users/{ref}", reply)
    with pytest.raises(AlloyRenameRefusedError, match="GET /users/\\{userId\\} shows username 'ada@example.com'"):
        provider.update(ada, {**RENAME_OLDS, "userId": ada}, RENAME_NEWS)
    assert api.lines()[-1] == f"GET /users/{ada}"
    assert emulator.users()[0]["username"] == "ada@example.com"


def test_a_rename_answered_empty_that_took_is_confirmed_by_a_get(api, provider, emulator):
    ada = emulator.admin.seed_user("ada@example.com", "Ada")
    api.script("PUT /users/{ref}", answer(200, b"", forward=True))
    result = provider.update(ada, {**RENAME_OLDS, "userId": ada}, RENAME_NEWS)
    assert result.outs["username"] == "ada.king@example.com"
    assert api.lines()[-2:] == [f"PUT /users/{ada}", f"GET /users/{ada}"]


@pytest.mark.parametrize("envelope", ["data", "user"])
def test_single_user_in_an_envelope_is_unwrapped(api, client, emulator, envelope):
    user_id = emulator.admin.seed_user("ada@example.com", "Ada")
    api.script("GET /users/{ref}", rewritten(lambda user: {envelope: user}))
    record = client.get_user(user_id)
    assert (record.user_id, record.username, record.full_name) == (user_id, "ada@example.com", "Ada")


def test_conflict_with_other_letter_case_adopts_that_user(api, provider, emulator):
    existing = emulator.admin.seed_user("Ada@Example.com", "Ada")
    api.script("POST /users", answer(409, b'{"message": "username already exists"}'))
    result = provider.create({"username": "ada@example.com", "fullName": "Ada"})
    assert result.id == existing
    assert len(emulator.users()) == 1
