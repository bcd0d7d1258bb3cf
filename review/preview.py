"""Get the document of ``pulumi preview --json``: run the CLI, or read a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from review.defaults import PULUMI, PULUMI_TIMEOUT_S

# A preview writes no checkpoint, yet the CLI still builds, serialises and
# verifies the whole snapshot after every step it plans unless checkpoints are
# skipped: at 500 planned creates 7.3 s of the CLI's 7.3 s becomes 1.8 s. So
# the wrapper's previews always skip them; nothing is lost, as nothing is saved.
PREVIEW_ENV = {"PULUMI_SKIP_CHECKPOINTS": "true"}


class PreviewError(RuntimeError):
    """The preview produced no JSON document (the CLI is missing, not logged
    in, no stack selected, ...). The message carries the CLI's stderr."""


@dataclass(frozen=True)
class PreviewRun:
    """A preview's JSON document, exit status and stderr."""

    document: Any
    exit_status: int = 0
    stderr: str = ""


def run_preview(
    cwd: str | os.PathLike[str] = ".",
    *,
    stack: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    timeout: float = PULUMI_TIMEOUT_S,
) -> PreviewRun:
    """Run ``pulumi preview --json --show-sames`` (unchanged users counted
    exactly) in ``cwd``, under ``env`` (default: this process's) with
    ``PREVIEW_ENV`` on top. Raise ``PreviewError`` when
    the CLI prints no JSON; a failed preview that printed JSON is returned."""
    args = [PULUMI, "preview", "--json", "--show-sames", "--non-interactive", *_stack_args(stack)]
    try:
        result = subprocess.run(
            args, cwd=cwd, env={**(os.environ if env is None else env), **PREVIEW_ENV},
            capture_output=True, text=True, timeout=timeout,
        )
    except FileNotFoundError:
        raise PreviewError(f"`{PULUMI}` is not on PATH (run `make setup`)") from None
    except subprocess.TimeoutExpired:
        raise PreviewError(f"`pulumi preview` did not finish within {timeout:g}s") from None
    try:
        document = json.loads(result.stdout)
    except ValueError:
        raise PreviewError(
            f"`pulumi preview --json` exited with status {result.returncode} without a JSON document:\n"
            f"{(result.stderr or result.stdout).strip()}"
        ) from None
    return PreviewRun(document, result.returncode, result.stderr)


def read_preview(path: str) -> PreviewRun:
    """A saved ``pulumi preview --json`` document (``-``: standard input)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as problem:
        raise PreviewError(f"cannot read {path}: {problem.strerror}") from None
    try:
        return PreviewRun(json.loads(text))
    except ValueError as problem:
        raise PreviewError(f"{path} is not JSON: {problem}") from None


def up(
    cwd: str | os.PathLike[str] = ".",
    *,
    stack: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    extra: Sequence[str] = (),
) -> int:
    """``pulumi up --yes --skip-preview``; the program applies the deletion
    guard itself. Output goes to this process's; returns the exit status."""
    args = [PULUMI, "up", "--yes", "--skip-preview", "--non-interactive", *_stack_args(stack), *extra]
    sys.stdout.flush()
    try:
        return subprocess.run(args, cwd=cwd, env=None if env is None else dict(env)).returncode
    except FileNotFoundError:
        raise PreviewError(f"`{PULUMI}` is not on PATH (run `make setup`)") from None


def _stack_args(stack: Optional[str]) -> list[str]:
    return ["--stack", stack] if stack else []


def config_get(
    key: str,
    cwd: str | os.PathLike[str] = ".",
    *,
    stack: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
) -> Optional[str]:
    """``pulumi config get KEY`` of a non-secret key; None when it is not set
    or the CLI cannot tell (no stack selected)."""
    try:
        result = subprocess.run(
            [PULUMI, "config", "get", key, "--non-interactive", *_stack_args(stack)],
            cwd=cwd, env=None if env is None else dict(env), capture_output=True, text=True, timeout=PULUMI_TIMEOUT_S,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None
