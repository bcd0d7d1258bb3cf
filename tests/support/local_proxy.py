"""Small local HTTP servers for proxy tests: a CONNECT proxy and a recording API.

``ConnectProxy`` is an HTTP proxy on 127.0.0.1 that tunnels ``CONNECT
host:port`` (the way clients reach an https URL through ``HTTPS_PROXY``),
connecting to ``hosts.get(host, host)``, so that a made-up name such as
``alloy.test`` reaches a local server. It records every request line and its
headers (``.seen``); anything other than CONNECT is answered 502 (and recorded).

``RecordingApi`` answers ``GET /users`` (``{"data": []}``) and ``POST /users``
(``{"userId"}``) over HTTP or HTTPS and records method, path and headers;
``redirect(path, location)`` makes a path answer ``307`` to ``location``.
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PIPE_CHUNK = 65536


@dataclass(frozen=True)
class Seen:
    method: str
    target: str
    headers: dict[str, str]


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler], ssl_context: ssl.SSLContext | None = None) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def record(self, method: str, target: str, headers: Any) -> None:
        with self._lock:
            self.seen.append(Seen(method, target, {k: v for k, v in headers.items()}))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


class ConnectProxy(_Server):
    def __init__(self, hosts: dict[str, str] | None = None) -> None:
        self.hosts = dict(hosts or {})
        super().__init__(_ProxyHandler)
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def connects(self) -> list[str]:
        return [seen.target for seen in self.seen if seen.method == "CONNECT"]


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_CONNECT(self) -> None:
        proxy: ConnectProxy = self.server.owner  # type: ignore[attr-defined]
        proxy.record("CONNECT", self.path, self.headers)
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((proxy.hosts.get(host, host), int(port)), timeout=5)
        except OSError:
            self.send_error(502, "cannot reach upstream")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 5)
                if not readable:
                    break
                for sock in readable:
                    data = sock.recv(PIPE_CHUNK)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()
            self.close_connection = True

    def _refuse(self) -> None:
        proxy: ConnectProxy = self.server.owner  # type: ignore[attr-defined]
        proxy.record(self.command, self.path, self.headers)
        self.send_error(502, "this test proxy only tunnels")

    do_GET = do_POST = do_PUT = do_DELETE = _refuse


class RecordingApi(_Server):
    def __init__(self, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.redirects: dict[str, str] = {}
        super().__init__(_ApiHandler, ssl_context)
        self.url = f"{'https' if ssl_context else 'http'}://{host}:{self.port}"

    def redirect(self, path: str, location: str) -> None:
        self.redirects[path] = location

    @property
    def authorizations(self) -> list[str | None]:
        return [seen.headers.get("Authorization") for seen in self.seen]


class _ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _serve(self) -> None:
        api: RecordingApi = self.server.owner  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        api.record(self.command, self.path, self.headers)
        path = self.path.split("?", 1)[0]
        if path in api.redirects:
            self.send_response(307)
            self.send_header("Location", api.redirects[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.command == "POST":
            body = {"userId": "0123456789abcdef01234567"}
        else:
            body = {"data": []}
        content = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _serve
