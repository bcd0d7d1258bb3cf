"""Private copies of the real project and of the engine-floor project
(``bench/floor``), each with one stack on its own file backend, and timed,
sampled pulumi runs.

The copies follow ``scripts.sandbox`` (the same program files, a
symlink to the repo's ``.venv``, an environment without the developer's
``PULUMI_*``/``ALLOY_*`` variables), but a run is started with ``Popen`` so
that its process tree can be sampled while it works.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.defaults import (
    ALLOY_STACK,
    FLOOR_LATENCY_ENV,
    FLOOR_PROJECT_DIR,
    FLOOR_STACKS,
    PACED_FLOOR_STACK,
    REPO,
    RUN_TIMEOUT_S,
    STACK_NAME,
)
from bench.sampler import TreeSampler, TreeUsage
from bench.workload import BenchUser, floor_json, manifest_yaml
from scripts.sandbox import copy_program, isolated_env

FLOOR_FILES = ("Pulumi.yaml", "__main__.py", "floor_provider.py")
# Modules of the real program that the floor uses too, so both record the same state shape.
FLOOR_SHARED_MODULES = ("__init__.py", "stack/__init__.py", "stack/provenance.py")
OUTPUT_TAIL_CHARS = 4000
# The checkpoint file, plain or compressed (not its .bak copy or .attrs sidecar).
CHECKPOINT_SUFFIXES = ("", ".gz", ".zst")


class BenchRunError(RuntimeError):
    """A pulumi command of the benchmark failed; the message ends with its output."""


@dataclass(frozen=True)
class RunResult:
    """One timed pulumi command."""

    args: tuple[str, ...]
    wall_s: float
    usage: TreeUsage


class BenchStack:
    """A project copy in ``root`` with the stack ``STACK_NAME`` selected.

    ``kind`` is ``ALLOY_STACK`` (the real program), ``FLOOR_STACK`` (the
    do-nothing provider) or ``PACED_FLOOR_STACK`` (the same, sleeping
    ``latency_ms`` where the real provider calls the API); every stack gets
    ``alloy:baseUrl`` = ``base_url`` and ``alloy:apiKey`` = ``api_key`` (a secret).
    ``env`` is added to the environment of every command.
    """

    def __init__(
        self,
        root: Path,
        kind: str,
        *,
        base_url: str = "",
        api_key: str = "",
        latency_ms: float = 0.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self.kind = kind
        self.work = root / "project"
        self.state = root / "state"
        self.logs = root / "logs"
        for folder in (self.work, self.state, self.logs, root / "home"):
            folder.mkdir(parents=True, exist_ok=True)
        if kind == ALLOY_STACK:
            copy_program(self.work)
        elif kind in FLOOR_STACKS:
            for name in FLOOR_FILES:
                shutil.copy2(FLOOR_PROJECT_DIR / name, self.work / name)
            for name in FLOOR_SHARED_MODULES:
                (self.work / "providers" / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / "providers" / name, self.work / "providers" / name)
        else:
            raise ValueError(f"unknown stack kind {kind!r}")
        if kind != ALLOY_STACK:  # copy_program links it for the real stack
            (self.work / ".venv").symlink_to(REPO / ".venv")
        pace = {FLOOR_LATENCY_ENV: f"{latency_ms:g}"} if kind == PACED_FLOOR_STACK else {}
        self.env = isolated_env(root / "home", self.state, {**pace, **(env or {})})
        self._runs = 0
        self.last_log: Path | None = None
        self.command("stack", "init", STACK_NAME)
        # The floor gets the same config (it ignores it): the same secret to
        # decrypt, and the project's language host needs a non-empty config.
        self.command("config", "set", "alloy:baseUrl", base_url)
        self.command("config", "set", "--secret", "alloy:apiKey", api_key)

    def write_users(self, users: list[BenchUser]) -> None:
        """Declare ``users`` (users.yaml for the real project, users.json for the floor)."""
        if self.kind == ALLOY_STACK:
            (self.work / "users.yaml").write_text(manifest_yaml(users), encoding="utf-8")
        else:
            (self.work / "users.json").write_text(floor_json(users), encoding="utf-8")

    def command(self, *args: str) -> None:
        """Run an untimed pulumi command (set-up); raise ``BenchRunError`` if it fails."""
        self.run(*args, sample=False)

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        sample: bool = True,
        timeout_s: float = RUN_TIMEOUT_S,
    ) -> RunResult:
        """Run ``pulumi ARGS`` to completion, timing it and sampling its process tree.

        Output goes to a numbered log file under ``logs/``; a failure raises
        ``BenchRunError`` with the end of that log.
        """
        command = ("pulumi", "--non-interactive", "--color", "never", *args)
        result = self.run_command(command, label=args[0], env=env, sample=sample, timeout_s=timeout_s)
        return RunResult(tuple(args), result.wall_s, result.usage)

    def run_apply(self, *, env: Mapping[str, str] | None = None, timeout_s: float = RUN_TIMEOUT_S) -> RunResult:
        """Run the apply path (``python -m review apply``: preview, guard, then
        ``pulumi up``, checkpoint-free with the create journal), as ``make up``
        and the apply workflow do, timed and sampled like ``run``."""
        command = (str(REPO / ".venv" / "bin" / "python"), "-m", "review", "apply",
                   "--stack", STACK_NAME, "--cwd", str(self.work))
        # The repository's `review` package: the copy holds only the program's files.
        return self.run_command(command, label="apply", env={"PYTHONPATH": str(REPO), **(env or {})},
                                timeout_s=timeout_s)

    def run_command(
        self,
        command: Sequence[str],
        *,
        label: str,
        env: Mapping[str, str] | None = None,
        sample: bool = True,
        timeout_s: float = RUN_TIMEOUT_S,
    ) -> RunResult:
        """Run ``command`` in the project copy with the stack's environment
        (plus ``env``); see ``run``."""
        self._runs += 1
        log_path = self.logs / f"{self._runs:02d}-{label}.log"
        self.last_log = log_path
        full_env = dict(self.env, **(env or {}))
        wall_s, usage = run_logged(command, cwd=self.work, env=full_env, log_path=log_path, sample=sample,
                                   timeout_s=timeout_s)
        return RunResult(tuple(command), wall_s, usage)

    def checkpoint_path(self) -> Path | None:
        """The stack's checkpoint file under the backend folder (``.pulumi/stacks/...``), if any."""
        stacks = self.state / ".pulumi" / "stacks"
        names = {f"{STACK_NAME}.json{suffix}" for suffix in CHECKPOINT_SUFFIXES}
        found = sorted(path for path in stacks.rglob(f"{STACK_NAME}.json*") if path.name in names)
        return found[0] if found else None

    def checkpoint_bytes(self) -> int:
        """The size of the checkpoint file (0 when there is none)."""
        path = self.checkpoint_path()
        return path.stat().st_size if path is not None else 0

    def backend_bytes(self) -> int:
        """The size of everything in the backend folder (checkpoint, .bak, history, backups)."""
        return sum(path.stat().st_size for path in self.state.rglob("*") if path.is_file())

    def cleanup(self) -> None:
        """Remove the copy and its state."""
        shutil.rmtree(self.root, ignore_errors=True)


