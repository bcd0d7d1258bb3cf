"""Serving the emulator with uvicorn: bind, announce readiness, stop cleanly."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn

from emulator.app import EmulatorApp
from emulator.defaults import READY_LINE_FORMAT
from emulator.faults import FaultInjector
from emulator.settings import Settings
from emulator.state import EmulatorState
from emulator.store import UserStore


def format_url(host: str, port: int) -> str:
    """``http://host:port``, with brackets around an IPv6 host."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def ready_line(url: str) -> str:
    """The line printed on stdout once the server accepts connections."""
    return READY_LINE_FORMAT.format(url=url)


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls ``on_ready`` once its socket is being served."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self._on_ready()


class EmulatorServer:
    """One emulator: state, a listening socket and a uvicorn server.

    The socket is bound in the constructor, so ``url`` is known (also with
    port 0) before ``run``. ``run`` blocks until ``request_stop`` or, in the
    main thread, SIGTERM/SIGINT; it then finishes in-flight requests (at most
    ``settings.graceful_shutdown_s``), closes the database and removes the ready file.
    """

    def __init__(self, settings: Settings) -> None:
        """Open the database and bind the socket (raises OSError when the port is taken)."""
        self.settings = settings
        self.state = EmulatorState(
            store=UserStore(settings.db_path),
            api_keys=settings.api_keys,
            faults=FaultInjector(settings.faults),
            max_body_bytes=settings.max_body_bytes,
        )
        try:
            self._socket = _listen(settings.host, settings.port)
        except OSError:
            self.state.store.close()
            raise
        self.port: int = self._socket.getsockname()[1]
        self.url = format_url(settings.host, self.port)
        self.ready = threading.Event()
        config = uvicorn.Config(
            EmulatorApp(self.state),
            host=settings.host,
            port=self.port,
            http="h11",  # the drop_after_commit fault relies on h11's request cycle (see gateway)
            ws="none",
            lifespan="off",
            loop="asyncio",
            log_config=None,
            log_level=settings.log_level,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=int(settings.graceful_shutdown_s),
        )
        self._server = _AnnouncingServer(config, on_ready=self._announce)
        self._on_ready: Callable[[str], None] | None = None

    def run(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve until stopped; ``on_ready(url)`` is called once connections are accepted."""
        self._on_ready = on_ready
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()
            self.state.store.close()
            self._remove_ready_file()

    def request_stop(self) -> None:
        """Ask the server to stop (thread- and signal-safe)."""
        self._server.should_exit = True

    def _announce(self) -> None:
        if self.settings.ready_file:
            _write_atomically(Path(self.settings.ready_file), self.url + "\n")
        if self._on_ready is not None:
            self._on_ready(self.url)
        self.ready.set()

    def _remove_ready_file(self) -> None:
        path = self.settings.ready_file
        if path and self.ready.is_set():
            try:
                Path(path).unlink()
            except FileNotFoundError:
                pass


def print_ready_line(url: str) -> None:
    """Print the ready line on stdout, flushed, for scripts waiting on it."""
    sys.stdout.write(ready_line(url) + "\n")
    sys.stdout.flush()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on such
    # sockets, and without it keep-alive requests wait ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
