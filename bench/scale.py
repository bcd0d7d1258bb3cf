"""The scale run (``make bench``, ``python -m bench.scale``): the default path
at N = 1,000 and 10,000 users, on a file:// and an S3-compatible backend,
against baselines measured in the same run.

The default path is what ``make up`` and the apply workflow run, ``python -m
review apply``: a preview and the deletion guard, then ``pulumi up
--skip-preview`` with checkpoints skipped, made exact by the create journal
(``providers/guard/journal.py``). For each size and backend, against one
emulator with a fixed latency and ``GET /users`` paged at 50 as Alloy does:

- ``create``: ``review apply`` of a manifest of N new users;
- ``noop-preview``: ``pulumi preview`` of the same manifest (what a pull
  request's plan runs);
- ``update``: ``pulumi up --skip-preview`` with checkpoints skipped, a share
  of the fullNames changed (apply's own ``up`` step; apply adds a preview);
- ``destroy``: ``review apply`` of an empty manifest (``allowEmpty: true``,
  the N deletions acknowledged);
- ``adopt``: on a fresh stack, ``review apply`` of N users that the account
  already has (seeded first): 0 POSTs.

Beside them, the read-only tools (``bench.tools``): ``pull`` of an account of
N users into a new manifest, again, and merged with 1% more, once per size;
``review drift`` of the created stack after its no-op preview, per backend.

The baselines, once per size: the project's ``AlloyClient`` creating and
deleting every user with 4 workers (the provider's ceiling; adopt is
compared with the client's create), and, when it is built (``make
bench-peer``), OpenTofu with a plain provider of the same API (``bench.peer``).
``bench.scale_targets`` evaluates the scale targets; ``bench.scale_report``
writes ``scale.md``, ``scale.json`` and ``scale.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

from bench import tools
from bench.defaults import ALLOY_STACK, PROJECT_NAME, DEFAULT_LATENCY_MS, DEFAULT_RESULTS_DIR, PROVIDER_CONCURRENCY, STACK_NAME
from bench.moto import MotoServer
from bench.scale_report import write_scale_results
from bench.scale_targets import evaluate
from bench.stacks import BenchRunError, BenchStack, RunResult
from bench.workload import BenchUser, make_users, with_changed_names
from emulator.testing import EmulatorProcess
from providers.alloy.client import AlloyClient
from providers.alloy.settings import ClientSettings

__all__ = ["MotoServer", "SCENARIOS", "main", "run"]

CREATE, NOOP_PREVIEW, UPDATE, DESTROY, ADOPT = "create", "noop-preview", "update", "destroy", "adopt"
SCENARIOS = (CREATE, NOOP_PREVIEW, UPDATE, DESTROY, ADOPT)
BACKENDS = ("file", "s3")
DEFAULT_SIZES = (1000, 10000)
# Alloy documents at most 50 users a page of GET /users.
LIST_PAGE_SIZE = 50
MB = 1024 * 1024
# What apply prints when it takes the checkpoint-free path (review/cli.py).
JOURNALED_LINE = "apply: checkpoints skipped"
Log = Callable[[str], None]


def client_baseline(url: str, key: str, users: list[BenchUser], workers: int) -> dict[str, float]:
    """Seconds for the project's client to create, then delete, ``users`` with ``workers`` threads."""
    client = AlloyClient(ClientSettings(base_url=url, api_key=key))
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        ids = list(pool.map(lambda u: client.create_user(u.username, u.full_name), users))
    created = time.perf_counter() - started
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(client.delete_user, ids))
    return {CREATE: round(created, 2), DESTROY: round(time.perf_counter() - started, 2)}


def reset(emulator: EmulatorProcess, latency_ms: float) -> None:
    """No users, log or counters; every public request delayed; GET /users paged at 50."""
    emulator.admin.reset()
    emulator.admin.set_faults(latency_ms=latency_ms, page_size=LIST_PAGE_SIZE)