def run_logged(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    sample: bool = False,
    timeout_s: float = RUN_TIMEOUT_S,
) -> tuple[float, TreeUsage]:
    """Run ``command`` in ``cwd`` to completion, its output into ``log_path``;
    return its wall seconds and (when ``sample``) its process tree's usage.
    Killed after ``timeout_s``; any exit but 0 raises ``BenchRunError`` with
    the end of the log."""
    _let_children_take_sigint()
    with log_path.open("w", encoding="utf-8") as log:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT)
        sampler = TreeSampler(process.pid).start() if sample else None
        # A timer rather than wait(timeout=...), which polls every 50 ms and so blurs the wall time.
        watchdog = threading.Timer(timeout_s, process.kill)
        watchdog.start()
        try:
            returncode = process.wait()
        finally:
            wall_s = time.perf_counter() - started
            watchdog.cancel()
            usage = sampler.stop() if sampler is not None else TreeUsage()
    if returncode != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-OUTPUT_TAIL_CHARS:]
        raise BenchRunError(f"{' '.join(command)} exited {returncode} in {cwd}\n{tail}")
    return wall_s, usage


def _let_children_take_sigint() -> None:
    # A background job of a non-interactive shell (`make bench &`) starts with
    # SIGINT ignored, and an ignored signal stays ignored across exec: the engine
    # then waits 5 s for each plugin it stops with SIGINT before killing it, and
    # every pulumi command takes 5 s longer. A handled signal is reset on exec.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def up_args(extra: Sequence[str] = ()) -> tuple[str, ...]:
    """``up`` without the interactive preview (what the harness runs)."""
    return ("up", "--yes", "--skip-preview", *extra)
