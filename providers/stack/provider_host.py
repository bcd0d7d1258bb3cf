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
  killed (``kill -9``, a cancelled CI job) nothing would stop it, and the
  calls already queued in its gRPC thread pool (4 workers; the engine sends
  many creates at once) would still run: users created that no state
  records, which recovery may look for before they land. So a daemon thread
  ends the process as soon as the CLI that started it has died (checked
  every ``PARENT_POLL_INTERVAL_S``: the process it started, this one or the
  SDK's ``pulumi-resource-pulumi-python`` shell wrapper, which does not
  ``exec``, has been re-parented) or once the engine's address (the host's
  first argument) has refused connections ``ENGINE_GONE_AFTER`` times in a
  row (where ``/proc`` is missing). Between two polls, ``engine_gone`` lets
  a provider refuse to send a write the engine can no longer record.
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
from pathlib import Path
from types import ModuleType
from typing import Any

from providers.alloy.errors import AlloyError

_HOST_CLASS = "DynamicResourceProviderServicer"
ENGINE_POLL_INTERVAL_S = 2.0
ENGINE_GONE_AFTER = 2
ENGINE_CONNECT_TIMEOUT_S = 1.0
PARENT_POLL_INTERVAL_S = 0.1
_watchdog_started = False
_watchdog_lock = threading.Lock()
# (the process the CLI started, the CLI's pid) when the watchdog started;
# None outside the provider host.
_lineage: tuple[int, int] | None = None
_engine_lost = threading.Event()
WRAPPER_SCRIPT = "pulumi-resource-pulumi-python"


class EngineGoneError(AlloyError):
    """The engine that asked for a write is gone: nothing was sent."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"not sent: {what}; the Pulumi CLI that asked for it is gone (the run was killed), "
            "so no state could record the result; run `python -m scripts.recover`, then `pulumi up`"
        )


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
    global _lineage
    with _watchdog_lock:
        if not _watchdog_started:
            _lineage = started_by()
            threading.Thread(
                target=_watch_engine, args=(host, int(port)), name="engine-watchdog", daemon=True
            ).start()
            _watchdog_started = True
    return True


def parent_of(pid: int) -> int | None:
    """The parent pid of ``pid`` from ``/proc`` (Linux); None when the
    process is gone or ``/proc`` is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (command) STATE PPID ...": the command may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _is_wrapper_script(pid: int) -> bool:
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(argument.decode(errors="replace").endswith(WRAPPER_SCRIPT) for argument in arguments[:3])


def started_by() -> tuple[int, int]:
    """(the process the CLI started, the CLI's pid): this process and its
    parent, or, when the parent is the SDK's shell wrapper, the wrapper and
    its parent."""
    parent = os.getppid()
    if _is_wrapper_script(parent):
        cli = parent_of(parent)
        if cli is not None:
            return parent, cli
    return os.getpid(), parent


def engine_gone() -> bool:
    """True once the host knows that the CLI that started it is gone (the
    process it started was re-parented, or the watchdog saw the engine
    refuse connections); always False outside the provider host. Cheap: a
    ``getppid`` or one small ``/proc`` read."""
    if _engine_lost.is_set():
        return True
    if _lineage is None:
        return False
    child, cli = _lineage
    parent = os.getppid() if child == os.getpid() else parent_of(child)
    if parent != cli:
        _engine_lost.set()
        return True
    return False


def refuse_if_engine_gone(what: str) -> None:
    """Raise ``EngineGoneError`` (naming ``what``) instead of sending a write
    whose result no state could record."""
    if engine_gone():
        raise EngineGoneError(what)


def engine_answers(host: str, port: int) -> bool:
    """True if something accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=ENGINE_CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def _watch_engine(host: str, port: int) -> None:
    misses = 0
    polls_per_probe = max(1, round(ENGINE_POLL_INTERVAL_S / PARENT_POLL_INTERVAL_S))
    polls = 0
    while True:
        time.sleep(PARENT_POLL_INTERVAL_S)
        if engine_gone():
            os._exit(1)
        polls += 1
        if polls % polls_per_probe:
            continue
        misses = 0 if engine_answers(host, port) else misses + 1
        if misses >= ENGINE_GONE_AFTER:
            _engine_lost.set()
            os._exit(1)
