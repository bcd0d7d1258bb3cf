"""In-process doubles of the Alloy users API for client unit tests (no sockets).

- ``MockTransport(handler)``: a ``requests`` adapter, as httpx's MockTransport:
  ``handler(request) -> Reply`` (or raises a ``requests`` exception, e.g.
  ``refused()``), passed as ``AlloyClient(settings, transport=...)``.
- ``FakeAlloy``: a small users API to use as that handler: list shapes
  (``page_size`` 0 = one unpaged answer), which create path exists, the 401
  body, scripted answers per route, and a log of what was asked.

The subprocess emulator stays the proof of the wiring; this is for the many
shapes that are simpler to state in Python.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from providers.alloy.client import AlloyClient, ClientSettings

FAKE_URL = "https://alloy.fake"
FAKE_KEY = "fake-key-7d1e0c"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return b"" if self.body is None else json.dumps(self.body).encode()


Handler = Callable[[requests.PreparedRequest], Reply]


class MockTransport(BaseAdapter):
    """Answers every request with ``handler(request)``; records the requests."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        self.sent.append(request)
        reply = self.handler(request)
        response = requests.Response()
        response.status_code = reply.status
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **reply.headers})
        response._content = reply.content()
        response.request = request
        response.url = request.url or ""
        response.reason = "Scripted"
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def _url(request: requests.PreparedRequest) -> str:
    return request.url or ""


def refused(request: requests.PreparedRequest) -> requests.ConnectionError:
    """What requests raises when the connection is refused."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, _url(request), reason), request=request)  # type: ignore[arg-type]


def unresolvable(request: requests.PreparedRequest) -> requests.ConnectionError:
    """What requests raises when the host name does not resolve."""
    host = urlsplit(_url(request)).hostname or ""
    reason = NameResolutionError(host, None, OSError(-2, "Name or service not known"))  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, _url(request), reason), request=request)  # type: ignore[arg-type]


def timed_out(request: requests.PreparedRequest) -> requests.ReadTimeout:
    return requests.ReadTimeout("Read timed out.", request=request)


def dropped(request: requests.PreparedRequest) -> requests.ConnectionError:
    return requests.ConnectionError("Connection aborted: RemoteDisconnected", request=request)


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def line(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


class FakeAlloy:
    """A users API in memory. ``page_size`` 0: ``GET /users`` ignores ``limit``
    and ``offset`` and answers every user; N: paged as Alloy documents (``limit``
    up to 50, default N). ``create_paths``: the spellings of the create route
    that exist (others answer ``create_missing_status``). ``script(route, fn)``
    answers a route (``"POST /users"``, ``"GET /users/{ref}"``...) with
    ``fn(request, fake)`` instead (raise a requests exception for no answer);
    ``times`` limits it."""

    def __init__(self, *, page_size: int = 0, create_paths: tuple[str, ...] = ("/users", "/users/"),
                 create_missing_status: int = 404, api_key: str = FAKE_KEY,
                 unauthorized_body: Any = None) -> None:
        self.page_size = page_size
        self.create_paths = create_paths
        self.create_missing_status = create_missing_status
        self.api_key = api_key
        self.unauthorized_body = {} if unauthorized_body is None else unauthorized_body
        self.users: list[dict[str, Any]] = []
        self.log: list[Seen] = []
        self._scripts: list[list[Any]] = []
        self._lock = threading.Lock()

    # -- setup -------------------------------------------------------------------

    def seed(self, username: str | None, full_name: str | None = None, **extra: Any) -> str:
        user_id = secrets.token_hex(12)
        user: dict[str, Any] = {"userId": user_id, **extra}
        if username is not None:
            user["username"] = username
        if full_name is not None:
            user["fullName"] = full_name
        self.users.append(user)
        return user_id

    def seed_many(self, count: int, prefix: str = "user") -> list[str]:
        return [self.seed(f"{prefix}-{n:05d}@example.com", f"User {n}") for n in range(count)]

    def script(self, route: str, fn: Callable[[requests.PreparedRequest, FakeAlloy], Reply], *,
               times: int | None = None) -> None:
        self._scripts.append([route, fn, times])

    def client(self, **overrides: Any) -> AlloyClient:
        settings = dict(base_url=FAKE_URL, api_key=self.api_key, max_retries=2, backoff_s=0.001)
        settings.update(overrides)
        return AlloyClient(ClientSettings(**settings), transport=MockTransport(self))

    def lines(self) -> list[str]:
        return [seen.line for seen in self.log]

    # -- serving -------------------------------------------------------------------

    def __call__(self, request: requests.PreparedRequest) -> Reply:
        parts = urlsplit(_url(request))
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = json.loads(request.body) if request.body else None
        self.log.append(Seen(request.method or "", path, query, dict(request.headers), body))
        route = _route(request.method or "", path)
        with self._lock:
            for entry in self._scripts:
                if entry[0] == route and (entry[2] is None or entry[2] > 0):
                    if entry[2] is not None:
                        entry[2] -= 1
                    fn = entry[1]
                    break
            else:
                fn = None
        if fn is not None:
            result = fn(request, self)
            if isinstance(result, BaseException):
                raise result
            return result
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return Reply(401, self.unauthorized_body)
        return self.answer(request.method or "", path, query, body)

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        """What the fake API answers when nothing is scripted."""
        if method == "POST" and path in ("/users", "/users/"):
            if path not in self.create_paths:
                return Reply(self.create_missing_status, {"message": "Cannot POST " + path})
            if any(u.get("username") == body.get("username") for u in self.users):
                return Reply(409, {"message": "username already exists"})
            return Reply(200, {"userId": self.seed(body["username"], body.get("fullName"))})
        if method == "GET" and path == "/users":
            return Reply(200, self.list_body(query))
        ref = unquote(path[len("/users/"):]) if path.startswith("/users/") else None
        user = next((u for u in self.users if ref in (u["userId"], u.get("username"))), None) if ref else None
        if user is None:
            return Reply(404, {"message": "user not found"})
        if method == "GET":
            return Reply(200, user)
        if method == "PUT":
            user.update({k: v for k, v in body.items() if k in ("username", "fullName")})
            return Reply(200, user)
        if method == "DELETE":
            self.users.remove(user)
            return Reply(200, {"success": True})
        return Reply(405, {})

    def list_body(self, query: dict[str, str]) -> dict[str, Any]:
        if not self.page_size:
            return {"data": list(self.users)}
        offset = int(query.get("offset", 0))
        limit = int(query.get("limit", self.page_size))
        page = self.users[offset:offset + limit]
        end = offset + len(page)
        more = end < len(self.users)
        return {"data": page, "pagination": {"hasMore": more, "nextOffset": end if more else None}}


def _route(method: str, path: str) -> str:
    parts = path.rstrip("/").split("/")
    if len(parts) == 3 and parts[1] == "users" and parts[2]:
        return f"{method} /users/{{ref}}"
    return f"{method} {path}"
