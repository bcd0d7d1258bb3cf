"""The scale run: the default path at N = 1,000 and 10,000 (``python -m bench.scale``).

What ``make up`` and the apply workflow run is ``pulumi up`` with checkpoints
skipped and the create journal (``providers/guard/journal.py``); a run with
no interruption behaves exactly as ``PULUMI_SKIP_CHECKPOINTS=true pulumi
up``, which is what this measures, on a file:// backend or on an
S3-compatible one (``--backend s3``: a local ``moto`` server). For each size,
in one run and against one emulator with a fixed latency:

- the client baseline: the project's ``AlloyClient`` creating and deleting
  every user with 4 workers (the provider's ceiling);
- the real stack: create, a no-op preview, an update of ``--update-share``
  of the fullNames, destroy (``--scenarios`` picks some);
- with ``--ab``, the no-op preview also without ``providers/stack/sdk_speedups``
  (``ALLOY_SDK_SPEEDUPS=false``) on the same stack.

It writes ``scale.md`` and ``scale.json`` to ``--out`` and evaluates the
targets of the scale issue (``TARGETS``). The 10,000 case of create and
no-op preview takes about 10 minutes on 2 cores:
``python -m bench.scale --sizes 1000,10000 --scenarios create,noop-preview,destroy``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.defaults import ALLOY_STACK, DEFAULT_LATENCY_MS, DEFAULT_RESULTS_DIR, PROVIDER_CONCURRENCY
from bench.stacks import BenchStack
from bench.suite import reset_emulator, scenario_args
from bench.workload import make_users, with_changed_names
from emulator.testing import EmulatorProcess
from providers.alloy.client import AlloyClient
from providers.alloy.settings import ClientSettings

SCENARIOS = ("create", "noop-preview", "update", "destroy")
DEFAULT_PATH_ENV = {"PULUMI_SKIP_CHECKPOINTS": "true"}
MB = 1024 * 1024
# Targets of the scale issue.
MAX_RATIO_TO_CLIENT = 3.0          # create/adopt/destroy at the largest N
MAX_UPDATE_TO_NOOP = 1.5           # update of 1% vs a no-op preview
NOOP_MS_PER_USER_BEFORE = 10.8     # 108 s at 10k, as the issue measured it
MAX_GROWTH = 1.3                   # time per user, largest N vs smallest
MAX_STATE_BYTES_PER_USER = 1126    # 1.1 KB


def client_baseline(url: str, key: str, n: int, workers: int) -> dict[str, float]:
    client = AlloyClient(ClientSettings(base_url=url, api_key=key))
    users = make_users(n)
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        ids = list(pool.map(lambda u: client.create_user(u.username, u.full_name), users))
    created = time.perf_counter() - started
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(client.delete_user, ids))
    return {"create": round(created, 2), "destroy": round(time.perf_counter() - started, 2)}


class MotoServer:
    """``moto_server`` on a free port with one bucket: an S3-compatible state backend."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None
        self.bucket = f"alloy-bench-{secrets.token_hex(4)}"

    def __enter__(self) -> "MotoServer":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import boto3

        os.environ.update(self.aws_env())
        client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.port}", region_name="us-east-1")
        for _ in range(100):
            try:
                client.create_bucket(Bucket=self.bucket)
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        return self

    def aws_env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}

    def backend_url(self, prefix: str) -> str:
        return (f"s3://{self.bucket}/{prefix}?endpoint=127.0.0.1:{self.port}&disableSSL=true"
                "&s3ForcePathStyle=true&region=us-east-1")

    def __exit__(self, *_exc: Any) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def run(options: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"meta": {"sizes": options.sizes, "latency_ms": options.latency_ms,
                                        "backend": options.backend, "scenarios": options.scenarios,
                                        "loadavg_start": list(os.getloadavg())}, "rows": []}
    moto = MotoServer().__enter__() if options.backend == "s3" else None
    try:
        with EmulatorProcess(api_key=f"bench-{secrets.token_hex(8)}") as emulator, \
                tempfile.TemporaryDirectory(prefix="alloy-scale-") as scratch:
            for n in options.sizes:
                reset_emulator(emulator, options.latency_ms)
                baseline = client_baseline(emulator.url, emulator.api_key, n, PROVIDER_CONCURRENCY)
                print(f"N={n} client: {baseline}", flush=True)
                row: dict[str, Any] = {"n": n, "client": baseline, "runs": {}}
                reset_emulator(emulator, options.latency_ms)
                extra = dict(DEFAULT_PATH_ENV)
                if moto is not None:
                    extra.update(moto.aws_env(), PULUMI_BACKEND_URL=moto.backend_url(f"n{n}"))
                stack = BenchStack(Path(scratch) / f"n{n}", ALLOY_STACK, base_url=emulator.url,
                                   api_key=emulator.api_key, env=extra)
                users = make_users(n)
                stack.write_users(users)
                for scenario in options.scenarios:
                    env = {}
                    if scenario == "update":
                        stack.write_users(with_changed_names(users, options.update_share))
                    if scenario == "destroy":
                        env["ALLOY_ALLOW_DELETES"] = str(n)
                    result = stack.run(*scenario_args(scenario), env=env)
                    row["runs"][scenario] = _measure(result, stack)
                    print(f"N={n} {scenario}: {row['runs'][scenario]}", flush=True)
                    if scenario == "noop-preview" and options.ab:
                        off = stack.run(*scenario_args("noop-preview"), env={"ALLOY_SDK_SPEEDUPS": "false"})
                        row["runs"]["noop-preview (no sdk_speedups)"] = _measure(off, stack)
                        print(f"N={n} noop-preview without speedups: {row['runs']['noop-preview (no sdk_speedups)']}",
                              flush=True)
                results["rows"].append(row)
                stack.cleanup()
    finally:
        if moto is not None:
            moto.__exit__()
    results["targets"] = evaluate(results)
    results["meta"]["loadavg_end"] = list(os.getloadavg())
    return results


