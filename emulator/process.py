"""Launching the emulator: ``EmulatorProcess`` runs ``python -m emulator`` as a subprocess.

Product code (``make up`` uses it through ``scripts/local_up.py``), also the
base of the test handles in ``emulator.testing``. A handle exposes::

    handle.url                      # "http://127.0.0.1:PORT"
    handle.api_key                  # the key to send (more may be accepted)
    handle.headers(api_key=None)    # Authorization + x-api-version + Content-Type
    handle.users_url(ref=None)      # ".../users" or ".../users/<ref, quoted>"
    handle.admin                    # AdminClient of the /_emulator/ API
    handle.users(), .requests(), .request_count(), .write_count(), .reset_log()
    handle.stop()                   # the exit code

``EmulatorProcess`` is a context manager and starts on ``__enter__`` if not
yet started. It imports nothing of the server (only ``emulator.defaults``
and ``emulator.variants``), so launching costs no Starlette import.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from requests import Session

from emulator.defaults import (
    ADMIN_PREFIX,
    ADMIN_TIMEOUT_S,
    API_KEYS_ENV,
    API_VERSION_HEADER,
    DEFAULT_API_KEY,
    DEFAULT_API_VERSION,
    MEMORY_DB,
    STARTUP_TIMEOUT_S,
    STOP_TIMEOUT_S,
)
from emulator.variants import IMMUTABLE_OFF, UNAUTHORIZED_EMPTY

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
READY_LINE_PATTERN = re.compile(r"\Aemulator listening on (http://\S+)\Z")


class EmulatorStartError(RuntimeError):
    """The emulator exited or stayed silent instead of announcing its URL."""


class AdminError(RuntimeError):
    """An admin call answered an error status."""

    def __init__(self, message: str, status_code: int) -> None:
        """Carry the HTTP status with the message."""
        super().__init__(message)
        self.status_code = status_code


class AdminClient:
    """Client of the ``/_emulator/`` admin API. Raises AdminError on any error status."""

    def __init__(self, base_url: str, *, timeout_s: float = ADMIN_TIMEOUT_S) -> None:
        """Talk to the emulator at ``base_url`` (its root URL, without ``/_emulator``)."""
        self.base_url = base_url.rstrip("/") + ADMIN_PREFIX
        self.timeout_s = timeout_s
        self._session = Session()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._session.request(method, self.base_url + path, json=body, timeout=self.timeout_s)
        if response.status_code >= 400:
            raise AdminError(f"{method} {ADMIN_PREFIX}{path}: {response.status_code} {response.text}", response.status_code)
        return response.json()

    def health(self) -> dict[str, Any]:
        """``{"status": "ok"}`` when the emulator answers."""
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def reset(self) -> None:
        """Wipe users, request log, counters, faults and API variants (all back to the defaults)."""
        self._call("POST", "/reset")

    def faults(self) -> dict[str, Any]:
        """The live fault configuration (``fail_next`` shows the entries not yet used)."""
        result: dict[str, Any] = self._call("GET", "/faults")
        return result

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the whole fault configuration (keys of ``emulator.faults``, API variants
        included; keys left out take their defaults); returns it."""
        result: dict[str, Any] = self._call("PUT", "/faults", faults)
        return result

    def update_faults(self, **changes: Any) -> dict[str, Any]:
        """Merge keys into the live configuration (``PATCH``), e.g. ``update_faults(page_size=50)``
        keeps the faults already set; returns the whole configuration."""
        result: dict[str, Any] = self._call("PATCH", "/faults", changes)
        return result

    def clear_faults(self) -> dict[str, Any]:
        """No faults, and every API variant back to its default."""
        return self.set_faults()

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first."""
        result: list[dict[str, Any]] = self._call("GET", "/requests")["data"]
        return result

    def clear_requests(self) -> None:
        """Forget the request log and zero the counters (users and faults stay)."""
        self._call("DELETE", "/requests")

    def counters(self) -> dict[str, int]:
        """Requests per public route, e.g. ``{"POST /users": 3, ...}``."""
        result: dict[str, int] = self._call("GET", "/counters")
        return result

    def users(self) -> list[dict[str, Any]]:
        """The raw user rows (seq, userId, username, fullName, createdAt, updatedAt)."""
        result: list[dict[str, Any]] = self._call("GET", "/users")["data"]
        return result

    def seed_user(self, username: str | None, full_name: str | None = None, *, user_id: str | None = None) -> str:
        """Create a user directly (no faults, not logged) and return its userId.

        ``username=None`` makes a user without a username (listed without a
        ``username`` key). Conflicts follow ``case_insensitive_usernames``.
        """
        body: dict[str, Any] = {"username": username}
        if full_name is not None:
            body["fullName"] = full_name
        if user_id is not None:
            body["userId"] = user_id
        user_id_out: str = self._call("POST", "/users", body)["userId"]
        return user_id_out

    def openapi(self) -> dict[str, Any]:
        """The seed OpenAPI document for ``POST /users``."""
        result: dict[str, Any] = self._call("GET", "/openapi.json")
        return result

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()


class EmulatorHandle:
    """What every emulator handle offers: URL, key, headers and admin shortcuts."""

    url: str
    api_key: str
    admin: AdminClient

    def headers(self, api_key: str | None = None, *, api_version: str | None = DEFAULT_API_VERSION) -> dict[str, str]:
        """Headers of a valid public request (``api_version=None`` leaves the version out)."""
        headers = {"Authorization": f"Bearer {self.api_key if api_key is None else api_key}"}
        if api_version is not None:
            headers[API_VERSION_HEADER] = api_version
        headers["Content-Type"] = "application/json"
        return headers

    def users_url(self, ref: str | None = None) -> str:
        """``{url}/users``, or ``{url}/users/{ref}`` with ``ref`` percent-encoded."""
        if ref is None:
            return f"{self.url}/users"
        return f"{self.url}/users/{quote(ref, safe='')}"

    # Shortcuts to the admin API, for assertions in end-to-end tests.

    def users(self) -> list[dict[str, Any]]:
        """The stored users (raw rows: userId, username, fullName, ...), in creation order."""
        return self.admin.users()

    def requests(self) -> list[dict[str, Any]]:
        """The request log of the public API, oldest first."""
        return self.admin.requests()

    def request_count(self) -> int:
        """How many public API requests are in the log."""
        return len(self.admin.requests())

    def write_count(self) -> int:
        """How many logged requests were writes (POST, PUT, DELETE on /users routes)."""
        return sum(1 for entry in self.admin.requests() if entry["route"] and entry["method"] in WRITE_METHODS)

    def reset_log(self) -> None:
        """Forget the request log and counters, keep users and faults."""
        self.admin.clear_requests()


class EmulatorProcess(EmulatorHandle):
    """``python -m emulator`` as a subprocess on a free port.

    ``api_key`` and ``extra_api_keys`` are passed in ``ALLOY_EMULATOR_API_KEYS``
    (never on the command line, where ``ps`` would show them); ``env`` entries
    override the child's environment, ``args`` are appended to the command.
    The child's stderr goes to a temporary file (``stderr_text()``).

    The API variants (``emulator.variants``) become start flags when they
    differ from the default: ``case_insensitive_usernames=True`` ->
    ``--case-insensitive-usernames``; ``immutable_usernames="ignore"|"reject"``
    -> ``--immutable-usernames MODE`` (``None`` or ``"off"``: renames
    allowed); ``page_size=N`` -> ``--page-size N`` (0: not paged);
    ``unauthorized_body="legacy"`` -> ``--unauthorized-body legacy``. They are
    the starting configuration: ``admin.reset()`` and ``admin.set_faults()``
    put them back to the defaults.
    """

    def __init__(
        self,
        *,
        db: str | os.PathLike[str] = MEMORY_DB,
        api_key: str = DEFAULT_API_KEY,
        extra_api_keys: Sequence[str] = (),
        port: int = 0,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
        case_insensitive_usernames: bool = False,
        immutable_usernames: str | None = None,
        page_size: int = 0,
        unauthorized_body: str = UNAUTHORIZED_EMPTY,
    ) -> None:
        """Describe the process; nothing runs before ``start()``."""
        self.db = str(db)
        self.case_insensitive_usernames = case_insensitive_usernames
        self.immutable_usernames = immutable_usernames or IMMUTABLE_OFF
        self.page_size = page_size
        self.unauthorized_body = unauthorized_body
        self.api_key = api_key
        self.extra_api_keys = tuple(extra_api_keys)
        self.port = port
        self.args = tuple(args)
        self.env = dict(env or {})
        self.python = python
        self.startup_timeout_s = startup_timeout_s
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr_path: Path | None = None
        self._stderr_text: str | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def command(self) -> list[str]:
        """The command line run by ``start``."""
        return [self.python, "-m", "emulator", "--port", str(self.port), "--db", self.db, *self.variant_args, *self.args]

    @property
    def variant_args(self) -> list[str]:
        """The start flags of the API variants that differ from the defaults."""
        args: list[str] = []
        if self.case_insensitive_usernames:
            args.append("--case-insensitive-usernames")
        if self.immutable_usernames != IMMUTABLE_OFF:
            args += ["--immutable-usernames", self.immutable_usernames]
        if self.page_size:
            args += ["--page-size", str(self.page_size)]
        if self.unauthorized_body != UNAUTHORIZED_EMPTY:
            args += ["--unauthorized-body", self.unauthorized_body]
        return args

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while running."""
        return None if self.process is None else self.process.poll()

    def start(self) -> EmulatorProcess:
        """Launch and wait for the ready line; raises EmulatorStartError with the child's stderr."""
        if self.process is not None:
            raise RuntimeError("already started")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        env[API_KEYS_ENV] = ",".join((self.api_key, *self.extra_api_keys))
        env.update(self.env)
        fd, stderr_name = tempfile.mkstemp(prefix="alloy-emulator-", suffix=".log")
        self._stderr_path = Path(stderr_name)
        with os.fdopen(fd, "w") as stderr_file:
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr_file,
                text=True,
                bufsize=1,
            )
        self._finalizer = weakref.finalize(self, _kill_quietly, self.process)
        threading.Thread(target=self._read_stdout, name=f"emulator-stdout-{self.process.pid}", daemon=True).start()
        try:
            line = self._lines.get(timeout=self.startup_timeout_s)
        except queue.Empty:
            line = None
        match = READY_LINE_PATTERN.match(line or "")
        if match is None:
            self.stop(timeout_s=2)
            raise EmulatorStartError(
                f"emulator did not announce its URL (first stdout line: {line!r}, "
                f"exit code: {self.returncode}); stderr:\n{self.stderr_text()[-4000:]}"
            )
        self.url = match.group(1)
        self.admin = AdminClient(self.url)
        return self

    def _read_stdout(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        # Keeps draining after the ready line so the child can never block on a full pipe.
        for raw in self.process.stdout:
            self._lines.put(raw.rstrip("\n"))
        self._lines.put(None)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S, *, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` (SIGTERM), wait up to ``timeout_s``, then SIGKILL; return the exit code."""
        process = self.process
        if process is None:
            raise RuntimeError("not started")
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._cleanup()
        assert process.returncode is not None
        return process.returncode

    def kill(self) -> int:
        """SIGKILL, no chance to clean up (a crash); return the exit code."""
        return self.stop(timeout_s=STOP_TIMEOUT_S, sig=signal.SIGKILL)

    def stderr_text(self) -> str:
        """What the child wrote on stderr so far (kept after ``stop``)."""
        if self._stderr_text is not None:
            return self._stderr_text
        if self._stderr_path is None or not self._stderr_path.exists():
            return ""
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")

    def _cleanup(self) -> None:
        if self._finalizer is not None:
            self._finalizer.detach()
        if hasattr(self, "admin"):
            self.admin.close()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        if self._stderr_path is not None and self._stderr_text is None:
            self._stderr_text = self.stderr_text()
            self._stderr_path.unlink(missing_ok=True)

    def __enter__(self) -> EmulatorProcess:
        return self if self.process is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            self.stop()


def _kill_quietly(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
