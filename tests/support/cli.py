"""Run the project's own command lines as a user would (a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Mapping

REPO = Path(__file__).resolve().parent.parent.parent


def manifest_cli(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path = REPO, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m providers.manifest ARGS`` in ``cwd`` (default: the repository)."""
    return subprocess.run(
        [sys.executable, "-m", "providers.manifest", *args],
        cwd=cwd, env=None if env is None else dict(env), capture_output=True, text=True, timeout=timeout,
    )


def run_manifest_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``manifest_cli`` in the repository with a one-minute limit (the manifest tests' runner)."""
    return manifest_cli(*args, cwd=REPO, timeout=60)
