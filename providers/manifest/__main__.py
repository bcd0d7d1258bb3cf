"""``python -m providers.manifest check|fmt|pull``: the command line's
composition root. ``check`` and ``fmt`` are the manifest toolkit's own
(``providers.manifest.cli``); ``pull`` comes from ``providers.onboarding``,
which needs the Alloy client."""

from __future__ import annotations

from typing import Sequence

from providers.manifest.cli import main as manifest_main
from providers.onboarding import pull


def main(argv: Sequence[str] | None = None) -> int:
    """The whole command line; return the exit status."""
    return manifest_main(argv, extensions=[pull])


if __name__ == "__main__":
    raise SystemExit(main())
