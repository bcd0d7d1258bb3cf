"""Command line: ``python -m bench [options]`` (``make bench`` runs it with the defaults).

Starts an emulator with a fixed latency, runs the suite (``bench.suite``),
evaluates the targets (``bench.targets``) and writes ``bench.md``,
``bench.json`` and ``time_per_user.png`` to the results folder. With
``--profile``, also profiles the study size (``bench.profiling``). Exit
status 0 when the run completed, whether or not the targets are met
(``--check`` makes an unmet target exit 1).
"""

from __future__ import annotations

import argparse
import json
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.defaults import (
    DEFAULT_PULL_PAGE_SIZE,
    DEFAULT_PULL_SIZE,
    DEFAULT_LATENCY_MS,
    DEFAULT_REPEAT,
    DEFAULT_RESULTS_DIR,
    DEFAULT_SIZES,
    MAIN_SETTINGS,
    PROVIDER_CONCURRENCY,
    SETTINGS,
    STUDY_SETTINGS,
    UPDATE_SHARE,
)
from bench.profiling import run_profile
from bench.report import write_results
from bench.suite import SuiteOptions, run_suite
from bench.targets import evaluate
from emulator.testing import EmulatorProcess

NONE = "none"


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be at least 1")
    return sizes


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _settings(text: str) -> tuple[str, ...]:
    if text == NONE:
        return ()
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in names if name not in SETTINGS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown settings {unknown}; choose from {sorted(SETTINGS)} or {NONE}")
    return names


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure what the Pulumi engine and the AlloyUser provider cost on top of the API's latency.",
    )
    parser.add_argument("--sizes", type=_sizes, default=DEFAULT_SIZES,
                        help="comma-separated numbers of users (default: 100,1000)")
    parser.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_MS,
                        help="latency the emulator adds to every API request (default: %(default)s)")
    parser.add_argument("--workers", type=_positive, default=PROVIDER_CONCURRENCY,
                        help="concurrent calls of the client baseline (default: %(default)s, as the provider)")
    parser.add_argument("--update-share", type=float, default=UPDATE_SHARE,
                        help="share of users whose fullName the update scenario changes (default: %(default)s)")
    parser.add_argument("--settings", type=_settings, default=MAIN_SETTINGS,
                        help=f"settings run through every scenario on both stacks at every size "
                        f"(default: {','.join(MAIN_SETTINGS)}; choose from {', '.join(SETTINGS)})")
    parser.add_argument("--study-settings", type=_settings, default=STUDY_SETTINGS,
                        help=f"settings of the checkpoint study (create, update, destroy of the real stack at the "
                        f"study size), or {NONE} (default: {','.join(STUDY_SETTINGS)})")
    parser.add_argument("--study-size", type=_positive, default=None,
                        help="N of the checkpoint study and of --profile (default: the largest size)")
    parser.add_argument("--repeat", type=_positive, default=DEFAULT_REPEAT,
                        help="run everything this many times; the report keeps the fastest (default: %(default)s)")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, profile the CLI (Go pprof) and the Python processes (cProfile) at the study "
                        "size, with each of --settings (bench/results/profile/profile.md)")
    parser.add_argument("--pull-size", type=_non_negative, default=DEFAULT_PULL_SIZE, metavar="N",
                        help="users in the account for the pull measurement, 0 for none (default: %(default)s)")
    parser.add_argument("--pull-page-size", type=_positive, default=DEFAULT_PULL_PAGE_SIZE, metavar="N",
                        help="users a page of GET /users for the pull measurement, at most 50 (default: %(default)s)")
    parser.add_argument("--no-drift", action="store_true",
                        help="do not measure `python -m review drift` after each real stack's refresh")
    parser.add_argument("--out", type=Path, default=DEFAULT_RESULTS_DIR, help="results folder (default: bench/results)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the temporary stacks go (default: system temp)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is not met")
    parser.add_argument("--from-json", type=Path, default=None, metavar="FILE",
                        help="run nothing: re-evaluate the targets of a bench.json and rewrite the reports")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; see the module docstring for the exit status."""
    options = build_parser().parse_args(argv)
    if options.from_json is not None:
        results = json.loads(options.from_json.read_text(encoding="utf-8"))
        results["targets"] = evaluate(results)
        return _finish(results, options.out, options.check)
    study_size = options.study_size or max(options.sizes)
    suite = SuiteOptions(
        sizes=options.sizes,
        latency_ms=options.latency_ms,
        workers=options.workers,
        update_share=options.update_share,
        settings=options.settings,
        study_settings=options.study_settings,
        study_size=study_size,
        repeat=options.repeat,
        work_dir=options.work_dir,
        pull_size=options.pull_size,
        pull_page_size=options.pull_page_size,
        drift=not options.no_drift,
    )
    # A key of this run only: the emulator accepts it, the stacks store it encrypted.
    with EmulatorProcess(api_key=f"bench-{secrets.token_hex(8)}") as emulator:
        results = run_suite(suite, emulator, log=_log)
        results["targets"] = evaluate(results)
        if options.profile:
            results["profile"] = run_profile(
                emulator, study_size, options.latency_ms, options.out, options.settings or MAIN_SETTINGS, log=_log
            )
    return _finish(results, options.out, options.check)


def _finish(results: dict[str, Any], out: Path, check: bool) -> int:
    paths = write_results(results, out)
    unmet = [row for row in results["targets"] if row["met"] is False]
    _log(f"\n{len(results['targets']) - len(unmet)} of {len(results['targets'])} targets met; results:")
    for path in paths.values():
        _log(f"  {path}")
    for row in unmet:
        _log(f"  not met ({row['setting']}): {row['target']} ({row['scope']}): {row['value']}, limit {row['limit']}")
    return 1 if check and unmet else 0


def _log(line: str) -> None:
    print(line, flush=True)