class ScaleRun:
    """One run: every size, backend and scenario of ``options``, into ``results``."""

    def __init__(self, options: argparse.Namespace, emulator: EmulatorProcess, scratch: Path,
                 moto: Optional[MotoServer], log: Log) -> None:
        self.options, self.emulator, self.scratch, self.moto, self.log = options, emulator, scratch, moto, log
        self.results: dict[str, Any] = {"meta": _meta(options), "rows": [], "peer": [], "tools": [], "targets": []}

    def run(self) -> dict[str, Any]:
        for n in self.options.sizes:
            users = make_users(n)
            reset(self.emulator, self.options.latency_ms)
            baseline = client_baseline(self.emulator.url, self.emulator.api_key, users, PROVIDER_CONCURRENCY)
            self.log(f"N={n} client, 4 workers: create {baseline[CREATE]} s, destroy {baseline[DESTROY]} s")
            self.results["tools"].extend(tools.run_pull_bench(
                self.emulator, n, self.options.latency_ms, LIST_PAGE_SIZE, work_dir=self.scratch, log=self.log))
            for backend in self.options.backends:
                row = {"n": n, "backend": backend, "client": baseline, "runs": self.lifecycle(n, backend, users)}
                self.results["rows"].append(row)
            self.peer(n)
        self.results["targets"] = evaluate(self.results)
        self.results["meta"]["loadavg_end"] = list(os.getloadavg())
        return self.results

    def stack(self, n: int, backend: str, name: str) -> BenchStack:
        env: dict[str, str] = {}
        if backend == "s3":
            assert self.moto is not None
            env.update(self.moto.aws_env(), PULUMI_BACKEND_URL=self.moto.backend_url(self._prefix(n, name)))
        return BenchStack(self.scratch / f"{name}-{backend}-n{n}", ALLOY_STACK, base_url=self.emulator.url,
                          api_key=self.emulator.api_key, env=env)

    def lifecycle(self, n: int, backend: str, users: list[BenchUser]) -> dict[str, Any]:
        runs: dict[str, Any] = {}
        scenarios = self.options.scenarios
        main = [scenario for scenario in scenarios if scenario != ADOPT]
        if main:
            reset(self.emulator, self.options.latency_ms)
            stack = self.stack(n, backend, "main")
            try:
                stack.write_users(users)
                for scenario in main:
                    runs[scenario] = self.scenario(stack, "main", scenario, n, backend, users)
                    if scenario == NOOP_PREVIEW:
                        self.drift(stack, n, backend)
            finally:
                stack.cleanup()
        if ADOPT in scenarios:
            reset(self.emulator, self.options.latency_ms)
            tools.seed_users(self.emulator, users)
            stack = self.stack(n, backend, "adopt")
            try:
                stack.write_users(users)
                runs[ADOPT] = self.scenario(stack, "adopt", ADOPT, n, backend, users)
            finally:
                stack.cleanup()
        return runs

    def scenario(self, stack: BenchStack, name: str, scenario: str, n: int, backend: str,
                 users: list[BenchUser]) -> dict[str, Any]:
        self.emulator.admin.clear_requests()
        if scenario in (CREATE, ADOPT):
            result = self._apply(stack)
        elif scenario == NOOP_PREVIEW:
            result = stack.run("preview")
        elif scenario == UPDATE:
            stack.write_users(with_changed_names(users, self.options.update_share))
            result = stack.run("up", "--yes", "--skip-preview", env={"PULUMI_SKIP_CHECKPOINTS": "true"})
        elif scenario == DESTROY:
            stack.write_users([])
            result = self._apply(stack, env={"ALLOY_ALLOW_DELETES": str(n)})
        else:
            raise ValueError(f"unknown scenario {scenario!r}")
        measured = self._measure(result, self._state_bytes(stack, name, n, backend))
        self._check(scenario, measured, n)
        self.log(f"N={n} {backend} {scenario}: {measured['wall_s']} s, {measured['api_calls'] or 'no API call'}, "
                 f"peak MB {measured['peak_rss_mb']}")
        return measured

    def drift(self, stack: BenchStack, n: int, backend: str) -> None:
        """``review drift`` of the stack just created (the account matches it): one list pass."""
        result = tools.run_drift(self.emulator, stack.work, stack.env, n, log=self.log)
        if result["exit_status"] != 0:
            raise BenchRunError(f"review drift found drift on a stack that matches the account (N={n})")
        self.results["tools"].append({**result, "backend": backend})

    def _apply(self, stack: BenchStack, env: Optional[dict[str, str]] = None) -> RunResult:
        result = stack.run_apply(env=env)
        assert stack.last_log is not None
        if JOURNALED_LINE not in stack.last_log.read_text(encoding="utf-8", errors="replace"):
            raise BenchRunError(f"review apply did not take the checkpoint-free path; see {stack.last_log}")
        return result

    def _measure(self, result: RunResult, state_bytes: int) -> dict[str, Any]:
        """What one scenario cost; ``state_bytes``: the checkpoint's size after it (after destroy: the
        empty stack's, which the targets subtract to get the bytes each user adds)."""
        counters = {route: count for route, count in self.emulator.admin.counters().items() if count}
        return {
            "wall_s": round(result.wall_s, 2),
            "api_calls": counters,
            "cpu_s": {role: round(value, 1) for role, value in result.usage.cpu_s.items() if value},
            "peak_rss_mb": {role: round(value / MB) for role, value in result.usage.peak_rss_bytes.items() if value},
            "state_bytes": state_bytes,
        }

    def _state_bytes(self, stack: BenchStack, name: str, n: int, backend: str) -> int:
        if backend == "s3":
            assert self.moto is not None
            return self.moto.object_bytes(f"{self._prefix(n, name)}/.pulumi/stacks/{PROJECT_NAME}/{STACK_NAME}.json")
        return stack.checkpoint_bytes()

    def _check(self, scenario: str, measured: dict[str, Any], n: int) -> None:
        """The run did the work it should: a wrong count means the measurement is of something else."""
        calls = measured["api_calls"]
        posts = calls.get("POST /users", 0) + calls.get("POST /users/", 0)
        expected = {CREATE: ("POST /users", n), ADOPT: ("POST /users", 0), DESTROY: ("DELETE /users/{userId}", n)}
        if scenario in expected:
            route, count = expected[scenario]
            seen = posts if route == "POST /users" else calls.get(route, 0)
            if seen != count:
                raise BenchRunError(f"{scenario} at N={n} made {seen} {route} (expected {count}): {calls}")
        if scenario == DESTROY and self.emulator.admin.users():
            raise BenchRunError(f"users left in the emulator after destroy at N={n}")

    def peer(self, n: int) -> None:
        """OpenTofu with a plain provider on the same work, when it is built."""
        try:
            from bench import peer
        except ImportError:
            self.results["meta"]["peer"] = "not measured: bench/peer.py is not in this checkout"
            return
        missing = peer.missing_binaries()
        if missing:
            reason = missing if isinstance(missing, str) else f"{', '.join(missing)} not built"
            self.results["meta"]["peer"] = f"not measured: {reason} (make bench-peer builds it)"
            return
        for backend in self.options.backends:
            for parallelism in self.options.peer_parallelism:
                walls = peer.run_peer(self.emulator, n, backend=backend, parallelism=parallelism,
                                      latency_ms=self.options.latency_ms, s3=self.moto,
                                      work_dir=self.scratch / f"peer-{backend}-{parallelism}-n{n}",
                                      update_share=self.options.update_share)
                self.results["peer"].append({"n": n, "backend": backend, "parallelism": parallelism, "runs": walls})
                self.log(f"N={n} {backend} OpenTofu -parallelism={parallelism}: {walls}")
        self.results["meta"]["peer"] = "OpenTofu with a plain terraform-plugin-framework provider (bench/peer)"

    @staticmethod
    def _prefix(n: int, name: str) -> str:
        return f"{name}-n{n}"


