"""An interrupted run ends with one line, not Python tracebacks.

When the engine cancels a run (Ctrl-C, a cancelled CI job), the SDK's
outstanding resource registrations fail with ``context canceled`` or
"Resource monitor has terminated", and the SDK's program runner prints the
whole chain of tracebacks. ``install`` wraps the SDK's
``pulumi.runtime.stack.wait_for_rpcs`` so that such a failure becomes one
``pulumi.RunError``, which the runner prints as a single line. Any other
failure is left as it was. If a future SDK drops that function, ``install``
returns False and the tracebacks come back; nothing else changes.

``install`` also gives the program's own SIGINT (Ctrl-C reaches the whole
process group) a handler that writes that line and ends the program at once
with the "already reported" status, instead of a ``KeyboardInterrupt``
raised wherever the program happens to be. A SIGINT that arrives while the
SDK is still being imported, before this code runs, still shows Python's
traceback.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, Callable

import pulumi
from pulumi.runtime import stack as _sdk_stack

_HOOK = "wait_for_rpcs"
# The exit status by which a Pulumi Python program tells the language host
# that it has already shown an actionable message (no generic error added).
ALREADY_REPORTED_EXIT_CODE = 32
CANCELLED_MARKERS = ("context canceled", "Resource monitor has terminated", "StatusCode.CANCELLED")
INTERRUPTED = (
    "the run was interrupted (Ctrl-C or a cancelled job): operations in flight were finished or left "
    "pending; run `pulumi up` again (after `python -m scripts.recover` if it was killed)"
)


def is_cancellation(error: BaseException) -> bool:
    """True when ``error`` (or an exception it was raised from) says the engine cancelled the run."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, KeyboardInterrupt) or any(mark in str(current) for mark in CANCELLED_MARKERS):
            return True
        current = current.__cause__ or current.__context__
    return False


def _interrupted(_signum: int, _frame: Any) -> None:
    sys.stderr.write(f"error: {INTERRUPTED}\n")
    sys.stderr.flush()
    os._exit(ALREADY_REPORTED_EXIT_CODE)


def install() -> bool:
    """Wrap the SDK's wait for outstanding RPCs and handle SIGINT; True if
    the wrap was possible."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _interrupted)
    original: Callable[..., Any] | None = getattr(_sdk_stack, _HOOK, None)
    if original is None:
        return False
    if getattr(original, "_alloy_users_interrupt", False):
        return True

    async def wait_for_rpcs(*args: Any, **kwargs: Any) -> None:
        try:
            await original(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - only a cancellation is rewritten
            if is_cancellation(error):
                raise pulumi.RunError(INTERRUPTED) from None
            raise

    wait_for_rpcs._alloy_users_interrupt = True  # type: ignore[attr-defined]
    setattr(_sdk_stack, _HOOK, wait_for_rpcs)
    return True
