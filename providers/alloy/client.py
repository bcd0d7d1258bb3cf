"""The Alloy users API client: one ``requests.Session``, timeouts, retries, typed errors.

Contracts:
- Every request carries ``Authorization: Bearer <key>`` (and never any other
  credentials: no ``.netrc``, on redirects neither) and ``x-api-version``,
  and a timeout (``DEFAULT_TIMEOUT_S`` unless configured).
- Retries are the client's own (``_call``), with exponential backoff and
  jitter, up to ``max_retries``:
  - on 429 (honouring ``Retry-After``, capped) for every call, and on 502,
    503, 504 for the idempotent ones (GET, PUT, DELETE);
  - when no connection could be opened (refused, connect timeout, proxy):
    at most ``CONNECT_RETRIES`` times, POST included (nothing was sent); once
    a call of this client has given up so, later calls try once until a
    response arrives again, so an unreachable host fails a run in seconds;
  - DNS and TLS failures are not retried;
  - idempotent calls only: a response that never came (``TIMEOUT_RETRIES``
    times at most, each costs ``alloy:timeoutSeconds``) or a dropped connection.
- ``POST /users`` is never retried once it may have reached the server. Any
  failure whose ``AlloyUnreachableError.sent`` is true, 5xx or garbled
  answer means the caller must find out whether the user was created
  (``find_user_by_username``) before posting again; ``sent`` false means it
  was not.
- ``GET /users`` follows Alloy's offset pagination when the answer has a
  ``pagination`` object, and works when it has none (see ``iter_user_pages``).
- Proxies and CA bundles come from the environment as curl and requests read
  them (``HTTPS_PROXY``, ``NO_PROXY``, ..., ``REQUESTS_CA_BUNDLE``,
  ``CURL_CA_BUNDLE``); ``alloy:caBundle`` wins; loopback hosts never use a proxy.
- Errors are the typed ones of ``providers.alloy.errors``; no message contains the key.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import os
import random
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError

from providers.alloy.errors import (
    UNREACHABLE_CONNECT,
    UNREACHABLE_CONNECT_TIMEOUT,
    UNREACHABLE_DNS,
    UNREACHABLE_DROPPED,
    UNREACHABLE_OTHER,
    UNREACHABLE_PROXY,
    UNREACHABLE_TIMEOUT,
    UNREACHABLE_TLS,
    AlloyConfigError,
    AlloyHTTPError,
    AlloyNotFoundError,
    AlloyBadRequestError,
    AlloyProtocolError,
    AlloyUnreachableError,
    error_for_status,
    missing_key_message,
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
# Retries (within max_retries) of a call that could not open a connection, and
# of an idempotent call whose response never came (each costs a whole timeout).
CONNECT_RETRIES = 2
TIMEOUT_RETRIES = 1
POOL_SIZE = 16
MAX_DETAIL_CHARS = 200
MAX_REDIRECTS = 5
USER_AGENT = "alloy-users"
IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE"})

# The create path: written ``POST /users`` in the Connectivity reference and
# ``POST /users/`` in the Embedded one. The second is tried once after a
# 404/405 for the first (a missing route: nothing was created) and remembered.
CREATE_PATHS = ("/users", "/users/")
CREATE_PATH_MISSING_STATUSES = frozenset({404, 405})

# Offset pagination of GET /users (Alloy documents it for "many list operations").
LIST_PATH = "/users"
LIST_PAGE_LIMIT = 50          # Alloy's documented maximum of ``limit``
MAX_LIST_PAGES = 10_000       # 500,000 users at 50 a page: past that, a protocol error
MAX_STALE_PAGES = 2           # consecutive pages with no new userId before giving up

CA_BUNDLE_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


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
    """A user as the API returns it. ``username`` and ``fullName`` may be absent on listed users."""

    user_id: str
    username: str | None
    full_name: str | None


@dataclass(frozen=True)
class UserPage:
    """One answer of ``GET /users``.

    ``users`` are the users not seen on an earlier page (deduplicated by
    userId); ``paged`` tells whether the answer had a ``pagination`` object;
    ``next_offset`` is where the next page starts (None on the last page).
    """

    offset: int
    users: tuple[AlloyUserRecord, ...]
    paged: bool
    next_offset: int | None


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
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# -- environment: proxies and CA bundles ---------------------------------------


def _env(environ: Mapping[str, str], name: str) -> str | None:
    """``name`` lower-case first, then upper-case (curl's and Python's order);
    a lower-case variable that is set but empty disables the upper-case one."""
    lower = environ.get(name.lower())
    if lower is not None:
        return lower.strip() or None
    upper = environ.get(name.upper())
    return upper.strip() if upper and upper.strip() else None


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL for ``url`` from ``environ`` (default ``os.environ``), or None.

    ``https_proxy``/``HTTPS_PROXY`` for https, ``http_proxy``/``HTTP_PROXY``
    for http, else ``all_proxy``/``ALL_PROXY``; ``no_proxy``/``NO_PROXY``
    (``*``, host names matching as a suffix on a dot boundary, a leading dot
    allowed, IP addresses and CIDR ranges, optional ``:port``) bypasses it.
    Loopback hosts are never proxied (as Go's net/http, hence the Pulumi CLI).
    """
    environ = os.environ if environ is None else environ
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or is_loopback_host(host):
        return None
    if _bypasses_proxy(host, parts.port or (443 if parts.scheme == "https" else 80), _env(environ, "no_proxy")):
        return None
    return _env(environ, f"{parts.scheme}_proxy") or _env(environ, "all_proxy")