def _meta(options: argparse.Namespace) -> dict[str, Any]:
    return {"sizes": list(options.sizes), "backends": list(options.backends), "latency_ms": options.latency_ms,
            "scenarios": list(options.scenarios), "update_share": options.update_share,
            "list_page_size": LIST_PAGE_SIZE, "cpu_count": os.cpu_count(),
            "loadavg_start": list(os.getloadavg()), "peer": "not measured"}


def run(options: argparse.Namespace, log: Log = print) -> dict[str, Any]:
    """Everything ``options`` asks for (see ``build_parser``); the JSON-ready results."""
    moto = MotoServer().__enter__() if "s3" in options.backends else None
    try:
        with EmulatorProcess(api_key=f"bench-{secrets.token_hex(8)}") as emulator, \
                tempfile.TemporaryDirectory(prefix="alloy-scale-", dir=options.work_dir) as scratch:
            return ScaleRun(options, emulator, Path(scratch), moto, log).run()
    finally:
        if moto is not None:
            moto.__exit__()


def _list(kind: Callable[[str], Any], allowed: Sequence[Any] | None = None) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        try:
            values = [kind(part.strip()) for part in text.split(",") if part.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}") from None
        unknown = [value for value in values if allowed is not None and value not in allowed]
        if unknown or not values:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(map(str, allowed or ()))}, got {text!r}")
        return values
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m bench.scale``."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_list(int), default=list(DEFAULT_SIZES),
                        help="comma-separated numbers of users (default: 1000,10000)")
    parser.add_argument("--backends", type=_list(str, BACKENDS), default=list(BACKENDS),
                        help="state backends: file, s3 (a local moto server) (default: both)")
    parser.add_argument("--scenarios", type=_list(str, SCENARIOS), default=list(SCENARIOS),
                        help=f"default: {','.join(SCENARIOS)}")
    parser.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_MS,
                        help="latency the emulator adds to every API request (default: %(default)s)")
    parser.add_argument("--update-share", type=float, default=0.01,
                        help="share of users whose fullName the update changes (default: %(default)s)")
    parser.add_argument("--peer-parallelism", type=_list(int), default=[4, 10],
                        help="OpenTofu -parallelism values, when the peer is built (default: 4,10)")
    parser.add_argument("--out", type=Path, default=DEFAULT_RESULTS_DIR, help="results folder (default: bench/results)")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the temporary stacks go")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is not met")
    parser.add_argument("--from-json", type=Path, default=None, metavar="FILE",
                        help="run nothing: re-evaluate the targets of a scale.json and rewrite the reports")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scale benchmark; exit 0 when it completed (``--check``: 1 when a target is not met)."""
    options = build_parser().parse_args(argv)
    options.sizes = sorted(set(options.sizes))
    options.scenarios = [scenario for scenario in SCENARIOS if scenario in options.scenarios]
    if options.from_json is not None:
        results = json.loads(options.from_json.read_text(encoding="utf-8"))
        results["targets"] = evaluate(results)
    else:
        results = run(options)
    paths = write_scale_results(results, options.out)
    unmet = [target for target in results["targets"] if target["met"] is False]
    print(f"\n{len(results['targets']) - len(unmet)} of {len(results['targets'])} targets met "
          f"({sum(1 for t in results['targets'] if t['met'] is None)} reported only); results:")
    for path in paths:
        print(f"  {path}")
    for target in unmet:
        print(f"  not met: {target['target']}: {target['value']}")
    return 1 if options.check and unmet else 0


if __name__ == "__main__":
    raise SystemExit(main())
