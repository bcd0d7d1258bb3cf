"""Command line: ``python -m emulator [options]``.

Prints ``emulator listening on http://127.0.0.1:PORT`` on stdout once ready
(and writes the URL to ``--ready-file``); stops cleanly, exit code 0, on
SIGTERM or SIGINT. Fault options and API variants take the same values as
``PUT /_emulator/faults`` (see ``emulator.faults`` and ``emulator.variants``);
they set the starting configuration: ``POST /_emulator/reset`` and
``PUT /_emulator/faults`` put omitted keys back to their defaults, not to
these flags.
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
    MAX_PAGE_LIMIT,
)
from emulator.faults import FaultConfig, FaultConfigError
from emulator.server import EmulatorServer, print_ready_line
from emulator.settings import Settings, resolve_api_keys
from emulator.variants import IMMUTABLE_MODES, UNAUTHORIZED_BODIES

# Fault keys whose flag (``--latency-ms`` for ``latency_ms``) takes the value as is.
_SCALAR_FAULT_KEYS: tuple[str, ...] = (
    "seed",
    "latency_ms",
    "jitter_ms",
    "rate_limit_rate",
    "retry_after_s",
    "error_rate",
    "drop_after_commit_rate",
    "slow_after_commit_rate",
    "slow_s",
    # API variants (emulator.variants)
    "case_insensitive_usernames",
    "immutable_usernames",
    "page_size",
    "unauthorized_body",
)


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
        type=int,
        default=GRACEFUL_SHUTDOWN_S,
        help="on SIGTERM/SIGINT, in-flight requests get this many whole seconds before they are cancelled "
        "(default: %(default)s)",
    )

    faults = parser.add_argument_group("faults (the same keys as PUT /_emulator/faults; see emulator/faults.py)")
    faults.add_argument(
        "--faults",
        metavar="JSON|@FILE",
        help="a whole fault configuration (API variants included); the flags below override it",
    )
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

    variants = parser.add_argument_group(
        "API variants (where Alloy's docs disagree; the same keys in PUT/PATCH /_emulator/faults; "
        "see emulator/variants.py)"
    )
    variants.add_argument(
        "--case-insensitive-usernames",
        action="store_const",
        const=True,
        help="usernames are unique ignoring case (str.casefold): creating or renaming onto ADA@x.test while "
        "ada@x.test exists is 409; a username in a path matches ignoring case (default: exact comparison)",
    )
    variants.add_argument(
        "--immutable-usernames",
        choices=list(IMMUTABLE_MODES),
        metavar="MODE",
        help="PUT /users/{userId} with a different username: 'ignore' answers 200 with the username unchanged "
        "(fullName still applied), 'reject' answers 400 {} and changes nothing; 'off' (default) renames",
    )
    variants.add_argument(
        "--page-size",
        type=int,
        metavar="N",
        help=f"page GET /users, N (1-{MAX_PAGE_LIMIT}) users a page unless ?limit= (1-{MAX_PAGE_LIMIT}) says "
        'otherwise, ?offset= to skip; answers {"data": [...], "pagination": {"hasMore", "nextOffset"}}; '
        "0 (default): not paged, {\"data\": [...]}",
    )
    variants.add_argument(
        "--unauthorized-body",
        choices=list(UNAUTHORIZED_BODIES),
        help="body of a 401: 'empty' {} (default, 2025-09 docs) or 'legacy' {\"message\": \"Unauthorized\"} (older docs)",
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
    for key in _SCALAR_FAULT_KEYS:
        value = getattr(args, key)
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
