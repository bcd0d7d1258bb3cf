"""Warn when a bare ``pulumi up`` is about to take the quadratic path.

With checkpoints on (a bare ``pulumi up``), the DIY state backends
(``file://``, ``s3://``...) rewrite the whole state after every step, so a
run of N creates writes on the order of N² bytes: minutes at 1,000 users,
hours at 10,000. ``make up`` and ``python -m review apply`` run the same
change with checkpoints skipped and the create journal, in linear time and
with the same guarantees after an interruption (README, Performance). The
program cannot change how the CLI saves state, so it says so once, before
the run starts, when the run is large enough for it to matter.
"""

from __future__ import annotations

from typing import Mapping, Optional
from urllib.parse import urlsplit

from providers.guard.journal import JOURNAL_ENV, SKIP_CHECKPOINTS_ENV

# Below this many creates the checkpoints cost seconds, not minutes.
MANY_CREATES = 500
BACKEND_URL_ENV = "PULUMI_BACKEND_URL"
# Backends that rewrite the whole checkpoint per step (Pulumi Cloud journals instead).
REWRITING_SCHEMES = ("file", "s3", "gs", "azblob")


def checkpoint_warning(creates: int, environ: Mapping[str, str]) -> Optional[str]:
    """The warning for a run of ``creates`` creates under ``environ`` (the
    CLI's environment, which the program inherits), or None: few creates,
    checkpoints already skipped, a run started by the wrapper (it sets the
    journal), or a backend that is not known to rewrite checkpoints."""
    if creates < MANY_CREATES or environ.get(JOURNAL_ENV):
        return None
    if environ.get(SKIP_CHECKPOINTS_ENV, "").strip().lower() in ("1", "true"):
        return None
    scheme = urlsplit(environ.get(BACKEND_URL_ENV, "")).scheme
    if scheme not in REWRITING_SCHEMES:
        return None
    return (
        f"this run creates {creates:,} users with checkpoints on: the {scheme}:// backend rewrites "
        "the whole state after every step, so the run's time grows with the square of that count; "
        "`make up` or `python -m review apply` makes the same change in linear time and converges "
        "after an interruption (README: Performance)"
    )
