"""Where the time goes: one profiled lifecycle of the real stack at one size.

For each setting (default: the main ones) and each of ``PROFILE_SCENARIOS``
(``create``, a no-op ``preview``, ``destroy``):

- the CLI runs with ``--profiling`` (Go CPU profile, summarised with
  ``go tool pprof -top`` when Go is installed);
- ``bench/profile_hook`` is put on ``PYTHONPATH`` with ``BENCH_PROFILE_DIR``
  set, so the dynamic provider times each gRPC method and both Python
  processes write cProfile stats (summarised with ``pstats``).

Everything lands in ``<results>/profile/<setting>/<scenario>/``; ``profile.md`` sums it
up. Profiled runs are slower than measured ones: use them to attribute time,
not to time.

``python -m bench.profiling [--size N] [--latency-ms MS] [--settings A,B] [--out DIR]`` runs it alone.
"""

from __future__ import annotations

import argparse
import io
import json
import pstats
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.defaults import (
    ALLOY_STACK,
    DEFAULT_LATENCY_MS,
    DEFAULT_RESULTS_DIR,
    MAIN_SETTINGS,
    PROFILE_ENV,
    PROFILE_HOOK_DIR,
    PROFILE_SCENARIOS,
    PROFILE_TOP,
    SETTINGS,
)
from bench.stacks import BenchStack
from bench.suite import Log, reset_emulator, scenario_args
from bench.workload import make_users
from emulator.testing import EmulatorProcess

PROFILE_DIR_NAME = "profile"
SUMMARY_NAME = "profile.md"
DEFAULT_PROFILE_SIZE = 1000


def run_profile(
    emulator: EmulatorProcess,
    n: int,
    latency_ms: float,
    out_dir: Path,
    settings: Sequence[str] = MAIN_SETTINGS,
    log: Log = print,
) -> dict[str, Any]:
    """Profile the scenarios at ``n`` users with each of ``settings``; return a
    JSON-ready summary (also written as ``profile.md``)."""
    base = out_dir / PROFILE_DIR_NAME
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    summary: dict[str, Any] = {"n": n, "latency_ms": latency_ms, "runs": {}}
    for setting in settings:
        env, extra_args = SETTINGS[setting]
        reset_emulator(emulator, latency_ms)
        with tempfile.TemporaryDirectory(prefix="alloy-bench-profile-") as scratch:
            stack = BenchStack(
                Path(scratch), ALLOY_STACK, base_url=emulator.url, api_key=emulator.api_key,
                env={"PYTHONPATH": str(PROFILE_HOOK_DIR), **env},
            )
            stack.write_users(make_users(n))
            for scenario in PROFILE_SCENARIOS:
                folder = base / setting / scenario
                folder.mkdir(parents=True)
                args = scenario_args(scenario, (*extra_args, "--profiling", str(folder / "cli")))
                result = stack.run(*args, env={PROFILE_ENV: str(folder)})
                for trace in folder.glob("cli.*.trace"):
                    trace.unlink()  # execution traces are large and not summarised
                summary["runs"][f"{setting}/{scenario}"] = {"wall_s": round(result.wall_s, 2), **summarise(folder)}
                log(f"  profiled {scenario} ({setting}) at N={n}: {result.wall_s:.1f} s -> {folder}")
    (base / SUMMARY_NAME).write_text(markdown(summary), encoding="utf-8")
    return summary


def summarise(folder: Path) -> dict[str, Any]:
    """Method timings of the provider and the top lines of each profile in ``folder``."""
    methods: dict[str, dict[str, float]] = {}
    for path in folder.glob("provider-*-methods.json"):
        for name, entry in json.loads(path.read_text(encoding="utf-8")).items():
            total = methods.setdefault(name, {"calls": 0, "total_s": 0.0, "max_s": 0.0})
            total["calls"] += entry["calls"]
            total["total_s"] = round(total["total_s"] + entry["total_s"], 3)
            total["max_s"] = max(total["max_s"], entry["max_s"])
    return {
        "provider_methods": methods,
        "provider_top": _pstats_top(sorted(folder.glob("provider-*.prof"))),
        "program_top": _pstats_top(sorted(folder.glob("program-*.prof"))),
        "cli_top": _pprof_top(sorted(folder.glob("cli.*.cpu"))),
    }


def _pstats_top(paths: Sequence[Path]) -> str:
    if not paths:
        return ""
    text = io.StringIO()
    stats = pstats.Stats(str(paths[0]), stream=text)
    for path in paths[1:]:
        stats.add(str(path))
    stats.strip_dirs().sort_stats("cumulative").print_stats(PROFILE_TOP)
    return text.getvalue().strip()


def _pprof_top(paths: Sequence[Path]) -> str:
    go = shutil.which("go")
    if not paths or go is None:
        return "" if not paths else "(go not found: inspect with `go tool pprof -top` elsewhere)"
    outputs = []
    for flags in (["-top"], ["-top", "-cum"]):
        result = subprocess.run(
            [go, "tool", "pprof", *flags, f"-nodecount={PROFILE_TOP}", str(paths[0])],
            capture_output=True, text=True, check=False,
        )
        outputs.append(result.stdout.strip() or result.stderr.strip())
    return "\n\n".join(outputs)


def markdown(summary: dict[str, Any]) -> str:
    """``profile.md``: per scenario, the provider's method timings and the top of each profile."""
    lines = [f"# Profile at N={summary['n']}, API latency {summary['latency_ms']:g} ms", "",
             "Profiled runs are slower than measured ones; use them to attribute time.", ""]
    for name, data in summary["runs"].items():
        lines += [f"## {name} ({data['wall_s']} s profiled)", ""]
        if data["provider_methods"]:
            lines += ["| provider gRPC method | calls | total s | mean ms | max ms |", "|---|---:|---:|---:|---:|"]
            for name, entry in data["provider_methods"].items():
                mean = entry["total_s"] * 1000 / entry["calls"] if entry["calls"] else 0
                lines.append(
                    f"| {name} | {entry['calls']} | {entry['total_s']:.2f} | {mean:.1f} | {entry['max_s'] * 1000:.1f} |"
                )
            lines.append("")
        for title, key in (("CLI (Go pprof)", "cli_top"), ("provider (cProfile)", "provider_top"),
                           ("program (cProfile, main thread)", "program_top")):
            if data[key]:
                lines += [f"### {title}", "", "```", data[key], "```", ""]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.profiling``: the profiling pass alone."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.profiling", description="Profile the CLI and the Python processes of one lifecycle."
    )
    parser.add_argument("--size", type=int, default=DEFAULT_PROFILE_SIZE, help="users (default: %(default)s)")
    parser.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_MS,
                        help="API latency (default: %(default)s)")
    parser.add_argument("--settings", default=",".join(MAIN_SETTINGS),
                        help=f"comma-separated settings to profile (default: %(default)s; from {', '.join(SETTINGS)})")
    parser.add_argument("--out", type=Path, default=DEFAULT_RESULTS_DIR, help="results folder (default: bench/results)")
    options = parser.parse_args(argv)
    settings = [name.strip() for name in options.settings.split(",") if name.strip()]
    unknown = [name for name in settings if name not in SETTINGS]
    if unknown:
        parser.error(f"unknown settings {unknown}")
    with EmulatorProcess(api_key=f"bench-{secrets.token_hex(8)}") as emulator:
        run_profile(emulator, options.size, options.latency_ms, options.out, settings)
    print(options.out / PROFILE_DIR_NAME / SUMMARY_NAME)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
