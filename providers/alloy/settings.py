"""The run settings: every ``alloy:*`` stack config key, declared once.

``SETTINGS`` is the registry: each key's name, type, default, range and
one-line meaning. The program reads it through ``pulumi.Config``, the
provider through the config the engine hands to ``ResourceProvider.configure``,
and the review tools through the config a preview printed; all of them go
through ``read_settings``. ``Pulumi.yaml``'s ``config:`` block and the
README's settings table are held to the registry by ``tests/test_settings_registry.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from providers.alloy.client import (
    DEFAULT_BACKOFF_S,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    ClientSettings,
    validate_base_url,
)
from providers.alloy.errors import AlloyConfigError, missing_key_message
from providers.manifest.loader import DEFAULT_MANIFEST_PATH

NAMESPACE = "alloy"
API_KEY_ENV = "ALLOY_API_KEY"
# "Use the automatic limit" (the larger of MIN_DELETE_LIMIT and DELETE_LIMIT_PERCENT %).
AUTOMATIC_MAX_DELETES = -1
MAX_DELETES_LIMIT = 1_000_000

ConfigGetter = Callable[[str], Any]


@dataclass(frozen=True)
class Setting:
    """One ``alloy:*`` key. ``type`` is Pulumi.yaml's config type (string,
    boolean, integer, number); ``low``/``high`` bound numbers; ``declared``
    is False for a key that Pulumi.yaml must not declare (see apiKey)."""

    name: str
    type: str
    default: Any
    meaning: str
    low: Optional[float] = None
    high: Optional[float] = None
    secret: bool = False
    declared: bool = True
    default_text: str = ""

    @property
    def key(self) -> str:
        """The fully qualified key, ``alloy:<name>``."""
        return f"{NAMESPACE}:{self.name}"

    @property
    def pulumi_type(self) -> str:
        """The type Pulumi.yaml declares: Pulumi has no fractional number
        type, so a ``number`` is declared ``string`` and parsed here."""
        return "string" if self.type == "number" else self.type

    @property
    def range_text(self) -> str:
        """The range as the docs show it (empty when unbounded)."""
        if self.low is None or self.high is None:
            return ""
        return f"{_shown_number(self.low)} to {_shown_number(self.high)}"

    def shown_default(self) -> str:
        """The default as the docs show it."""
        if self.default_text:
            return self.default_text
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return _shown_number(self.default) if isinstance(self.default, (int, float)) else str(self.default)


def _shown_number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


API_KEY = Setting(
    "apiKey", "string", "", "Alloy API key; set it with `--secret` (a plain-text value is refused)",
    secret=True, declared=False, default_text=f"env {API_KEY_ENV}",
)
BASE_URL = Setting("baseUrl", "string", DEFAULT_BASE_URL, "Root URL of the Alloy API; https unless it is a loopback address")
MANIFEST = Setting("manifest", "string", DEFAULT_MANIFEST_PATH, "The users manifest, relative to the project folder")
ADOPT_EXISTING = Setting(
    "adoptExisting", "boolean", True,
    "Adopt a user whose username already exists in Alloy instead of failing",
)
DELETE_ADOPTED = Setting(
    "deleteAdopted", "boolean", False,
    "Delete adopted users in Alloy when they leave the stack (default: only forget them)",
)
TIMEOUT_SECONDS = Setting(
    "timeoutSeconds", "number", DEFAULT_TIMEOUT_S, "Timeout of each API request, in seconds", low=0.1, high=300.0,
)
MAX_RETRIES = Setting(
    "maxRetries", "integer", DEFAULT_MAX_RETRIES,
    "Retries of a failed API call (429, 502, 503, 504, dropped connections), with backoff and jitter; "
    "an unreachable host is tried at most 3 times",
    low=0, high=20,
)
CA_BUNDLE = Setting(
    "caBundle", "string", "", "PEM bundle of the CA that signs a private endpoint's certificate (empty: system CAs)",
    default_text="system CAs",
)
MAX_DELETES = Setting(
    "maxDeletes", "integer", AUTOMATIC_MAX_DELETES,
    "Users a run may delete without an acknowledgement; -1: the larger of 5 and 10% of the stack's users",
    low=AUTOMATIC_MAX_DELETES, high=MAX_DELETES_LIMIT,
)

SETTINGS: tuple[Setting, ...] = (
    API_KEY, BASE_URL, MANIFEST, ADOPT_EXISTING, DELETE_ADOPTED, TIMEOUT_SECONDS, MAX_RETRIES, CA_BUNDLE, MAX_DELETES,
)
BY_KEY: dict[str, Setting] = {setting.key: setting for setting in SETTINGS}


@dataclass(frozen=True)
class RunSettings:
    """Everything a run needs to know; ``client.api_key`` may be empty.
    ``max_deletes`` is ``AUTOMATIC_MAX_DELETES`` for the automatic limit."""

    client: ClientSettings
    adopt_existing: bool = True
    delete_adopted: bool = False
    manifest: str = DEFAULT_MANIFEST_PATH
    max_deletes: int = AUTOMATIC_MAX_DELETES


def read_settings(get: ConfigGetter, environ: Mapping[str, str] | None = None) -> RunSettings:
    """Build ``RunSettings`` from a getter of fully qualified keys (``alloy:baseUrl``).

    Raises ``AlloyConfigError`` naming the key for a value of the wrong type
    or out of range. The API key falls back to ``ALLOY_API_KEY``. The base
    URL is not checked here (``check_base_url`` does, with the rule the client
    applies), so that a tool that only reads other settings still works.
    """
    environ = os.environ if environ is None else environ
    api_key = _text(get(API_KEY.key)) or environ.get(API_KEY_ENV, "").strip()
    client = ClientSettings(
        base_url=_text(get(BASE_URL.key)) or BASE_URL.default,
        api_key=api_key,
        timeout_s=_number(TIMEOUT_SECONDS, get),
        max_retries=int(_number(MAX_RETRIES, get)),
        backoff_s=DEFAULT_BACKOFF_S,
        ca_bundle=_text(get(CA_BUNDLE.key)) or None,
    )
    return RunSettings(
        client=client,
        adopt_existing=_flag(ADOPT_EXISTING, get),
        delete_adopted=_flag(DELETE_ADOPTED, get),
        manifest=_text(get(MANIFEST.key)) or MANIFEST.default,
        max_deletes=int(_number(MAX_DELETES, get)),
    )


def check_client_settings(settings: RunSettings) -> None:
    """Raise ``AlloyConfigError`` (one message naming the setting) when the
    client could not work: a bad base URL, no key, a CA bundle that is not a file."""
    validate_base_url(settings.client.base_url)
    if not settings.client.api_key:
        raise AlloyConfigError(missing_key_message())
    if settings.client.ca_bundle and not os.path.isfile(settings.client.ca_bundle):
        raise AlloyConfigError(f"{CA_BUNDLE.key} names {settings.client.ca_bundle!r}, which is not a file")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _flag(setting: Setting, get: ConfigGetter) -> bool:
    value = get(setting.key)
    if value is None or value == "":
        return bool(setting.default)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise AlloyConfigError(f"{setting.key} must be true or false, got {value!r}")


def _number(setting: Setting, get: ConfigGetter) -> float:
    value = get(setting.key)
    if value is None or value == "":
        return float(setting.default)
    kind = "a whole number" if setting.type == "integer" else "a number"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AlloyConfigError(f"{setting.key} must be {kind}, got {value!r}") from None
    if setting.type == "integer" and not number.is_integer():
        raise AlloyConfigError(f"{setting.key} must be {kind}, got {value!r}")
    assert setting.low is not None and setting.high is not None
    if not setting.low <= number <= setting.high:
        raise AlloyConfigError(f"{setting.key} must be between {setting.range_text.replace(' to ', ' and ')}, got {value!r}")
    return number


def settings_table() -> str:
    """The README's settings table, made from the registry (a test holds the README to it)."""
    rows = ["| key | type | default | range | meaning |", "| --- | --- | --- | --- | --- |"]
    for setting in SETTINGS:
        rows.append(
            f"| `{setting.key}` | {setting.type} | `{setting.shown_default()}` | {setting.range_text or '-'} "
            f"| {setting.meaning} |"
        )
    return "\n".join(rows)
