"""Show the provider's own errors as one line in the CLI, not a traceback.

The dynamic provider host (``python -m pulumi.dynamic``) reports every
exception of a provider method with ``traceback.format_exc()``. For an
``AlloyError`` the message is already the whole story (method, path, status,
what to check), so in that process this module swaps the host's
``traceback`` for a shim that formats those errors as their message alone and
leaves every other exception as it was. Outside that process it does nothing,
and if a future SDK stops looking up ``traceback`` this way the only effect
is that tracebacks come back.
"""

from __future__ import annotations

import sys
import traceback
from types import ModuleType
from typing import Any

from providers.errors import AlloyError

_HOST_CLASS = "DynamicResourceProviderServicer"


class _TracebackShim:
    """Stands in for the ``traceback`` module inside the provider host."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real

    def format_exc(self, *args: Any, **kwargs: Any) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, AlloyError):
            return str(error)
        return self._real.format_exc(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install() -> bool:
    """Install the shim when running inside the dynamic provider host; True if installed."""
    host = sys.modules.get("__main__")
    if host is None or not hasattr(host, _HOST_CLASS):
        return False
    if not isinstance(getattr(host, "traceback", None), _TracebackShim):
        host.traceback = _TracebackShim(traceback)  # type: ignore[attr-defined]
    return True
