"""API variants, where Alloy's docs disagree: case-insensitive usernames, immutable usernames,
pagination of GET /users, the 401 body; switched by flag, EmulatorProcess keyword or admin API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator.cli import parse_settings
from emulator.faults import FaultConfig, FaultConfigError
from emulator.testing import AdminError, EmulatorProcess
from emulator.variants import ApiVariants

TIMEOUT_S = 5
VARIANT_DEFAULTS = {
    "case_insensitive_usernames": False,
    "immutable_usernames": "off",
    "page_size": 0,
    "unauthorized_body": "empty",
}


def create(emulator: EmulatorProcess, username: str, full_name: str | None = None) -> requests.Response:
    body = {"username": username} if full_name is None else {"username": username, "fullName": full_name}
    return requests.post(emulator.users_url(), json=body, headers=emulator.headers(), timeout=TIMEOUT_S)


def put(emulator: EmulatorProcess, ref: str, body: dict[str, Any]) -> requests.Response:
    return requests.put(emulator.users_url(ref), json=body, headers=emulator.headers(), timeout=TIMEOUT_S)


def list_users(emulator: EmulatorProcess, **params: Any) -> requests.Response:
    return requests.get(emulator.users_url(), params=params, headers=emulator.headers(), timeout=TIMEOUT_S)


def stored(emulator: EmulatorProcess) -> list[tuple[str | None, str | None]]:
    return [(user["username"], user["fullName"]) for user in emulator.users()]


# --- switching: flags, EmulatorProcess keywords, admin API, reset ------------------------------------


@pytest.mark.parametrize("how", [pytest.param("keywords", id="emulator-process-keywords"), pytest.param("flags", id="start-flags")])
def test_every_variant_can_be_set_at_start(emulator_factory: Callable[..., EmulatorProcess], how: str) -> None:
    if how == "keywords":
        process = emulator_factory(
            db=":memory:",
            case_insensitive_usernames=True,
            immutable_usernames="reject",
            page_size=2,
            unauthorized_body="legacy",
        )
    else:
        process = emulator_factory(
            db=":memory:",
            args=[
                "--case-insensitive-usernames",
                "--immutable-usernames", "reject",
                "--page-size", "2",
                "--unauthorized-body", "legacy",
            ],
        )  # fmt: skip
    faults = process.admin.faults()
    assert {key: faults[key] for key in VARIANT_DEFAULTS} == {
        "case_insensitive_usernames": True,
        "immutable_usernames": "reject",
        "page_size": 2,
        "unauthorized_body": "legacy",
    }
    for name in ("ada@x.test", "bob", "cy"):
        assert create(process, name).status_code == 200
    assert create(process, "ADA@x.test").status_code == 409
    assert put(process, "ada@x.test", {"username": "other"}).status_code == 400
    assert len(list_users(process).json()["data"]) == 2
    unauthorized = requests.get(process.users_url(), timeout=TIMEOUT_S)
    assert (unauthorized.status_code, unauthorized.json()) == (401, {"message": "Unauthorized"})


def test_defaults_are_the_2025_09_docs(emulator: EmulatorProcess) -> None:
    faults = emulator.admin.faults()
    assert {key: faults[key] for key in VARIANT_DEFAULTS} == VARIANT_DEFAULTS


def test_variants_switch_at_run_time_and_reset_puts_them_back(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(page_size=1, case_insensitive_usernames=True)
    create(emulator, "a")
    create(emulator, "b")
    assert len(list_users(emulator).json()["data"]) == 1
    emulator.admin.reset()
    create(emulator, "a")
    assert create(emulator, "A").status_code == 200
    assert list(list_users(emulator).json()) == ["data"]
    assert len(list_users(emulator).json()["data"]) == 2
    faults = emulator.admin.faults()
    assert {key: faults[key] for key in VARIANT_DEFAULTS} == VARIANT_DEFAULTS


def test_set_faults_replaces_variants_too_and_clear_faults_clears_them(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(page_size=10, immutable_usernames="ignore")
    assert emulator.admin.set_faults(latency_ms=1)["page_size"] == 0
    emulator.admin.set_faults(unauthorized_body="legacy")
    emulator.admin.clear_faults()
    assert emulator.admin.faults()["unauthorized_body"] == "empty"


def test_patch_merges_into_the_live_configuration(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(latency_ms=1, fail_next=[503, 502])
    merged = emulator.admin.update_faults(page_size=50)
    assert (merged["latency_ms"], merged["page_size"]) == (1, 50)
    assert [entry["fault"] for entry in merged["fail_next"]] == [503, 502]
    merged = emulator.admin.update_faults(immutable_usernames="reject")
    assert (merged["page_size"], merged["immutable_usernames"]) == (50, "reject")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"case_insensitive_usernames": "yes"}, "case_insensitive_usernames", id="case-not-a-boolean"),
        pytest.param({"immutable_usernames": "maybe"}, "immutable_usernames", id="unknown-immutable-mode"),
        pytest.param({"page_size": 51}, "page_size", id="page-size-above-50"),
        pytest.param({"page_size": -1}, "page_size", id="negative-page-size"),
        pytest.param({"page_size": "10"}, "page_size", id="string-page-size"),
        pytest.param({"page_size": True}, "page_size", id="boolean-page-size"),
        pytest.param({"unauthorized_body": "xml"}, "unauthorized_body", id="unknown-401-body"),
    ],
)
@pytest.mark.parametrize("method", [pytest.param("PUT", id="put"), pytest.param("PATCH", id="patch")])
def test_invalid_variant_is_400_and_keeps_the_old_configuration(
    emulator: EmulatorProcess, body: dict[str, Any], message: str, method: str
) -> None:
    emulator.admin.set_faults(page_size=5)
    response = requests.request(method, f"{emulator.url}/_emulator/faults", json=body, timeout=TIMEOUT_S)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert emulator.admin.faults()["page_size"] == 5


def test_variants_round_trip_through_json() -> None:
    data = {"case_insensitive_usernames": True, "immutable_usernames": "ignore", "page_size": 7, "unauthorized_body": "legacy"}
    config = FaultConfig.from_json(data)
    assert config.variants == ApiVariants(True, "ignore", 7, "legacy")
    assert FaultConfig.from_json(config.to_json()) == config
    assert FaultConfig.from_json({"immutable_usernames": None}).variants.immutable_usernames == "off"
    with pytest.raises(FaultConfigError, match="unknown fault option"):
        FaultConfig.from_json({"pagesize": 5})


def test_flags_override_the_faults_json() -> None:
    settings = parse_settings(
        ["--faults", '{"page_size": 5, "immutable_usernames": "ignore"}', "--page-size", "20", "--unauthorized-body", "legacy"],
        environ={},
    )
    assert settings.faults.variants == ApiVariants(False, "ignore", 20, "legacy")


# --- case-insensitive usernames ------------------------------------------------------------------------

CASE_PAIRS = [
    pytest.param("ada@x.test", "ADA@x.test", id="upper-case"),
    pytest.param("Jane@Example.com", "jane@example.COM", id="mixed-case"),
    pytest.param("straße@x.test", "STRASSE@x.test", id="unicode-casefold-sharp-s"),
    pytest.param("ΣΊΣΥΦΟΣ", "σίσυφος", id="unicode-final-sigma"),
]


@pytest.mark.parametrize(("existing", "other_case"), CASE_PAIRS)
def test_case_insensitive_create_of_another_case_is_the_duplicate_409(
    emulator: EmulatorProcess, existing: str, other_case: str
) -> None:
    emulator.admin.update_faults(case_insensitive_usernames=True)
    assert create(emulator, existing).status_code == 200
    response = create(emulator, other_case, "Someone Else")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"message": "username already exists"}
    assert stored(emulator) == [(existing, None)]


@pytest.mark.parametrize(("existing", "other_case"), CASE_PAIRS)
def test_by_default_another_case_is_another_user(emulator: EmulatorProcess, existing: str, other_case: str) -> None:
    assert create(emulator, existing).status_code == 200
    assert create(emulator, other_case).status_code == 200
    assert stored(emulator) == [(existing, None), (other_case, None)]


@pytest.mark.parametrize(("existing", "other_case"), CASE_PAIRS)
def test_case_insensitive_lookup_finds_the_user(emulator: EmulatorProcess, existing: str, other_case: str) -> None:
    emulator.admin.update_faults(case_insensitive_usernames=True)
    user_id = create(emulator, existing, "Ada").json()["userId"]
    response = requests.get(emulator.users_url(other_case), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert response.json() == {"userId": user_id, "username": existing, "fullName": "Ada"}


def test_exact_lookup_is_the_default(emulator: EmulatorProcess) -> None:
    create(emulator, "ada@x.test")
    response = requests.get(emulator.users_url("ADA@x.test"), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "body"),
    [pytest.param("PUT", {"fullName": "Changed"}, id="put"), pytest.param("DELETE", None, id="delete")],
)
def test_case_insensitive_path_applies_to_update_and_delete(
    emulator: EmulatorProcess, method: str, body: dict[str, str] | None
) -> None:
    emulator.admin.update_faults(case_insensitive_usernames=True)
    create(emulator, "ada@x.test")
    response = requests.request(method, emulator.users_url("ADA@X.TEST"), json=body, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 200
    assert stored(emulator) == ([("ada@x.test", "Changed")] if method == "PUT" else [])


def test_an_exact_match_wins_over_an_older_case_insensitive_one(emulator: EmulatorProcess) -> None:
    create(emulator, "ADA")  # both made while the comparison was exact
    lower_id = create(emulator, "ada").json()["userId"]
    emulator.admin.update_faults(case_insensitive_usernames=True)
    response = requests.get(emulator.users_url("ada"), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.json()["userId"] == lower_id
    assert requests.get(emulator.users_url("Ada"), headers=emulator.headers(), timeout=TIMEOUT_S).json()["username"] == "ADA"


@pytest.mark.parametrize(
    ("new_username", "status"),
    [
        pytest.param("ALICE", 409, id="onto-another-user-in-other-case"),
        pytest.param("Bob", 200, id="own-name-in-other-case"),
        pytest.param("bobby", 200, id="free-name"),
    ],
)
def test_case_insensitive_rename(emulator: EmulatorProcess, new_username: str, status: int) -> None:
    emulator.admin.update_faults(case_insensitive_usernames=True)
    create(emulator, "alice")
    bob_id = create(emulator, "bob", "Bob").json()["userId"]
    response = put(emulator, bob_id, {"username": new_username, "fullName": "Bobby"})
    assert response.status_code == status
    if status == 409:
        assert response.json() == {"message": "username already exists"}
        assert stored(emulator) == [("alice", None), ("bob", "Bob")]
    else:
        assert response.json() == {"userId": bob_id, "fullName": "Bobby", "username": new_username}


def test_case_insensitive_seeding_refuses_another_case(emulator: EmulatorProcess) -> None:
    emulator.admin.update_faults(case_insensitive_usernames=True)
    emulator.admin.seed_user("ada@x.test")
    with pytest.raises(AdminError) as error:
        emulator.admin.seed_user("Ada@X.test")
    assert error.value.status_code == 409


# --- immutable usernames ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "body", "status", "answer", "after"),
    [
        pytest.param("ignore", {"username": "jd"}, 200, {"fullName": "Jane", "username": "jane"}, ("jane", "Jane"), id="ignore-rename-only"),
        pytest.param("ignore", {"username": "jd", "fullName": "J D"}, 200, {"fullName": "J D", "username": "jane"}, ("jane", "J D"), id="ignore-rename-keeps-full-name-change"),
        pytest.param("reject", {"username": "jd"}, 400, {}, ("jane", "Jane"), id="reject-rename-only"),
        pytest.param("reject", {"username": "jd", "fullName": "J D"}, 400, {}, ("jane", "Jane"), id="reject-rename-changes-nothing"),
        pytest.param("reject", {"username": "JANE"}, 400, {}, ("jane", "Jane"), id="reject-case-change"),
        pytest.param("ignore", {"username": "jane", "fullName": "J D"}, 200, {"fullName": "J D", "username": "jane"}, ("jane", "J D"), id="ignore-same-username"),
        pytest.param("reject", {"username": "jane", "fullName": "J D"}, 200, {"fullName": "J D", "username": "jane"}, ("jane", "J D"), id="reject-same-username"),
        pytest.param("reject", {"fullName": "J D"}, 200, {"fullName": "J D", "username": "jane"}, ("jane", "J D"), id="reject-full-name-only"),
        pytest.param("off", {"username": "jd"}, 200, {"fullName": "Jane", "username": "jd"}, ("jd", "Jane"), id="off-renames"),
    ],
)  # fmt: skip
def test_immutable_usernames(
    emulator: EmulatorProcess,
    mode: str,
    body: dict[str, str],
    status: int,
    answer: dict[str, str],
    after: tuple[str, str],
) -> None:
    emulator.admin.update_faults(immutable_usernames=mode)
    user_id = create(emulator, "jane", "Jane").json()["userId"]
    response = put(emulator, user_id, body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    expected = answer if status == 400 else {"userId": user_id, **answer}
    assert response.json() == expected
    if status == 200:
        assert list(response.json()) == ["userId", "fullName", "username"]
    assert stored(emulator) == [after]


def test_immutable_ignore_never_conflicts(emulator: EmulatorProcess) -> None:
    emulator.admin.update_faults(immutable_usernames="ignore")
    create(emulator, "alice")
    bob_id = create(emulator, "bob").json()["userId"]
    response = put(emulator, bob_id, {"username": "alice"})
    assert (response.status_code, response.json()["username"]) == (200, "bob")


@pytest.mark.parametrize("mode", [pytest.param("ignore", id="ignore"), pytest.param("reject", id="reject")])
def test_immutable_modes_keep_404_and_validation_messages(emulator: EmulatorProcess, mode: str) -> None:
    emulator.admin.update_faults(immutable_usernames=mode)
    missing = put(emulator, "nobody", {"username": "x"})
    assert (missing.status_code, missing.json()) == (404, {"message": "user not found"})
    user_id = create(emulator, "jane").json()["userId"]
    bad = put(emulator, user_id, {"username": 5})
    assert bad.status_code == 400
    assert "username" in bad.json()["message"]


# --- pagination of GET /users --------------------------------------------------------------------------------


def seed(emulator: EmulatorProcess, count: int) -> list[str]:
    return [emulator.admin.seed_user(f"user{i:03}@example.com") for i in range(count)]


def test_following_next_offset_sees_120_users_exactly_once(emulator: EmulatorProcess) -> None:
    ids = seed(emulator, 120)
    emulator.admin.update_faults(page_size=50)
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    params: dict[str, int] = {}
    while True:
        response = list_users(emulator, **params)
        assert response.status_code == 200
        body = response.json()
        assert list(body) == ["data", "pagination"]
        pages.append(body["pagination"])
        seen += [user["userId"] for user in body["data"]]
        if not body["pagination"]["hasMore"]:
            break
        params = {"offset": body["pagination"]["nextOffset"]}
    assert seen == ids
    assert pages == [
        {"hasMore": True, "nextOffset": 50},
        {"hasMore": True, "nextOffset": 100},
        {"hasMore": False, "nextOffset": None},
    ]


@pytest.mark.parametrize(
    ("params", "expected", "pagination"),
    [
        pytest.param({}, range(0, 3), {"hasMore": True, "nextOffset": 3}, id="default-page-size"),
        pytest.param({"limit": "5"}, range(0, 5), {"hasMore": True, "nextOffset": 5}, id="limit-above-page-size"),
        pytest.param({"limit": "1", "offset": "2"}, range(2, 3), {"hasMore": True, "nextOffset": 3}, id="limit-and-offset"),
        pytest.param({"offset": "6"}, range(6, 7), {"hasMore": False, "nextOffset": None}, id="last-partial-page"),
        pytest.param({"offset": "4", "limit": "3"}, range(4, 7), {"hasMore": False, "nextOffset": None}, id="exactly-the-end"),
        pytest.param({"offset": "7"}, range(0), {"hasMore": False, "nextOffset": None}, id="offset-at-the-end"),
        pytest.param({"offset": "1000"}, range(0), {"hasMore": False, "nextOffset": None}, id="offset-past-the-end"),
        pytest.param({"limit": "50"}, range(0, 7), {"hasMore": False, "nextOffset": None}, id="limit-50"),
        pytest.param({"parentWorkflowId": "wf_1"}, range(0, 3), {"hasMore": True, "nextOffset": 3}, id="parent-workflow-id-ignored"),
    ],
)  # fmt: skip
def test_page_shapes(emulator: EmulatorProcess, params: dict[str, str], expected: range, pagination: dict[str, Any]) -> None:
    ids = seed(emulator, 7)
    emulator.admin.update_faults(page_size=3)
    response = list_users(emulator, **params)
    assert response.status_code == 200
    body = response.json()
    assert body["pagination"] == pagination
    assert [user["userId"] for user in body["data"]] == [ids[i] for i in expected]
    assert all(set(user) == {"userId", "username", "fullName"} for user in body["data"])


def test_an_empty_account_is_one_empty_page(emulator: EmulatorProcess) -> None:
    emulator.admin.update_faults(page_size=50)
    assert list_users(emulator).json() == {"data": [], "pagination": {"hasMore": False, "nextOffset": None}}


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("limit=51", id="limit-above-50"),
        pytest.param("limit=0", id="limit-zero"),
        pytest.param("limit=-1", id="negative-limit"),
        pytest.param("offset=-1", id="negative-offset"),
        pytest.param("limit=abc", id="non-integer-limit"),
        pytest.param("offset=1.5", id="fractional-offset"),
        pytest.param("limit=", id="empty-limit"),
        pytest.param("offset=%2B3", id="plus-signed-offset"),
        pytest.param("limit=5&limit=6", id="limit-twice"),
    ],
)
def test_bad_page_parameters_are_400_with_a_message(emulator: EmulatorProcess, query: str) -> None:
    seed(emulator, 2)
    emulator.admin.update_faults(page_size=10)
    response = requests.get(f"{emulator.users_url()}?{query}", headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["message"] and isinstance(body["message"], str)


@pytest.mark.parametrize("query", [pytest.param("", id="no-query"), pytest.param("?limit=1&offset=1", id="page-query-ignored"), pytest.param("?limit=999", id="bad-limit-ignored")])
def test_without_page_size_the_list_is_not_paged(emulator: EmulatorProcess, query: str) -> None:
    ids = seed(emulator, 3)
    response = requests.get(emulator.users_url() + query, headers=emulator.headers(), timeout=TIMEOUT_S)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["data"]
    assert [user["userId"] for user in body["data"]] == ids


# --- the 401 body ---------------------------------------------------------------------------------------------

ROUTES = [
    pytest.param("POST", "/users", {"username": "new"}, id="POST-users"),
    pytest.param("POST", "/users/", {"username": "new"}, id="POST-users-slash"),
    pytest.param("GET", "/users", None, id="GET-users"),
    pytest.param("GET", "/users/existing", None, id="GET-user"),
    pytest.param("PUT", "/users/existing", {"fullName": "x"}, id="PUT-user"),
    pytest.param("DELETE", "/users/existing", None, id="DELETE-user"),
]


@pytest.mark.parametrize(("setting", "expected"), [pytest.param("legacy", {"message": "Unauthorized"}, id="legacy"), pytest.param("empty", {}, id="empty")])
@pytest.mark.parametrize("key", [pytest.param(None, id="no-key"), pytest.param("wrong-key", id="wrong-key")])
@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_unauthorized_body(
    emulator: EmulatorProcess, method: str, path: str, body: Any, key: str | None, setting: str, expected: dict[str, str]
) -> None:
    emulator.admin.seed_user("existing")
    emulator.admin.update_faults(unauthorized_body=setting)
    headers = emulator.headers(api_key=key or "")
    if key is None:
        del headers["Authorization"]
    response = requests.request(method, emulator.url + path, json=body, headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == expected
    assert stored(emulator) == [("existing", None)]


# --- the docs hold to the code --------------------------------------------------------------------------------


def test_readme_and_help_document_every_flag_and_variant() -> None:
    from pathlib import Path

    from emulator.cli import build_parser

    readme = (Path(__file__).resolve().parents[1] / "emulator" / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    help_text = " ".join(parser.format_help().split())
    for key in ApiVariants.keys():
        flag = "--" + key.replace("_", "-")
        assert f"`{key}`" in readme, key
        assert f"`{flag}" in readme, flag
        assert flag in help_text, flag
        assert f"{key}=" in readme, key  # the EmulatorProcess keyword
    for path in ("PATCH /_emulator/faults", "PUT /_emulator/faults", "POST /_emulator/reset", "POST /users/"):
        assert path in readme, path