def _bypasses_proxy(host: str, port: int, no_proxy: str | None) -> bool:
    if not no_proxy:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_port: int | None = None
        if entry.count(":") == 1:  # host:port (an IPv6 entry has more colons)
            entry, _, port_text = entry.partition(":")
            entry_port = int(port_text) if port_text.isdigit() else None
        if entry_port is not None and entry_port != port:
            continue
        entry = entry.strip("[]")
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name = entry.lstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def ca_bundle_for(setting: str | None, environ: Mapping[str, str] | None = None) -> bool | str:
    """What to verify TLS with: ``alloy:caBundle`` if set, else
    ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``, else the system CAs (True).

    Raises ``AlloyConfigError`` naming the source when the path does not exist.
    """
    environ = os.environ if environ is None else environ
    sources = [("alloy:caBundle", setting or "")] + [(name, environ.get(name) or "") for name in CA_BUNDLE_ENV]
    for source, value in sources:
        if value.strip():
            if not os.path.exists(value.strip()):
                raise AlloyConfigError(f"{source} names {value.strip()!r}, which does not exist")
            return value.strip()
    return True


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <key>``. Set as the session's auth, it also keeps
    requests from applying ``.netrc`` credentials."""

    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth('***')"


class _Session(requests.Session):
    """A session that never reads the environment on its own (no ``.netrc``,
    ever) and picks the proxy again for the target of a redirect. requests
    drops the Authorization header when a redirect leaves the host."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__()
        self.trust_env = False
        self.max_redirects = MAX_REDIRECTS
        self._environ = environ

    def proxies_for(self, url: str) -> dict[str, str]:
        proxy = proxy_for(url, self._environ)
        return {urlsplit(url).scheme: proxy} if proxy else {}

    def rebuild_proxies(self, prepared_request: requests.PreparedRequest, proxies: Any) -> dict[str, str]:
        return super().rebuild_proxies(prepared_request, self.proxies_for(prepared_request.url or ""))


# -- the client -------------------------------------------------------------------