def _measure(result: Any, stack: BenchStack) -> dict[str, Any]:
    return {
        "wall_s": round(result.wall_s, 2),
        "cpu_s": {role: round(value, 1) for role, value in result.usage.cpu_s.items() if value},
        "peak_rss_mb": {role: round(value / MB) for role, value in result.usage.peak_rss_bytes.items() if value},
        "state_bytes": stack.checkpoint_bytes(),
    }


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = sorted(results["rows"], key=lambda row: row["n"])
    targets: list[dict[str, Any]] = []

    def add(target: str, value: str, met: bool | None) -> None:
        targets.append({"target": target, "value": value, "met": met})

    for row in rows:
        n, runs = row["n"], row["runs"]
        for scenario in ("create", "destroy"):
            if scenario in runs:
                ratio = runs[scenario]["wall_s"] / row["client"][scenario]
                add(f"{scenario} N={n} <= {MAX_RATIO_TO_CLIENT:g}x the 4-worker client",
                    f"{ratio:.2f}x ({runs[scenario]['wall_s']} s vs {row['client'][scenario]} s)",
                    ratio <= MAX_RATIO_TO_CLIENT)
        if "update" in runs and "noop-preview" in runs:
            ratio = runs["update"]["wall_s"] / runs["noop-preview"]["wall_s"]
            add(f"update N={n} <= {MAX_UPDATE_TO_NOOP:g}x a no-op preview",
                f"{ratio:.2f}x ({runs['update']['wall_s']} s vs {runs['noop-preview']['wall_s']} s)",
                ratio <= MAX_UPDATE_TO_NOOP)
        if "noop-preview" in runs:
            per_user = runs["noop-preview"]["wall_s"] * 1000 / n
            add(f"no-op preview N={n} <= half of {NOOP_MS_PER_USER_BEFORE} ms/user",
                f"{per_user:.2f} ms/user", per_user <= NOOP_MS_PER_USER_BEFORE / 2)
        # 0: the checkpoint is not a local file (s3://), so it is not measured here.
        states = [run["state_bytes"] for name, run in runs.items() if name != "destroy" and run["state_bytes"]]
        if states:
            per_user_b = max(states) / n
            add(f"state N={n} <= {MAX_STATE_BYTES_PER_USER} B/user", f"{per_user_b:.0f} B/user",
                per_user_b <= MAX_STATE_BYTES_PER_USER)
        memory = max((max(run["peak_rss_mb"].values(), default=0) for run in runs.values()), default=0)
        add(f"memory N={n} (largest process, reported)", f"{memory} MB", None)
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        for scenario in SCENARIOS:
            if scenario in small["runs"] and scenario in large["runs"]:
                growth = (large["runs"][scenario]["wall_s"] / large["n"]) / (small["runs"][scenario]["wall_s"] / small["n"])
                add(f"{scenario} time per user N={small['n']}->{large['n']} <= {MAX_GROWTH:g}x",
                    f"{growth:.2f}x", growth <= MAX_GROWTH)
    return targets


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [f"# Scale run: {meta['backend']} backend, API latency {meta['latency_ms']:g} ms, default path "
             "(checkpoints skipped, create journal)", "",
             "| N | scenario | s | ms/user | × client | CPU s (cli/program/provider) | peak MB (cli/program/provider) | state B/user |",
             "|---:|---|---:|---:|---:|---|---|---:|"]
    for row in results["rows"]:
        n = row["n"]
        for name, baseline in row["client"].items():
            lines.append(f"| {n} | client {name} (4 workers) | {baseline} | {baseline * 1000 / n:.2f} | 1.00 | | | |")
        for name, run_ in row["runs"].items():
            ratio = run_["wall_s"] / row["client"][name] if name in row["client"] else None
            cpu = "/".join(str(run_["cpu_s"].get(role, 0)) for role in ("cli", "program", "provider"))
            rss = "/".join(str(run_["peak_rss_mb"].get(role, 0)) for role in ("cli", "program", "provider"))
            lines.append(f"| {n} | {name} | {run_['wall_s']} | {run_['wall_s'] * 1000 / n:.2f} | "
                         f"{'-' if ratio is None else f'{ratio:.2f}'} | {cpu} | {rss} | {run_['state_bytes'] / n:.0f} |")
    lines += ["", "| target | value | met |", "|---|---|---|"]
    for target in results["targets"]:
        met = {True: "yes", False: "**no**", None: "-"}[target["met"]]
        lines.append(f"| {target['target']} | {target['value']} | {met} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--backend", choices=("file", "s3"), default="file")
    parser.add_argument("--latency-ms", type=float, default=DEFAULT_LATENCY_MS)
    parser.add_argument("--update-share", type=float, default=0.01)
    parser.add_argument("--ab", action="store_true", help="also time the no-op preview without sdk_speedups")
    parser.add_argument("--out", type=Path, default=DEFAULT_RESULTS_DIR)
    options = parser.parse_args(argv)
    options.sizes = sorted({int(part) for part in options.sizes.split(",") if part.strip()})
    options.scenarios = [part for part in SCENARIOS if part in options.scenarios.split(",")]
    results = run(options)
    options.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if options.backend == "file" else f"-{options.backend}"
    (options.out / f"scale{suffix}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (options.out / f"scale{suffix}.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
