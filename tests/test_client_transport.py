"""Retries, timeouts and unreachable hosts: bounded, fast, and named after
the call that failed. In-process through ``AlloyClient(transport=...)``, and
with real sockets for refused connections, DNS failures and a server that
accepts but never answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import providers.alloy.client as client_module
from providers.alloy.client import CONNECT_RETRIES, MAX_RETRY_AFTER_S, TIMEOUT_RETRIES, AlloyClient, ClientSettings
from providers.alloy.errors import (
    UNREACHABLE_CONNECT,
    UNREACHABLE_CONNECT_TIMEOUT,
    UNREACHABLE_DNS,
    UNREACHABLE_DROPPED,
    UNREACHABLE_TIMEOUT,
    AlloyRateLimitError,
    AlloyServerError,
    AlloyUnreachableError,
)
from tests.support.fake_alloy import FakeAlloy, Reply, dropped, refused, timed_out, unresolvable
from tests.support.ports import free_port


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The client's backoff sleeps, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", recorded.append)
    return recorded


def failing(make_error, times: int | None = None):
    return lambda request, _fake: make_error(request)


# -- the transport seam ------------------------------------------------------------------


def test_requests_carry_the_bearer_key_and_version_in_process():
    fake = FakeAlloy()
    fake.client().list_users()
    headers = fake.log[0].headers
    assert headers["Authorization"] == f"Bearer {fake.api_key}"
    assert headers["x-api-version"] == "2025-09"


# -- retries on statuses -----------------------------------------------------------------


def test_429_retry_after_is_honoured_and_capped(sleeps):
    fake = FakeAlloy()
    fake.script("POST /users", lambda r, f: Reply(429, {}, {"Retry-After": "2"}), times=1)
    fake.script("POST /users", lambda r, f: Reply(429, {}, {"Retry-After": "86400"}), times=1)
    fake.client(max_retries=3).create_user("ada@example.com", None)
    assert sleeps == [2.0, MAX_RETRY_AFTER_S]
    assert fake.lines() == ["POST /users"] * 3 and len(fake.users) == 1


def test_retry_after_as_an_http_date(sleeps):
    fake = FakeAlloy()
    fake.script("GET /users", lambda r, f: Reply(503, {}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), times=1)
    fake.client().list_users()
    assert sleeps == [0.0]  # a date in the past: at once


def test_sustained_429_ends_in_rate_limit_error_after_the_budget(sleeps):
    fake = FakeAlloy()
    fake.script("GET /users", lambda r, f: Reply(429, {}))
    with pytest.raises(AlloyRateLimitError, match="alloy:maxRetries"):
        fake.client(max_retries=4).list_users()
    assert len(fake.log) == 5 and len(sleeps) == 4


@pytest.mark.parametrize("status", [502, 503, 504])
def test_post_is_not_retried_on_gateway_errors(sleeps, status):
    fake = FakeAlloy()
    fake.script("POST /users", lambda r, f: Reply(status, {}))
    with pytest.raises(AlloyServerError):
        fake.client(max_retries=4).create_user("ada@example.com", None)
    assert len(fake.log) == 1


def test_backoff_grows_exponentially_with_jitter(sleeps):
    fake = FakeAlloy()
    fake.script("GET /users", lambda r, f: Reply(503, {}))
    with pytest.raises(AlloyServerError):
        fake.client(max_retries=4, backoff_s=1.0).list_users()
    assert [int(s) for s in sleeps] == [0, 2, 4, 8]  # + up to backoff_s of jitter each
    assert all(0 <= s - int(s) < 1 for s in sleeps)


# -- failures without a response: which are retried, and ``sent`` ---------------------------


@pytest.mark.parametrize(
    "make_error, kind, sent, attempts_get, attempts_post",
    [
        pytest.param(refused, UNREACHABLE_CONNECT, False, 1 + CONNECT_RETRIES, 1 + CONNECT_RETRIES, id="refused"),
        pytest.param(lambda r: requests.ConnectTimeout("connect timed out", request=r), UNREACHABLE_CONNECT_TIMEOUT,
                     False, 1 + CONNECT_RETRIES, 1 + CONNECT_RETRIES, id="connect-timeout"),
        pytest.param(unresolvable, UNREACHABLE_DNS, False, 1, 1, id="dns"),
        pytest.param(timed_out, UNREACHABLE_TIMEOUT, True, 1 + TIMEOUT_RETRIES, 1, id="read-timeout"),
        pytest.param(dropped, UNREACHABLE_DROPPED, True, 1 + 5, 1, id="dropped"),
    ],
)
def test_failures_without_a_response(sleeps, make_error, kind, sent, attempts_get, attempts_post):
    for method, attempts in (("GET", attempts_get), ("POST", attempts_post)):
        fake = FakeAlloy()
        fake.script(f"{method} /users", failing(make_error))
        client = fake.client(max_retries=5)
        call = client.list_users if method == "GET" else lambda: client.create_user("ada@example.com", None)
        with pytest.raises(AlloyUnreachableError) as raised:
            call()
        error = raised.value
        assert (error.kind, error.sent, error.method, error.path) == (kind, sent, method, "/users")
        assert len(fake.log) == attempts, method
        assert ("(nothing was sent)" in str(error)) is (not sent)


def test_after_a_call_could_not_connect_later_calls_try_once_until_a_response(sleeps):
    fake = FakeAlloy()
    fake.script("GET /users", failing(refused), times=1 + CONNECT_RETRIES + 1)
    client = fake.client(max_retries=5)
    with pytest.raises(AlloyUnreachableError):
        client.list_users()
    assert len(fake.log) == 1 + CONNECT_RETRIES
    with pytest.raises(AlloyUnreachableError):
        client.list_users()
    assert len(fake.log) == 2 + CONNECT_RETRIES  # one attempt: the host is known to be down
    client.list_users()  # it answers again
    fake.script("GET /users", failing(refused), times=1)
    client.list_users()  # a single refusal is retried again
    assert len(fake.log) == 5 + CONNECT_RETRIES


# -- real sockets --------------------------------------------------------------------------




def test_unreachable_host_fails_five_creates_within_seconds_naming_the_post():
    """Default settings (maxRetries 5, backoff 0.5 s), four creates at once as
    the provider serves them: seconds, not a minute, and each error is the POST's."""
    url = f"http://127.0.0.1:{free_port()}"
    client = AlloyClient(ClientSettings(base_url=url, api_key="k"), environ={})
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(client.create_user, f"user{n}@example.com", None) for n in range(5)]
        errors = [future.exception() for future in futures]
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"{elapsed:.1f}s"
    for error in errors:
        assert isinstance(error, AlloyUnreachableError) and error.sent is False
        assert str(error).startswith(f"Alloy API unreachable for POST /users at {url}: could not connect")
        assert "alloy:baseUrl" in str(error)


