"""Run the ``pulumi`` CLI from the project's tools (``pull``, ``drift``):
one place for the command line, the timeout and the messages. No Pulumi
SDK here: the CLI is a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Mapping, Sequence

PULUMI = "pulumi"
DEFAULT_TIMEOUT_S = 600.0


class PulumiCliError(RuntimeError):
    """The CLI is missing, timed out, failed, or printed no JSON; the message says which."""


def run_pulumi(
    args: Sequence[str], cwd: str | os.PathLike[str], environ: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """``pulumi ARGS --non-interactive`` in ``cwd``, output captured; raise
    ``PulumiCliError`` when the CLI is missing or does not finish in time."""
    try:
        return subprocess.run(
            [PULUMI, *args, "--non-interactive"], cwd=cwd, env=dict(environ),
            capture_output=True, text=True, timeout=timeout,
        )
    except FileNotFoundError:
        raise PulumiCliError(f"`{PULUMI}` is not on PATH (run `make setup`)") from None
    except subprocess.TimeoutExpired:
        raise PulumiCliError(f"`pulumi {' '.join(args)}` did not finish within {timeout:g}s") from None


def pulumi_json(
    args: Sequence[str], cwd: str | os.PathLike[str], environ: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT_S
) -> Any:
    """The JSON that ``pulumi ARGS`` prints; raise ``PulumiCliError`` when it
    fails (naming its exit status and last error) or prints no JSON."""
    command = f"pulumi {' '.join(args)}"
    result = run_pulumi(args, cwd, environ, timeout=timeout)
    if result.returncode != 0:
        raise PulumiCliError(f"`{command}` exited {result.returncode}: {result.stderr.strip()}")
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise PulumiCliError(f"`{command}` did not print JSON") from None
