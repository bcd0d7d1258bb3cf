"""Profiling hook of ``python -m bench --profile``: inert unless ``BENCH_PROFILE_DIR`` is set.

``bench.profiling`` puts this folder on ``PYTHONPATH`` of a pulumi run, so
every Python process of the run imports this module at start-up. It acts in two:

- the dynamic provider (``python -m pulumi.dynamic``): each gRPC method of the
  provider servicer is timed (calls, total and longest seconds) and profiled
  with cProfile, one profiler per worker thread, written to
  ``provider-<pid>-<thread>.prof`` and ``provider-<pid>-methods.json``;
- the Pulumi program (``pulumi-language-python-exec``): cProfile of the main
  thread (manifest, declarations, the SDK's event loop), ``program-<pid>.prof``.

Files are rewritten at most every ``DUMP_INTERVAL_S`` and at exit (the engine
stops plugins with SIGINT, so ``atexit`` runs).
"""

from __future__ import annotations

import atexit
import cProfile
import json
import os
import sys
import threading
import time
from typing import Any, Callable

PROFILE_ENV = "BENCH_PROFILE_DIR"
DUMP_INTERVAL_S = 1.0
SERVICER_METHODS = ("Configure", "Check", "Diff", "Create", "Read", "Update", "Delete")


def _role() -> str | None:
    argv = getattr(sys, "orig_argv", sys.argv)
    if "pulumi.dynamic" in argv:
        return "provider"
    if any(part.endswith("pulumi-language-python-exec") for part in argv):
        return "program"
    return None


def _install_program(out: str) -> None:
    profile = cProfile.Profile()

    def dump() -> None:
        profile.disable()
        profile.dump_stats(os.path.join(out, f"program-{os.getpid()}.prof"))

    atexit.register(dump)
    profile.enable()


def _install_provider(out: str) -> None:
    from pulumi.runtime.proto import provider_pb2_grpc

    pid = os.getpid()
    lock = threading.Lock()
    timings: dict[str, list[float]] = {}
    profiles: dict[int, cProfile.Profile] = {}
    local = threading.local()

    def dump_timings() -> None:
        with lock:
            data = {
                name: {"calls": int(calls), "total_s": round(total, 4), "max_s": round(longest, 4)}
                for name, (calls, total, longest) in timings.items()
            }
        with open(os.path.join(out, f"provider-{pid}-methods.json"), "w", encoding="utf-8") as file:
            json.dump(data, file, indent=1)

    def dump_profile(ident: int, profile: cProfile.Profile) -> None:
        profile.dump_stats(os.path.join(out, f"provider-{pid}-{ident}.prof"))

    def timed(name: str, method: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def wrapper(request: Any, context: Any) -> Any:
            profile = getattr(local, "profile", None)
            if profile is None:
                profile = local.profile = cProfile.Profile()
                local.next_dump = 0.0
                with lock:
                    profiles[threading.get_ident()] = profile
            started = time.perf_counter()
            profile.enable()
            try:
                return method(request, context)
            finally:
                profile.disable()
                elapsed = time.perf_counter() - started
                with lock:
                    entry = timings.setdefault(name, [0, 0.0, 0.0])
                    entry[0] += 1
                    entry[1] += elapsed
                    entry[2] = max(entry[2], elapsed)
                now = time.monotonic()
                if now >= local.next_dump:
                    local.next_dump = now + DUMP_INTERVAL_S
                    dump_profile(threading.get_ident(), profile)
                    dump_timings()

        return wrapper

    original = provider_pb2_grpc.add_ResourceProviderServicer_to_server

    def add_servicer(servicer: Any, server: Any) -> Any:
        for name in SERVICER_METHODS:
            setattr(servicer, name, timed(name, getattr(servicer, name)))
        return original(servicer, server)

    def dump_all() -> None:
        with lock:
            items = list(profiles.items())
        for ident, profile in items:
            dump_profile(ident, profile)
        dump_timings()

    provider_pb2_grpc.add_ResourceProviderServicer_to_server = add_servicer
    atexit.register(dump_all)


def _install() -> None:
    out = os.environ.get(PROFILE_ENV)
    role = _role() if out else None
    if not out or role is None:
        return
    os.makedirs(out, exist_ok=True)
    if role == "provider":
        _install_provider(out)
    else:
        _install_program(out)


_install()
