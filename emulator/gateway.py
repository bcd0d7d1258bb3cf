"""The layer in front of the public routes: counters, faults, auth, API version, request log.

For each request, in this order:

1. count it and decide its fault (``FaultInjector.decide``);
2. sleep the injected latency;
3. a 429/5xx fault answers now: the handler does not run, nothing is written;
4. auth: ``401 {}`` without an accepted key (before any validation; the body
   follows the ``unauthorized_body`` variant);
5. ``x-api-version``: 400 when missing or not supported;
6. the route handler runs, and commits;
7. ``drop_after_commit``: the connection is closed and no response is sent;
   ``slow_after_commit``: the response is held ``slow_s`` seconds (or until
   the client hangs up);
8. the request is logged (method, path, status, fault; never a header value).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.auth import AuthOutcome, check_bearer
from emulator.defaults import API_VERSION_HEADER, SUPPORTED_API_VERSIONS
from emulator.errors import error_response, unauthorized_response
from emulator.faults import DROP_AFTER_COMMIT, Decision
from emulator.requestlog import LogEntry
from emulator.routes import route_key
from emulator.state import EmulatorState

logger = logging.getLogger(__name__)

# While a slow fault holds a response, the client is polled for a hang-up this often.
_DISCONNECT_POLL_S = 0.01


@dataclass
class _Result:
    status: int | None = None
    delivered: bool = True


class Gateway:
    """ASGI middleware wrapping the public users API (see the module docstring)."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        """Wrap ``app``; ``state`` supplies keys, faults, log and counters."""
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request (non-HTTP scopes pass straight through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        arrived = datetime.now(timezone.utc)
        started = time.monotonic()
        seq = state.log.next_seq()
        route = route_key(scope["method"], scope["path"])
        state.counters.bump(route)
        headers = Headers(scope=scope)
        auth = check_bearer(headers.get("authorization"), state.api_keys)
        decision = state.faults.decide(route)
        result = _Result()
        try:
            await self._serve(scope, receive, send, headers, auth, decision, result)
        finally:
            state.log.append(
                LogEntry(
                    seq=seq,
                    time=arrived.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    method=scope["method"],
                    path=scope["path"],
                    route=route,
                    status=result.status,
                    delivered=result.delivered and result.status is not None,
                    fault=decision.fault,
                    latency_ms=round(decision.latency_s * 1000, 3),
                    auth=auth.value,
                    duration_ms=round((time.monotonic() - started) * 1000, 3),
                )
            )

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Headers,
        auth: AuthOutcome,
        decision: Decision,
        result: _Result,
    ) -> None:
        if decision.latency_s > 0:
            await asyncio.sleep(decision.latency_s)
        if decision.status is not None:
            await _respond(_fault_response(decision), scope, receive, send, result)
            return
        if auth is not AuthOutcome.OK:
            body = self.state.faults.variants.unauthorized_json()
            await _respond(unauthorized_response(body), scope, receive, send, result)
            return
        version_problem = _version_problem(headers.get(API_VERSION_HEADER))
        if version_problem is not None:
            await _respond(error_response(400, version_problem), scope, receive, send, result)
            return
        if decision.after_commit is None:
            await self._call_app(scope, receive, _recording(send, result), result)
            return

        held: list[Message] = []

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                result.status = message["status"]
            held.append(message)

        await self._call_app(scope, receive, hold, result)
        if decision.after_commit == DROP_AFTER_COMMIT:
            result.delivered = False
            await _drop_connection(send)
            return
        if await _client_hung_up_within(receive, decision.slow_s):
            result.delivered = False
            return
        for message in held:
            await send(message)

    async def _call_app(self, scope: Scope, receive: Receive, send: Send, result: _Result) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            # Starlette has already answered a JSON 500 and re-raises for the
            # server's sake; log it here so a held response can still be handled.
            if result.status is None:
                raise
            logger.exception("unexpected error in %s %s", scope["method"], scope["path"])


def _recording(send: Send, result: _Result) -> Send:
    async def recording_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
        await send(message)

    return recording_send


async def _respond(response: Response, scope: Scope, receive: Receive, send: Send, result: _Result) -> None:
    await response(scope, receive, _recording(send, result))


def _fault_response(decision: Decision) -> Response:
    assert decision.status is not None
    try:
        phrase = HTTPStatus(decision.status).phrase
    except ValueError:
        phrase = "Error"
    headers = None
    if decision.retry_after_s is not None:
        headers = {"Retry-After": str(decision.retry_after_s)}
    return error_response(decision.status, f"{phrase} (injected by the emulator)", headers)


def _version_problem(value: str | None) -> str | None:
    supported = ", ".join(SUPPORTED_API_VERSIONS)
    if value is None or not value.strip():
        return f"missing required header {API_VERSION_HEADER} (supported: {supported})"
    if value.strip() not in SUPPORTED_API_VERSIONS:
        return f"unsupported {API_VERSION_HEADER} {value.strip()[:40]!r} (supported: {supported})"
    return None


async def _drop_connection(send: Send) -> None:
    """Close the client's connection without sending anything.

    ASGI has no message for "abort"; uvicorn's ``send`` is a bound method of
    its request cycle, which holds the transport. Closing it gives the client
    a connection closed before any response (requests: ConnectionError).
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("drop_after_commit needs uvicorn (the ASGI send callable exposes no transport)")
    transport.close()
    # Let the loop run connection_lost, so uvicorn sees a disconnect rather
    # than an app that returned without answering (which it would log as an error).
    for _ in range(10):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)


async def _client_hung_up_within(receive: Receive, seconds: float) -> bool:
    """Wait ``seconds``; return True as soon as the client disconnects."""

    async def wait_for_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            await asyncio.sleep(_DISCONNECT_POLL_S)

    try:
        await asyncio.wait_for(wait_for_disconnect(), timeout=seconds)
    except asyncio.TimeoutError:
        return False
    return True
