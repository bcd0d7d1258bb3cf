"""The public users API (Alloy's routes) and the assembly of the whole ASGI app.

Routes (``{userId}`` also accepts the username; a userId match wins):

- ``POST /users`` (also ``POST /users/``, as the Embedded reference writes it)
  ``{"username", "fullName"?}`` -> ``200 {"userId"}``; 409 when the username exists
- ``GET /users`` -> ``200 {"data": [{"userId", "username", "fullName"}, ...]}`` in creation order
  (the documented ``parentWorkflowId`` query is accepted and ignored); with the
  ``page_size`` variant, paged (``emulator.pagination``)
- ``GET /users/{userId}`` -> ``200 {"userId", "username", "fullName"}``
- ``PUT /users/{userId}`` ``{"username"?, "fullName"?}`` -> ``200 {"userId", "fullName", "username"}``;
  with ``immutable_usernames`` ``"reject"``, a rename is ``400 {}``
- ``DELETE /users/{userId}`` -> ``200 {"success": true}``

A user created without ``fullName`` shows ``"fullName": null``; a user without
a username (only seeding makes one) has no ``username`` key. A missing user
is ``404 {"message"}``. Paths under ``/_emulator/`` go to the admin API instead.
The API variants (``emulator.variants``) are read per request from the live
fault configuration.
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
from emulator.pagination import page_body, parse_page_request
from emulator.state import EmulatorState
from emulator.store import UsernameImmutable, UsernameTaken, UserNotFound, UserStore
from emulator.variants import ApiVariants

T = TypeVar("T")

USERNAME_TAKEN_MESSAGE = "username already exists"
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


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


def _variants(request: Request) -> ApiVariants:
    state: EmulatorState = request.app.state.emulator
    return state.faults.variants


def _body_limit(request: Request) -> int:
    state: EmulatorState = request.app.state.emulator
    return state.max_body_bytes


async def create_user(request: Request) -> JSONResponse:
    """POST /users: create a user; 409 when the username is taken."""
    fields = parse_create(await read_json_object(request, _body_limit(request)))
    assert fields.username is not None
    fold_case = _variants(request).case_insensitive_usernames
    user = await _in_thread(_store(request).create, fields.username, fields.full_name, fold_case=fold_case)
    return JSONResponse({"userId": user.user_id})


async def create_user_trailing_slash(request: Request) -> JSONResponse:
    """POST /users/: the same as POST /users; other methods on /users/ are not routes (404)."""
    if request.method != "POST":
        raise ApiError(404, "Not Found")
    return await create_user(request)


async def list_users(request: Request) -> JSONResponse:
    """GET /users: every user in creation order, or one page of them with ``page_size``."""
    page_size = _variants(request).page_size
    if not page_size:
        users = await _in_thread(_store(request).list_users)
        return JSONResponse({"data": [user.public() for user in users]})
    page = parse_page_request(request.query_params, page_size)
    users, total = await _in_thread(_store(request).list_page, page.offset, page.limit)
    return JSONResponse(page_body([user.public() for user in users], page, total))


async def get_user(request: Request) -> JSONResponse:
    """GET /users/{userId}: one user by userId or username."""
    fold_case = _variants(request).case_insensitive_usernames
    user = await _in_thread(_store(request).get, request.path_params["userId"], fold_case=fold_case)
    return JSONResponse(user.public())


async def update_user(request: Request) -> JSONResponse:
    """PUT /users/{userId}: change username and/or fullName (``400 {}`` for a refused rename)."""
    fields = parse_update(await read_json_object(request, _body_limit(request)))
    variants = _variants(request)
    try:
        user = await _in_thread(
            _store(request).update,
            request.path_params["userId"],
            username=fields.username,
            full_name=fields.full_name,
            fold_case=variants.case_insensitive_usernames,
            immutable=variants.immutable_usernames,
        )
    except UsernameImmutable:
        # Alloy documents "400 {}" for bad input to PUT /users/{userId}.
        return JSONResponse({}, status_code=400)
    return JSONResponse(user.updated())


async def delete_user(request: Request) -> JSONResponse:
    """DELETE /users/{userId}: delete a user by userId or username."""
    fold_case = _variants(request).case_insensitive_usernames
    await _in_thread(_store(request).delete, request.path_params["userId"], fold_case=fold_case)
    return JSONResponse({"success": True})


def build_public_app(state: EmulatorState) -> Starlette:
    """The Starlette app of Alloy's users routes (without the gateway)."""
    app = Starlette(
        routes=[
            Route("/users", create_user, methods=["POST"]),
            Route("/users/", create_user_trailing_slash, methods=_ALL_METHODS),
            Route("/users", list_users, methods=["GET"]),
            Route("/users/{userId}", get_user, methods=["GET"]),
            Route("/users/{userId}", update_user, methods=["PUT"]),
            Route("/users/{userId}", delete_user, methods=["DELETE"]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    # "/users/" is served only for POST (404 otherwise), never redirected.
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