def test_dns_failure_is_not_retried(monkeypatch):
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "alloy.invalid":
            lookups.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    client = AlloyClient(ClientSettings(base_url="https://alloy.invalid", api_key="k"), environ={})
    with pytest.raises(AlloyUnreachableError) as raised:
        client.create_user("ada@example.com", None)
    assert raised.value.kind == UNREACHABLE_DNS and raised.value.sent is False
    assert "the host name alloy.invalid could not be resolved (DNS)" in str(raised.value)
    assert lookups == ["alloy.invalid"]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections (and reads the request) but never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_server_that_never_answers_is_a_timeout_naming_the_setting(silent_server):
    client = AlloyClient(ClientSettings(base_url=silent_server, api_key="k", timeout_s=0.3, backoff_s=0.01),
                         environ={})
    started = time.monotonic()
    with pytest.raises(AlloyUnreachableError) as get_error:
        client.list_users()
    with pytest.raises(AlloyUnreachableError) as post_error:
        client.create_user("ada@example.com", None)
    elapsed = time.monotonic() - started
    for raised, method in ((get_error, "GET"), (post_error, "POST")):
        message = str(raised.value)
        assert f"for {method} /users" in message
        assert "no response within 0.3s (alloy:timeoutSeconds)" in message
        assert "connection failed" not in message
        assert raised.value.sent is True and raised.value.kind == UNREACHABLE_TIMEOUT
    # GET: 1 + TIMEOUT_RETRIES attempts, POST: one; each 0.3 s.
    assert elapsed < 0.3 * (2 + TIMEOUT_RETRIES) + 1.5, f"{elapsed:.1f}s"
