"""Adapt the dynamic provider host process (``python -m pulumi.dynamic``).

Two things the SDK's host does not do, installed from ``configure`` and only
inside that process (elsewhere these functions do nothing):

- Show the provider's own errors as one line. The host reports every
  exception of a provider method with ``traceback.format_exc()``; for an
  ``AlloyError`` the message is already the whole story (method, path,
  status, what to check), so the host's ``traceback`` is swapped for a shim
  that formats those errors as their message alone and leaves every other
  exception as it was. If a future SDK stops looking up ``traceback`` this
  way, the only effect is that tracebacks come back.
- End on SIGINT also when started with SIGINT ignored (a background shell,
  some CI runners): the engine closes its plugins with SIGINT and waits 5 s
  before killing one that stays. Python keeps an inherited SIG_IGN, and only
  the main thread may call ``signal.signal``, so the C default action is
  restored through libc (``restore_default_sigint``).
- Exit when the engine is gone. The host waits forever; when the CLI is
  killed (``kill -9``, a cancelled CI job) nothing would stop it. A daemon
  thread polls the engine's address (the host's first argument) and ends the
  process once the engine has refused connections ``ENGINE_GONE_AFTER``
  times in a row. Results it could still produce would be recorded nowhere.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading
import time
import traceback
from types import ModuleType
from typing import Any

from providers.alloy.errors import AlloyError

_HOST_CLASS = "DynamicResourceProviderServicer"
ENGINE_POLL_INTERVAL_S = 2.0
ENGINE_GONE_AFTER = 2
ENGINE_CONNECT_TIMEOUT_S = 1.0
_watchdog_started = False
_watchdog_lock = threading.Lock()


def in_provider_host() -> bool:
    """True inside ``python -m pulumi.dynamic``."""
    host = sys.modules.get("__main__")
    return host is not None and hasattr(host, _HOST_CLASS)


class _TracebackShim:
    """Stands in for the ``traceback`` module inside the provider host."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real

    def format_exc(self, *args: Any, **kwargs: Any) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, AlloyError):
            return str(error)
        return self._real.format_exc(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install_plain_errors() -> bool:
    """Install the traceback shim in the provider host; True if installed."""
    if not in_provider_host():
        return False
    host = sys.modules["__main__"]
    if not isinstance(getattr(host, "traceback", None), _TracebackShim):
        host.traceback = _TracebackShim(traceback)  # type: ignore[attr-defined]
    return True


def restore_default_sigint() -> bool:
    """If SIGINT is ignored, give it back its default action (end the
    process); True if it was changed. Callable from any thread."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN or os.name != "posix":
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = (ctypes.c_int, ctypes.c_void_p)
    libc.signal(int(signal.SIGINT), None)  # SIG_DFL is 0
    return True


def exit_with_engine() -> bool:
    """Start (once) the thread that ends the provider host when the engine is
    gone; True if it runs."""
    global _watchdog_started
    if not in_provider_host() or len(sys.argv) < 2:
        return False
    restore_default_sigint()
    host, _, port = sys.argv[1].rpartition(":")
    if not host or not port.isdigit():
        return False
    with _watchdog_lock:
        if not _watchdog_started:
            threading.Thread(
                target=_watch_engine, args=(host, int(port)), name="engine-watchdog", daemon=True
            ).start()
            _watchdog_started = True
    return True


def engine_answers(host: str, port: int) -> bool:
    """True if something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=ENGINE_CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def _watch_engine(host: str, port: int) -> None:
    misses = 0
    while True:
        time.sleep(ENGINE_POLL_INTERVAL_S)
        misses = 0 if engine_answers(host, port) else misses + 1
        if misses >= ENGINE_GONE_AFTER:
            os._exit(1)
