"""Error responses: every error the emulator produces is JSON.

Public errors carry ``{"message": "..."}``, except 401, which is ``{}`` as
the seed documents it (or ``{"message": "Unauthorized"}`` with the
``unauthorized_body`` variant ``"legacy"``), and a rename refused by the
``immutable_usernames`` variant ``"reject"``, which is ``400 {}``.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.exceptions import HTTPException


class ApiError(Exception):
    """Raised by handlers to answer ``status`` with ``{"message": message}``."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        """Build the error; ``headers`` are added to the response."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A JSON error response ``{"message": message}``."""
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def unauthorized_response(body: Mapping[str, str] | None = None) -> JSONResponse:
    """The documented 401: body ``{}`` (or ``body``, e.g. the older docs' ``{"message": "Unauthorized"}``)."""
    return JSONResponse(dict(body or {}), status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def handle_api_error(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for ApiError."""
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.headers)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette exception handler turning routing errors (404, 405) into JSON."""
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Last-resort handler: a JSON 500 (the exception is still logged by the server)."""
    return error_response(500, "internal error in the emulator")


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
