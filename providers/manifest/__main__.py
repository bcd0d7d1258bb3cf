"""``python -m providers.manifest check|fmt``: see ``providers.manifest.cli``."""

from __future__ import annotations

from providers.manifest.cli import main

raise SystemExit(main())
