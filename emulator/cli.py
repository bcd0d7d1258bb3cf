"""Command line: ``python -m emulator [options]``.

Prints ``emulator listening on http://127.0.0.1:PORT`` on stdout once ready
(and writes the URL to ``--ready-file``); stops cleanly, exit code 0, on
SIGTERM or SIGINT. Fault options take the same values as
``PUT /_emulator/faults`` (see ``emulator.faults``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from emulator.defaults import (
    API_KEYS_ENV,
    DEFAULT_API_KEY,
    DEFAULT_DB_PATH,
    DEFAULT_HOST,
    DEFAULT_PORT,
    GRACEFUL_SHUTDOWN_S,
    MAX_BODY_BYTES,
)
from emulator.faults import FaultConfig, FaultConfigError
from emulator.server import EmulatorServer, print_ready_line
from emulator.settings import Settings, resolve_api_keys

# CLI flag -> fault key, for the flags that map one to one.
_FAULT_FLAGS: dict[str, str] = {
    "seed": "seed",
    "latency_ms": "latency_ms",
    "jitter_ms": "jitter_ms",
    "rate_limit_rate": "rate_limit_rate",
    "retry_after_s": "retry_after_s",
    "error_rate": "error_rate",
    "drop_after_commit_rate": "drop_after_commit_rate",
    "slow_after_commit_rate": "slow_after_commit_rate",
    "slow_s": "slow_s",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m emulator``."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="A local emulator of Alloy's users API (POST/GET/PUT/DELETE /users) with fault injection.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port; 0 picks a free one (default: %(default)s)")
    parser.add_argument(
        "--db", default=DEFAULT_DB_PATH, help="SQLite file, or :memory: for a throw-away database (default: %(default)s)"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        help=f"accepted bearer key, repeatable; adds to ${API_KEYS_ENV} (comma-separated); "
        f"when neither is given: {DEFAULT_API_KEY}",
    )
    parser.add_argument("--ready-file", help="write the URL to this file once ready (removed on exit)")
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES, help="413 above this (default: %(default)s)")
    parser.add_argument(
        "--graceful-shutdown-s",
        type=float,
        default=GRACEFUL_SHUTDOWN_S,
        help="on SIGTERM/SIGINT, in-flight requests get this long before they are cancelled (default: %(default)s)",
    )

    faults = parser.add_argument_group("faults (the same keys as PUT /_emulator/faults; see emulator/faults.py)")
    faults.add_argument("--faults", metavar="JSON|@FILE", help="a whole fault configuration; the flags below override it")
    faults.add_argument("--seed", type=int, help="seed for reproducible random faults")
    faults.add_argument(
        "--fault-route",
        action="append",
        dest="routes",
        metavar="SELECTOR",
        help='limit faults to a route ("POST /users") or method ("POST"); repeatable',
    )
    faults.add_argument("--latency-ms", type=float)
    faults.add_argument("--jitter-ms", type=float)
    faults.add_argument("--rate-limit-rate", type=float, help="share of requests answered 429")
    faults.add_argument("--retry-after-s", type=int, help="Retry-After of a 429, in seconds")
    faults.add_argument("--error-rate", type=float, help="share answered with a status from --error-statuses")
    faults.add_argument("--error-statuses", metavar="500,502,503")
    faults.add_argument(
        "--error-rate-for", action="append", metavar="STATUS=RATE", help="share answered STATUS; repeatable"
    )
    faults.add_argument("--drop-after-commit-rate", type=float, help="share committed, then dropped unanswered")
    faults.add_argument("--slow-after-commit-rate", type=float, help="share committed, then answered after --slow-s")
    faults.add_argument("--slow-s", type=float)
    faults.add_argument(
        "--fail-next",
        action="append",
        metavar="FAULT[@ROUTE]",
        help='a scripted fault, e.g. "503@POST /users" or "drop_after_commit"; repeatable, used in order',
    )
    return parser


def parse_settings(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Parse the command line (and the API-key environment variable) into Settings."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        faults = FaultConfig.from_json(_fault_json(args))
    except (FaultConfigError, ValueError) as exc:
        parser.error(str(exc))
    return Settings(
        host=args.host,
        port=args.port,
        db_path=args.db,
        api_keys=resolve_api_keys(args.api_key, os.environ if environ is None else environ),
        faults=faults,
        ready_file=args.ready_file,
        max_body_bytes=args.max_body_bytes,
        log_level=args.log_level,
        graceful_shutdown_s=args.graceful_shutdown_s,
    )


def _fault_json(args: argparse.Namespace) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if args.faults:
        text = Path(args.faults[1:]).read_text(encoding="utf-8") if args.faults.startswith("@") else args.faults
        loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError("--faults must be a JSON object")
        data.update(loaded)
    for flag, key in _FAULT_FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            data[key] = value
    if args.routes:
        data["routes"] = args.routes
    if args.error_statuses:
        data["error_statuses"] = [item.strip() for item in args.error_statuses.split(",") if item.strip()]
    if args.error_rate_for:
        rates = dict(data.get("error_rates") or {})
        for item in args.error_rate_for:
            status, sep, rate = item.partition("=")
            if not sep:
                raise ValueError(f"--error-rate-for takes STATUS=RATE, got {item!r}")
            rates[status.strip()] = float(rate)
        data["error_rates"] = rates
    if args.fail_next:
        entries: list[Any] = list(data.get("fail_next") or [])
        for item in args.fail_next:
            fault, _, route = item.partition("@")
            entries.append({"fault": fault.strip(), "route": route.strip() or None})
        data["fail_next"] = entries
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGTERM/SIGINT; return the exit code (0 on a clean stop)."""
    settings = parse_settings(argv)
    logging.basicConfig(
        level=settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        server = EmulatorServer(settings)
    except OSError as exc:
        print(f"emulator: cannot listen on {settings.host}:{settings.port} or open {settings.db_path}: {exc}", file=sys.stderr)
        return 1

    def stop(signum: int, frame: FrameType | None) -> None:
        server.request_stop()

    # uvicorn installs its own handlers while serving and, once stopped,
    # re-raises the signal it caught against the handlers found before: these
    # make that re-raise a no-op (exit code 0), and cover a signal that
    # arrives before uvicorn is listening.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.run(on_ready=print_ready_line)
    return 0
