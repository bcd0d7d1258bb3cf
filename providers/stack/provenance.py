"""Record the manifest line that declares each user as its source position.

By default the SDK records, for every resource, the Python call stack at its
construction: some fifteen frames through the program, the SDK and asyncio,
about 1.2 KB per user in the state, rewritten at every checkpoint. The
provenance that matters for an ``AlloyUser`` is the line of ``users.yaml``
that declares it, so while the program declares users it records that line
as the resource's source position (shown by the engine as
``project:///users.yaml#LINE``) and sends no stack trace at all: a
one-frame trace would only repeat the position (about 60 bytes per user
in every checkpoint).

This goes through the SDK's internal ``pulumi.runtime.resource``
functions ``_get_stack_trace`` and ``_get_source_position`` (the SDK takes
the position from the trace's first frame, in the same call); if a future
SDK drops either, ``install`` returns False and the default trace is
recorded (the state only grows).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from pulumi.runtime import resource as _sdk_resource
from pulumi.runtime.proto import source_pb2

_current: ContextVar[Optional[source_pb2.SourcePosition]] = ContextVar("alloy_users_provenance", default=None)
_TRACE_HOOK = "_get_stack_trace"
_POSITION_HOOK = "_get_source_position"
_MARK = "_alloy_users_provenance"
# What a resource declared inside ``declared_at`` sends as its stack trace.
_NO_TRACE = source_pb2.StackTrace()


def install() -> bool:
    """Route the SDK's stack-trace and source-position capture through
    ``declared_at``; True if possible."""
    original_trace: Optional[Callable[[], Any]] = getattr(_sdk_resource, _TRACE_HOOK, None)
    original_position: Optional[Callable[[Any], Any]] = getattr(_sdk_resource, _POSITION_HOOK, None)
    if original_trace is None or original_position is None:
        return False
    if getattr(original_trace, _MARK, False):
        return True

    def stack_trace() -> Any:
        return _NO_TRACE if _current.get() is not None else original_trace()

    def source_position(stack: Any) -> Any:
        position = _current.get()
        return position if position is not None and stack is _NO_TRACE else original_position(stack)

    for hook, patched in ((_TRACE_HOOK, stack_trace), (_POSITION_HOOK, source_position)):
        setattr(patched, _MARK, True)
        setattr(_sdk_resource, hook, patched)
    return True


@contextmanager
def declared_at(path: str | Path, line: int) -> Iterator[None]:
    """Resources constructed inside this block record ``path:line`` as their
    source position, and no stack trace."""
    token = _current.set(source_pb2.SourcePosition(uri=Path(path).resolve().as_uri(), line=max(line, 1)))
    try:
        yield
    finally:
        _current.reset(token)
