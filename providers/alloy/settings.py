"""Run settings: the ``alloy:*`` stack config, read the same way by the
program (through ``pulumi.Config``) and by the provider (through the config
that the engine hands to ``ResourceProvider.configure``).

| key                  | default                           | meaning                                  |
| -------------------- | --------------------------------- | ---------------------------------------- |
| alloy:apiKey         | env ALLOY_API_KEY                 | bearer key (secret)                      |
| alloy:baseUrl        | https://production.runalloy.com   | API root; https unless loopback          |
| alloy:manifest       | users.yaml                        | the manifest, relative to the project    |
| alloy:adoptExisting  | true                              | adopt a user whose username exists       |
| alloy:timeoutSeconds | 10                                | per-request timeout                      |
| alloy:maxRetries     | 5                                 | retries of a failed call (backoff)       |
| alloy:caBundle       | (system CAs)                      | PEM bundle for a private endpoint        |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from providers.alloy.client import (
    DEFAULT_BACKOFF_S,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    ClientSettings,
)
from providers.alloy.errors import AlloyConfigError

API_KEY_ENV = "ALLOY_API_KEY"
DEFAULT_MANIFEST = "users.yaml"
MAX_TIMEOUT_S = 300.0
MAX_RETRIES_LIMIT = 20

ConfigGetter = Callable[[str], Any]


@dataclass(frozen=True)
class RunSettings:
    """Everything a run needs to know; ``client.api_key`` may be empty."""

    client: ClientSettings
    adopt_existing: bool = True
    manifest: str = DEFAULT_MANIFEST
    api_key_source: str = field(default="", compare=False)


def read_settings(get: ConfigGetter, environ: Mapping[str, str] | None = None) -> RunSettings:
    """Build ``RunSettings`` from a getter of fully qualified keys (``alloy:baseUrl``).

    Raises ``AlloyConfigError`` naming the key for a value of the wrong type or
    out of range. The API key falls back to ``ALLOY_API_KEY``.
    """
    environ = os.environ if environ is None else environ
    api_key = _text(get("alloy:apiKey"))
    source = "alloy:apiKey"
    if not api_key:
        api_key = environ.get(API_KEY_ENV, "").strip()
        source = API_KEY_ENV if api_key else ""
    client = ClientSettings(
        base_url=_text(get("alloy:baseUrl")) or DEFAULT_BASE_URL,
        api_key=api_key,
        timeout_s=_number("alloy:timeoutSeconds", get, DEFAULT_TIMEOUT_S, 0.1, MAX_TIMEOUT_S),
        max_retries=int(_number("alloy:maxRetries", get, DEFAULT_MAX_RETRIES, 0, MAX_RETRIES_LIMIT)),
        backoff_s=DEFAULT_BACKOFF_S,
        ca_bundle=_text(get("alloy:caBundle")) or None,
    )
    return RunSettings(
        client=client,
        adopt_existing=_flag("alloy:adoptExisting", get, True),
        manifest=_text(get("alloy:manifest")) or DEFAULT_MANIFEST,
        api_key_source=source,
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _flag(key: str, get: ConfigGetter, default: bool) -> bool:
    value = get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise AlloyConfigError(f"{key} must be true or false, got {value!r}")


def _number(key: str, get: ConfigGetter, default: float, low: float, high: float) -> float:
    value = get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AlloyConfigError(f"{key} must be a number, got {value!r}") from None
    if not low <= number <= high:
        raise AlloyConfigError(f"{key} must be between {low:g} and {high:g}, got {value!r}")
    return number
