"""The small exception tree of the Alloy client.

Every message names the HTTP method, the path, the status (when there was
one) and what to check, and never contains the API key: messages reach the
Pulumi CLI's output and CI logs verbatim.

    AlloyError
    ├── AlloyConfigError        bad or missing settings, found before any call
    ├── AlloyUnreachableError   connection refused, DNS, TLS, timeouts (after retries)
    ├── AlloyProtocolError      a response that breaks the documented API
    └── AlloyHTTPError          an HTTP error status (after retries)
        ├── AlloyAuthError          401/403: check alloy:apiKey
        ├── AlloyNotFoundError      404
        ├── AlloyConflictError      409
        ├── AlloyBadRequestError    other 4xx
        ├── AlloyRateLimitError     429 once the retry budget is spent
        └── AlloyServerError        5xx once the retry budget is spent
"""

from __future__ import annotations

from http import HTTPStatus

API_KEY_HINT = "check alloy:apiKey (pulumi config set --secret alloy:apiKey ...) or ALLOY_API_KEY"
BASE_URL_HINT = "check alloy:baseUrl and that the API is reachable"


class AlloyError(Exception):
    """Base class of every error the provider raises on purpose."""


class AlloyConfigError(AlloyError):
    """A setting is missing or invalid; raised before any request is sent."""


class AlloyUnreachableError(AlloyError):
    """No HTTP response was received (after the retry budget was spent)."""

    def __init__(self, method: str, path: str, base_url: str, reason: str) -> None:
        self.method, self.path = method, path
        super().__init__(
            f"Alloy API unreachable for {method} {path} at {base_url}: {reason}; {BASE_URL_HINT}"
        )


class AlloyProtocolError(AlloyError):
    """A response arrived but does not have the documented shape."""

    def __init__(self, method: str, path: str, status: int, problem: str) -> None:
        self.method, self.path, self.status = method, path, status
        super().__init__(
            f"Alloy API {status} for {method} {path} broke the documented API: {problem}"
        )


class AlloyHTTPError(AlloyError):
    """An HTTP error status. ``detail`` is the server's message, if any."""

    hint: str = ""

    def __init__(self, method: str, path: str, status: int, detail: str = "") -> None:
        self.method, self.path, self.status, self.detail = method, path, status, detail
        message = f"Alloy API {status} {_reason(status)} for {method} {path}"
        if detail:
            message += f": {detail}"
        if self.hint:
            message += f"; {self.hint}"
        super().__init__(message)


class AlloyAuthError(AlloyHTTPError):
    hint = API_KEY_HINT


class AlloyNotFoundError(AlloyHTTPError):
    pass


class AlloyConflictError(AlloyHTTPError):
    pass


class AlloyBadRequestError(AlloyHTTPError):
    pass


class AlloyRateLimitError(AlloyHTTPError):
    hint = "the retry budget (alloy:maxRetries) was spent; retry later or raise it"


class AlloyServerError(AlloyHTTPError):
    hint = "the retry budget (alloy:maxRetries) was spent; the next run resumes where this one stopped"


def error_for_status(method: str, path: str, status: int, detail: str = "") -> AlloyHTTPError:
    """The typed error for an HTTP error ``status``."""
    if status in (401, 403):
        return AlloyAuthError(method, path, status, detail)
    if status == 404:
        return AlloyNotFoundError(method, path, status, detail)
    if status == 409:
        return AlloyConflictError(method, path, status, detail)
    if status == 429:
        return AlloyRateLimitError(method, path, status, detail)
    if status >= 500:
        return AlloyServerError(method, path, status, detail)
    return AlloyBadRequestError(method, path, status, detail)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
