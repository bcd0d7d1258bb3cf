"""The benchmark run.

For each size: the client baseline, then, for each main setting (default
checkpoints, ``PULUMI_SKIP_CHECKPOINTS``), the real stack, the engine floor
and the paced engine floor through every scenario; then the checkpoint study (more settings, real stack,
write scenarios, one size). All of it ``repeat`` times: the report keeps the
fastest repeat, the usual way to see through other work on the machine.

Every stack starts from an emulator reset with the fixed latency, and every
stack is fresh (its own project copy and file backend).
"""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench import baseline
from bench.defaults import (
    ALLOY_STACK,
    CREATE,
    DEFAULT_SETTING,
    DESTROY,
    NOOP_PREVIEW,
    NOOP_UP,
    REFRESH,
    REPO,
    SCENARIOS,
    SETTINGS,
    STACKS,
    STUDY_SCENARIOS,
    UPDATE,
    DEFAULT_PULL_PAGE_SIZE,
    DEFAULT_PULL_SIZE,
)
from bench import tools
from bench.stacks import BenchRunError, BenchStack, up_args
from bench.workload import BenchUser, make_users, with_changed_names
from emulator.testing import EmulatorProcess

MB = 1024 * 1024
Log = Callable[[str], None]


@dataclass(frozen=True)
class SuiteOptions:
    """What to run (see ``bench.cli`` for the meaning of each option)."""

    sizes: tuple[int, ...]
    latency_ms: float
    workers: int
    update_share: float
    settings: tuple[str, ...]
    study_settings: tuple[str, ...]
    study_size: int
    repeat: int = 1
    work_dir: Path | None = None
    pull_size: int = DEFAULT_PULL_SIZE  # 0: no pull measurement
    pull_page_size: int = DEFAULT_PULL_PAGE_SIZE
    drift: bool = True


@dataclass
class Measurement:
    """One scenario on one stack: wall time, API calls, peak RSS and CPU by role,
    state size after it, the machine's 1-minute load average when it ended, and
    the CPU the emulator spent meanwhile (on this machine, not in a real run)."""

    stack: str
    setting: str
    n: int
    scenario: str
    wall_s: float
    api_calls: dict[str, int]
    api_routes: dict[str, int]
    peak_rss_mb: dict[str, float]
    cpu_s: dict[str, float]
    state_bytes: int
    backend_bytes: int
    loadavg_1m: float
    emulator_cpu_s: float = 0.0
    repeat: int = 0
    args: list[str] = field(default_factory=list)


