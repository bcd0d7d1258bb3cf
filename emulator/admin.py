"""The admin API under ``/_emulator/``: for tests and demos, not part of Alloy's API.

It needs no key, bypasses faults, and is neither counted nor logged.

- ``GET  /_emulator/health``        ``{"status": "ok"}``
- ``GET  /_emulator/faults``        the fault configuration and API variants (``fail_next``: entries not yet used)
- ``PUT  /_emulator/faults``        replace it (keys: see ``emulator.faults``; omitted keys take their
                                    defaults); 400 with a message when invalid (the old one stays)
- ``PATCH /_emulator/faults``       merge: the keys given replace theirs, the others keep their live values
- ``POST /_emulator/reset``         wipe users, request log, counters, faults and API variants (all to defaults)
- ``GET  /_emulator/requests``      ``{"data": [log entry, ...]}`` (see ``emulator.requestlog.LogEntry``)
- ``DELETE /_emulator/requests``    forget the request log and zero the counters (users and faults stay)
- ``GET  /_emulator/counters``      ``{"POST /users": 3, "GET /users": 1, ...}``
- ``GET  /_emulator/users``         ``{"data": [{"seq", "userId", "username", "fullName", "createdAt", "updatedAt"}]}``
- ``POST /_emulator/users``         seed a user ``{"username", "fullName"?, "userId"?}`` -> ``{"userId"}``;
                                    ``"username": null`` makes a user without a username
                                    (``username`` may not be left out); obeys ``case_insensitive_usernames``
- ``GET  /_emulator/openapi.json``  Alloy's OpenAPI document for ``POST /users`` (the seed), as JSON
- ``GET  /_emulator/openapi.yaml``  the same, as the YAML text kept in ``emulator/openapi/``
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator.bodies import parse_seed, read_json_object
from emulator.defaults import ADMIN_PREFIX, SEED_OPENAPI_PATH
from emulator.errors import EXCEPTION_HANDLERS, ApiError
from emulator.faults import FaultConfig, FaultConfigError
from emulator.ids import is_user_id
from emulator.state import EmulatorState
from emulator.store import UserIdTaken, UsernameTaken


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


async def health(request: Request) -> JSONResponse:
    """Liveness probe."""
    return JSONResponse({"status": "ok"})


async def get_faults(request: Request) -> JSONResponse:
    """The live fault configuration."""
    return JSONResponse(_state(request).faults.snapshot())


async def put_faults(request: Request) -> JSONResponse:
    """Replace the fault configuration as a whole."""
    state = _state(request)
    body = await read_json_object(request, state.max_body_bytes, strict_content_type=False)
    try:
        config = FaultConfig.from_json(body)
    except FaultConfigError as exc:
        raise ApiError(400, str(exc)) from None
    state.faults.configure(config)
    return JSONResponse(state.faults.snapshot())


async def patch_faults(request: Request) -> JSONResponse:
    """Merge keys into the live fault configuration."""
    state = _state(request)
    body = await read_json_object(request, state.max_body_bytes, strict_content_type=False)
    try:
        state.faults.merge(body)
    except FaultConfigError as exc:
        raise ApiError(400, str(exc)) from None
    return JSONResponse(state.faults.snapshot())


async def reset(request: Request) -> JSONResponse:
    """Wipe users, log, counters and faults."""
    await run_in_threadpool(_state(request).reset)
    return JSONResponse({"status": "reset"})


async def request_log(request: Request) -> JSONResponse:
    """The request log, oldest first."""
    return JSONResponse({"data": _state(request).log.entries()})


async def clear_request_log(request: Request) -> JSONResponse:
    """Forget the request log and zero the counters."""
    state = _state(request)
    state.log.clear()
    state.counters.clear()
    return JSONResponse({"status": "cleared"})


async def counters(request: Request) -> JSONResponse:
    """Requests per public route."""
    return JSONResponse(_state(request).counters.snapshot())


async def list_users(request: Request) -> JSONResponse:
    """Every stored user with every column."""
    users = await run_in_threadpool(_state(request).store.list_users)
    return JSONResponse({"data": [user.raw() for user in users]})


async def seed_user(request: Request) -> JSONResponse:
    """Create a user directly (no faults, no log); ``userId`` may be fixed."""
    state = _state(request)
    body = await read_json_object(request, state.max_body_bytes, strict_content_type=False)
    fields = parse_seed(body)
    user_id = body.get("userId")
    if user_id is not None and not (isinstance(user_id, str) and is_user_id(user_id)):
        raise ApiError(400, "userId must be 24 lower-case hex characters")
    fold_case = state.faults.variants.case_insensitive_usernames
    try:
        user = await run_in_threadpool(
            state.store.create, fields.username, fields.full_name, user_id=user_id, fold_case=fold_case
        )
    except (UsernameTaken, UserIdTaken) as exc:
        raise ApiError(409, str(exc)) from None
    return JSONResponse({"userId": user.user_id})


@functools.lru_cache(maxsize=1)
def seed_openapi_text() -> str:
    """The kept copy of Alloy's OpenAPI YAML for ``POST /users``."""
    return SEED_OPENAPI_PATH.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def seed_openapi() -> dict[str, Any]:
    """The same document, parsed (YAML 1.2, so ``2025-09`` stays a string)."""
    from ruamel.yaml import YAML

    document: dict[str, Any] = YAML(typ="safe").load(seed_openapi_text())
    return document


async def openapi_json(request: Request) -> JSONResponse:
    """The seed OpenAPI document as JSON."""
    return JSONResponse(seed_openapi())


async def openapi_yaml(request: Request) -> Response:
    """The seed OpenAPI document as YAML text."""
    return Response(seed_openapi_text(), media_type="application/yaml")


def build_admin_app(state: EmulatorState) -> Starlette:
    """The Starlette app serving ``/_emulator/...``."""
    prefix = ADMIN_PREFIX
    app = Starlette(
        routes=[
            Route(f"{prefix}/health", health, methods=["GET"]),
            Route(f"{prefix}/faults", get_faults, methods=["GET"]),
            Route(f"{prefix}/faults", put_faults, methods=["PUT"]),
            Route(f"{prefix}/faults", patch_faults, methods=["PATCH"]),
            Route(f"{prefix}/reset", reset, methods=["POST"]),
            Route(f"{prefix}/requests", request_log, methods=["GET"]),
            Route(f"{prefix}/requests", clear_request_log, methods=["DELETE"]),
            Route(f"{prefix}/counters", counters, methods=["GET"]),
            Route(f"{prefix}/users", list_users, methods=["GET"]),
            Route(f"{prefix}/users", seed_user, methods=["POST"]),
            Route(f"{prefix}/openapi.json", openapi_json, methods=["GET"]),
            Route(f"{prefix}/openapi.yaml", openapi_yaml, methods=["GET"]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.router.redirect_slashes = False
    app.state.emulator = state
    return app
