"""Cut the Python SDK's per-resource work that is the same for every user.

A profile of the program at 2,000 users (``python -m bench.profiling``)
showed three costs that grow with N but carry no per-resource information.
``install`` removes them, side by side with the other small SDK patches of
this package (``provenance``, ``interrupt``); each one checks that the SDK
still has what it replaces and otherwise leaves the SDK as it is (the run
is then only slower):

- **The provider is pickled once per class, not once per resource.**
  ``pulumi.dynamic.Resource.__init__`` dill-serialises its provider for
  every resource (``serialize_provider``). Our providers carry no state in
  the program (the key and the client exist only in the provider process),
  so every pickle of a class is the same bytes; a class that sets
  ``pickle_once = True`` is pickled by the SDK's own function the first
  time and the same base64 string is reused afterwards, so the state holds
  exactly the bytes it always held (``tests/test_state_compat.py``). An
  instance that has attributes, or whose pickle captured a secret, is
  pickled every time as before.
- **Output types of a resource class are computed once.** The SDK resolves
  a class's annotations (``typing.get_type_hints``, which compiles each
  annotation string) for every resource it registers
  (``pulumi._types.resource_types``); the answer depends on the class only.
- **The SDK's registration chatter is not sent to the engine.** For each
  resource the SDK sends three or four ``debug`` log lines ("registering
  resource", "beginning rpc", ...) to the engine, each a *blocking* gRPC
  call from the program's event loop: about 1.7 ms each, a third of the
  program's time in a no-op preview. The engine shows them only with
  ``pulumi --debug``. They are dropped in the SDK modules that emit them
  (``pulumi.runtime.resource``, ``.rpc``, ``.rpc_manager``); our own
  ``pulumi.log`` calls and every info, warning and error are unchanged.
  ``ALLOY_SDK_DEBUG_LOGS=true`` keeps them (for debugging the SDK).

``ALLOY_SDK_SPEEDUPS=false`` installs none of them (the benchmark measures
the program both ways in the same run).
"""

from __future__ import annotations

import os
import threading
from types import ModuleType
from typing import Any, Callable, Optional

import pulumi
from pulumi import _types as _sdk_types
from pulumi.dynamic import dynamic as _sdk_dynamic
from pulumi.runtime import _serialization as _sdk_serialization

SDK_DEBUG_ENV = "ALLOY_SDK_DEBUG_LOGS"
SPEEDUPS_ENV = "ALLOY_SDK_SPEEDUPS"
_MARK = "_alloy_users_speedup"
# SDK modules whose own ``log.debug`` lines are per-resource chatter.
_CHATTY_MODULES = ("pulumi.runtime.resource", "pulumi.runtime.rpc", "pulumi.runtime.rpc_manager")


def install(environ: Optional[dict[str, str]] = None) -> dict[str, bool]:
    """Install the three patches (once); return which ones are in place."""
    environ = dict(os.environ) if environ is None else environ
    if _false(environ.get(SPEEDUPS_ENV, "")):
        return {"pickle_once": False, "resource_types_once": False, "quiet_sdk_debug": False}
    installed = {"pickle_once": _install_pickle_once(), "resource_types_once": _install_resource_types_once()}
    keep_debug = environ.get(SDK_DEBUG_ENV, "").strip().lower() in ("1", "true", "yes")
    installed["quiet_sdk_debug"] = False if keep_debug else _install_quiet_debug()
    return installed


def _false(value: str) -> bool:
    return value.strip().lower() in ("0", "false", "no", "off")


# -- the provider, pickled once per class ------------------------------------------


def _install_pickle_once() -> bool:
    original: Optional[Callable[[Any], str]] = getattr(_sdk_dynamic, "serialize_provider", None)
    contained = getattr(_sdk_serialization, "_var_serialization_contained_secrets", None)
    if original is None or contained is None:
        return False
    if getattr(original, _MARK, False):
        return True
    cache: dict[type, str] = {}
    lock = threading.Lock()

    def serialize_provider(provider: Any) -> str:
        cls = type(provider)
        reusable = getattr(cls, "pickle_once", False) is True and not getattr(provider, "__dict__", None)
        if not reusable:
            return original(provider)
        with lock:
            cached = cache.get(cls)
        if cached is not None:
            return cached
        pickled = original(provider)
        # A pickle that captured a secret Output is not reused (the SDK then makes it a secret).
        if not contained.get():
            with lock:
                cache[cls] = pickled
        return pickled

    setattr(serialize_provider, _MARK, True)
    serialize_provider.original = original  # type: ignore[attr-defined]
    _sdk_dynamic.serialize_provider = serialize_provider
    return True


# -- resource output types, once per class ------------------------------------------


def _install_resource_types_once() -> bool:
    original: Optional[Callable[[type], dict[str, type]]] = getattr(_sdk_types, "resource_types", None)
    if original is None:
        return False
    if getattr(original, _MARK, False):
        return True
    cache: dict[type, dict[str, type]] = {}

    def resource_types(resource_cls: type) -> dict[str, type]:
        types = cache.get(resource_cls)
        if types is None:
            types = cache[resource_cls] = original(resource_cls)
        return dict(types)  # callers get their own dict, as before

    setattr(resource_types, _MARK, True)
    _sdk_types.resource_types = resource_types
    return True


# -- the SDK's debug chatter ------------------------------------------------------------


class _QuietLog:
    """Stands in for ``pulumi.log`` inside the chatty SDK modules: ``debug``
    does nothing, everything else is the real module."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real

    @staticmethod
    def debug(*_args: Any, **_kwargs: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _install_quiet_debug() -> bool:
    import importlib

    done = False
    for name in _CHATTY_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        current = getattr(module, "log", None)
        if isinstance(current, _QuietLog):
            done = True
        elif current is pulumi.log:
            module.log = _QuietLog(pulumi.log)  # type: ignore[attr-defined]
            done = True
    return done
