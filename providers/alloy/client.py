"""The Alloy users API client: one ``requests.Session``, timeouts, retries, typed errors.

Contracts:
- Every request carries ``Authorization: Bearer <key>`` and ``x-api-version``,
  and a timeout (``DEFAULT_TIMEOUT_S`` unless configured).
- Idempotent calls (GET, PUT, DELETE) are retried with exponential backoff
  and jitter on 429 (honouring ``Retry-After``), 502, 503, 504 and on
  connection errors and lost responses, up to ``max_retries`` times.
- ``POST /users`` is never retried once it may have reached the server: it is
  retried only when the connection could not be opened, or on 429 (the server
  did nothing). Any other failure raises, and the caller must find out whether
  the user was created (``find_user_by_username``) before posting again.
- Errors are the typed ones of ``providers.alloy.errors``; no message contains the key.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from providers.alloy.errors import (
    AlloyConfigError,
    AlloyNotFoundError,
    AlloyProtocolError,
    AlloyUnreachableError,
    error_for_status,
)

DEFAULT_BASE_URL = "https://production.runalloy.com"
API_VERSION = "2025-09"
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_BACKOFF_S = 0.5
BACKOFF_MAX_S = 20.0
MAX_RETRY_AFTER_S = 60.0
RETRY_STATUSES = frozenset({429, 502, 503, 504})
POOL_SIZE = 16
MAX_DETAIL_CHARS = 200
USER_AGENT = "alloy-users"


@dataclass(frozen=True)
class ClientSettings:
    """How to reach the API. ``api_key`` is a secret: it is never put in ``repr``."""

    base_url: str = DEFAULT_BASE_URL
    api_key: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_s: float = DEFAULT_BACKOFF_S
    ca_bundle: str | None = None

    def __repr__(self) -> str:
        return (
            f"ClientSettings(base_url={self.base_url!r}, api_key='***', timeout_s={self.timeout_s}, "
            f"max_retries={self.max_retries}, backoff_s={self.backoff_s}, ca_bundle={self.ca_bundle!r})"
        )


@dataclass(frozen=True)
class AlloyUserRecord:
    """A user as the API returns it. ``username`` may be absent on listed users."""

    user_id: str
    username: str | None
    full_name: str | None


def validate_base_url(url: str) -> str:
    """Return ``url`` without a trailing slash, or raise ``AlloyConfigError``.

    The URL must be http(s) with a host and no query; plain http is accepted
    only for loopback hosts, since the API key travels in a header.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AlloyConfigError(f"alloy:baseUrl must be an http(s) URL with a host, got {url!r}")
    if parts.query or parts.fragment:
        raise AlloyConfigError(f"alloy:baseUrl must not have a query or fragment, got {url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise AlloyConfigError(
            f"alloy:baseUrl must use https unless it points at this machine (loopback), got {url!r}"
        )
    return url.strip().rstrip("/")


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _AlloyRetry(Retry):
    """urllib3's Retry, except that a POST is retried on 429 only, and a
    ``Retry-After`` is capped so that a hostile value cannot stall a run."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST":
            return status_code == 429
        return super().is_retry(method, status_code, has_retry_after)

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER_S)


class AlloyClient:
    """A thread-safe client of the users API (the provider serves 4 calls at once)."""

    def __init__(self, settings: ClientSettings) -> None:
        if not settings.api_key:
            raise AlloyConfigError(
                "no Alloy API key: set it with `pulumi config set --secret alloy:apiKey <key>` "
                "or the ALLOY_API_KEY environment variable"
            )
        self.base_url = validate_base_url(settings.base_url)
        self._key = settings.api_key
        self._timeout = (min(DEFAULT_CONNECT_TIMEOUT_S, settings.timeout_s), settings.timeout_s)
        retry = _AlloyRetry(
            total=settings.max_retries,
            connect=settings.max_retries,
            read=settings.max_retries,
            status=settings.max_retries,
            other=0,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=settings.backoff_s,
            backoff_jitter=settings.backoff_s,
            backoff_max=BACKOFF_MAX_S,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self._session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=POOL_SIZE)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update(
            {
                "Authorization": f"Bearer {settings.api_key}",
                "x-api-version": API_VERSION,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        self._session.verify = settings.ca_bundle or True
        # The key must not leak through the environment's proxy settings or .netrc.
        self._session.trust_env = False

    def close(self) -> None:
        self._session.close()

    # -- users ---------------------------------------------------------------

    def create_user(self, username: str, full_name: str | None) -> str:
        """``POST /users``; returns the new userId.

        Raises ``AlloyConflictError`` (409) or ``AlloyBadRequestError`` (400) when
        Alloy refuses it, e.g. for a username that exists. Any other failure
        (``AlloyUnreachableError``, ``AlloyServerError``, ``AlloyProtocolError``)
        means the user may or may not have been created.
        """
        body: dict[str, Any] = {"username": username}
        if full_name is not None:
            body["fullName"] = full_name
        data = self._call("POST", "/users", body)
        if not isinstance(data, dict):
            raise AlloyProtocolError("POST", "/users", 200, "the response is not a JSON object")
        return _user_id(data.get("userId"), "POST", "/users")

    def get_user(self, user_id: str) -> AlloyUserRecord | None:
        """``GET /users/{userId}``; ``None`` when the user does not exist (404).

        Raises ``AlloyProtocolError`` when the answer is another user's record.
        """
        path = f"/users/{quote(user_id, safe='')}"
        record = self._get_record(path)
        if record is not None and record.user_id != user_id:
            raise AlloyProtocolError("GET", path, 200, f"the response names another user ({record.user_id})")
        return record

    def _get_record(self, path: str) -> AlloyUserRecord | None:
        try:
            data = self._call("GET", path)
        except AlloyNotFoundError:
            return None
        return _record(data, "GET", path)

    def list_users(self) -> list[AlloyUserRecord]:
        """``GET /users``: every user of the account."""
        data = self._call("GET", "/users")
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise AlloyProtocolError("GET", "/users", 200, "the response has no 'data' list")
        return [_record(item, "GET", "/users") for item in items]

    def find_user_by_username(self, username: str) -> AlloyUserRecord | None:
        """The user whose username is ``username`` (exactly, else ignoring
        letter case), or ``None``.

        Asks ``GET /users/{username}`` first (documented to accept a username),
        and falls back to scanning ``GET /users`` when that finds nothing, so
        that a server without lookup by username cannot make us create twice.
        """
        record = self._get_record(f"/users/{quote(username, safe='')}")
        if record is not None and record.username == username:
            return record
        users = self.list_users()
        exact = next((user for user in users if user.username == username), None)
        if exact is not None:
            return exact
        # Alloy does not document whether usernames compare case-sensitively;
        # a server that refused ours may hold it with other letter case.
        folded = username.casefold()
        return next((user for user in users if user.username and user.username.casefold() == folded), None)

    def update_user(
        self, user_id: str, *, username: str | None = None, full_name: str | None = None
    ) -> AlloyUserRecord:
        """``PUT /users/{userId}`` with the given fields; returns the updated user."""
        body: dict[str, Any] = {}
        if username is not None:
            body["username"] = username
        if full_name is not None:
            body["fullName"] = full_name
        path = f"/users/{quote(user_id, safe='')}"
        data = self._call("PUT", path, body)
        if data is None:  # a 2xx without a body: the change as sent
            return AlloyUserRecord(user_id=user_id, username=username, full_name=full_name)
        return _record(data, "PUT", path, fallback_id=user_id)

    def delete_user(self, user_id: str) -> bool:
        """``DELETE /users/{userId}``; ``False`` when the user was already gone."""
        try:
            self._call("DELETE", f"/users/{quote(user_id, safe='')}")
        except AlloyNotFoundError:
            return False
        return True

    # -- transport -----------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            # stream=True: the body is read below, so that one cut off mid-way
            # is told apart from no response at all.
            response = self._session.request(
                method, self.base_url + path, json=body, timeout=self._timeout, stream=True
            )
        except requests.RequestException as exc:
            raise AlloyUnreachableError(method, path, self.base_url, self._describe(exc)) from None
        try:
            response.content  # noqa: B018 - reads and keeps the whole body
        except requests.exceptions.ChunkedEncodingError:
            response.close()
            raise AlloyProtocolError(
                method, path, response.status_code, "the body was cut off before its end"
            ) from None
        except requests.RequestException as exc:
            response.close()
            raise AlloyUnreachableError(method, path, self.base_url, self._describe(exc)) from None
        status = response.status_code
        if status >= 400:
            raise error_for_status(method, path, status, self._detail(response))
        if not 200 <= status < 300:
            raise AlloyProtocolError(method, path, status, "expected a 2xx status")
        if not response.content.strip():
            return None  # e.g. 204 No Content; callers that need a body say so
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError):
            raise AlloyProtocolError(method, path, status, "the body is not JSON") from None

    def _describe(self, exc: requests.RequestException) -> str:
        if isinstance(exc, requests.exceptions.SSLError):
            reason = "TLS verification failed (set alloy:caBundle for a private CA)"
        elif isinstance(exc, requests.Timeout):
            reason = f"no response within {self._timeout[1]:g}s (alloy:timeoutSeconds)"
        elif isinstance(exc, requests.ConnectionError):
            reason = "connection failed or dropped"
        else:
            reason = type(exc).__name__
        return self._redact(reason)

    def _detail(self, response: requests.Response) -> str:
        try:
            data = response.json()
        except ValueError:
            return ""
        message = ""
        if isinstance(data, dict):
            for key in ("message", "error", "detail"):
                if isinstance(data.get(key), str):
                    message = data[key]
                    break
        return self._redact(message[:MAX_DETAIL_CHARS])

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


def _record(data: Any, method: str, path: str, fallback_id: str | None = None) -> AlloyUserRecord:
    if isinstance(data, dict) and "userId" not in data:
        # The shape of a single user is not documented: accept one envelope.
        for envelope in ("data", "user"):
            if isinstance(data.get(envelope), dict):
                data = data[envelope]
                break
    if not isinstance(data, dict):
        raise AlloyProtocolError(method, path, 200, "expected a JSON object")
    user_id = _user_id(data.get("userId", fallback_id), method, path)
    username = data.get("username")
    full_name = data.get("fullName")
    if username is not None and not isinstance(username, str):
        raise AlloyProtocolError(method, path, 200, "username is not a string")
    if full_name is not None and not isinstance(full_name, str):
        raise AlloyProtocolError(method, path, 200, "fullName is not a string")
    return AlloyUserRecord(user_id=user_id, username=username, full_name=full_name)


def _user_id(value: Any, method: str, path: str) -> str:
    """``value`` if it is a non-empty string; the problem is named without echoing it."""
    if isinstance(value, str) and value:
        return value
    if value is None:
        problem = "the response has no userId"
    elif isinstance(value, str):
        problem = "userId is an empty string"
    else:
        kinds = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}
        problem = f"userId is {kinds.get(type(value), type(value).__name__)}, not a string"
    raise AlloyProtocolError(method, path, 200, problem)
