"""A private copy of the project for a real ``pulumi`` run: the program
files copied (so stack config files land there, not in the repository),
the repository's ``.venv`` linked, and an environment with a private home,
a file state backend and a passphrase, without the developer's ``PULUMI_*``
and ``ALLOY_*`` variables. Used by the end-to-end tests and ``make bench``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Mapping

REPO = Path(__file__).resolve().parent.parent
PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "users.schema.json", "requirements.txt")
PROGRAM_DIRS = ("providers",)
PASSPHRASE = "test-only-passphrase"


def isolated_env(home: Path, state: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a CLI run: the developer's, minus ``PULUMI_*`` and
    ``ALLOY_*``, plus a private home, a file backend and a passphrase."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "ALLOY_"))}
    env.update(
        HOME=str(home),
        PULUMI_HOME=str(home / ".pulumi"),
        PULUMI_BACKEND_URL=f"file://{state}",
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK="true",
        NO_COLOR="1",
        PATH=f"{REPO / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(extra or {})
    return env


def copy_program(work: Path) -> None:
    """Copy the program's files into ``work`` and link the repository's ``.venv``."""
    for name in PROGRAM_FILES:
        shutil.copy2(REPO / name, work / name)
    for name in PROGRAM_DIRS:
        shutil.copytree(REPO / name, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (work / ".venv").symlink_to(REPO / ".venv")
