"""Fault injection: latency, 429, 5xx, lost responses after commit, slow responses, scripting, seeds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator.faults import FaultConfig, FaultConfigError, FaultInjector
from emulator.testing import EmulatorProcess

TIMEOUT_S = 5


def post(emulator: EmulatorProcess, username: str, timeout: float = TIMEOUT_S) -> requests.Response:
    return requests.post(emulator.users_url(), json={"username": username}, headers=emulator.headers(), timeout=timeout)


def get_all(emulator: EmulatorProcess) -> requests.Response:
    return requests.get(emulator.users_url(), headers=emulator.headers(), timeout=TIMEOUT_S)


def test_latency_is_applied(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(latency_ms=300)
    started = time.monotonic()
    response = get_all(emulator)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed >= 0.3
    assert emulator.requests()[-1]["latency_ms"] == 300


def test_jitter_stays_in_range_and_follows_the_seed(emulator: EmulatorProcess) -> None:
    def latencies() -> list[float]:
        emulator.reset_log()
        emulator.admin.set_faults(seed=7, latency_ms=5, jitter_ms=40)
        for _ in range(6):
            get_all(emulator)
        return [entry["latency_ms"] for entry in emulator.requests()]

    first = latencies()
    assert all(5 <= value <= 45 for value in first)
    assert len(set(first)) > 1
    assert latencies() == first


def test_rate_limit_answers_429_with_retry_after_and_writes_nothing(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(rate_limit_rate=1.0, retry_after_s=7)
    response = post(emulator, "jane")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["message"], str)
    assert emulator.users() == []
    assert emulator.requests()[-1]["fault"] == "429"


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param({"error_rates": {"500": 1.0}}, id="500-per-status"),
        pytest.param({"error_rates": {"502": 1.0}}, id="502-per-status"),
        pytest.param({"error_rates": {"503": 1.0}}, id="503-per-status"),
        pytest.param({"error_rate": 1.0, "error_statuses": [502]}, id="502-from-status-list"),
    ],
)
def test_server_errors_are_answered_before_anything_is_written(emulator: EmulatorProcess, faults: dict[str, Any]) -> None:
    expected = int(next(iter(faults.get("error_rates", {}))) if "error_rates" in faults else faults["error_statuses"][0])
    emulator.admin.set_faults(**faults)
    response = post(emulator, "jane")
    assert response.status_code == expected
    assert response.headers["content-type"] == "application/json"
    assert emulator.users() == []
    assert emulator.requests()[-1]["fault"] == str(expected)


def test_error_rate_spreads_over_the_status_list(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(seed=3, error_rate=1.0, error_statuses=[500, 502, 503])
    statuses = {get_all(emulator).status_code for _ in range(30)}
    assert statuses == {500, 502, 503}


def _create(emulator: EmulatorProcess) -> requests.Response:
    return post(emulator, "jane")


def _rename(emulator: EmulatorProcess) -> requests.Response:
    return requests.put(emulator.users_url("old"), json={"username": "jane"}, headers=emulator.headers(), timeout=TIMEOUT_S)


def _delete(emulator: EmulatorProcess) -> requests.Response:
    return requests.delete(emulator.users_url("old"), headers=emulator.headers(), timeout=TIMEOUT_S)


@pytest.mark.parametrize(
    ("write", "expected_usernames"),
    [
        pytest.param(_create, ["old", "jane"], id="create"),
        pytest.param(_rename, ["jane"], id="update"),
        pytest.param(_delete, [], id="delete"),
    ],
)
def test_drop_after_commit_loses_the_response_but_keeps_the_write(
    emulator: EmulatorProcess, write: Callable[[EmulatorProcess], requests.Response], expected_usernames: list[str]
) -> None:
    emulator.admin.seed_user("old")
    emulator.admin.set_faults(drop_after_commit_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        write(emulator)
    assert [user["username"] for user in emulator.users()] == expected_usernames
    entry = emulator.requests()[-1]
    assert (entry["status"], entry["delivered"], entry["fault"]) == (200, False, "drop_after_commit")


def test_a_later_request_works_after_a_dropped_connection(emulator: EmulatorProcess) -> None:
    session = requests.Session()
    emulator.admin.set_faults(fail_next=["drop_after_commit"])
    with pytest.raises(requests.ConnectionError):
        session.post(emulator.users_url(), json={"username": "a"}, headers=emulator.headers(), timeout=TIMEOUT_S)
    response = session.get(emulator.users_url(), headers=emulator.headers(), timeout=TIMEOUT_S)
    assert [user["username"] for user in response.json()["data"]] == ["a"]


def test_slow_after_commit_times_the_client_out_but_keeps_the_write(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(slow_after_commit_rate=1.0, slow_s=30)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        post(emulator, "jane", timeout=0.5)
    assert time.monotonic() - started < 10
    assert [user["username"] for user in emulator.users()] == ["jane"]
    deadline = time.monotonic() + 10
    while not emulator.requests() and time.monotonic() < deadline:  # logged once the server sees the hang-up
        time.sleep(0.05)
    entry = emulator.requests()[-1]
    assert (entry["status"], entry["delivered"], entry["fault"]) == (200, False, "slow_after_commit")


def test_slow_response_within_the_client_timeout_arrives_late(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(fail_next=["slow_after_commit"], slow_s=0.4)
    started = time.monotonic()
    response = post(emulator, "jane")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.4
    assert emulator.requests()[-1]["delivered"] is True


@pytest.mark.parametrize(
    ("routes", "faulted"),
    [
        pytest.param(["POST /users"], {"POST /users"}, id="one-route"),
        pytest.param(["GET"], {"GET /users", "GET /users/{userId}"}, id="one-method"),
        pytest.param(["PUT /users/{userId}", "DELETE"], {"PUT /users/{userId}", "DELETE /users/{userId}"}, id="two-selectors"),
        pytest.param([], {"POST /users", "GET /users", "GET /users/{userId}", "PUT /users/{userId}", "DELETE /users/{userId}"}, id="all"),
    ],
)
def test_faults_apply_only_to_the_selected_routes(emulator: EmulatorProcess, routes: list[str], faulted: set[str]) -> None:
    user_id = emulator.admin.seed_user("jane")
    emulator.admin.set_faults(routes=routes, error_rate=1.0, error_statuses=[503])
    calls = {
        "GET /users": lambda: get_all(emulator),
        "GET /users/{userId}": lambda: requests.get(emulator.users_url(user_id), headers=emulator.headers(), timeout=TIMEOUT_S),
        "PUT /users/{userId}": lambda: requests.put(
            emulator.users_url(user_id), json={"fullName": "J"}, headers=emulator.headers(), timeout=TIMEOUT_S
        ),
        "POST /users": lambda: post(emulator, "other"),
        "DELETE /users/{userId}": lambda: requests.delete(emulator.users_url(user_id), headers=emulator.headers(), timeout=TIMEOUT_S),
    }
    statuses = {route: call().status_code for route, call in calls.items()}
    assert {route for route, status in statuses.items() if status == 503} == faulted
    assert all(status == 200 for route, status in statuses.items() if route not in faulted)


def test_fail_next_scripts_the_next_posts(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(fail_next=[{"fault": 503, "route": "POST /users", "times": 2}])
    assert get_all(emulator).status_code == 200  # not a POST: the script is left alone
    assert post(emulator, "jane").status_code == 503
    assert emulator.admin.faults()["fail_next"] == [{"fault": 503, "route": "POST /users"}]
    assert post(emulator, "jane").status_code == 503
    assert post(emulator, "jane").status_code == 200
    assert post(emulator, "jane").status_code == 409
    assert emulator.admin.faults()["fail_next"] == []
    assert [entry["fault"] for entry in emulator.requests()] == [None, "503", "503", None, None]


def test_fail_next_mixes_statuses_and_lost_responses_in_order(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(fail_next=["429", "drop", 500], retry_after_s=2)
    first = get_all(emulator)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    with pytest.raises(requests.ConnectionError):
        post(emulator, "jane")
    assert get_all(emulator).status_code == 500
    assert [user["username"] for user in get_all(emulator).json()["data"]] == ["jane"]


def test_a_seed_makes_random_faults_reproducible(emulator: EmulatorProcess) -> None:
    def statuses(seed: int) -> list[int]:
        emulator.admin.set_faults(seed=seed, error_rate=0.3, rate_limit_rate=0.2)
        return [get_all(emulator).status_code for _ in range(40)]

    first = statuses(1234)
    assert set(first) >= {200, 429} and set(first) & {500, 502, 503}
    assert statuses(1234) == first
    assert statuses(4321) != first


def test_faults_precede_auth_like_a_gateway(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(error_rate=1.0, error_statuses=[503])
    response = requests.get(emulator.users_url(), headers=emulator.headers(api_key="wrong"), timeout=TIMEOUT_S)
    assert response.status_code == 503
    assert emulator.requests()[-1]["auth"] == "invalid"


def test_admin_api_is_never_faulted(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(error_rate=1.0, latency_ms=30_000)
    started = time.monotonic()
    user_id = emulator.admin.seed_user("jane")
    assert [user["userId"] for user in emulator.users()] == [user_id]
    assert emulator.admin.counters()["POST /users"] == 0
    assert time.monotonic() - started < 10


def test_reset_clears_faults(emulator: EmulatorProcess) -> None:
    emulator.admin.set_faults(error_rate=1.0, fail_next=[503])
    emulator.admin.reset()
    assert emulator.admin.faults() == FaultConfig().to_json()
    assert get_all(emulator).status_code == 200


def test_faults_can_be_set_on_the_command_line(
    emulator_factory: Callable[..., EmulatorProcess],
) -> None:
    process = emulator_factory(
        db=":memory:",
        args=[
            "--error-rate", "1", "--error-statuses", "502",
            "--fault-route", "POST /users",
            "--fail-next", "429@GET /users",
            "--retry-after-s", "9",
        ],
    )  # fmt: skip
    faults = process.admin.faults()
    assert faults["routes"] == ["POST /users"]
    assert faults["error_statuses"] == [502]
    assert faults["fail_next"] == [{"fault": 429, "route": "GET /users"}]
    first = get_all(process)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "9")
    assert get_all(process).status_code == 200
    assert post(process, "jane").status_code == 502


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"error_rate": 1.5}, "error_rate", id="rate-above-one"),
        pytest.param({"error_rate": -0.1}, "error_rate", id="negative-rate"),
        pytest.param({"latency_ms": -1}, "latency_ms", id="negative-latency"),
        pytest.param({"latency_ms": "10"}, "latency_ms", id="string-latency"),
        pytest.param({"retry_after_s": 1.5}, "retry_after_s", id="fractional-retry-after"),
        pytest.param({"error_rate": 0.6, "rate_limit_rate": 0.6}, "sum", id="rates-sum-above-one"),
        pytest.param({"error_statuses": []}, "error_statuses", id="empty-status-list"),
        pytest.param({"error_statuses": [200]}, "error status", id="success-status"),
        pytest.param({"error_rates": {"abc": 0.1}}, "error status", id="bad-status-key"),
        pytest.param({"routes": ["POST /user"]}, "not a route", id="typo-in-route"),
        pytest.param({"routes": ["PATCH"]}, "not a route", id="unknown-method"),
        pytest.param({"fail_next": ["explode"]}, "not a fault", id="unknown-fault"),
        pytest.param({"fail_next": [{"route": "POST /users"}]}, "fault", id="fail-next-without-fault"),
        pytest.param({"seed": "abc"}, "seed", id="string-seed"),
        pytest.param({"latency": 10}, "unknown fault option", id="unknown-key"),
    ],
)
def test_invalid_fault_configuration_is_400_and_keeps_the_old_one(
    emulator: EmulatorProcess, body: dict[str, Any], message: str
) -> None:
    emulator.admin.set_faults(latency_ms=1)
    response = requests.put(f"{emulator.url}/_emulator/faults", json=body, timeout=TIMEOUT_S)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert emulator.admin.faults()["latency_ms"] == 1


# --- the decision logic, without HTTP ------------------------------------------------------------


def test_config_round_trips_through_json() -> None:
    config = FaultConfig.from_json(
        {
            "seed": 5,
            "routes": ["POST /users", "GET"],
            "latency_ms": 10,
            "jitter_ms": 5,
            "rate_limit_rate": 0.1,
            "retry_after_s": 3,
            "error_rate": 0.2,
            "error_statuses": [500, "503"],
            "error_rates": {"502": 0.1},
            "drop_after_commit_rate": 0.1,
            "slow_after_commit_rate": 0.1,
            "slow_s": 2,
            "fail_next": [503, "drop", {"fault": "slow", "route": "PUT", "times": 2}],
        }
    )
    assert FaultConfig.from_json(config.to_json()) == config
    assert [entry.fault for entry in config.fail_next] == [503, "drop_after_commit", "slow_after_commit", "slow_after_commit"]


def test_shares_follow_the_configured_rates() -> None:
    injector = FaultInjector(
        FaultConfig.from_json({"seed": 11, "rate_limit_rate": 0.2, "error_rates": {"503": 0.3}, "drop_after_commit_rate": 0.1})
    )
    faults = [injector.decide("POST /users").fault for _ in range(4000)]
    shares = {fault: faults.count(fault) / len(faults) for fault in set(faults)}
    assert shares["429"] == pytest.approx(0.2, abs=0.03)
    assert shares["503"] == pytest.approx(0.3, abs=0.03)
    assert shares["drop_after_commit"] == pytest.approx(0.1, abs=0.03)
    assert shares[None] == pytest.approx(0.4, abs=0.03)


def test_requests_outside_the_api_are_never_faulted() -> None:
    injector = FaultInjector(FaultConfig.from_json({"error_rate": 1.0, "fail_next": [503]}))
    assert injector.decide(None).fault is None
    assert injector.snapshot()["fail_next"] == [{"fault": 503, "route": None}]


def test_a_rate_above_one_in_total_is_refused() -> None:
    with pytest.raises(FaultConfigError, match="at most 1"):
        FaultConfig.from_json({"error_rate": 0.5, "error_rates": {"500": 0.3}, "slow_after_commit_rate": 0.3})
