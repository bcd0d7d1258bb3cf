"""The public users API (Alloy's routes) and the assembly of the whole ASGI app.

Routes (``{userId}`` also accepts the username; a userId match wins):

- ``POST /users`` ``{"username", "fullName"?}`` -> ``200 {"userId"}``; 409 when the username exists
- ``GET /users`` -> ``200 {"data": [{"userId", "username", "fullName"}, ...]}`` in creation order
  (the documented ``parentWorkflowId`` query is accepted and ignored)
- ``GET /users/{userId}`` -> ``200 {"userId", "username", "fullName"}``
- ``PUT /users/{userId}`` ``{"username"?, "fullName"?}`` -> ``200 {"userId", "fullName", "username"}``
- ``DELETE /users/{userId}`` -> ``200 {"success": true}``

A user created without ``fullName`` shows ``"fullName": null``. A missing user
is ``404 {"message"}``. Paths under ``/_emulator/`` go to the admin API instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.admin import build_admin_app
from emulator.bodies import parse_create, parse_update, read_json_object
from emulator.defaults import ADMIN_PREFIX
from emulator.errors import EXCEPTION_HANDLERS, ApiError
from emulator.gateway import Gateway
from emulator.state import EmulatorState
from emulator.store import UsernameTaken, UserNotFound, UserStore

T = TypeVar("T")

USERNAME_TAKEN_MESSAGE = "username already exists"


async def _in_thread(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run a blocking store call off the event loop (the store serialises access itself)."""
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except UserNotFound:
        raise ApiError(404, "user not found") from None
    except UsernameTaken:
        raise ApiError(409, USERNAME_TAKEN_MESSAGE) from None


def _store(request: Request) -> UserStore:
    state: EmulatorState = request.app.state.emulator
    return state.store


def _body_limit(request: Request) -> int:
    state: EmulatorState = request.app.state.emulator
    return state.max_body_bytes


async def create_user(request: Request) -> JSONResponse:
    """POST /users: create a user; 409 when the username is taken."""
    fields = parse_create(await read_json_object(request, _body_limit(request)))
    assert fields.username is not None
    user = await _in_thread(_store(request).create, fields.username, fields.full_name)
    return JSONResponse({"userId": user.user_id})


async def list_users(request: Request) -> JSONResponse:
    """GET /users: every user, in creation order."""
    users = await _in_thread(_store(request).list_users)
    return JSONResponse({"data": [user.public() for user in users]})


async def get_user(request: Request) -> JSONResponse:
    """GET /users/{userId}: one user by userId or username."""
    user = await _in_thread(_store(request).get, request.path_params["userId"])
    return JSONResponse(user.public())


async def update_user(request: Request) -> JSONResponse:
    """PUT /users/{userId}: change username and/or fullName."""
    fields = parse_update(await read_json_object(request, _body_limit(request)))
    user = await _in_thread(
        _store(request).update, request.path_params["userId"], username=fields.username, full_name=fields.full_name
    )
    return JSONResponse({"userId": user.user_id, "fullName": user.full_name, "username": user.username})


async def delete_user(request: Request) -> JSONResponse:
    """DELETE /users/{userId}: delete a user by userId or username."""
    await _in_thread(_store(request).delete, request.path_params["userId"])
    return JSONResponse({"success": True})


def build_public_app(state: EmulatorState) -> Starlette:
    """The Starlette app of Alloy's users routes (without the gateway)."""
    app = Starlette(
        routes=[
            Route("/users", create_user, methods=["POST"]),
            Route("/users", list_users, methods=["GET"]),
            Route("/users/{userId}", get_user, methods=["GET"]),
            Route("/users/{userId}", update_user, methods=["PUT"]),
            Route("/users/{userId}", delete_user, methods=["DELETE"]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    # "/users/" is not a route; answer 404 instead of redirecting.
    app.router.redirect_slashes = False
    app.state.emulator = state
    return app


class EmulatorApp:
    """The complete ASGI app: ``/_emulator/...`` to the admin API, the rest through the gateway."""

    def __init__(self, state: EmulatorState) -> None:
        """Assemble the app around ``state``."""
        self.state = state
        self.public: ASGIApp = Gateway(build_public_app(state), state)
        self.admin: ASGIApp = build_admin_app(state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI connection."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        path = scope.get("path", "")
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            await self.admin(scope, receive, send)
        else:
            await self.public(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    # Nothing to start or stop: the store is opened before serving and closed after.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
