"""Named defaults of the emulator, in one place.

Every module reads its tunables from here so that the CLI, the test handle and
the docs agree on one value.
"""

from __future__ import annotations

from pathlib import Path

# Where the server listens. Only loopback by default: the emulator has no TLS
# and its admin API needs no key.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4010

# A persistent file by default so that a demo survives a restart of the
# emulator (Pulumi state would otherwise point at users that vanished).
# Tests pass `--db :memory:` or a temporary file.
DEFAULT_DB_PATH = ".state/emulator.db"
MEMORY_DB = ":memory:"

# Authentication: `Authorization: Bearer <key>`; keys from `--api-key`
# (repeatable) and this environment variable (comma-separated).
DEFAULT_API_KEY = "dev-key"
API_KEYS_ENV = "ALLOY_EMULATOR_API_KEYS"

# The `x-api-version` header is required; these values are accepted.
API_VERSION_HEADER = "x-api-version"
SUPPORTED_API_VERSIONS: tuple[str, ...] = ("2025-09",)
DEFAULT_API_VERSION = SUPPORTED_API_VERSIONS[0]

# Request bodies larger than this are answered 413.
MAX_BODY_BYTES = 64 * 1024

# Admin API (not part of Alloy's API; no key needed).
ADMIN_PREFIX = "/_emulator"

# Fault injection defaults.
DEFAULT_RETRY_AFTER_S = 1
DEFAULT_ERROR_STATUSES: tuple[int, ...] = (500, 502, 503)
# Longer than the provider's DEFAULT_TIMEOUT_S (10 s) so a slow response
# really outlives a default client.
DEFAULT_SLOW_S = 15.0

# The request log keeps at most this many entries (oldest dropped first).
REQUEST_LOG_LIMIT = 10_000

# On SIGTERM/SIGINT, in-flight requests (e.g. a slow fault) get this long to
# finish before they are cancelled (whole seconds: uvicorn takes an int).
GRACEFUL_SHUTDOWN_S = 3

# The one line printed on stdout once the server accepts connections.
READY_LINE_FORMAT = "emulator listening on {url}"

# The copy of Alloy's OpenAPI text for `POST /users` (from create-a-user.seed.md).
SEED_OPENAPI_PATH = Path(__file__).resolve().parent / "openapi" / "create-a-user.yaml"

# The launcher and test handles (emulator.process, emulator.testing).
STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
ADMIN_TIMEOUT_S = 10.0

# Pagination of GET /users (off unless `page_size` is set): Alloy documents
# `limit` as "at most 50".
MAX_PAGE_LIMIT = 50