class AlloyClient:
    """A thread-safe client of the users API (the provider serves 4 calls at once).

    ``transport`` replaces the HTTP adapter (for in-process tests, as httpx's
    ``MockTransport``); ``environ`` is where proxy and CA bundle variables are
    read (default ``os.environ``, read once here). ``before_write(method,
    path)`` is called before each attempt of every request that is not a
    ``GET`` (retries included); it may raise to stop the request unsent.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        transport: BaseAdapter | None = None,
        environ: Mapping[str, str] | None = None,
        before_write: Callable[[str, str], None] | None = None,
    ) -> None:
        if not settings.api_key:
            raise AlloyConfigError(missing_key_message())
        self.base_url = validate_base_url(settings.base_url)
        self._key = settings.api_key
        self._timeout = (min(DEFAULT_CONNECT_TIMEOUT_S, settings.timeout_s), settings.timeout_s)
        self._max_retries = max(0, int(settings.max_retries))
        self._backoff_s = max(0.0, settings.backoff_s)
        environ = dict(os.environ if environ is None else environ)
        self._session = _Session(environ)
        adapter = transport or HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=POOL_SIZE)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.auth = BearerAuth(settings.api_key)
        self._session.headers.update(
            {"x-api-version": API_VERSION, "Accept": "application/json", "User-Agent": USER_AGENT}
        )
        self._session.verify = ca_bundle_for(settings.ca_bundle, environ)
        self._proxies = self._session.proxies_for(self.base_url)
        self._unreachable = False  # a call gave up without connecting; cleared by any response
        self._create_path: str | None = None  # which spelling of the create path works
        self._list_limit = True  # whether GET /users takes ``limit``
        self._before_write = before_write

    @property
    def verify(self) -> bool | str:
        """What TLS is verified with: True (system CAs) or a CA bundle path."""
        return self._session.verify  # type: ignore[return-value]

    @property
    def proxy(self) -> str | None:
        """The proxy used for ``base_url``, or None (credentials in it are not hidden: do not print it)."""
        return next(iter(self._proxies.values()), None)

    def close(self) -> None:
        self._session.close()

    def __repr__(self) -> str:
        return f"AlloyClient(base_url={self.base_url!r})"

    # -- users ---------------------------------------------------------------

    def create_user(self, username: str, full_name: str | None) -> str:
        """``POST /users`` (or ``POST /users/`` where only that exists); returns the new userId.

        Raises ``AlloyConflictError`` (409) or ``AlloyBadRequestError`` (400,
        422) when Alloy refuses it, e.g. for a username that exists. An
        ``AlloyUnreachableError`` whose ``sent`` is False and any
        ``AlloyHTTPError`` 4xx mean nothing was created. Any other failure
        (``AlloyUnreachableError`` with ``sent``, ``AlloyServerError``,
        ``AlloyProtocolError``) means the user may or may not have been created.
        """
        body: dict[str, Any] = {"username": username}
        if full_name is not None:
            body["fullName"] = full_name
        path = self._create_path or CREATE_PATHS[0]
        try:
            data = self._call("POST", path, body)
        except AlloyHTTPError as missing:
            if self._create_path is not None or missing.status not in CREATE_PATH_MISSING_STATUSES:
                raise
            # No such route: nothing was created. Try the other spelling once.
            other = CREATE_PATHS[1]
            try:
                data = self._call("POST", other, body)
            except AlloyHTTPError as again:
                if again.status not in CREATE_PATH_MISSING_STATUSES:
                    raise
                detail = f"POST {other} answered {again.status} too; check alloy:baseUrl"
                raise type(missing)("POST", path, missing.status, detail) from None
            path = other
        self._create_path = path
        if not isinstance(data, dict):
            raise AlloyProtocolError("POST", path, 200, "the response is not a JSON object")
        return _user_id(data.get("userId"), "POST", path)

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
        """``GET /users``: every user of the account, each once (all pages)."""
        return list(self.iter_users())

    def iter_users(self) -> Iterator[AlloyUserRecord]:
        """Every user of the account, each once, page by page as they arrive."""
        for page in self.iter_user_pages():
            yield from page.users

    def iter_user_pages(self) -> Iterator[UserPage]:
        """The answers of ``GET /users``, following pages.

        Each request asks ``limit=50`` (Alloy's maximum) and ``offset`` after
        the first page; a server that ignores them answers the whole list
        once. A server that refuses ``limit`` (400) is asked again without it.
        An answer with ``pagination: {hasMore, nextOffset}`` is followed
        while ``hasMore``; an answer without one is the whole list, except
        that exactly ``limit`` users there are followed by one more request
        (a server that applies ``limit`` without saying so). Raises
        ``AlloyProtocolError`` when ``nextOffset`` does not advance, when
        ``MAX_STALE_PAGES`` pages in a row bring no new userId (a server
        repeating a page), or past ``MAX_LIST_PAGES`` pages.
        """
        seen: set[str] = set()
        offset = 0
        stale = 0
        for _number in range(MAX_LIST_PAGES):
            data = self._list_page(offset)
            items, pagination = _page_parts(data, offset)
            fresh: list[AlloyUserRecord] = []
            for item in items:
                record = _record(item, "GET", LIST_PATH)
                if record.user_id not in seen:
                    seen.add(record.user_id)
                    fresh.append(record)
            if pagination is None:
                probe = self._list_limit and len(items) == LIST_PAGE_LIMIT and bool(fresh)
                next_offset = offset + len(items) if probe else None
                yield UserPage(offset, tuple(fresh), paged=False, next_offset=next_offset)
                if next_offset is None:
                    return
            else:
                has_more, next_offset = _pagination(pagination, offset, len(items))
                yield UserPage(offset, tuple(fresh), paged=True, next_offset=next_offset if has_more else None)
                if not has_more:
                    return
                assert next_offset is not None
                if next_offset <= offset:
                    raise AlloyProtocolError(
                        "GET", LIST_PATH, 200,
                        f"pagination.nextOffset {next_offset} does not advance past offset {offset}",
                    )
                stale = stale + 1 if not fresh else 0
                if stale >= MAX_STALE_PAGES:
                    raise AlloyProtocolError(
                        "GET", LIST_PATH, 200,
                        f"{stale} pages in a row up to offset {offset} brought no new user "
                        "(the server repeats a page)",
                    )
            offset = next_offset
        raise AlloyProtocolError("GET", LIST_PATH, 200, f"more than {MAX_LIST_PAGES} pages")

    def _list_page(self, offset: int) -> Any:
        params: dict[str, int] = {}
        if self._list_limit:
            params["limit"] = LIST_PAGE_LIMIT
        if offset:
            params["offset"] = offset
        try:
            return self._call("GET", LIST_PATH, params=params or None)
        except AlloyBadRequestError:
            if not self._list_limit or offset:
                raise
            self._list_limit = False  # GET /users documents no parameters: ask as documented
            return self._call("GET", LIST_PATH)

    def find_user_by_username(self, username: str) -> AlloyUserRecord | None:
        """The user whose username is ``username`` (exactly, else ignoring
        letter case), or ``None``.

        Asks ``GET /users/{username}`` first (documented to accept a username),
        and falls back to scanning ``GET /users`` when that finds nothing, so
        that a server without lookup by username cannot make us create twice.
        The scan stops at the first exact match.
        """
        record = self._get_record(f"/users/{quote(username, safe='')}")
        if record is not None and record.username == username:
            return record
        # Alloy does not document whether usernames compare case-sensitively;
        # a server that refused ours may hold it with other letter case.
        folded = username.casefold()
        other_case: AlloyUserRecord | None = None
        for user in self.iter_users():
            if user.username == username:
                return user
            if other_case is None and user.username and user.username.casefold() == folded:
                other_case = user
        return other_case

    def update_user(
        self, user_id: str, *, username: str | None = None, full_name: str | None = None
    ) -> AlloyUserRecord:
        """``PUT /users/{userId}`` with the given fields; returns the updated user
        as the response states it (its ``username`` shows whether a rename took;
        None when the response does not state it, which proves nothing)."""
        body: dict[str, Any] = {}
        if username is not None:
            body["username"] = username
        if full_name is not None:
            body["fullName"] = full_name
        path = f"/users/{quote(user_id, safe='')}"
        data = self._call("PUT", path, body)
        if data is None:  # a 2xx without a body: the fullName as sent; a rename is not confirmed
            return AlloyUserRecord(user_id=user_id, username=None, full_name=full_name)
        return _record(data, "PUT", path, fallback_id=user_id)

    def delete_user(self, user_id: str) -> bool:
        """``DELETE /users/{userId}``; ``False`` when the user was already gone."""
        try:
            self._call("DELETE", f"/users/{quote(user_id, safe='')}")
        except AlloyNotFoundError:
            return False
        return True

    # -- transport -----------------------------------------------------------

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, params: dict[str, int] | None = None
    ) -> Any:
        """One API call with its retries; returns the JSON body (None when empty)."""
        retries = 0
        while True:
            try:
                response = self._send(method, path, body, params)
            except AlloyUnreachableError as error:
                if retries >= self._unreachable_budget(method, error):
                    if not error.sent:
                        self._unreachable = True
                    raise
                retries += 1
                time.sleep(self._backoff(retries))
                continue
            self._unreachable = False
            status = response.status_code
            if status in RETRY_STATUSES and (status == 429 or method in IDEMPOTENT_METHODS):
                if retries < self._max_retries:
                    retries += 1
                    delay = _retry_after(response)
                    time.sleep(self._backoff(retries) if delay is None else delay)
                    continue
            return self._decode(method, path, response)

    def _unreachable_budget(self, method: str, error: AlloyUnreachableError) -> int:
        if error.kind in (UNREACHABLE_CONNECT, UNREACHABLE_CONNECT_TIMEOUT, UNREACHABLE_PROXY):
            return 0 if self._unreachable else min(self._max_retries, CONNECT_RETRIES)
        if method not in IDEMPOTENT_METHODS:
            return 0
        if error.kind == UNREACHABLE_TIMEOUT:
            return min(self._max_retries, TIMEOUT_RETRIES)
        if error.kind == UNREACHABLE_DROPPED:
            return self._max_retries
        return 0  # DNS, TLS, anything else: retrying would not help

    def _backoff(self, retry: int) -> float:
        """Exponential with jitter: the first retry at once (plus jitter), then 2x, 4x ... backoff."""
        base = 0.0 if retry <= 1 else self._backoff_s * 2 ** (retry - 1)
        return min(BACKOFF_MAX_S, base) + random.uniform(0, self._backoff_s)

    def _send(self, method: str, path: str, body: dict[str, Any] | None, params: dict[str, int] | None) -> requests.Response:
        """One request, its body read; raises ``AlloyUnreachableError`` or ``AlloyProtocolError``."""
        if method != "GET" and self._before_write is not None:
            self._before_write(method, path)
        try:
            # stream=True: the body is read below, so that one cut off mid-way
            # is told apart from no response at all.
            response = self._session.request(
                method, self.base_url + path, json=body, params=params, timeout=self._timeout,
                stream=True, proxies=self._proxies,
            )
        except requests.RequestException as exc:
            raise self._unreachable_error(method, path, exc) from None
        try:
            response.content  # noqa: B018 - reads and keeps the whole body
        except requests.exceptions.ChunkedEncodingError:
            response.close()
            raise AlloyProtocolError(
                method, path, response.status_code, "the body was cut off before its end"
            ) from None
        except requests.RequestException as exc:
            response.close()
            raise self._unreachable_error(method, path, exc) from None
        return response

    def _decode(self, method: str, path: str, response: requests.Response) -> Any:
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

    def _unreachable_error(self, method: str, path: str, exc: requests.RequestException) -> AlloyUnreachableError:
        kind, sent, reason = self._classify(exc)
        return AlloyUnreachableError(method, path, self.base_url, self._redact(reason), sent=sent, kind=kind)

    def _classify(self, exc: requests.RequestException) -> tuple[str, bool, str]:
        """(kind, sent, reason) of a failure without a response."""
        connect_s, read_s = self._timeout
        causes = _causes(exc)
        if isinstance(exc, requests.exceptions.SSLError):
            if any(isinstance(c, (ssl.SSLCertVerificationError, ssl.CertificateError)) for c in causes):
                return UNREACHABLE_TLS, False, "TLS verification failed (set alloy:caBundle for a private CA)"
            return UNREACHABLE_TLS, True, "TLS error (check alloy:caBundle and the proxy settings)"
        if isinstance(exc, requests.exceptions.ProxyError):
            proxy = urlsplit(self.proxy or "")
            where = f"{proxy.hostname}:{proxy.port}" if proxy.hostname else "the proxy"
            return UNREACHABLE_PROXY, False, (
                f"could not connect through the proxy {where} (check HTTPS_PROXY and NO_PROXY)"
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return UNREACHABLE_CONNECT_TIMEOUT, False, f"could not connect within {connect_s:g}s (alloy:timeoutSeconds)"
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return UNREACHABLE_TIMEOUT, True, f"no response within {read_s:g}s (alloy:timeoutSeconds)"
        if isinstance(exc, requests.exceptions.ConnectionError):
            if any(isinstance(c, NameResolutionError) for c in causes):
                host = urlsplit(self.base_url).hostname
                return UNREACHABLE_DNS, False, f"the host name {host} could not be resolved (DNS)"
            if any(isinstance(c, NewConnectionError) for c in causes):
                return UNREACHABLE_CONNECT, False, "could not connect (connection refused or no route)"
            return UNREACHABLE_DROPPED, True, "the connection was dropped before a response arrived"
        if isinstance(exc, (requests.exceptions.InvalidSchema, requests.exceptions.InvalidProxyURL)):
            return UNREACHABLE_PROXY, False, "the proxy setting cannot be used (check HTTPS_PROXY)"
        return UNREACHABLE_OTHER, True, type(exc).__name__

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


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc``, the exceptions it wraps (args, ``reason``) and its chain."""
    found: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(found) < 20:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is f for f in found):
            continue
        found.append(item)
        todo.extend(item.args)
        todo.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return found