def scenario_args(scenario: str, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The pulumi command of a scenario."""
    if scenario in (CREATE, NOOP_UP, UPDATE):
        return up_args(extra)
    if scenario == NOOP_PREVIEW:
        return ("preview", *extra)
    if scenario == REFRESH:
        return ("refresh", "--yes", "--skip-preview", *extra)
    if scenario == DESTROY:
        return ("destroy", "--yes", "--skip-preview", *extra)
    raise ValueError(f"unknown scenario {scenario!r}")


def reset_emulator(emulator: EmulatorProcess, latency_ms: float) -> None:
    """No users, log or counters; every public request delayed by ``latency_ms``."""
    emulator.admin.reset()
    emulator.admin.set_faults(latency_ms=latency_ms)


def run_lifecycle(
    stack: BenchStack,
    emulator: EmulatorProcess,
    users: list[BenchUser],
    changed_users: list[BenchUser],
    scenarios: Sequence[str],
    *,
    setting: str = DEFAULT_SETTING,
    repeat: int = 0,
    log: Log = print,
    tool_results: list[dict[str, Any]] | None = None,
) -> list[Measurement]:
    """Run ``scenarios`` in order on ``stack`` with ``setting`` (``UPDATE``
    first switches to ``changed_users``) and measure each one. With
    ``tool_results``, the real stack with the default setting also measures
    ``drift`` right after its refresh, into that list."""
    env, extra_args = SETTINGS[setting]
    measurements = []
    stack.write_users(users)
    for scenario in scenarios:
        if scenario == UPDATE:
            stack.write_users(changed_users)
        emulator.admin.clear_requests()
        emulator_cpu_before = _cpu_seconds(emulator.pid)
        result = stack.run(*scenario_args(scenario, extra_args), env=env)
        emulator_cpu_s = _cpu_seconds(emulator.pid) - emulator_cpu_before
        routes = emulator.admin.counters()
        by_method: dict[str, int] = {}
        for route, count in routes.items():
            method = route.split(" ", 1)[0]
            by_method[method] = by_method.get(method, 0) + count
        measurement = Measurement(
            stack=stack.kind,
            setting=setting,
            n=len(users),
            scenario=scenario,
            wall_s=round(result.wall_s, 3),
            api_calls=by_method,
            api_routes=routes,
            peak_rss_mb={role: round(size / MB, 1) for role, size in result.usage.peak_rss_bytes.items()},
            cpu_s={role: round(seconds, 2) for role, seconds in result.usage.cpu_s.items()},
            state_bytes=stack.checkpoint_bytes(),
            backend_bytes=stack.backend_bytes(),
            loadavg_1m=round(os.getloadavg()[0], 2),
            emulator_cpu_s=round(emulator_cpu_s, 2),
            repeat=repeat,
            args=list(result.args),
        )
        measurements.append(measurement)
        log(
            f"  {stack.kind:<12} {setting:<18} N={len(users):<5} {scenario:<12} {result.wall_s:8.2f} s"
            f"  {sum(by_method.values()):5d} API calls  CLI {measurement.peak_rss_mb['cli']:.0f} MB"
            f"  provider {measurement.peak_rss_mb['provider']:.0f} MB"
        )
        if scenario == REFRESH and tool_results is not None and stack.kind == ALLOY_STACK and setting == DEFAULT_SETTING:
            drift = tools.run_drift(emulator, stack.work, stack.env, len(users), log=log)
            tool_results.append({**drift, "repeat": repeat, "refresh_wall_s": measurement.wall_s})
    if stack.kind == ALLOY_STACK and DESTROY in scenarios and emulator.admin.users():
        raise BenchRunError(f"users left in the emulator after destroy of {stack.work}")
    return measurements


def run_suite(options: SuiteOptions, emulator: EmulatorProcess, log: Log = print) -> dict[str, Any]:
    """Everything ``options`` asks for; returns the JSON-ready results."""
    started = time.time()
    meta = _meta(options)
    baselines: list[dict[str, Any]] = []
    runs: list[Measurement] = []
    tool_results: list[dict[str, Any]] = []

    def lifecycle(
        root: Path, kind: str, n: int, scenarios: Sequence[str], setting: str, repeat: int, pace_ms: float = 0.0
    ) -> None:
        users = make_users(n)
        changed = with_changed_names(users, options.update_share)
        reset_emulator(emulator, options.latency_ms)
        stack = BenchStack(root, kind, base_url=emulator.url, api_key=emulator.api_key, latency_ms=pace_ms)
        try:
            runs.extend(
                run_lifecycle(stack, emulator, users, changed, scenarios, setting=setting, repeat=repeat, log=log,
                              tool_results=tool_results if options.drift else None)
            )
        finally:
            stack.cleanup()

    with tempfile.TemporaryDirectory(prefix="alloy-bench-", dir=options.work_dir) as scratch:
        root = Path(scratch)
        for repeat in range(options.repeat):
            for n in options.sizes:
                log(f"N={n}, repeat {repeat + 1}/{options.repeat}: API latency {options.latency_ms:g} ms")
                users = make_users(n)
                changed = with_changed_names(users, options.update_share)
                differing = [new for old, new in zip(users, changed) if new != old]
                reset_emulator(emulator, options.latency_ms)
                results = baseline.run_client_baseline(
                    emulator.url, emulator.api_key, users, differing, options.workers,
                    on_done=lambda r: log(
                        f"  {'client':<31} N={n:<5} {r.operation:<12} {r.wall_s:8.2f} s  {r.calls:5d} API calls"
                    ),
                )
                baselines.extend({"n": n, "repeat": repeat, **asdict(result)} for result in results)
                # The paced floor sleeps as long as one API call took the client (per worker).
                pace_ms = baseline.call_ms(results, options.workers)
                meta["paced_floor_ms"][str(n)] = round(pace_ms, 2)
                for setting in options.settings:
                    # Alternating the stacks spreads the machine's other load over all of them.
                    for kind in STACKS:
                        lifecycle(root / f"{kind}-{setting}-{n}-{repeat}", kind, n, SCENARIOS, setting, repeat, pace_ms)
            if options.study_settings:
                log(f"checkpoint study at N={options.study_size}, repeat {repeat + 1}/{options.repeat}")
                for setting in options.study_settings:
                    folder = root / f"study-{setting}-{repeat}"
                    lifecycle(folder, ALLOY_STACK, options.study_size, STUDY_SCENARIOS, setting, repeat)
            if options.pull_size:
                log(f"pull of {options.pull_size} users, {options.pull_page_size} a page, "
                    f"repeat {repeat + 1}/{options.repeat}: API latency {options.latency_ms:g} ms")
                for result in tools.run_pull_bench(
                    emulator, options.pull_size, options.latency_ms, options.pull_page_size,
                    work_dir=options.work_dir, log=log,
                ):
                    tool_results.append({**result, "repeat": repeat})
    meta["finished"] = _now()
    meta["duration_s"] = round(time.time() - started, 1)
    meta["loadavg_end"] = list(os.getloadavg())
    return {"meta": meta, "baselines": baselines, "runs": [asdict(run) for run in runs], "tools": tool_results}


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _meta(options: SuiteOptions) -> dict[str, Any]:
    cli = subprocess.run(["pulumi", "version"], capture_output=True, text=True, check=False, env=_cli_env())
    return {
        "started": _now(),
        "sizes": list(options.sizes),
        "latency_ms": options.latency_ms,
        "workers": options.workers,
        "update_share": options.update_share,
        "settings": list(options.settings),
        "study_settings": list(options.study_settings),
        "study_size": options.study_size,
        "pull_size": options.pull_size,
        "pull_page_size": options.pull_page_size,
        "repeat": options.repeat,
        "paced_floor_ms": {},
        "pulumi_cli": cli.stdout.strip(),
        "pulumi_python_sdk": metadata.version("pulumi"),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "loadavg_start": list(os.getloadavg()),
        "emulator": "python -m emulator (in-memory SQLite), fixed latency on every public route",
    }


def _cli_env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{REPO / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
