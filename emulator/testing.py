"""Test helpers: the emulator in this process, plus the launcher's names.

``EmulatorThread`` runs the same server inside this process (faster to start,
no signals, no subprocess); it exposes the same handle as
``emulator.process.EmulatorProcess`` (``url``, ``api_key``, ``headers()``,
``users_url()``, ``admin``, ``users()``, ``requests()``, ...) and is a context
manager. The launcher's names (``EmulatorProcess``, ``AdminClient``,
``AdminError``, ``EmulatorStartError``, ``EmulatorHandle``) are re-exported
here, so ``from emulator.testing import EmulatorProcess`` keeps working;
product code imports them from ``emulator.process``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from types import TracebackType

from emulator.defaults import DEFAULT_API_KEY, MEMORY_DB, STARTUP_TIMEOUT_S, STOP_TIMEOUT_S
from emulator.faults import FaultConfig
from emulator.process import AdminClient, AdminError, EmulatorHandle, EmulatorProcess, EmulatorStartError
from emulator.server import EmulatorServer
from emulator.settings import Settings

__all__ = ["AdminClient", "AdminError", "EmulatorHandle", "EmulatorProcess", "EmulatorStartError", "EmulatorThread"]


class EmulatorThread(EmulatorHandle):
    """The emulator served by a background thread of this process (no signals, no subprocess)."""

    def __init__(
        self,
        *,
        db: str | os.PathLike[str] = MEMORY_DB,
        api_key: str = DEFAULT_API_KEY,
        extra_api_keys: Sequence[str] = (),
        port: int = 0,
        faults: FaultConfig | None = None,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
    ) -> None:
        """Describe the server; nothing runs before ``start()``."""
        self.api_key = api_key
        self.settings = Settings(
            port=port,
            db_path=str(db),
            api_keys=(api_key, *extra_api_keys),
            faults=faults or FaultConfig(),
        )
        self.startup_timeout_s = startup_timeout_s
        self.url = ""
        self.server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorThread:
        """Bind, serve in a daemon thread, and wait until it accepts connections."""
        self.server = EmulatorServer(self.settings)
        self._thread = threading.Thread(target=self.server.run, name="emulator", daemon=True)
        self._thread.start()
        if not self.server.ready.wait(self.startup_timeout_s):
            self.stop()
            raise EmulatorStartError("in-process emulator did not start")
        self.url = self.server.url
        self.admin = AdminClient(self.url)
        return self

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """Stop serving and wait for the thread; returns 0."""
        if self.server is not None:
            self.server.request_stop()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if hasattr(self, "admin"):
            self.admin.close()
        return 0

    def __enter__(self) -> EmulatorThread:
        return self if self.server is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
