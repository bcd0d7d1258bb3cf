"""A misbehaving Alloy API for tests: a proxy in front of the emulator whose
answers can be replaced, route by route, with scripted ones.

Requests that no script entry matches are forwarded to the upstream (the
emulator) and answered with its response, so the emulator keeps the truth
and a test can check it. A script entry answers instead, optionally after
forwarding the request (the write is then committed upstream and only its
answer is garbled)::

    with ScriptedApi(emulator.url) as api:
        api.script("POST /users", answer(200, HTML_PAGE, "text/html"))        # never reaches the emulator
        api.script("POST /users", cut_off(at=10), times=1)                     # created, answer cut mid-JSON
        api.script("GET /users/{ref}", rewritten(lambda user: {**user, "userId": OTHER_ID}))
        api.calls                                                              # what the client sent

Routes are ``"METHOD /users"`` or ``"METHOD /users/{ref}"``. The server is a
``http.server.ThreadingHTTPServer`` on 127.0.0.1 (HTTPS when given an
``ssl.SSLContext``), served by a daemon thread; HTTP/1.1 with keep-alive, as a
real API would be.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import requests

FORWARD_TIMEOUT_S = 30.0
SHUTDOWN_POLL_S = 0.05  # how often serve_forever checks for stop()
# Request headers that belong to one hop and are not forwarded.
HOP_HEADERS = frozenset({"host", "content-length", "connection", "keep-alive", "accept-encoding"})


@dataclass(frozen=True)
class Reply:
    """A scripted answer.

    ``body`` is sent as is (bytes), or computed from the upstream's JSON answer
    (a callable; implies ``forward``), or is the upstream's own (None).
    ``status`` None keeps the upstream's status. ``cut_at`` sends only that
    many bytes of the body under a ``Content-Length`` for all of it, then
    closes the connection.
    """

    status: int | None = None
    body: bytes | Callable[[Any], Any] | None = None
    content_type: str = "application/json"
    forward: bool = False
    cut_at: int | None = None


def answer(status: int, body: bytes, content_type: str = "application/json", *, forward: bool = False) -> Reply:
    """Answer ``status`` with ``body`` (after forwarding the request if ``forward``)."""
    return Reply(status=status, body=body, content_type=content_type, forward=forward)


def json_answer(status: int, document: Any, *, forward: bool = False) -> Reply:
    """Answer ``status`` with ``document`` as JSON."""
    return answer(status, json.dumps(document).encode(), forward=forward)


def rewritten(change: Callable[[Any], Any]) -> Reply:
    """Forward, then answer the upstream's status with ``change(its JSON body)``."""
    return Reply(body=change, forward=True)


def cut_off(at: int, body: bytes | None = None) -> Reply:
    """A body that stops after ``at`` bytes: ``body`` with a 200 (the request is
    not forwarded), or else the upstream's own answer (its write is committed)."""
    if body is None:
        return Reply(forward=True, cut_at=at)
    return Reply(status=200, body=body, cut_at=at)


@dataclass(frozen=True)
class Call:
    """One request received. ``body`` is the parsed JSON body (None when empty)."""

    method: str
    path: str
    route: str
    body: Any
    scripted: bool

    @property
    def line(self) -> str:
        """``"POST /users"``-style summary with the real path, for assertions."""
        return f"{self.method} {unquote(self.path)}"


@dataclass
class _Entry:
    route: str
    reply: Reply
    times: int | None
    when: Callable[[Any], bool] | None = None
    used: int = field(default=0)

    def takes(self, route: str, body: Any) -> bool:
        if self.route != route or (self.times is not None and self.used >= self.times):
            return False
        return self.when is None or bool(self.when(body))


def route_of(method: str, path: str) -> str:
    """``"GET /users/{ref}"`` for ``GET /users/abc``; the path itself elsewhere."""
    parts = path.split("?", 1)[0].rstrip("/").split("/")
    if len(parts) == 3 and parts[1] == "users" and parts[2]:
        return f"{method} /users/{{ref}}"
    return f"{method} {'/'.join(parts) or '/'}"


class ScriptedApi:
    """The double. Thread-safe; ``calls`` lists the requests in arrival order."""

    def __init__(self, upstream: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self._calls: list[Call] = []
        self._forwarder = requests.Session()
        self._forwarder.trust_env = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        scheme = "https" if ssl_context is not None else "http"
        self.port: int = self._server.server_address[1]
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_S,), name="scripted-api", daemon=True
        )

    def start(self) -> ScriptedApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._forwarder.close()

    def __enter__(self) -> ScriptedApi:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def script(
        self, route: str, reply: Reply, *, times: int | None = None, when: Callable[[Any], bool] | None = None
    ) -> None:
        """Answer requests to ``route`` with ``reply`` (``times`` times, or always),
        only those whose JSON body satisfies ``when`` if given. Entries are tried
        in the order they were added."""
        with self._lock:
            self._entries.append(_Entry(route, reply, times, when))

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def lines(self) -> list[str]:
        """Every call as ``"METHOD /path"`` (path unquoted)."""
        return [call.line for call in self.calls]

    # -- used by the handler ----------------------------------------------------

    def _choose(self, method: str, path: str, body: Any) -> Reply | None:
        route = route_of(method, path)
        with self._lock:
            entry = next((e for e in self._entries if e.takes(route, body)), None)
            if entry is not None:
                entry.used += 1
            self._calls.append(Call(method, path, route, body, scripted=entry is not None))
        return None if entry is None else entry.reply

    def _forward(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> requests.Response:
        return self._forwarder.request(
            method, self.upstream + path, data=raw or None, headers=headers, timeout=FORWARD_TIMEOUT_S
        )


def _handler_for(api: ScriptedApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve()

        do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # quiet: the calls are recorded in ``api.calls``

        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            reply = api._choose(self.command, self.path, body)
            if reply is None or reply.forward:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                upstream = api._forward(self.command, self.path, headers, raw)
                if reply is None:
                    self._send(upstream.status_code, upstream.content, upstream.headers.get("Content-Type", ""))
                    return
                status = upstream.status_code if reply.status is None else reply.status
                if callable(reply.body):
                    content = json.dumps(reply.body(upstream.json())).encode()
                else:
                    content = upstream.content if reply.body is None else reply.body
            else:
                status, content = reply.status or 200, reply.body if isinstance(reply.body, bytes) else b""
            self._send(status, content, reply.content_type, cut_at=reply.cut_at)

        def _send(self, status: int, content: bytes, content_type: str, cut_at: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type or "application/octet-stream")
            self.send_header("Content-Length", str(len(content)))
            if cut_at is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
                content = content[:cut_at]
            self.end_headers()
            self.wfile.write(content)
            self.wfile.flush()

    return Handler
