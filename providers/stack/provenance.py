"""Record the manifest line that declares each user as its source position.

By default the SDK records, for every resource, the Python call stack at its
construction: some fifteen frames through the program, the SDK and asyncio,
about 1.2 KB per user in the state, rewritten at every checkpoint. The
provenance that matters for an ``AlloyUser`` is the line of ``users.yaml``
that declares it, so while the program declares users it substitutes a
one-frame trace at ``users.yaml:LINE`` (shown by the engine as
``project:///users.yaml#LINE``).

This goes through the SDK's internal ``pulumi.runtime.resource._get_stack_trace``;
if a future SDK drops it, ``install`` returns False and the default trace is
recorded (the state only grows).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from pulumi.runtime import resource as _sdk_resource
from pulumi.runtime.proto import source_pb2

_current: ContextVar[Optional[source_pb2.StackTrace]] = ContextVar("alloy_users_provenance", default=None)
_HOOK = "_get_stack_trace"


def install() -> bool:
    """Route the SDK's stack-trace capture through ``declared_at``; True if possible."""
    original: Optional[Callable[[], Any]] = getattr(_sdk_resource, _HOOK, None)
    if original is None:
        return False
    if getattr(original, "_alloy_users_provenance", False):
        return True

    def stack_trace() -> Any:
        trace = _current.get()
        return trace if trace is not None else original()

    stack_trace._alloy_users_provenance = True  # type: ignore[attr-defined]
    setattr(_sdk_resource, _HOOK, stack_trace)
    return True


@contextmanager
def declared_at(path: str | Path, line: int) -> Iterator[None]:
    """Resources constructed inside this block record ``path:line`` as their source."""
    position = source_pb2.SourcePosition(uri=Path(path).resolve().as_uri(), line=max(line, 1))
    token = _current.set(source_pb2.StackTrace(frames=[source_pb2.StackFrame(pc=position)]))
    try:
        yield
    finally:
        _current.reset(token)
