"""The small exception tree of the Alloy client.

Every message names the HTTP method, the path, the status (when there was
one) and what to check, and never contains the API key: messages reach the
Pulumi CLI's output and CI logs verbatim.

    AlloyError
    ├── AlloyConfigError        bad or missing settings, found before any call
    ├── AlloyUnreachableError   connection refused, DNS, TLS, proxy, timeouts (after retries);
    │                           ``sent`` tells whether the request may have reached the API
    ├── AlloyProtocolError      a response that breaks the documented API
    └── AlloyHTTPError          an HTTP error status (after retries)
        ├── AlloyAuthError          401/403: check alloy:apiKey
        ├── AlloyNotFoundError      404
        ├── AlloyConflictError      409
        ├── AlloyBadRequestError    400, 422 (Alloy's Node SDK's validation status) and other 4xx
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
    """No HTTP response was received (after the retry budget was spent).

    ``sent`` is False when the request certainly never reached the API (DNS,
    connection refused, connect timeout, TLS handshake, proxy refused the
    tunnel): nothing can have changed in Alloy, so after a failed create there
    is nothing to look up. True means it may have arrived (read timeout,
    connection dropped): the outcome of a write is unknown.
    ``kind`` is one of the ``UNREACHABLE_*`` names below.
    """

    def __init__(
        self, method: str, path: str, base_url: str, reason: str, *, sent: bool = True, kind: str = ""
    ) -> None:
        self.method, self.path, self.base_url, self.reason = method, path, base_url, reason
        self.sent, self.kind = sent, kind
        not_sent = "" if sent else " (nothing was sent)"
        super().__init__(
            f"Alloy API unreachable for {method} {path} at {base_url}: {reason}{not_sent}; {BASE_URL_HINT}"
        )


# Kinds of AlloyUnreachableError: why no response arrived.
UNREACHABLE_DNS = "dns"                  # the host name did not resolve; not sent
UNREACHABLE_CONNECT = "connect"          # refused, reset or no route while connecting; not sent
UNREACHABLE_CONNECT_TIMEOUT = "connect-timeout"  # not sent
UNREACHABLE_TLS = "tls"                  # handshake or verification failed; not sent
UNREACHABLE_PROXY = "proxy"              # the proxy refused or failed the tunnel; not sent
UNREACHABLE_TIMEOUT = "timeout"          # sent, no response within alloy:timeoutSeconds
UNREACHABLE_DROPPED = "dropped"          # sent, the connection closed before a response
UNREACHABLE_OTHER = "other"


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
        reason = _reason(status)
        message = f"Alloy API {status} {reason} for {method} {path}"
        # Older pages document 401 {"message": "Unauthorized"}: do not say it twice.
        if detail and detail.strip().rstrip(".").casefold() != reason.casefold():
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
    # 400 (documented for bad input), 422 (Alloy's Node SDK treats it as a
    # validation failure: the same meaning) and any other 4xx: refused as sent.
    return AlloyBadRequestError(method, path, status, detail)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def missing_key_message() -> str:
    """What to do when there is no API key (one wording, wherever it is found missing)."""
    return (
        "no Alloy API key: run `pulumi config set --secret alloy:apiKey <key>` "
        "or set the ALLOY_API_KEY environment variable"
    )