def _retry_after(response: requests.Response) -> float | None:
    """The ``Retry-After`` delay in seconds (a number or an HTTP date), capped."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _page_parts(data: Any, offset: int) -> tuple[list[Any], Any]:
    """(the ``data`` list, the ``pagination`` object or None) of a list answer."""
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        where = f" (page at offset {offset})" if offset else ""
        raise AlloyProtocolError("GET", LIST_PATH, 200, f"the response has no 'data' list{where}")
    return items, data.get("pagination")


def _pagination(pagination: Any, offset: int, count: int) -> tuple[bool, int | None]:
    """(hasMore, nextOffset) of a ``pagination`` object; a missing nextOffset
    while hasMore is taken as ``offset + count``."""
    if not isinstance(pagination, dict):
        raise AlloyProtocolError("GET", LIST_PATH, 200, "pagination is not an object")
    has_more = pagination.get("hasMore")
    if not isinstance(has_more, bool):
        raise AlloyProtocolError("GET", LIST_PATH, 200, "pagination.hasMore is not true or false")
    if not has_more:
        return False, None
    next_offset = pagination.get("nextOffset")
    if next_offset is None:
        return True, offset + count
    if not isinstance(next_offset, int) or isinstance(next_offset, bool) or next_offset < 0:
        raise AlloyProtocolError("GET", LIST_PATH, 200, "pagination.nextOffset is not a non-negative integer")
    return True, next_offset


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
