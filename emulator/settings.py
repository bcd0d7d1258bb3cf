"""What one emulator run is configured with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from emulator.defaults import (
    API_KEYS_ENV,
    DEFAULT_API_KEY,
    DEFAULT_DB_PATH,
    DEFAULT_HOST,
    DEFAULT_PORT,
    GRACEFUL_SHUTDOWN_S,
    MAX_BODY_BYTES,
)
from emulator.faults import FaultConfig


@dataclass(frozen=True)
class Settings:
    """Settings of one emulator process (or in-process server)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0: any free port
    db_path: str = DEFAULT_DB_PATH  # ":memory:" for a throw-away database
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    faults: FaultConfig = field(default_factory=FaultConfig)
    ready_file: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    log_level: str = "warning"
    graceful_shutdown_s: int = GRACEFUL_SHUTDOWN_S  # whole seconds; then in-flight requests are cancelled


def resolve_api_keys(cli_keys: Iterable[str], environ: Mapping[str, str]) -> tuple[str, ...]:
    """The accepted keys: ``--api-key`` values plus ``ALLOY_EMULATOR_API_KEYS`` (comma-separated).

    Both sources add up; blanks are ignored; when neither gives a key, the
    default ``dev-key`` is accepted (for local demos).
    """
    keys = [key.strip() for key in cli_keys]
    keys += [key.strip() for key in environ.get(API_KEYS_ENV, "").split(",")]
    unique = tuple(dict.fromkeys(key for key in keys if key))
    return unique or (DEFAULT_API_KEY,)
